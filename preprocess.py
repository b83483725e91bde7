"""Write the sequence manifest the C++ application (ascend310_infer) reads: model-zoo preprocess step.

    python preprocess.py --dataset_path DATA/VOT2018 --dataset_name VOT2018 --output manifest.json

The dataset is read with eval.py's loader (every VOT layout it accepts: pysot
JSON, list.txt + color/, 4- or 8-value ground truth), so the C++ side needs no
dataset parsing: the manifest lists, per sequence, the absolute frame paths,
the ground truth as the 8-value polygons the VOT protocol scores against
(``datasets.supervised_region``, as src/evaluation/runner.py) and ``usable``:
per frame, whether a tracker can be (re-)initialised from it
(``datasets.usable_regions``; runner.py re-initialises at the next usable frame).
Both are computed here, once, so the C++ side has no second definition of them.
Floats are written with Python's repr, so the C++ application reads the same
doubles; JSON has no NaN or infinity, so non-finite ground-truth values (kept:
a tracked frame is scored against them) are written as the strings "NaN",
"Infinity", "-Infinity". Bad input stops with eval.py's one-line messages
(sequence, file, line).
"""
import argparse
import json
import math
import os
import sys

import src  # noqa: F401  (package set-up; keeps the entry points uniform)
from src.evaluation.datasets import DatasetError, load_dataset, supervised_region, usable_regions
from src.evaluation.evaluate import protocol_of
from src.evaluation.results import atomic_write_text

# version 2: per-frame "usable" flags and non-finite values as strings (ascend310_infer/inc/vot.h
# kManifestVersion); the application refuses other versions
MANIFEST_FORMAT, MANIFEST_VERSION = "siam-infer-manifest", 2


def _json_value(v):
    """A ground-truth value for the manifest: repr-exact float, or the string the C++ side reads as NaN / inf."""
    v = float(v)
    if math.isfinite(v):
        return v
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")


def manifest_sequence(name, frames, gt):
    """One sequence of the manifest: frame paths, the supervised protocol's polygons and usable flags of
    ``gt`` (ground-truth rows, 4 or 8 values)."""
    return {"name": name, "frames": list(frames),
            "groundtruth": [[_json_value(v) for v in supervised_region(row)] for row in gt],
            "usable": [bool(u) for u in usable_regions(gt, supervised=True)]}


def build_manifest(dataset_name, dataset_path):
    """The manifest dict of a VOT-like dataset (checked: every frame file exists)."""
    if protocol_of(dataset_name) != "vot":
        raise ValueError(f"{dataset_name}: the C++ application runs the VOT supervised protocol; give a "
                         f"VOT-like dataset name (VOT2016..VOT2019, VOTSYN, ...)")
    dataset = load_dataset(dataset_name, dataset_path)
    sequences = []
    for video in dataset:
        video.check_files()
        sequences.append(manifest_sequence(video.name, video.img_names, video.gt))
    return {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, "dataset": dataset_name,
            "dataset_path": os.path.abspath(dataset_path), "protocol": "vot", "sequences": sequences}


def main(argv=None):
    p = argparse.ArgumentParser(description="Write the sequence manifest of ascend310_infer")
    p.add_argument("--dataset_path", required=True, help="dataset root, e.g. testing_dataset/VOT2018")
    p.add_argument("--dataset_name", required=True, help="VOT2016..VOT2019 or any VOT-like name (VOTSYN)")
    p.add_argument("--output", default="manifest.json", help="manifest file to write")
    args = p.parse_args(argv)
    try:
        if not os.path.isdir(args.dataset_path):
            raise FileNotFoundError(f"dataset path not found: {args.dataset_path}")
        manifest = build_manifest(args.dataset_name, args.dataset_path)
    except (DatasetError, FileNotFoundError, ValueError) as e:
        sys.exit(f"preprocess.py: {e}")
    atomic_write_text(args.output, json.dumps(manifest, indent=1, allow_nan=False) + "\n")
    frames = sum(len(s["frames"]) for s in manifest["sequences"])
    print(f"wrote {args.output}: {len(manifest['sequences'])} sequences, {frames} frames")


if __name__ == "__main__":
    main()

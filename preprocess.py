"""Write the sequence manifest the C++ application (ascend310_infer) reads: model-zoo preprocess step.

    python preprocess.py --dataset_path DATA/VOT2018 --dataset_name VOT2018 --output manifest.json

The dataset is read with eval.py's loader (every VOT layout it accepts: pysot
JSON, list.txt + color/, 4- or 8-value ground truth), so the C++ side needs no
dataset parsing: the manifest lists, per sequence, the absolute frame paths and
the ground truth as the 8-value polygons the VOT protocol scores against
(4-value boxes become pysot's inclusive-corner polygons, exactly as
src/evaluation/runner.py does). Floats are written with Python's repr, so the
C++ application reads the same doubles. Bad input stops with eval.py's one-line
messages (sequence, file, line).
"""
import argparse
import json
import os
import sys

import src  # noqa: F401  (package set-up; keeps the entry points uniform)
from src.evaluation.datasets import DatasetError, load_dataset
from src.evaluation.evaluate import protocol_of
from src.evaluation.geometry import rect_to_vot_polygon
from src.evaluation.results import atomic_write_text

MANIFEST_FORMAT, MANIFEST_VERSION = "siam-infer-manifest", 1


def build_manifest(dataset_name, dataset_path):
    """The manifest dict of a VOT-like dataset (checked: every frame file exists)."""
    if protocol_of(dataset_name) != "vot":
        raise ValueError(f"{dataset_name}: the C++ application runs the VOT supervised protocol; give a "
                         f"VOT-like dataset name (VOT2016..VOT2019, VOTSYN, ...)")
    dataset = load_dataset(dataset_name, dataset_path)
    sequences = []
    for video in dataset:
        video.check_files()
        polygons = [[float(v) for v in (gt if len(gt) == 8 else rect_to_vot_polygon(gt))] for gt in video.gt]
        sequences.append({"name": video.name, "frames": list(video.img_names), "groundtruth": polygons})
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
    atomic_write_text(args.output, json.dumps(manifest, indent=1) + "\n")
    frames = sum(len(s["frames"]) for s in manifest["sequences"])
    print(f"wrote {args.output}: {len(manifest['sequences'])} sequences, {frames} frames")


if __name__ == "__main__":
    main()

"""Provenance of a tracker's result files: ``<results>/<dataset>/<tracker>/manifest.json``.

eval.py resumes an interrupted run by reusing finished result files. Reusing
them is only right when they were made by the same model on the same data, so
every tracker results folder carries a manifest, written atomically before its
first result file:

* ``model``: the back-end (mindspore, mindir, onnx), the precision the network
  runs in, and the sha256 of the checkpoint file, or of every exported graph
  file and of the export's description (its JSON content, key-sorted);
* ``config``: the whole experiment config the tracker ran with
  (``Config.to_dict``: model, tracking hyperparameters, ...);
* ``dataset``: its name and a sha256 per sequence over what the tracker sees
  and the supervised protocol re-initialises from: the sequence name, its
  frame file names, the ground truth array (dtype, shape, bytes) and, for
  DAVIS, the annotation files; ``ground_truth_sha256`` combines them in order;
* ``code_version``: ``git describe`` of the repository, ``unknown`` without git.

``check_resume`` compares a stored manifest with the one of the run about to
start and says, in one line, the first thing that differs (with what to do:
another ``--tracker_name``, or ``--overwrite``). A folder holding results but
no manifest (made by an older eval.py or by another program) is refused too:
its origin cannot be checked. A different code version only warns: result
files of an unchanged model and config stay comparable across most commits,
and the manifest keeps the version that made the first results.
"""
import hashlib
import json
import os
import shutil
import subprocess
import time
import uuid

import numpy as np

from ..config import differences, flatten  # noqa: F401 (flatten: also this module's, for callers)
from .results import ResultsError, atomic_write_text

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1
_CHUNK = 1 << 20
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_HASHES = {}      # (abspath, size, mtime_ns) -> sha256: each file is hashed once per process
_HOW = "use another --tracker_name, or --overwrite to replace it"


class ProvenanceError(ResultsError):
    """Existing results were made by something else than this run (one line, says what to do)."""


# ------------------------------------------------------------------- hashing
def file_sha256(path):
    """sha256 hex digest of a file, read in 1 MiB chunks (checkpoints can be hundreds of MB)."""
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(_CHUNK), b""):
                h.update(block)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def _update_array(h, array):
    array = np.ascontiguousarray(array, dtype=np.float64)
    h.update(f"{array.dtype.str}{array.shape}".encode())
    h.update(array.tobytes())


def sequence_sha256(video):
    """sha256 of one sequence's identity: name, frame file names, ground truth (and DAVIS annotations)."""
    h = hashlib.sha256()
    h.update(video.name.encode())
    h.update(b"\0")
    h.update("\n".join(os.path.basename(p) for p in video.img_names).encode())
    h.update(b"\0")
    _update_array(h, video.gt)
    for path in getattr(video, "anno_names", ()):     # DAVIS: the masks are the ground truth
        h.update(os.path.basename(path).encode())
        h.update(file_sha256(path).encode() if os.path.isfile(path) else b"missing")
    return h.hexdigest()


def combined_sha256(sequences):
    """One sha256 over ``{name: sha256}`` in its order."""
    return hashlib.sha256("".join(f"{n}:{s}\n" for n, s in sequences.items()).encode()).hexdigest()


def dataset_identity(dataset):
    """``{name, ground_truth_sha256, sequences: {seq: sha256}}`` of a loaded dataset."""
    sequences = {v.name: sequence_sha256(v) for v in dataset}
    return {"name": dataset.name, "ground_truth_sha256": combined_sha256(sequences), "sequences": sequences}


def model_identity(backend, source, precision=None):
    """What the network is: back-end, precision and file hashes.

    ``source`` is the checkpoint (mindspore) or the export folder / JSON (any
    other back-end: mindir, onnx, or a runtime running the export such as the
    C++ application); ``precision`` overrides the one the export was made in.
    """
    if backend == "mindspore":
        # eval.py runs the Cell in float32 (amp_level only applies to training)
        return {"backend": backend, "precision": precision or "float32",
                "checkpoint": {"file": os.path.abspath(source), "sha256": file_sha256(source)}}
    from ..export import read_export
    desc, folder = read_export(source)
    canonical = json.dumps(desc, sort_keys=True, separators=(",", ":")).encode()
    return {"backend": backend, "precision": precision or desc.get("input", {}).get("dtype", "float32"),
            "export": {"folder": folder, "description_sha256": hashlib.sha256(canonical).hexdigest(),
                       "graphs": {g: _graph_files(folder, d) for g, d in sorted(desc["graphs"].items())}}}


def _graph_files(folder, graph):
    """``{file, sha256}`` of one exported graph, plus ``weights: {file, sha256}`` for an OpenVINO
    IR graph, whose weights are a second file (the .xml alone does not say which network ran)."""
    entry = {"file": graph["file"], "sha256": file_sha256(os.path.join(folder, graph["file"]))}
    if "weights" in graph:
        w = graph["weights"]["file"]
        entry["weights"] = {"file": w, "sha256": file_sha256(os.path.join(folder, w))}
    return entry


def code_version():
    """``git describe --always --dirty --tags`` of the repository, or ``unknown`` (no git, not a clone)."""
    try:
        out = subprocess.run(["git", "-C", _ROOT, "describe", "--always", "--dirty", "--tags"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def build_manifest(tracker, model, config, dataset_id, version=None):
    """The manifest of a run about to start (``model`` from ``model_identity``, ``config`` a plain dict)."""
    return {"format_version": FORMAT_VERSION, "tracker": tracker, "model": model,
            "config": json.loads(json.dumps(config)), "dataset": dataset_id,
            "code_version": code_version() if version is None else version,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


# --------------------------------------------------------------- reading/writing
def manifest_path(folder):
    return os.path.join(folder, MANIFEST_NAME)


def has_results(folder):
    """True when ``folder`` holds anything besides the manifest and hidden temp files."""
    return os.path.isdir(folder) and any(not n.startswith(".") and n != MANIFEST_NAME for n in os.listdir(folder))


def read_manifest(folder):
    """The stored manifest of a tracker folder, or None when there is none."""
    path = manifest_path(folder)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise ProvenanceError(f"{path} is unreadable ({type(e).__name__}: {e}), so the results beside it "
                              f"cannot be checked: {_HOW}") from None
    if not isinstance(data, dict) or not isinstance(data.get("dataset"), dict) \
            or not isinstance(data.get("model"), dict) or "config" not in data:
        raise ProvenanceError(f"{path} is not an eval.py results manifest, so the results beside it "
                              f"cannot be checked: {_HOW}")
    return data


def write_manifest(folder, manifest):
    atomic_write_text(manifest_path(folder), json.dumps(manifest, indent=1) + "\n")


def remove_results(folder):
    """Remove a tracker results folder (``--overwrite``): renamed to a hidden name first, so a
    killed removal never leaves a half-deleted folder that looks like results. A symbolic link
    is unlinked, its target left alone."""
    if os.path.islink(folder):
        os.unlink(folder)
    elif os.path.isdir(folder):
        parent, base = os.path.split(os.path.abspath(folder))
        trash = os.path.join(parent, f".{base}.removed-{uuid.uuid4().hex[:8]}")
        os.rename(folder, trash)
        shutil.rmtree(trash)
    elif os.path.exists(folder):
        raise ProvenanceError(f"{folder} is a file, not a tracker results folder")


def record_fields(manifest, folder, stored=None, sequences=None):
    """The eval.json fields of a run's provenance: ``checkpoint_sha256`` (or
    ``exported_graphs_sha256``), ``provenance`` (the manifest file, model identity,
    ground-truth sha256, code version; the stored code version when the results
    were started by another) and ``sequences`` ({run, resumed}) when given."""
    model = manifest["model"]
    fields = {}
    if "checkpoint" in model:
        fields["checkpoint_sha256"] = model["checkpoint"]["sha256"]
    else:
        # an OpenVINO IR graph's weights file is listed as "<graph>.weights"
        hashes = {}
        for g, d in model["export"]["graphs"].items():
            hashes[g] = d["sha256"]
            if "weights" in d:
                hashes[f"{g}.weights"] = d["weights"]["sha256"]
        fields["exported_graphs_sha256"] = hashes
    fields["provenance"] = {"manifest": os.path.abspath(manifest_path(folder)), "model": model,
                            "ground_truth_sha256": manifest["dataset"]["ground_truth_sha256"],
                            "code_version": manifest["code_version"]}
    if stored and stored.get("code_version") != manifest["code_version"]:
        fields["provenance"]["results_started_by_code_version"] = stored.get("code_version")
    if sequences is not None:
        fields["sequences"] = dict(sequences)
    return fields


# -------------------------------------------------------------------- comparing
def _short(digest):
    return str(digest)[:12]


def _model_difference(old, new):
    if old.get("backend") != new["backend"]:
        return f"with --backend {old.get('backend')}, this run uses --backend {new['backend']}"
    if old.get("precision") != new["precision"]:
        return f"in {old.get('precision')} precision, this run is {new['precision']}"
    if "checkpoint" in new:
        a, b = old.get("checkpoint", {}).get("sha256"), new["checkpoint"]["sha256"]
        if a != b:
            return f"with another checkpoint (sha256 {_short(a)} vs {_short(b)} of {new['checkpoint']['file']})"
        return None
    old_export = old.get("export", {})
    for graph, g in new["export"]["graphs"].items():
        a = old_export.get("graphs", {}).get(graph, {}).get("sha256")
        if a != g["sha256"]:
            return f"with another exported {graph} graph (sha256 {_short(a)} vs {_short(g['sha256'])} of {g['file']})"
    if set(old_export.get("graphs", {})) != set(new["export"]["graphs"]):
        return f"with exported graphs {', '.join(sorted(old_export.get('graphs', {})))}, this export has " \
               f"{', '.join(sorted(new['export']['graphs']))}"
    if old_export.get("description_sha256") != new["export"]["description_sha256"]:
        return "with another export description (the export's JSON differs)"
    return None


def _config_difference(old, new, most=4):
    diff = differences(old, new)
    if not diff:
        return None
    shown = [f"{k} {json.dumps(a)} (this run {json.dumps(b)})" for k, a, b in diff[:most]]
    more = f" and {len(diff) - most} more" if len(diff) > most else ""
    return f"with another config: {', '.join(shown)}{more}"


def check_resume(folder, stored, new):
    """Refuse (``ProvenanceError``) unless the stored manifest describes this run.

    Returns (sequences whose finished result files may be reused, warning or None). The
    warning is set when only the code version differs. Sequences of the dataset that the
    stored manifest does not list (e.g. downloaded since) are run; their result files, if
    any, are not reused.
    """
    if stored is None:
        if has_results(folder):
            raise ProvenanceError(f"{folder} holds results without a {MANIFEST_NAME} (made by an older "
                                  f"eval.py or another program), so what made them cannot be checked: "
                                  f"{_HOW} (--score_only scores them as they are)")
        return set(), None
    difference = _model_difference(stored["model"], new["model"]) or \
        _config_difference(stored["config"], new["config"])
    if difference is None and stored["dataset"].get("name") != new["dataset"]["name"]:
        difference = f"on dataset {stored['dataset'].get('name')}, this run is on {new['dataset']['name']}"
    if difference is None:
        old_seqs = stored["dataset"].get("sequences", {})
        for seq, digest in new["dataset"]["sequences"].items():
            if seq in old_seqs and old_seqs[seq] != digest:
                difference = (f"with other frames or ground truth for sequence {seq} (sha256 "
                              f"{_short(old_seqs[seq])} vs {_short(digest)})")
                break
    if difference:
        raise ProvenanceError(f"{folder} was made {difference}: {_HOW}")
    warning = None
    if stored.get("code_version") != new["code_version"]:
        warning = (f"warning: {folder} was started by code version {stored.get('code_version')}, this is "
                   f"{new['code_version']}; finished sequences are reused (same model, config and data)")
    old_seqs = stored["dataset"].get("sequences", {})
    return {s for s in new["dataset"]["sequences"] if s in old_seqs}, warning


def merged(stored, new):
    """The manifest to write before tracking: ``new``, keeping the stored code version and creation
    time and the stored sequences that this dataset no longer lists (their results stay valid)."""
    if stored is None:
        return new
    sequences = dict(stored["dataset"].get("sequences", {}))
    sequences.update(new["dataset"]["sequences"])
    dataset = {**new["dataset"], "sequences": sequences, "ground_truth_sha256": combined_sha256(sequences)}
    return {**new, "dataset": dataset, "code_version": stored.get("code_version", new["code_version"]),
            "created": stored.get("created", new["created"])}


__all__ = ["MANIFEST_NAME", "ProvenanceError", "file_sha256", "sequence_sha256", "dataset_identity",
           "model_identity", "code_version", "build_manifest", "read_manifest", "write_manifest",
           "remove_results", "has_results", "check_resume", "merged", "record_fields"]

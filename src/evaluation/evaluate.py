"""Evaluate a tracker on a dataset: run (resumably), score, report, write eval.json.

The protocol follows the dataset: VOT names run the supervised protocol and
report accuracy/robustness/EAO; OTB/LaSOT-like names run one pass and report
success AUC / precision; GOT-10k reports AO / SR; DAVIS-like names run the
semi-supervised video object segmentation protocol (one pass per object from
its first-frame mask, a mask per frame) and report DAVIS's J and F
(``vos_metrics``); VOT long-term names (VOT2018-LT, VOT2019-LT, VOTLTSYN) run
one pass without re-initialisation, record a confidence per frame and report
tracking precision, recall and F-score (``lt_metrics``). Result files go to ``<results_dir>/<dataset>/<tracker>/``
in the official layouts, so the official toolkits can score them too.
"""
import json
import os
import platform
import sys
import time

import numpy as np

from . import report, results, vos_metrics
from .datasets import dataset_kind
from .runner import run_long_term, run_one_pass, run_supervised, start

MAIN_METRIC = {"vot": "eao", "ope": "success_auc", "got10k": "ao", "vos": "J&F-Mean", "lt": "f_score"}
PROTOCOL_NAMES = {"vot": "VOT supervised (baseline)", "ope": "one-pass (OPE)", "got10k": "GOT-10k one-pass",
                  "vos": "DAVIS semi-supervised video object segmentation (J & F)",
                  "lt": "VOT long-term (one pass, tracking precision / recall / F-score)"}


def protocol_of(dataset_name):
    """'vot', 'ope', 'got10k', 'vos' or 'lt' (VOT long-term) for a dataset name."""
    return {"vot": "vot", "votlt": "lt", "otb": "ope", "lasot": "ope", "got10k": "got10k",
            "davis": "vos"}[dataset_kind(dataset_name)]


def produces_masks(tracker):
    """True for trackers that output a segmentation mask per frame (``last_mask``, e.g. SiamMask)."""
    return hasattr(tracker, "last_mask")


def _progress(iterable, desc, total):
    try:
        from tqdm import tqdm
        return tqdm(iterable, desc=desc, total=total, unit="seq", dynamic_ncols=True)
    except ImportError:
        return iterable


def _fps(times):
    """Frames per second over the frames the tracker processed (skipped frames cost nothing)."""
    t = np.asarray(times, dtype=np.float64)
    t = t[t > 0]
    return len(t) / float(t.sum()) if len(t) else None


def _time_path(kind, results_dir, tracker, seq):
    if kind == "vot":   # VOT toolkit's own name for per-frame times
        return os.path.join(os.path.dirname(results.vot_result_path(results_dir, tracker, seq)), f"{seq}_time.txt")
    if kind == "got10k":
        return results.got10k_time_path(results_dir, tracker, seq)
    if kind == "lt":
        return results.lt_time_path(results_dir, tracker, seq)
    return os.path.join(results_dir, tracker, "times", f"{seq}_time.txt")


def _result_path(kind, results_dir, tracker, seq):
    return {"vot": results.vot_result_path, "ope": results.ope_result_path,
            "got10k": results.got10k_result_path, "lt": results.lt_result_path}[kind](results_dir, tracker, seq)


def _is_finished(kind, results_dir, tracker, video):
    """The sequence's result (and time, and for VOT-LT confidence) files are complete."""
    n = len(video)
    done = results.is_complete(_result_path(kind, results_dir, tracker, video.name), n) \
        and results.is_complete(_time_path(kind, results_dir, tracker, video.name), n)
    if kind == "lt":
        done = done and results.is_complete(results.lt_confidence_path(results_dir, tracker, video.name), n,
                                            first_may_be_empty=True)
    return done


def run_vos(make_tracker, video):
    """One pass per object of a DAVIS sequence; returns (label image per frame, seconds per frame).

    Every object gets its own tracker (``make_tracker()``), initialised on
    frame 0 from the bounding box of its first-frame mask with SiamMask's
    ``track_vos`` convention (``cv2.boundingRect`` ``x, y, w, h``, centre
    ``x + w/2, y + h/2``); frame 0's output is the given annotation. Later
    frames take each tracker's ``last_mask``. Single-object labels are 0/255;
    multi-object labels are object ids, where masks overlap the object tracked
    with the higher score in that frame wins. Times are per frame, all objects.
    """
    trackers = {k: make_tracker() for k in video.object_ids}
    for tracker in trackers.values():
        if not produces_masks(tracker):
            raise ValueError(f"{type(tracker).__name__} produces no masks; video object segmentation "
                             f"({video.name}) needs a mask tracker such as SiamMask")
    fg = None if video.multi_object else 255
    labels, times = [], []
    for idx in range(len(video)):
        image = video.read_frame(idx)
        if idx == 0:
            first = video.read_label(0)
            tic = time.perf_counter()
            for k, tracker in trackers.items():
                x, y, w, h = video.init_boxes[k]
                # [x + 0.5, y + 0.5, w, h] puts the tracker's centre (x' + (w - 1)/2) at x + w/2
                start(tracker, image, [x + 0.5, y + 0.5, w, h])   # 0-indexed, as the runner's
            if fg is not None:
                frame_labels = (first > 0).astype(np.uint8) * fg
            else:
                frame_labels = np.where(np.isin(first, video.object_ids), first, 0).astype(np.uint8)
        else:
            tic = time.perf_counter()
            masks, scores = {}, {}
            for k, tracker in trackers.items():
                _, scores[k] = tracker.track(image)
                masks[k] = np.asarray(tracker.last_mask) > 0
            frame_labels = np.zeros(image.shape[:2], np.uint8)
            # paint in ascending score order so the most confident object ends on top
            for k in sorted(masks, key=lambda k: float(scores[k])):
                frame_labels[masks[k]] = fg if fg is not None else k
        times.append(time.perf_counter() - tic)
        labels.append(frame_labels)
    return labels, times


def run_vos_dataset(make_tracker, dataset, results_dir, tracker_name, reuse=()):
    """``run_dataset`` for VOS: mask PNGs per sequence folder, each folder written as a whole."""
    fps, counts = {}, {"run": 0, "resumed": 0}
    bar = _progress(dataset, f"{tracker_name} on {dataset.name}", len(dataset))
    for video in bar:
        result_dir = results.vos_result_dir(results_dir, tracker_name, video.name)
        stems = [video.frame_stem(i) for i in range(len(video))]
        if video.name in reuse and results.is_complete_vos(result_dir, video.name, stems):
            fps[video.name] = _fps(results.read_times(results.vos_time_path(result_dir, video.name)))
            counts["resumed"] += 1
            continue
        labels, times = run_vos(make_tracker, video)
        times = [float("{:.6f}".format(t)) for t in times]   # as stored, so a resumed run agrees
        results.write_vos_result(result_dir, video.name, stems, labels, times, palette=video.multi_object)
        fps[video.name] = _fps(times)
        counts["run"] += 1
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(seq=video.name, fps=f"{fps[video.name]:.1f}")
    return fps, counts


def run_dataset(make_tracker, dataset, kind, results_dir, tracker_name, reuse=()):
    """Run every sequence that has no reusable finished result; returns ({seq: fps}, {run, resumed}).

    ``reuse``: names of the sequences whose complete result files may be kept
    (``manifest.check_resume`` decides: same model, config and data); every
    other sequence is run and its files replaced (by default, all of them). Results are written once per
    sequence, atomically, result file last after its time file, so a killed
    run resumes at the first unfinished sequence and a complete-looking file
    is always complete.
    """
    if kind == "vos":
        return run_vos_dataset(make_tracker, dataset, results_dir, tracker_name, reuse)
    fps, counts = {}, {"run": 0, "resumed": 0}
    bar = _progress(dataset, f"{tracker_name} on {dataset.name}", len(dataset))
    for video in bar:
        result_path = _result_path(kind, results_dir, tracker_name, video.name)
        time_path = _time_path(kind, results_dir, tracker_name, video.name)
        if video.name in reuse and _is_finished(kind, results_dir, tracker_name, video):
            fps[video.name] = _fps(results.read_times(time_path))
            counts["resumed"] += 1
            continue
        tracker = make_tracker()
        if kind == "vot":
            entries, times, _ = run_supervised(tracker, video)
        elif kind == "lt":
            entries, confidences, times = run_long_term(tracker, video)
        else:
            entries, times = run_one_pass(tracker, video)
        times = [float("{:.6f}".format(t)) for t in times]   # as stored, so a resumed run agrees
        results.atomic_write_text(time_path, "".join("{:.6f}\n".format(t) for t in times))
        if kind == "vot":
            results.write_vot_result(result_path, entries)
        elif kind == "lt":
            results.write_lt_result(results_dir, tracker_name, video.name, entries, confidences)
        else:
            results.write_ope_result(result_path, entries)
        fps[video.name] = _fps(times)
        counts["run"] += 1
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(seq=video.name, fps=f"{fps[video.name]:.1f}")
    return fps, counts


def recorded_fps(dataset, kind, results_dir, tracker_name):
    """{seq: fps} from the per-frame time files a run wrote (None for a sequence without one).

    For result files written by another program, e.g. the C++ application
    (ascend310_infer, scored by postprocess.py), in eval.py's layout.
    """
    return {v.name: _fps(results.read_times(_time_path(kind, results_dir, tracker_name, v.name)))
            for v in dataset}


# The numbers a protocol reports. The main one (MAIN_METRIC) undefined (NaN) means nothing can be
# reported; another one undefined (e.g. the accuracy of an untrained tracker that fails every frame
# right after each initialisation, while its EAO of 0 is well defined) is left out of eval.json,
# listed under ``undefined_metrics`` and warned about: never written as NaN or null.
REPORTED_METRICS = {"vot": ("accuracy", "robustness", "eao"), "ope": ("success_auc", "precision", "norm_precision"),
                    "got10k": ("ao", "sr50", "sr75"), "vos": ("J&F-Mean", "J-Mean", "F-Mean"),
                    "lt": ("precision", "recall", "f_score")}
_UNDEFINED_WHY = {
    "accuracy": "no frame outside the burn-in after each (re-)initialisation was scored",
    "eao": "no sequence reaches the EAO range",
    "ao": "no frame after the first has the target visible (cover > 0)",
}


def score(dataset, kind, results_dir, tracker_names, eao_range=None):
    """Scores per tracker (``report`` / ``vos_metrics``); refuses (``ValueError``) when the
    protocol's main metric is undefined, warns (stderr) about other undefined reported metrics,
    which ``write_json`` leaves out, so no NaN or null ever stands for a number."""
    if kind == "vot":
        scores = report.score_vot(dataset, results_dir, tracker_names, eao_range=eao_range)
    elif kind == "got10k":
        scores = report.score_got10k(dataset, results_dir, tracker_names)
    elif kind == "vos":
        scores = vos_metrics.score_vos(dataset, results_dir, tracker_names)
    elif kind == "lt":
        scores = report.score_lt(dataset, results_dir, tracker_names)
    else:
        scores = report.score_ope(dataset, results_dir, tracker_names)
    for tracker, s in scores.items():
        for key in REPORTED_METRICS[kind]:
            value = s.get(key)
            if value is None or not np.isfinite(value):
                why = _UNDEFINED_WHY.get(key, "no frame could be scored")
                message = f"{key} of {tracker} on {dataset.name} is undefined ({why})"
                if key == MAIN_METRIC[kind]:
                    raise ValueError(f"{message}; nothing was written")
                print(f"warning: {message}: eval.json leaves it out (listed under undefined_metrics)",
                      file=sys.stderr)
    return scores


def format_table(kind, scores, dataset_name=""):
    if kind == "vos":
        return vos_metrics.format_vos_table(scores, dataset_name)
    return {"vot": report.format_vot_table, "ope": report.format_ope_table,
            "got10k": report.format_got10k_table, "lt": report.format_lt_table}[kind](scores)


def write_plots(kind, scores, out_dir, dataset_name):
    """EAO curves (VOT), success/precision plots (OPE), success plot (GOT-10k), precision-recall and
    F-score-vs-threshold plots (VOT-LT); VOS has only tables.

    Every file name carries the dataset name, so plots of two datasets written
    beside each other do not overwrite each other."""
    if kind == "vot":
        return [report.plot_eao_curve(scores, os.path.join(out_dir, f"eao_{dataset_name}.png"), dataset_name)]
    if kind == "got10k":
        return [report.plot_got10k_success(scores, out_dir, dataset_name)]
    if kind == "ope":
        return report.plot_ope_curves(scores, out_dir, dataset_name)
    if kind == "lt":
        return report.plot_lt_curves(scores, out_dir, dataset_name)
    return []


def summarise(kind, tracker_scores, fps=None):
    """The eval.json view of one tracker: per-video and all-video numbers."""
    if kind == "vos":
        return _summarise_vos(tracker_scores, fps)
    per_video = {}
    for name, v in tracker_scores["per_video"].items():
        if kind == "vot":
            entry = {"acc": v["accuracy"], "num_failures": int(v["num_failures"]), "length": v["length"]}
        elif kind == "got10k":
            entry = {k: v[k] for k in ("ao", "sr50", "sr75", "length")}
        elif kind == "lt":
            entry = {k: v[k] for k in ("precision", "recall", "f_score", "n_visible", "n_absent", "length")}
            entry["threshold"] = _threshold_value(v["threshold"])
        else:
            entry = {k: v[k] for k in ("success_auc", "precision", "norm_precision")}
        if fps is not None and fps.get(name) is not None:
            entry["fps"] = fps[name]      # absent: no time file (results made by another program)
        per_video[name] = entry
    if kind == "vot":
        keys = ("accuracy", "robustness", "lost_number", "eao", "eao_per_tag", "eao_range")
    elif kind == "got10k":
        keys = ("ao", "sr50", "sr75", "speed_fps")
    elif kind == "lt":
        keys = ("precision", "recall", "f_score", "n_thresholds")
    else:
        keys = ("success_auc", "precision", "norm_precision")
    all_videos = {k: tracker_scores[k] for k in keys}
    if kind == "lt":
        all_videos["threshold"] = _threshold_value(tracker_scores["threshold"])
    valid = [f for f in (fps or {}).values() if f]
    if valid:
        all_videos["mean_fps"] = float(np.mean(valid))
    return per_video, all_videos


def _threshold_value(threshold):
    """A VOT-LT threshold for eval.json: the number, or "inf" / "-inf" for the end points
    (-inf: every frame with a positive confidence; inf: none), which strict JSON cannot hold."""
    return float(threshold) if np.isfinite(threshold) else ("inf" if threshold > 0 else "-inf")


def _summarise_vos(tracker_scores, fps=None):
    """Per target (``<seq>`` or ``<seq>_<id>``) the DAVIS measures and fps; all_videos = DAVIS's table."""
    per_video = {}
    for name, v in tracker_scores["per_video"].items():
        entry = {k: v[k] for k in ("sequence", "object_id", *vos_metrics.MEASURES, "frames")}
        seq_fps = fps.get(v["sequence"]) if fps is not None else v.get("fps")
        if seq_fps is not None:
            entry["fps"] = seq_fps      # absent: no time file
        per_video[name] = entry
    all_videos = {k: tracker_scores[k] for k in (*vos_metrics.MEASURES, "num_objects", "num_sequences")}
    seq_fps = {v["sequence"]: v.get("fps") for v in per_video.values()}
    valid = [f for f in seq_fps.values() if f]
    if valid:
        all_videos["mean_fps"] = float(np.mean(valid))
    return per_video, all_videos


def software_versions():
    import cv2
    versions = {"python": sys.version.split()[0], "numpy": np.__version__, "opencv": cv2.__version__,
                "platform": platform.platform(), "machine": platform.machine()}
    try:
        import mindspore
        versions["mindspore"] = mindspore.__version__
    except ImportError:
        pass
    return versions


def write_json(path, data):
    """Strict JSON, atomically. An undefined secondary number (NaN: the EAO of a tag no frame
    carries, the accuracy of a sequence whose frames all fall in burn-in) is left out and its
    key listed under ``undefined_metrics``; the reported metrics were checked by ``score``."""
    undefined = []
    data = _finite(data, "", undefined)
    if undefined:
        data["undefined_metrics"] = undefined
    text = json.dumps(data, indent=1, default=_jsonable, allow_nan=False)
    results.atomic_write_text(path, text + "\n")


def _finite(obj, where, undefined):
    """``obj`` without its non-finite floats (dict entries dropped, their keys collected)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            key = f"{where}.{k}" if where else str(k)
            if _is_nonfinite(v):
                undefined.append(key)
            else:
                out[k] = _finite(v, key, undefined)
        return out
    if isinstance(obj, (list, tuple)):
        if any(_is_nonfinite(v) for v in obj):
            raise ValueError(f"{where} holds a NaN or infinite value; nothing was written")
        return [_finite(v, f"{where}[{i}]", undefined) for i, v in enumerate(obj)]
    if isinstance(obj, np.ndarray):
        return _finite(obj.tolist(), where, undefined)
    return obj


def _is_nonfinite(value):
    return isinstance(value, (float, np.floating)) and not np.isfinite(value)


def _jsonable(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def dataset_notes(dataset):
    """``{"dataset_notes": ...}``: what loading the dataset found (``Dataset.notes``: ground-truth
    source, missing sequences, unusable ground-truth frames), or {} when it has none."""
    notes = getattr(dataset, "notes", None)
    return {"dataset_notes": notes} if notes else {}


def eval_record(kind, dataset, tracker_name, scores, fps, extra):
    per_video, all_videos = summarise(kind, scores[tracker_name], fps)
    return {"dataset": dataset.name, **dataset_notes(dataset), "protocol": PROTOCOL_NAMES[kind],
            "tracker": tracker_name, **extra, "per_video": per_video, "all_videos": all_videos,
            "software": software_versions(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


__all__ = ["MAIN_METRIC", "REPORTED_METRICS", "PROTOCOL_NAMES", "protocol_of", "produces_masks", "run_vos",
           "run_vos_dataset", "run_dataset", "recorded_fps", "score", "format_table", "write_plots", "summarise", "eval_record",
           "write_json", "software_versions", "dataset_notes"]

"""Video object segmentation scores: DAVIS region similarity J and contour accuracy F.

Follows the official DAVIS evaluation (davis2017-evaluation ``metrics.py``,
``utils.py`` and ``evaluation.py``, semi-supervised task):

* J (``db_eval_iou``): intersection over union of the binary masks; a frame
  where both are empty scores 1. Optional void pixels are left out of both.
* F (``db_eval_boundary`` / ``f_measure``): the masks' 1-pixel boundaries
  (``seg2bmap``) are matched within ``bound_pix = ceil(0.008 * image diagonal)``
  pixels (dilation with the disk ``x^2 + y^2 <= r^2``, skimage's ``disk``);
  precision = matched predicted boundary pixels / predicted boundary pixels,
  recall = matched ground-truth boundary pixels / ground-truth boundary pixels,
  F = 2PR / (P + R) (0 when P + R = 0). Special cases: no predicted boundary
  and some ground truth -> P = 1, R = 0; some prediction and no ground truth ->
  P = 0, R = 1; both empty -> P = R = 1.
* Statistics per object (``db_statistics``): mean ``M = nanmean(X)``, recall
  ``O = nanmean(X > 0.5)``, decay ``D = nanmean(bin 0) - nanmean(bin 3)`` over
  four (overlapping) bins ``X[ids[i]:ids[i + 1] + 1]`` with
  ``ids = round(linspace(1, len(X), 5) + 1e-10) - 1``.
* The first and the last frame of every sequence are not scored (the first
  is the given annotation); every object of a sequence is one entry
  (``<seq>_<id>`` in DAVIS 2017); the dataset numbers are the plain means over
  objects, and J&F-Mean = (J-Mean + F-Mean) / 2.

The per-frame functions take stacks ``(N, H, W)`` (or single ``(H, W)``
masks) and are vectorised over frames. ``score_vos`` reads the mask PNGs that
``results.write_vos_result`` writes (and the official DAVIS layout in
general) and ``format_vos_table`` prints the DAVIS tables.
"""
import math
import os
import warnings

import cv2
import numpy as np

from . import results

BOUND_TH = 0.008
N_BINS = 4
MEASURES = ("J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay")
_CV_MAX_CHANNELS = 512          # cv2.dilate handles up to CV_CN_MAX channels in one call


# -------------------------------------------------------------- per frame: J
def _stack(masks):
    masks = np.asarray(masks)
    return (masks[None] if masks.ndim == 2 else masks).astype(bool)


def region_similarity(gt, pred, void=None):
    """J per frame: |gt & pred| / |gt | pred| (void pixels excluded); 1 when both are empty.

    ``gt``/``pred``: binary masks (H, W) or stacks (N, H, W); returns a float or an (N,) array.
    """
    single = np.ndim(gt) == 2
    gt, pred = _stack(gt), _stack(pred)
    if gt.shape != pred.shape:
        raise ValueError(f"mask shapes differ: ground truth {gt.shape[1:]}, prediction {pred.shape[1:]}")
    keep = np.ones_like(gt) if void is None else ~_stack(void)
    inter = np.count_nonzero(gt & pred & keep, axis=(1, 2))
    union = np.count_nonzero((gt | pred) & keep, axis=(1, 2))
    j = np.where(union == 0, 1.0, inter / np.maximum(union, 1))
    return float(j[0]) if single else j


# -------------------------------------------------------------- per frame: F
def seg2bmap(seg):
    """1-pixel boundary map of binary masks (H, W) or (N, H, W) (DAVIS ``_seg2bmap``).

    A pixel is on the boundary when it differs from its east, south or
    south-east neighbour (outside the image counts as background), except that
    the last row and column only compare with their east / south neighbour and
    the bottom-right pixel is never a boundary: boundaries sit half a pixel
    towards the origin from the segment's edge.
    """
    seg = _stack(seg)
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :, :-1] = seg[:, :, 1:]
    s[:, :-1, :] = seg[:, 1:, :]
    se[:, :-1, :-1] = seg[:, 1:, 1:]
    b = (seg ^ e) | (seg ^ s) | (seg ^ se)
    b[:, -1, :] = seg[:, -1, :] ^ e[:, -1, :]
    b[:, :, -1] = seg[:, :, -1] ^ s[:, :, -1]
    b[:, -1, -1] = False
    return b


def disk(radius):
    """skimage.morphology.disk: uint8 (2r+1, 2r+1) with ones where x^2 + y^2 <= r^2."""
    r = int(radius)
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    return (x * x + y * y <= r * r).astype(np.uint8)


def bound_pixels(shape, bound_th=BOUND_TH):
    """Matching tolerance in pixels: ``bound_th`` itself if >= 1, else ceil(bound_th * diagonal)."""
    return bound_th if bound_th >= 1 else math.ceil(bound_th * math.hypot(shape[-2], shape[-1]))


def _dilate(maps, kernel):
    """Dilate every (H, W) map of an (N, H, W) bool stack (cv2.dilate over channels)."""
    out = np.empty(maps.shape, np.uint8)
    for start in range(0, len(maps), _CV_MAX_CHANNELS):
        chunk = np.ascontiguousarray(maps[start:start + _CV_MAX_CHANNELS].transpose(1, 2, 0), dtype=np.uint8)
        dilated = cv2.dilate(chunk, kernel)
        out[start:start + chunk.shape[2]] = dilated.reshape(chunk.shape).transpose(2, 0, 1)
    return out.astype(bool)


def boundary_prf(gt, pred, void=None, bound_th=BOUND_TH):
    """Boundary (precision, recall, F) per frame (DAVIS ``f_measure``), each an (N,) array."""
    gt, pred = _stack(gt), _stack(pred)
    if gt.shape != pred.shape:
        raise ValueError(f"mask shapes differ: ground truth {gt.shape[1:]}, prediction {pred.shape[1:]}")
    if void is not None:
        keep = ~_stack(void)
        gt, pred = gt & keep, pred & keep
    kernel = disk(bound_pixels(gt.shape, bound_th))
    fg_boundary, gt_boundary = seg2bmap(pred), seg2bmap(gt)
    fg_match = np.count_nonzero(fg_boundary & _dilate(gt_boundary, kernel), axis=(1, 2))
    gt_match = np.count_nonzero(gt_boundary & _dilate(fg_boundary, kernel), axis=(1, 2))
    n_fg = np.count_nonzero(fg_boundary, axis=(1, 2))
    n_gt = np.count_nonzero(gt_boundary, axis=(1, 2))
    # no predicted boundary -> P 1; no ground-truth boundary -> R 1. With the
    # counts above this gives DAVIS's special cases: prediction without ground
    # truth P 0 / R 1, ground truth without prediction P 1 / R 0, neither P 1 / R 1.
    precision = np.divide(fg_match, n_fg, out=np.ones(len(n_fg)), where=n_fg > 0)
    recall = np.divide(gt_match, n_gt, out=np.ones(len(n_gt)), where=n_gt > 0)
    total = precision + recall
    f = np.divide(2 * precision * recall, total, out=np.zeros(len(total)), where=total > 0)
    return precision, recall, f


def contour_accuracy(gt, pred, void=None, bound_th=BOUND_TH):
    """F per frame (boundary F-measure); a float for (H, W) masks, else an (N,) array."""
    f = boundary_prf(gt, pred, void, bound_th)[2]
    return float(f[0]) if np.ndim(gt) == 2 else f


# --------------------------------------------------------------- statistics
def statistics(values, n_bins=N_BINS):
    """(mean, recall, decay) of per-frame values (DAVIS ``db_statistics``); NaNs for no frames.

    DAVIS casts the bin indices to uint8 (wrong past 256 frames); plain ints here.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        mean = np.nanmean(x)
        recall = np.nanmean(x > 0.5)
        ids = (np.round(np.linspace(1, len(x), n_bins + 1) + 1e-10) - 1).astype(np.int64)
        bins = [x[ids[i]:ids[i + 1] + 1] for i in range(n_bins)]
        decay = np.nanmean(bins[0]) - np.nanmean(bins[-1])
    return float(mean), float(recall), float(decay)


def object_scores(gt, pred, void=None, bound_th=BOUND_TH):
    """J and F of one object over the scored frames: per-frame lists and DAVIS statistics.

    ``gt``/``pred``: (N, H, W) binary stacks of the frames to score (first and
    last frame already left out).
    """
    j = region_similarity(gt, pred, void) if len(gt) else np.zeros(0)
    f = contour_accuracy(gt, pred, void, bound_th) if len(gt) else np.zeros(0)
    j_stats, f_stats = statistics(j), statistics(f)
    entry = {"J-Mean": j_stats[0], "J-Recall": j_stats[1], "J-Decay": j_stats[2],
             "F-Mean": f_stats[0], "F-Recall": f_stats[1], "F-Decay": f_stats[2]}
    entry["J&F-Mean"] = (entry["J-Mean"] + entry["F-Mean"]) / 2
    entry["J_per_frame"] = np.asarray(j, float).tolist()
    entry["F_per_frame"] = np.asarray(f, float).tolist()
    entry["frames"] = int(len(j))
    return entry


def summary(per_object):
    """DAVIS global numbers: means over objects of their statistics; J&F-Mean = (J-Mean + F-Mean) / 2."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        for key in MEASURES[1:]:
            values = [v[key] for v in per_object.values()]
            out[key] = float(np.mean(values)) if values else float("nan")
    out = {"J&F-Mean": (out["J-Mean"] + out["F-Mean"]) / 2, **out}
    return out


# ------------------------------------------------------- result folders -> scores
def sequence_scores(video, result_dir, bound_th=BOUND_TH):
    """``{target name: object_scores}`` for one DAVIS sequence from its result PNGs.

    Ground truth and results are read for frames 1 .. N-2 only. Single-object
    sequences (DAVIS 2016 style) compare ``result > 0`` with ``annotation > 0``
    and name the target ``<seq>``; multi-object ones compare ``== id`` per
    object and name the targets ``<seq>_<id>``.
    """
    if not video.fully_annotated:
        raise ValueError(f"{video.name}: only the first frame is annotated (test split): "
                         "evaluate on the official server")
    frames = range(1, len(video) - 1)
    gt = np.stack([video.read_label(i) for i in frames]) if len(frames) else None
    pred = np.stack([results.read_vos_mask(results.vos_mask_path(result_dir, video.frame_stem(i)),
                                            video.image_size, video.object_ids if video.multi_object else None)
                     for i in frames]) if len(frames) else None
    out = {}
    for obj in video.object_ids:
        if gt is None:
            g = p = np.zeros((0,) + video.image_size[::-1], bool)
        elif video.multi_object:
            g, p = gt == obj, pred == obj
        else:
            g, p = gt > 0, pred > 0
        out[video.target_name(obj)] = {"sequence": video.name, "object_id": int(obj),
                                       **object_scores(g, p, bound_th=bound_th)}
    return out


def score_vos(dataset, results_dir, tracker_names, bound_th=BOUND_TH):
    """J / F per tracker from mask PNGs under ``results_dir/<tracker>/<seq>/``.

    Returns ``{tracker: {J&F-Mean, J-Mean, J-Recall, J-Decay, F-Mean, F-Recall,
    F-Decay, num_objects, num_sequences, per_video: {target: {sequence,
    object_id, <the seven measures>, frames, J_per_frame, F_per_frame, fps}}}}``
    (``fps`` from the run's time file when there is one, else None).
    """
    scores = {}
    for tracker in tracker_names:
        per_object = {}
        for video in dataset:
            result_dir = results.vos_result_dir(results_dir, tracker, video.name)
            if not os.path.isdir(result_dir):
                raise results.ResultsError(f"missing result folder {result_dir}")
            times = results.read_times(results.vos_time_path(result_dir, video.name))
            fps = len(times) / float(times.sum()) if len(times) else None
            for name, entry in sequence_scores(video, result_dir, bound_th).items():
                per_object[name] = {**entry, "fps": fps}
        scores[tracker] = {**summary(per_object), "num_objects": len(per_object),
                           "num_sequences": len(dataset), "per_video": per_object}
    return scores


# ----------------------------------------------------------------------- tables
def _table(columns, rows):
    """Right-aligned columns, two spaces apart (pandas ``to_string(index=False)`` look)."""
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(columns)]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return [line(columns)] + [line(r) for r in rows]


def _num(v):
    return "nan" if v is None or not np.isfinite(v) else f"{v:.3f}"


def format_vos_table(scores, dataset_name="", show_video_level=True):
    """The DAVIS evaluation's output: global results (ranked by J&F-Mean), then per sequence.

    One global row per tracker (a Tracker column first); per-sequence J-Mean /
    F-Mean for every tracker side by side (fewer than 10 trackers).
    """
    ranked = sorted(scores, key=lambda t: -np.nan_to_num(scores[t]["J&F-Mean"], nan=-1.0))
    where = f" on {dataset_name}" if dataset_name else ""
    title = f" Global results{where} "
    body = _table(["Tracker", *MEASURES], [[t, *(_num(scores[t][m]) for m in MEASURES)] for t in ranked])
    bar = max(len(body[0]), len(title) + 6)
    lines = [title.center(bar, "-"), *body]
    if show_video_level and len(scores) < 10:
        names = list(next(iter(scores.values()))["per_video"])
        multi = len(scores) > 1
        columns = ["Sequence"] + [f"{t} {m}" if multi else m for t in ranked for m in ("J-Mean", "F-Mean")]
        rows = [[n] + [_num(scores[t]["per_video"][n][m]) for t in ranked for m in ("J-Mean", "F-Mean")]
                for n in names]
        body = _table(columns, rows)
        title = f" Per sequence results{where} "
        lines += ["", title.center(max(len(body[0]), len(title) + 6), "-"), *body]
    return "\n".join(lines) + "\n"


__all__ = ["BOUND_TH", "MEASURES", "region_similarity", "seg2bmap", "disk", "bound_pixels", "boundary_prf",
           "contour_accuracy", "statistics", "object_scores", "summary", "sequence_scores", "score_vos",
           "format_vos_table"]

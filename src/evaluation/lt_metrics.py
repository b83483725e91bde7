"""VOT long-term metrics: tracking precision, recall and F-score as pysot computes them.

Ports of pysot ``toolkit/utils/statistics.py`` (``determine_thresholds``,
``calculate_f1``) and ``toolkit/evaluation/f1_benchmark.py`` (``F1Benchmark``
and its ``show_result`` aggregation), the VOT-LT 2018/2019 measures:

* the confidences of every frame of every sequence (a result's first frame
  has none: NaN) are pooled and ``determine_thresholds`` picks ``resolution - 2``
  of them, evenly spaced in the sorted order, plus ``-inf`` and ``inf``; the
  thresholds are then used from the highest down (pysot reverses them);
* per sequence and threshold t, with the frames whose confidence is >= t
  (at ``-inf``: whose confidence is > 0, sic pysot):
  precision Pr(t) = mean overlap of those frames, recall Re(t) = their summed
  overlap / the number of frames where the target is visible; no frame
  selected gives Pr = 1, Re = 0;
* the curves are averaged over sequences, F(t) = 2 Pr Re / (Pr + Re) of the
  averages, and the reported numbers are F's maximum and Pr, Re at its
  (first, i.e. highest) threshold.

Frames where the target is absent (a NaN ground-truth row: pysot ``VOTLTVideo``
turns it into the special region ``[0]``) do not count in the visible-frame
number, and their overlap is NaN, i.e. 0: a frame where the tracker reports
the target (confidence >= t) while it is absent lowers precision; one where it
reports nothing does not. The first frame's result is the code ``[1]``: NaN
overlap, confidence NaN, read as 0. Overlaps are pysot's ``vot_overlap``
(rasterised, bounds = image ``(W, H)``: ``calculate_accuracy(..., bound=(w, h))``).

Two deliberate differences, both where pysot gives no number:

* fewer pooled confidences than ``resolution - 2``: pysot's index arithmetic
  runs past the end of the sorted array (an IndexError); here every confidence
  is a threshold (the VOT toolkit's ``determine_thresholds`` rule);
* Pr + Re == 0 at a threshold: pysot's F is 0/0 = NaN there and its
  ``np.argmax`` then picks that NaN as the maximum; here F is 0.

Inputs are duck-typed like ``vot_metrics``: ``videos`` iterable of objects with
``name``, ``gt`` (rows ``[x, y, w, h]`` or polygons, all-NaN = absent),
``width`` and ``height``; ``runs`` maps a video name to ``(trajectory,
confidences)`` as read from a long-term result (``results.read_lt_result``).
"""
import warnings

import numpy as np

from .region import vot_overlaps

RESOLUTION = 100      # pysot / VOT toolkit default number of thresholds (with -inf and inf)


def determine_thresholds(scores, resolution=RESOLUTION):
    """Ascending thresholds ``[-inf, ..., inf]`` from pooled confidences (pysot ``determine_thresholds``).

    NaN scores are dropped and the rest sorted; with ``n >= resolution - 2`` of
    them, ``delta = floor(n / (resolution - 2))`` and the sorted scores at
    indices ``floor(linspace(delta - 1, n - delta, resolution - 2) + 0.5)`` are
    the inner thresholds. With fewer (pysot indexes past the end), every score
    is one (``n + 2`` thresholds).
    """
    scores = np.asarray(scores, np.float64).ravel()
    scores = np.sort(scores[~np.isnan(scores)])
    inner = resolution - 2
    if inner < 1:
        raise ValueError(f"resolution {resolution}: need at least 3 thresholds")
    if len(scores) < inner:
        middle = scores
    else:
        delta = np.floor(len(scores) / inner)
        idxs = np.floor(np.linspace(delta - 1, len(scores) - delta, inner) + 0.5).astype(np.int32)
        middle = scores[idxs]
    return np.concatenate([[-np.inf], middle, [np.inf]])


def absent_frames(gt):
    """Bool per ground-truth row: the target is absent (pysot: the row's first value is NaN)."""
    gt = np.asarray(gt, np.float64)
    return np.isnan(gt[:, 0]) if len(gt) else np.zeros(0, bool)


def sequence_overlaps(trajectory, gt, bounds):
    """Per-frame overlaps (pysot ``calculate_accuracy`` on a long-term video: NaN where the
    result is a code such as the first frame's ``[1]`` or the target is absent)."""
    absent = absent_frames(gt)
    gt_regions = [[0] if a else list(row) for row, a in zip(np.asarray(gt, np.float64), absent)]
    n = min(len(trajectory), len(gt_regions))
    return vot_overlaps(list(trajectory)[:n], gt_regions[:n], bounds)


def precision_recall(overlaps, scores, thresholds, n_visible):
    """(precision, recall) per threshold (pysot ``calculate_f1`` without its F).

    NaN overlaps and scores count as 0; at ``-inf`` the frames with a score > 0
    are selected, elsewhere those with score >= t.
    """
    overlaps = np.nan_to_num(np.asarray(overlaps, np.float64), nan=0.0)
    scores = np.nan_to_num(np.asarray(scores, np.float64), nan=0.0, posinf=np.inf, neginf=-np.inf)
    if len(overlaps) != len(scores):
        raise ValueError(f"{len(overlaps)} overlaps but {len(scores)} confidences")
    thresholds = np.asarray(thresholds, np.float64)
    precision, recall = np.zeros(len(thresholds)), np.zeros(len(thresholds))
    for i, th in enumerate(thresholds):
        selected = scores > 0 if th == -np.inf else scores >= th
        if not selected.any():
            precision[i], recall[i] = 1.0, 0.0
        else:
            precision[i] = np.mean(overlaps[selected])
            # a sequence without a visible frame (never in VOT-LT: frame 1 has the target) recalls nothing
            recall[i] = np.sum(overlaps[selected]) / n_visible if n_visible else 0.0
    return precision, recall


def f_score(precision, recall):
    """F = 2 Pr Re / (Pr + Re), 0 where Pr + Re == 0 (pysot: NaN)."""
    precision, recall = np.asarray(precision, np.float64), np.asarray(recall, np.float64)
    total = precision + recall
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 2 * precision * recall / np.where(total > 0, total, 1), 0.0)


def best_point(precision, recall):
    """(index, precision, recall, F) at the first maximum of F (pysot ``show_result``)."""
    f = f_score(precision, recall)
    k = int(np.argmax(f))
    return k, float(precision[k]), float(recall[k]), float(f[k])


def long_term_scores(videos, runs, resolution=RESOLUTION):
    """pysot F1Benchmark + ``show_result``: the dataset's precision, recall and F-score.

    Returns ``{precision, recall, f_score, threshold, thresholds, precision_curve,
    recall_curve, f_curve, per_video}``: curves over ``thresholds`` from the
    highest (``inf``) down to ``-inf``; ``threshold`` is where F peaks;
    ``per_video[name] = {precision, recall, f_score, threshold, n_visible,
    n_absent, length}`` at that video's own F maximum (pysot's per-video table),
    plus its curves (``precision_curve``, ``recall_curve``).
    """
    videos = list(videos)
    pooled = np.concatenate([np.asarray(runs[v.name][1], np.float64) for v in videos]) if videos \
        else np.zeros(0)
    thresholds = determine_thresholds(pooled, resolution)[::-1]
    per_video, precisions, recalls = {}, [], []
    for video in videos:
        trajectory, confidences = runs[video.name]
        absent = absent_frames(video.gt)
        n_visible = int(np.sum(~absent))
        overlaps = sequence_overlaps(trajectory, video.gt, (video.width, video.height))
        pr, re = precision_recall(overlaps, np.asarray(confidences, np.float64)[:len(overlaps)],
                                  thresholds, n_visible)
        k, p, r, f = best_point(pr, re)
        per_video[video.name] = {"precision": p, "recall": r, "f_score": f, "threshold": float(thresholds[k]),
                                 "n_visible": n_visible, "n_absent": int(np.sum(absent)),
                                 "length": len(overlaps), "precision_curve": pr, "recall_curve": re}
        precisions.append(pr)
        recalls.append(re)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        precision = np.mean(precisions, axis=0) if precisions else np.full(len(thresholds), np.nan)
        recall = np.mean(recalls, axis=0) if recalls else np.full(len(thresholds), np.nan)
    k, p, r, f = best_point(precision, recall) if precisions else (0, np.nan, np.nan, np.nan)
    return {"precision": p, "recall": r, "f_score": f, "threshold": float(thresholds[k]),
            "thresholds": thresholds, "precision_curve": precision, "recall_curve": recall,
            "f_curve": f_score(precision, recall), "per_video": per_video}

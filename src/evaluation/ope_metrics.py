"""One-pass evaluation metrics: OTB/LaSOT (pysot OPEBenchmark) and GOT-10k (got10k toolkit).

OTB-style (ports of pysot ``toolkit/utils/statistics.py`` ``overlap_ratio``,
``success_overlap``, ``success_error`` and ``OPEBenchmark.eval_*``):

* success: fraction of frames with IoU > t for t = 0, 0.05, ..., 1; AUC = mean;
* precision: fraction with centre error <= t px, t = 0..50, reported at 20 px;
* normalised precision: centre error divided by the ground-truth size, t = 0,
  0.01, ..., 0.5, reported at 0.20.

Frames whose ground truth is all zero (target absent) are kept in the frame
count: they are misses in success (IoU := -1) and hits in precision (distance
:= -1), as in pysot. Sequences with a ``visible`` mask (pysot LaSOT ``absent``)
are scored on visible frames but still divided by the full length.

GOT-10k (got10k ``ExperimentGOT10k.report``/``_evaluate`` and
``utils.metrics.rect_iou``): IoU of boxes clipped to the image, first frame
excluded, only frames with ``cover > 0``; AO = mean IoU, SR_t = share of IoU > t,
all frames of all sequences pooled (frame-weighted), success curve on 101 bins.
"""
import numpy as np

from .geometry import rect_centers

SUCCESS_THRESHOLDS = np.arange(0, 1.05, 0.05)
PRECISION_THRESHOLDS = np.arange(0, 51, 1)
NORM_PRECISION_THRESHOLDS = np.arange(0, 51, 1) / 100
PRECISION_INDEX = 20          # 20 px / 0.20 in the threshold arrays above
GOT10K_IOU_BINS = np.linspace(0, 1, 101)


def overlap_ratio(rect1, rect2):
    """IoU of (N, 4) ``[x, y, w, h]`` boxes, clipped to [0, 1] (pysot ``overlap_ratio``).

    Corners at ``x + w`` (continuous boxes). Not ``models.box_coder.iou_corners``:
    that one measures widths as ``x2 - x1`` and would differ in the last bits.
    """
    left = np.maximum(rect1[:, 0], rect2[:, 0])
    right = np.minimum(rect1[:, 0] + rect1[:, 2], rect2[:, 0] + rect2[:, 2])
    top = np.maximum(rect1[:, 1], rect2[:, 1])
    bottom = np.minimum(rect1[:, 1] + rect1[:, 3], rect2[:, 1] + rect2[:, 3])
    intersect = np.maximum(0, right - left) * np.maximum(0, bottom - top)
    union = rect1[:, 2] * rect1[:, 3] + rect2[:, 2] * rect2[:, 3] - intersect
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = intersect / union
    return np.maximum(np.minimum(1, iou), 0)


def success_overlap(gt_bb, result_bb, n_frame):
    """Success curve over SUCCESS_THRESHOLDS (pysot ``success_overlap``).

    Frames whose ground truth has a non-positive width or height get IoU -1
    (never a success) but still count in ``n_frame``.
    """
    iou = np.full(len(gt_bb), -1.0)
    mask = np.sum(gt_bb[:, 2:] > 0, axis=1) == 2
    iou[mask] = overlap_ratio(gt_bb[mask], result_bb[mask])
    return np.sum(iou[None, :] > SUCCESS_THRESHOLDS[:, None], axis=1) / float(n_frame)


def success_error(gt_center, result_center, thresholds, n_frame):
    """Precision curve (pysot ``success_error``): share of frames with error <= t.

    Frames whose ground-truth centre is not strictly positive get distance -1,
    i.e. a hit at every threshold (pysot's handling of absent targets).
    """
    dist = np.full(len(gt_center), -1.0)
    mask = np.sum(gt_center > 0, axis=1) == 2
    dist[mask] = np.sqrt(np.sum(np.power(gt_center[mask] - result_center[mask], 2), axis=1))
    return np.sum(dist[None, :] <= np.asarray(thresholds)[:, None], axis=1) / float(n_frame)


def ope_sequence_curves(gt, pred, visible=None):
    """Success, precision and normalised-precision curves of one sequence.

    ``gt`` and ``pred`` are (N, 4) ``[x, y, w, h]``; ``visible`` (bool, N) restricts
    the scored frames as pysot does for LaSOT (the denominator stays N).
    """
    gt, pred = np.asarray(gt, np.float64), np.asarray(pred, np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"result has shape {pred.shape}, ground truth {gt.shape}")
    n_frame = len(gt)
    if visible is not None:
        gt, pred = gt[np.asarray(visible, bool)], pred[np.asarray(visible, bool)]
    gt_center, pred_center = rect_centers(gt), rect_centers(pred)
    gt_wh = gt[:, 2:4] + 1e-16
    return {
        "success": success_overlap(gt, pred, n_frame),
        "precision": success_error(gt_center, pred_center, PRECISION_THRESHOLDS, n_frame),
        "norm_precision": success_error(gt_center / gt_wh, pred_center / gt_wh,
                                        NORM_PRECISION_THRESHOLDS, n_frame),
    }


def ope_summary(per_sequence):
    """Dataset numbers from per-sequence curves (pysot ``OPEBenchmark.show_result``).

    AUC = mean over sequences of the mean success curve; precision and norm
    precision = mean curve over sequences at 20 px / 0.20.
    """
    curves = {k: np.mean([c[k] for c in per_sequence.values()], axis=0)
              for k in ("success", "precision", "norm_precision")}
    return {"success_auc": float(np.mean([c["success"] for c in per_sequence.values()])),
            "precision": float(curves["precision"][PRECISION_INDEX]),
            "norm_precision": float(curves["norm_precision"][PRECISION_INDEX]),
            "curves": curves}


# --------------------------------------------------------------------- GOT-10k
def rect_iou_bounded(rects1, rects2, bound=None):
    """IoU of (N, 4) boxes clipped to the image ``bound = (W, H)`` (got10k ``rect_iou``).

    got10k clips x, y into [0, W] x [0, H] first and then w, h to the image edge,
    so a box sticking out on the left/top is moved inside with its size kept,
    while one sticking out on the right/bottom is cut. Inputs are not modified
    (got10k clips its arrays in place).
    """
    r1, r2 = np.array(rects1, np.float64), np.array(rects2, np.float64)
    if bound is not None:
        for r in (r1, r2):
            r[:, 0] = np.clip(r[:, 0], 0, bound[0])
            r[:, 1] = np.clip(r[:, 1], 0, bound[1])
            r[:, 2] = np.clip(r[:, 2], 0, bound[0] - r[:, 0])
            r[:, 3] = np.clip(r[:, 3], 0, bound[1] - r[:, 1])
    x1, y1 = np.maximum(r1[:, 0], r2[:, 0]), np.maximum(r1[:, 1], r2[:, 1])
    x2 = np.minimum(r1[:, 0] + r1[:, 2], r2[:, 0] + r2[:, 2])
    y2 = np.minimum(r1[:, 1] + r1[:, 3], r2[:, 1] + r2[:, 3])
    inter = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    union = np.prod(r1[:, 2:], axis=1) + np.prod(r2[:, 2:], axis=1) - inter
    return np.clip(inter / (union + np.finfo(float).eps), 0.0, 1.0)


def got10k_sequence_ious(pred, gt, bound, cover=None):
    """IoUs scored for one GOT-10k sequence: frames 2.., only where ``cover > 0``."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"result has shape {pred.shape}, ground truth {gt.shape}")
    ious = rect_iou_bounded(pred[1:], gt[1:], bound)
    return ious if cover is None else ious[np.asarray(cover)[1:] > 0]


def got10k_metrics(ious, times=()):
    """AO, SR0.50, SR0.75, speed (fps, -1 unknown) and success curve (got10k ``_evaluate``)."""
    ious, times = np.asarray(ious, np.float64), np.asarray(times, np.float64)
    return {"ao": float(np.mean(ious)), "sr50": float(np.mean(ious > 0.5)),
            "sr75": float(np.mean(ious > 0.75)),
            "speed_fps": float(np.mean(1.0 / times)) if len(times) else -1.0,
            "succ_curve": np.mean(ious[:, None] > GOT10K_IOU_BINS[None, :], axis=0)}

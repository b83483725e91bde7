"""Box coding between anchors and regression deltas (SiamRPN convention).

``dx = (tcx - cx) / w, dy = (tcy - cy) / h, dw = log(tw / w), dh = log(th / h)``.
All functions broadcast over leading axes; the last/first axis convention is
stated per function.
"""
import numpy as np


def corner_to_center(box):
    """[x1, y1, x2, y2] -> [cx, cy, w, h] along axis 0 (arrays or scalars)."""
    x1, y1, x2, y2 = box[0], box[1], box[2], box[3]
    return np.stack([(x1 + x2) * 0.5, (y1 + y2) * 0.5, x2 - x1, y2 - y1])


def center_to_corner(box):
    """[cx, cy, w, h] -> [x1, y1, x2, y2] along axis 0."""
    cx, cy, w, h = box[0], box[1], box[2], box[3]
    return np.stack([cx - w * 0.5, cy - h * 0.5, cx + w * 0.5, cy + h * 0.5])


def encode(target_center, anchor_center):
    """Deltas (4, ...) of a target [cx, cy, w, h] w.r.t. anchors (4, ...)."""
    tcx, tcy, tw, th = target_center
    cx, cy, w, h = anchor_center
    return np.stack([(tcx - cx) / w, (tcy - cy) / h,
                     np.log(tw / w), np.log(th / h)]).astype(np.float32)


def decode(delta, anchor_center):
    """Boxes [cx, cy, w, h] (4, N) from deltas (4, N) and anchors (N, 4).

    The one decoding of the Python code (tracker, validation metric); the C++
    app decodes the same way in ``ascend310_infer/src/tracker.cc``
    (``SiamTracker::Search``), in double precision as the tracker does here.
    """
    return np.stack([delta[0] * anchor_center[:, 2] + anchor_center[:, 0],
                     delta[1] * anchor_center[:, 3] + anchor_center[:, 1],
                     np.exp(delta[2]) * anchor_center[:, 2],
                     np.exp(delta[3]) * anchor_center[:, 3]])


def iou_corners(boxes, target):
    """IoU of boxes (4, ...) in corner form with a target [x1, y1, x2, y2] (scalars, or arrays broadcasting with the boxes)."""
    x1, y1, x2, y2 = boxes[0], boxes[1], boxes[2], boxes[3]
    tx1, ty1, tx2, ty2 = target
    ww = np.maximum(0, np.minimum(tx2, x2) - np.maximum(tx1, x1))
    hh = np.maximum(0, np.minimum(ty2, y2) - np.maximum(ty1, y1))
    inter = ww * hh
    area = (x2 - x1) * (y2 - y1)
    target_area = (tx2 - tx1) * (ty2 - ty1)
    return inter / (area + target_area - inter)

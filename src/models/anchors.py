"""Anchor generation for SiamRPN / SiamMask (pysot ``Anchors`` semantics).

Two layouts are needed:
* training targets: absolute coordinates in the search crop, arrays of shape
  (A, S, S) (anchor-major, then y, then x) — see :func:`training_anchors`;
* tracking: offsets from the search-crop centre, flattened to (A*S*S, 4)
  in the same anchor-major order as the network's cls/loc channels — see
  :func:`tracking_anchors`.
"""
import math

import numpy as np

from .box_coder import center_to_corner, corner_to_center


def base_anchors(stride, ratios, scales):
    """(A, 4) array of [w, h] pairs expanded to [-w/2, -h/2, w/2, h/2] corners.

    ``ws = int(sqrt(stride**2 / r)); hs = int(ws * r)`` with integer truncation,
    exactly as pysot/SiamMask, giving (104,32), (88,40), (64,64), (40,80),
    (32,96) for stride 8, scale 8.
    """
    size = stride * stride
    out = []
    for r in ratios:
        ws = int(math.sqrt(size * 1.0 / r))
        hs = int(ws * r)
        for s in scales:
            w, h = ws * s, hs * s
            out.append([-w * 0.5, -h * 0.5, w * 0.5, h * 0.5])
    return np.asarray(out, dtype=np.float32)


def score_size(search_size, exemplar_size=127, stride=8, base_size=0):
    """Side of the score map: ``(search - exemplar) // stride + 1 + base_size``."""
    return (search_size - exemplar_size) // stride + 1 + base_size


def training_anchors(stride, ratios, scales, image_center, size):
    """Anchors over a search crop for target assignment.

    Returns ``(corners, centers)``, each float32 of shape (4, A, size, size):
    corners = x1, y1, x2, y2 and centers = cx, cy, w, h, in crop pixels, with
    the middle anchor at ``image_center`` (pysot ``generate_all_anchors``).
    """
    anchors = base_anchors(stride, ratios, scales)
    num = anchors.shape[0]
    a0 = image_center - size // 2 * stride
    cx, cy, w, h = corner_to_center([(anchors[:, i] + a0).reshape(num, 1, 1) for i in range(4)])
    disp = np.arange(size, dtype=np.float32) * stride
    zero = np.zeros((num, size, size), dtype=np.float32)
    cx = cx + disp.reshape(1, 1, -1) + zero
    cy = cy + disp.reshape(1, -1, 1) + zero
    w = w + zero
    h = h + zero
    centers = np.stack([cx, cy, w, h])
    return center_to_corner(centers).astype(np.float32), centers.astype(np.float32)


def tracking_anchors(stride, ratios, scales, size):
    """(A*size*size, 4) float32 [cx, cy, w, h] relative to the search centre.

    Same order as pysot ``SiamRPNTracker.generate_anchor``: anchor-major, then
    y, then x; centres at ``-(size // 2) * stride + stride * i``. The C++ app
    builds the same table in the ``SiamTracker`` constructor
    (``ascend310_infer/src/tracker.cc``).
    """
    anchors = base_anchors(stride, ratios, scales)
    num = anchors.shape[0]
    w = anchors[:, 2] - anchors[:, 0]
    h = anchors[:, 3] - anchors[:, 1]
    ori = -(size // 2) * stride
    pos = ori + stride * np.arange(size, dtype=np.float32)
    xx, yy = np.meshgrid(pos, pos)
    out = np.empty((num, size * size, 4), dtype=np.float32)
    out[:, :, 0] = xx.reshape(1, -1)
    out[:, :, 1] = yy.reshape(1, -1)
    out[:, :, 2] = w.reshape(-1, 1)
    out[:, :, 3] = h.reshape(-1, 1)
    return out.reshape(-1, 4)

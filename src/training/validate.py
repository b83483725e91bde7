"""Held-out pair metric: does the top-scoring anchor land on the target?

For each validation pair (centre crop, no augmentation) the box decoded at
the anchor with the highest foreground score is compared with the target
box; the metric is the share of pairs with IoU > 0.5. The target box comes
back from the regression labels (they hold the target's deltas for every
anchor), so the loader needs no extra column.
"""
import numpy as np

from ..models.anchors import training_anchors
from ..models.box_coder import center_to_corner, iou_corners


def _decode_at(delta, centers):
    """delta (4, N) at anchors with centers (4, N) -> [cx, cy, w, h] (4, N)."""
    cx, cy, w, h = centers
    # an untrained network can predict huge log-sizes: clip so exp stays finite
    dw, dh = np.clip(delta[2], -20, 20), np.clip(delta[3], -20, 20)
    return np.stack([delta[0] * w + cx, delta[1] * h + cy, np.exp(dw) * w, np.exp(dh) * h])


def top_anchor_hit_rate(forward, batches, cfg, iou_thr=0.5):
    """``forward(template, search) -> (cls, loc)`` numpy; batches yield dicts of numpy arrays."""
    anchor = cfg.model.anchor
    _, centers = training_anchors(anchor.stride, anchor.ratios, anchor.scales,
                                  cfg.train.search_size // 2, cfg.train.output_size)
    centers = centers.reshape(4, -1)
    hits = total = 0
    for batch in batches:
        cls, loc = forward(batch["template"], batch["search"])
        b, c, h, w = cls.shape
        logits = cls.reshape(b, 2, -1)
        fg = logits[:, 1] - logits[:, 0]     # softmax over {bg, fg} is monotonic in this
        deltas = loc.reshape(b, 4, -1)
        labels = batch["label_loc"].reshape(b, 4, -1)
        best = fg.argmax(axis=1)
        rows = np.arange(b)
        pred = _decode_at(deltas[rows, :, best].T, centers[:, best])
        target = _decode_at(labels[:, :, 0].T, np.repeat(centers[:, :1], b, axis=1))
        ious = iou_corners(center_to_corner(pred), center_to_corner(target))  # element-wise
        hits += int((ious > iou_thr).sum())
        total += b
    return hits / max(total, 1), total

"""Held-out pair metric: does the top-scoring anchor land on the target?

For each validation pair (centre crop, no augmentation) the box decoded at
the anchor with the highest foreground score is compared with the target
box; the metric is the share of pairs with IoU > 0.5. The target box comes
back from the regression labels (they hold the target's deltas for every
anchor), so the loader needs no extra column. SiamMask adds the mean IoU of
the predicted masks (logit >= 0) at the positive positions (the reference's
``iou_measure``). SiamFC: the share of pairs whose response peak lies on
a positive cell of the label map (within ``r_pos`` of the centre, where the
training crops put the target).

Each family's ``build_validator`` (src/models/registry.py) is one of the
``*_validator`` functions at the end: ``(cfg, network, loss cell) -> f(batches)``.
"""
import numpy as np

from ..models.anchors import training_anchors
from ..models.box_coder import center_to_corner, decode, iou_corners

# an untrained network can predict huge log-sizes: they are clipped to this so exp stays finite
MAX_LOG_SIZE = 20


def _decode_at(delta, centers):
    """delta (4, N) at anchors with centers (4, N) -> [cx, cy, w, h] (4, N)."""
    clipped = np.array(delta)
    clipped[2:] = np.clip(clipped[2:], -MAX_LOG_SIZE, MAX_LOG_SIZE)
    return decode(clipped, centers.T)


def _top_anchor_hits(cls, loc, label_loc, centers, iou_thr):
    """Pairs of a batch whose top-scoring anchor decodes to a box with IoU > iou_thr."""
    b = cls.shape[0]
    logits = cls.reshape(b, 2, -1)
    fg = logits[:, 1] - logits[:, 0]     # softmax over {bg, fg} is monotonic in this
    deltas = loc.reshape(b, 4, -1)
    labels = label_loc.reshape(b, 4, -1)
    best = fg.argmax(axis=1)
    rows = np.arange(b)
    pred = _decode_at(deltas[rows, :, best].T, centers[:, best])
    target = _decode_at(labels[:, :, 0].T, np.repeat(centers[:, :1], b, axis=1))
    ious = iou_corners(center_to_corner(pred), center_to_corner(target))  # element-wise
    return int((ious > iou_thr).sum())


def _centers(cfg):
    anchor = cfg.model.anchor
    _, centers = training_anchors(anchor.stride, anchor.ratios, anchor.scales,
                                  cfg.train.search_size // 2, cfg.train.output_size)
    return centers.reshape(4, -1)


def top_anchor_hit_rate(forward, batches, cfg, iou_thr=0.5):
    """``forward(template, search) -> (cls, loc)`` numpy; batches yield dicts of numpy arrays."""
    centers = _centers(cfg)
    hits = total = 0
    for batch in batches:
        cls, loc = forward(batch["template"], batch["search"])
        hits += _top_anchor_hits(cls, loc, batch["label_loc"], centers, iou_thr)
        total += cls.shape[0]
    return hits / max(total, 1), total


def mask_ious(masks, target, weight):
    """IoU of predicted and true masks at the used slots (SiamMask ``iou_measure``).

    masks (B, K, P) logits (object where >= 0), target (B, K, P) in {-1, 0, 1}
    (object where 1), weight (B, K). Returns the IoUs of the used slots; a
    slot where both masks are empty counts as 1.
    """
    used = np.asarray(weight).reshape(-1) > 0
    b, k = np.asarray(weight).shape
    pred = np.asarray(masks).reshape(b * k, -1)[used] >= 0
    true = np.asarray(target).reshape(b * k, -1)[used] == 1
    inter = np.count_nonzero(pred & true, axis=1)
    union = np.count_nonzero(pred | true, axis=1)
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def siammask_metrics(forward, batches, cfg, iou_thr=0.5):
    """Top-anchor hit rate plus the mean mask IoU at the positive positions.

    ``forward(template, search, mask_pos) -> (cls, loc, masks)`` numpy, masks
    (B, K, 127*127) logits at the ``mask_pos`` slots.
    """
    centers = _centers(cfg)
    hits = total = 0
    ious = []
    for batch in batches:
        cls, loc, masks = forward(batch["template"], batch["search"], batch["mask_pos"])
        hits += _top_anchor_hits(cls, loc, batch["label_loc"], centers, iou_thr)
        total += cls.shape[0]
        ious.append(mask_ious(masks, batch["mask_target"], batch["mask_weight"]))
    ious = np.concatenate(ious) if ious else np.zeros(0)
    return {"top_anchor_iou>0.5": hits / max(total, 1), "pairs": total,
            "mask_iou": float(ious.mean()) if ious.size else None, "mask_positions": int(ious.size)}


def response_peak_hit_rate(forward, batches, positives):
    """Share of pairs whose response peak is a positive cell: ``forward(template, search) ->
    (B, 1, h, w)`` numpy responses, ``positives`` (h, w) bool (the label map == 1)."""
    hits = total = 0
    positives = np.asarray(positives, dtype=bool).reshape(-1)
    for batch in batches:
        response = np.asarray(forward(batch["template"], batch["search"]))
        b = response.shape[0]
        peaks = response.reshape(b, -1).argmax(axis=1)
        hits += int(positives[peaks].sum())
        total += b
    return hits / max(total, 1), total


# -- the families' validators --------------------------------------------------

def rpn_validator(cfg, net, loss_cell=None):
    import mindspore as ms

    def forward(z, x):
        cls, loc = net(ms.Tensor(z), ms.Tensor(x))
        return cls.asnumpy(), loc.asnumpy()

    def validate(batches):
        rate, n = top_anchor_hit_rate(forward, batches, cfg)
        return {"top_anchor_iou>0.5": rate, "pairs": n}
    return validate


def siammask_validator(cfg, net, loss_cell=None):
    import mindspore as ms
    from .loss import SiamMaskPredictor, build_loss_cell
    predictor = SiamMaskPredictor(loss_cell if loss_cell is not None else build_loss_cell(cfg, net)[0])

    def forward_masks(z, x, pos):
        return tuple(o.asnumpy() for o in predictor(ms.Tensor(z), ms.Tensor(x), ms.Tensor(pos)))

    def validate(batches):
        predictor.set_train(False)
        return siammask_metrics(forward_masks, batches, cfg)
    return validate


def siamfc_validator(cfg, net, loss_cell=None):
    import mindspore as ms
    from ..models.siamfc_loss import SiamFCTargets
    positives = SiamFCTargets.from_config(cfg).map[0] == 1

    def forward(z, x):
        return net(ms.Tensor(z), ms.Tensor(x)).asnumpy()

    def validate(batches):
        rate, n = response_peak_hit_rate(forward, batches, positives)
        return {"peak_within_r_pos": rate, "pairs": n}
    return validate

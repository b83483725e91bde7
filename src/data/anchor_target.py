"""SiamRPN training labels: which anchors are positive / negative, and their deltas.

A port of pysot ``datasets/anchor_target.py`` (``AnchorTarget``), kept
numerically identical so that a model trained here sees the same targets as one
trained with pysot:

* anchors tile the search crop with the middle anchor on the crop centre
  (``training_anchors(image_center=search_size // 2, size=output_size)``);
* positive: IoU with the target > ``thr_high`` (at most ``pos_num`` kept, a
  random subset); negative: IoU < ``thr_low`` (at most ``total_num`` minus the
  ``pos_num`` *limit* kept — pysot subtracts the limit, not the number of
  positives found); everything else is ignored (-1);
* regression deltas are computed for every anchor, but only positives carry
  weight, ``1 / (number of positives kept + 1e-6)`` each;
* negative pairs (template and search show different objects) only label a
  7x7 block of negatives around the target's position on the score map.

All randomness comes from the ``numpy.random.Generator`` passed in, so a label
map is a pure function of (target, neg, rng state).
"""
import numpy as np

from src.models.anchors import training_anchors
from src.models.box_coder import corner_to_center, encode, iou_corners


def _select(rng, position, keep_num):
    """Random subset of at most ``keep_num`` of the ``np.where`` indices ``position``."""
    num = position[0].shape[0]
    if num <= keep_num:
        return position, num
    keep = rng.permutation(num)[:keep_num]
    return tuple(p[keep] for p in position), keep_num


class AnchorTarget:
    """Label maker for one search crop (pysot ``AnchorTarget``).

    ``neg_num`` is the number of negatives kept for a *negative pair*
    (pysot ``cfg.TRAIN.NEG_NUM``, 16; config key ``train.neg_num``).
    """

    def __init__(self, anchor_cfg, search_size, output_size, thr_high, thr_low,
                 pos_num, total_num, neg_num=16):
        self.search_size = search_size
        self.output_size = output_size
        self.stride = anchor_cfg.stride
        self.anchor_num = anchor_cfg.num
        self.thr_high = thr_high
        self.thr_low = thr_low
        self.pos_num = pos_num
        self.total_num = total_num
        self.neg_num = neg_num
        self.corners, self.centers = training_anchors(
            anchor_cfg.stride, anchor_cfg.ratios, anchor_cfg.scales,
            image_center=search_size // 2, size=output_size)

    def __call__(self, target_corners, neg, rng):
        """Labels for a target box [x1, y1, x2, y2] in search-crop pixels.

        Returns ``(cls, delta, delta_weight, overlap)``: ``cls`` int32 (A, S, S)
        with -1 ignore / 0 negative / 1 positive, ``delta`` float32 (4, A, S, S)
        (dx, dy, dw, dh of the target w.r.t. every anchor), ``delta_weight``
        float32 (A, S, S) and ``overlap`` float32 (A, S, S), the anchors' IoU
        with the target (zeros for a negative pair).
        """
        shape = (self.anchor_num, self.output_size, self.output_size)
        cls = np.full(shape, -1, dtype=np.int32)
        delta = np.zeros((4,) + shape, dtype=np.float32)
        delta_weight = np.zeros(shape, dtype=np.float32)
        target = np.asarray(target_corners, dtype=np.float32)
        tcx, tcy = corner_to_center(target)[:2]

        if neg:
            # pysot's grid position of the target: ceil(offset / stride + 0.5),
            # i.e. one cell right/below of the nearest cell for a centred target.
            # Kept as is for parity.
            size = self.output_size
            cx = size // 2 + int(np.ceil((tcx - self.search_size // 2) / self.stride + 0.5))
            cy = size // 2 + int(np.ceil((tcy - self.search_size // 2) / self.stride + 0.5))
            l, r = max(0, cx - 3), min(size, cx + 4)
            u, d = max(0, cy - 3), min(size, cy + 4)
            cls[:, u:d, l:r] = 0
            neg_pos, _ = _select(rng, np.where(cls == 0), self.neg_num)
            cls[:] = -1
            cls[neg_pos] = 0
            return cls, delta, delta_weight, np.zeros(shape, dtype=np.float32)

        delta[:] = encode(corner_to_center(target), self.centers)
        overlap = iou_corners(self.corners, target).astype(np.float32)

        pos, pos_num = _select(rng, np.where(overlap > self.thr_high), self.pos_num)
        neg_pos, _ = _select(rng, np.where(overlap < self.thr_low), self.total_num - self.pos_num)
        cls[pos] = 1
        delta_weight[pos] = 1.0 / (pos_num + 1e-6)
        cls[neg_pos] = 0
        return cls, delta, delta_weight, overlap


# ----------------------------------------------------------------------------
# SiamMask mask labels

MASK_WINDOW = 127   # side of the ground-truth window per score-map position (SiamMask g_sz)


def mask_window_padding(search_size, output_size, stride=8, window=MASK_WINDOW):
    """Zero padding around the search mask so that ``output_size`` windows of
    ``window`` pixels at ``stride`` tile it (SiamMask's ``F.unfold`` padding):
    32 for 255 -> 25x25 (base stage), 0 for 143 -> 3x3 (sharp stage)."""
    span = (output_size - 1) * stride + window - search_size
    if span < 0 or span % 2:
        raise ValueError(f"mask windows of {window} px at stride {stride} cannot tile a {search_size} px "
                         f"search crop into a {output_size}x{output_size} score map")
    return span // 2


def mask_slots(pos_num, output_size):
    """Fixed number K of mask positions per sample: at most ``pos_num`` anchors are
    positive, so at most that many score-map positions carry a mask loss."""
    return min(pos_num, output_size * output_size)


def mask_targets(cls, search_mask, slots, padding, stride=8, window=MASK_WINDOW):
    """SiamMask mask labels in fixed-size slots (graph-friendly ``select_mask_logistic_loss``).

    ``cls`` (A, S, S) anchor labels; ``search_mask`` (H, W) the augmented
    search-crop mask (>0.5 is the object), or None when the sample has no
    mask (negative pair, or a sub-dataset without masks). A score-map position
    is selected when any of its anchors is positive (SiamMask:
    ``mask_weight = cls.max(axis=0) == 1``), in flat order ``y * S + x``.

    Returns ``(pos, weight, target)``: int32 (K,) flat positions (0 in unused
    slots), float32 (K,) 1 for used slots, and int8 (K, window, window) with
    the window of the +-1 mask zero-padded by ``padding`` at position (y, x):
    ``padded[stride*y : stride*y + window, stride*x : stride*x + window]``
    (``F.unfold(mask, window, padding=padding, stride=stride)``); padded
    pixels are 0, which the soft-margin loss turns into the constant log 2.
    """
    size = cls.shape[-1]
    pos = np.zeros(slots, dtype=np.int32)
    weight = np.zeros(slots, dtype=np.float32)
    target = np.zeros((slots, window, window), dtype=np.int8)
    if search_mask is None:
        return pos, weight, target
    selected = np.flatnonzero((cls == 1).any(axis=0).ravel())
    if selected.size > slots:
        raise ValueError(f"{selected.size} positive positions do not fit {slots} mask slots")
    signed = np.where(np.asarray(search_mask) > 0.5, 1, -1).astype(np.int8)
    padded = np.pad(signed, padding)
    for k, p in enumerate(selected):
        y, x = divmod(int(p), size)
        target[k] = padded[stride * y:stride * y + window, stride * x:stride * x + window]
    pos[:selected.size] = selected
    weight[:selected.size] = 1.0
    return pos, weight, target


# ----------------------------------------------------------------------------
# The loader-side targets of the anchor families (src.models.registry ``build_targets``)

def chw(crop):
    """An HWC crop as the network's float32 CHW array (channels kept as they are)."""
    return np.ascontiguousarray(crop.transpose(2, 0, 1), dtype=np.float32)


class RPNTargets:
    """SiamRPN rows: (template, search, label_cls, label_loc, label_loc_weight), BGR crops."""

    def __init__(self, cfg):
        t = cfg.train
        self.anchor_target = AnchorTarget(cfg.model.anchor, t.search_size, t.output_size, t.thr_high,
                                          t.thr_low, t.pos_num, t.total_num, t.neg_num)

    def labels(self, box, neg, rng):
        cls, delta, delta_weight, _ = self.anchor_target(box, neg, rng)
        return cls, delta, delta_weight

    def sample(self, template_crop, search_crop, box, neg, rng, search_mask=None):
        return (chw(template_crop), chw(search_crop), *self.labels(box, neg, rng))


class MaskTargets(RPNTargets):
    """SiamMask rows: SiamRPN's plus ``mask_pos``, ``mask_weight``, ``mask_target``
    (:func:`mask_targets`; ``search_mask`` None gives all-zero weights)."""

    def __init__(self, cfg):
        super().__init__(cfg)
        t = cfg.train
        self.slots = mask_slots(t.pos_num, t.output_size)
        self.padding = mask_window_padding(t.search_size, t.output_size, cfg.model.anchor.stride)
        self.stride = cfg.model.anchor.stride

    def sample(self, template_crop, search_crop, box, neg, rng, search_mask=None):
        cls, delta, delta_weight = self.labels(box, neg, rng)
        return (chw(template_crop), chw(search_crop), cls, delta, delta_weight,
                *mask_targets(cls, search_mask, self.slots, self.padding, self.stride))

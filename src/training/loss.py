"""SiamRPN losses (pysot ``select_cross_entropy_loss`` / ``weight_l1_loss``) and SiamMask's mask loss."""
import mindspore as ms
from mindspore import nn, ops

from ..models.head.mask import MASK_SIZE, REFINE_SIZE


def rpn_cls_loss(cls, label_cls):
    """0.5 * NLL over positives + 0.5 * NLL over negatives (label -1 ignored).

    cls: (B, 2A, S, S) logits laid out [bg a0..aA-1, fg a0..aA-1];
    label_cls: (B, A, S, S) int in {-1, 0, 1}. Each mean runs over the whole
    batch, as pysot's index-select does; an empty set contributes 0.
    """
    b, c, h, w = cls.shape
    cls = ops.cast(cls, ms.float32)   # losses in float32 whatever the network runs (AMP)
    logp = ops.log_softmax(cls.reshape(b, 2, c // 2, h, w), axis=1)
    pos = ops.cast(label_cls == 1, ms.float32)
    neg = ops.cast(label_cls == 0, ms.float32)
    loss_pos = -(logp[:, 1] * pos).sum() / ops.maximum(pos.sum(), 1.0)
    loss_neg = -(logp[:, 0] * neg).sum() / ops.maximum(neg.sum(), 1.0)
    return 0.5 * loss_pos + 0.5 * loss_neg


def rpn_loc_loss(loc, label_loc, label_loc_weight):
    """Weighted L1: sum over coords, weighted per anchor, divided by batch size.

    loc: (B, 4A, S, S) laid out [dx*A, dy*A, dw*A, dh*A]; label_loc (B, 4, A, S, S).
    """
    b, c, h, w = loc.shape
    loc = ops.cast(loc, ms.float32)
    diff = ops.abs(loc.reshape(b, 4, c // 4, h, w) - label_loc).sum(axis=1)
    return (diff * label_loc_weight).sum() / b


class SiamRPNWithLoss(nn.Cell):
    """Network + loss: returns (total, cls_loss, loc_loss)."""

    def __init__(self, network, cls_weight=1.0, loc_weight=1.2):
        # no prefix: parameter names stay those of the network ('backbone.…'),
        # so checkpoints load into the bare network for tracking and export
        super().__init__(auto_prefix=False)
        self.network = network
        self.cls_weight = cls_weight
        self.loc_weight = loc_weight

    def construct(self, template, search, label_cls, label_loc, label_loc_weight):
        cls, loc = self.network(template, search)
        cls_loss = rpn_cls_loss(cls, label_cls)
        loc_loss = rpn_loc_loss(loc, label_loc, label_loc_weight)
        total = self.cls_weight * cls_loss + self.loc_weight * loc_loss
        return total, cls_loss, loc_loss


# ----------------------------------------------------------------------------
# SiamMask (foolwood models/siammask.py and siammask_sharp.py ``select_mask_logistic_loss``)
#
# The reference selects a data-dependent number of positions with index_select;
# a graph needs static shapes, so the loader fills K fixed slots per sample
# (``mask_pos``/``mask_weight``/``mask_target``, see src.data.anchor_target.mask_targets)
# and the loss weights unused slots with 0. The mean still runs over exactly
# the selected positions x 127*127 pixels, as F.soft_margin_loss does.

def select_positions(maps, pos):
    """(B, C, S, S) per-position outputs at flat positions ``pos`` (B, K) -> (B, K, C)."""
    b, c, h, w = maps.shape
    return ops.gather(maps.reshape(b, c, h * w), pos, 2, batch_dims=1).transpose(0, 2, 1)


def upsample_masks(masks, in_size=MASK_SIZE, out_size=REFINE_SIZE):
    """(B, K, in*in) coarse mask logits -> (B, K, out*out), bilinear with align_corners=True
    (the reference's ``nn.UpsamplingBilinear2d(size=127)``)."""
    b, k, _ = masks.shape
    up = ops.interpolate(masks.reshape(b * k, 1, in_size, in_size), size=(out_size, out_size),
                         mode="bilinear", align_corners=True)
    return up.reshape(b, k, out_size * out_size)


def mask_soft_margin_loss(logits, target, weight):
    """Mean of ``log(1 + exp(-y * x))`` over the used slots' pixels (``F.soft_margin_loss``).

    logits (B, K, P) float; target (B, K, P) in {-1, 0, +1} (0: the reference's
    zero padding, a constant log 2 without gradient); weight (B, K) 1 / 0.
    No used slot gives 0, as the reference's empty selection.
    """
    pixels = logits.shape[2]
    logits = ops.cast(logits, ms.float32)
    per_slot = ops.softplus(-target * logits).sum(axis=2)
    return (per_slot * weight).sum() / (ops.maximum(weight.sum(), 1.0) * pixels)


class SiamMaskWithLoss(nn.Cell):
    """SiamMask + loss: returns (total, cls_loss, loc_loss, mask_loss).

    Base stage (``refine=False``): the coarse 63x63 mask of each selected
    position, upsampled to 127. Sharp stage (``refine=True``): the refine
    module's 127x127 output at the selected positions (``SiamMask.sharp_forward``).
    total = cls_weight * cls + loc_weight * loc + mask_weight * mask.
    """

    def __init__(self, network, cls_weight=1.0, loc_weight=1.2, mask_weight=36.0, refine=False):
        super().__init__(auto_prefix=False)
        self.network = network
        self.cls_weight = cls_weight
        self.loc_weight = loc_weight
        self.mask_weight = mask_weight
        self.refine = refine

    def predict_masks(self, template, search, mask_pos):
        """(cls, loc, mask logits (B, K, 127*127) at the ``mask_pos`` slots)."""
        if self.refine:
            return self.network.sharp_forward(template, search, mask_pos)
        cls, loc, mask = self.network(template, search)
        return cls, loc, upsample_masks(select_positions(mask, mask_pos))

    def construct(self, template, search, label_cls, label_loc, label_loc_weight,
                  mask_pos, mask_weight, mask_target):
        cls, loc, masks = self.predict_masks(template, search, mask_pos)
        cls_loss = rpn_cls_loss(cls, label_cls)
        loc_loss = rpn_loc_loss(loc, label_loc, label_loc_weight)
        b, k = mask_weight.shape
        target = ops.cast(mask_target, ms.float32).reshape(b, k, -1)
        mask_loss = mask_soft_margin_loss(masks, target, mask_weight)
        total = self.cls_weight * cls_loss + self.loc_weight * loc_loss + self.mask_weight * mask_loss
        return total, cls_loss, loc_loss, mask_loss


def rpn_loss_cell(cfg, network):
    """SiamRPN's loss cell and its part names (the family's ``build_loss``)."""
    t = cfg.train
    return SiamRPNWithLoss(network, t.cls_weight, t.loc_weight), ("cls", "loc")


def siammask_loss_cell(cfg, network):
    """SiamMask's loss cell and its part names (the family's ``build_loss``)."""
    t = cfg.train
    cell = SiamMaskWithLoss(network, t.cls_weight, t.loc_weight, t.mask_weight, refine=cfg.model.refine)
    return cell, ("cls", "loc", "mask")


def build_loss_cell(cfg, network):
    """The loss cell for ``cfg.model.arch`` and the names of the parts it returns after the total
    (the family's ``build_loss``, src/models/registry.py)."""
    from ..models.registry import get_family
    return get_family(cfg.model.arch).build_loss(cfg, network)


class SiamMaskPredictor(nn.Cell):
    """Inference-side view of a :class:`SiamMaskWithLoss` for validation:
    ``(template, search, mask_pos) -> (cls, loc, mask logits (B, K, 127*127))``."""

    def __init__(self, loss_cell):
        super().__init__(auto_prefix=False)
        self.loss_cell = loss_cell

    def construct(self, template, search, mask_pos):
        return self.loss_cell.predict_masks(template, search, mask_pos)

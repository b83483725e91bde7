"""SiamRPN losses (pysot ``select_cross_entropy_loss`` / ``weight_l1_loss``)."""
import mindspore as ms
from mindspore import nn, ops


def rpn_cls_loss(cls, label_cls):
    """0.5 * NLL over positives + 0.5 * NLL over negatives (label -1 ignored).

    cls: (B, 2A, S, S) logits laid out [bg a0..aA-1, fg a0..aA-1];
    label_cls: (B, A, S, S) int in {-1, 0, 1}. Each mean runs over the whole
    batch, as pysot's index-select does; an empty set contributes 0.
    """
    b, c, h, w = cls.shape
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

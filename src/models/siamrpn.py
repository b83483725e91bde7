"""SiamRPN network and its tracker/export split.

``SiamRPN`` holds the parameters; ``TemplateNet`` and ``SearchNet`` are thin
cells over the same parameters for the two halves a tracker calls (and the two
graphs that get exported). ``SiamRPN.construct(z, x)`` is the training forward.
"""
from mindspore import nn

from .backbone import build_backbone
from .head import build_rpn_head


class SiamRPN(nn.Cell):
    def __init__(self, model_cfg):
        super().__init__()
        self.backbone = build_backbone(model_cfg)
        self.rpn_head = build_rpn_head(model_cfg, self.backbone.out_channels)

    def template(self, z):
        return self.rpn_head.template(self.backbone(z))

    def track(self, x, k_cls, k_loc):
        return self.rpn_head.track(self.backbone(x), k_cls, k_loc)

    def construct(self, z, x):
        k_cls, k_loc = self.template(z)
        return self.track(x, k_cls, k_loc)


class TemplateNet(nn.Cell):
    """z (B, 3, 127, 127) -> (k_cls, k_loc): run once per target."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def construct(self, z):
        return self.model.template(z)


class SearchNet(nn.Cell):
    """(x, k_cls, k_loc) -> (cls, loc): run every frame."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def construct(self, x, k_cls, k_loc):
        return self.model.track(x, k_cls, k_loc)

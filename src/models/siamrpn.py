"""SiamRPN network: ``template(z)`` once per target, ``track(x, k_cls, k_loc)``
per frame (run through the cells of split.py), ``construct(z, x)`` for training.
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

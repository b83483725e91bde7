"""The graphs a tracker runs (and an exporter writes), over one model's parameters.

Each family declares which of these cells it runs, with their input and output names
(``graphs(cfg)`` of its record, src/models/registry.py ``GraphSpec``):

* ``TemplateNet``: z -> correlation kernels, once per target;
* ``SearchNet``: (x, *kernels) -> the model's per-frame outputs;
* ``RefineNet``: SiamMask's refine module at a chosen position.
"""
from mindspore import nn


class TemplateNet(nn.Cell):
    """z (1, 3, 127, 127) -> kernels (a tuple; SiamRPN 2, SiamMask 3, SiamFC 1)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def construct(self, z):
        return self.model.template(z)


class SearchNet(nn.Cell):
    """(x, *kernels) -> SiamRPN (cls, loc); SiamMask (cls, loc, mask, f0, f1, f2, corr);
    SiamFC (response,), x a batch of its search scales."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def construct(self, x, *kernels):
        return self.model.track(x, *kernels)


class RefineNet(nn.Cell):
    """(p0, p1, p2, p3) -> (N, 127*127) refine logits (SiamMask sharp)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def construct(self, p0, p1, p2, p3):
        return self.model.refine(p0, p1, p2, p3)

"""Network back-ends a tracker runs on.

A back-end turns crops into network outputs: ``template(z) -> kernels``
(opaque, kept by the tracker per target), ``track(x, kernels) -> tuple of
numpy arrays`` and, for SiamMask, ``refine(p0, p1, p2, p3) -> numpy logits``.
The tracker logic never touches MindSpore directly, so the same code runs on
the Cell, on exported graphs, or on another runtime.
"""
import mindspore as ms

from ..models.split import RefineNet, SearchNet, TemplateNet


class MindSporeBackend:
    """Runs a network Cell (graph mode) split into its template, search (and refine) graphs."""

    def __init__(self, model):
        model.set_train(False)
        self.template_net = TemplateNet(model)
        self.search_net = SearchNet(model)
        self.refine_net = RefineNet(model) if getattr(model, "has_refine", False) else None

    def template(self, z):
        return self.template_net(ms.Tensor(z))          # kernels stay MindSpore tensors

    def track(self, x, kernels):
        return tuple(o.asnumpy() for o in self.search_net(ms.Tensor(x), *kernels))

    def refine(self, p0, p1, p2, p3):
        if self.refine_net is None:
            raise RuntimeError("this model has no refine module (model.refine is false)")
        return self.refine_net(*(ms.Tensor(p) for p in (p0, p1, p2, p3))).asnumpy()

"""Network back-ends a tracker runs on.

A back-end turns crops into network outputs: ``template(z) -> kernels``
(opaque, kept by the tracker per target) and ``track(x, kernels) -> tuple of
numpy arrays``. The tracker logic never touches MindSpore directly, so the
same code runs on the Cell, on exported graphs, or on another runtime.
"""
import mindspore as ms

from ..models.siamrpn import SearchNet, TemplateNet


class MindSporeBackend:
    """Runs a network Cell (graph mode) split into its template and search halves."""

    def __init__(self, model):
        model.set_train(False)
        self.template_net = TemplateNet(model)
        self.search_net = SearchNet(model)

    def template(self, z):
        return self.template_net(ms.Tensor(z))          # kernels stay MindSpore tensors

    def track(self, x, kernels):
        return tuple(o.asnumpy() for o in self.search_net(ms.Tensor(x), *kernels))

"""One optimisation step with global-norm clipping and bad-step skipping.

pysot clips the gradient norm at 10 and skips the update when the loss is
NaN/inf or above 1e4. Here the decision is made inside the graph, so a skipped
step costs no host round-trip; the step reports whether it applied.
"""
import mindspore as ms
from mindspore import nn, ops
from mindspore.context import ParallelMode
from mindspore.parallel._utils import _get_device_num, _get_gradients_mean, _get_parallel_mode


class ClipSkipTrainStep(nn.Cell):
    """Outputs (total, cls_loss, loc_loss, grad_norm, applied)."""

    def __init__(self, net_with_loss, optimizer, grad_clip=10.0, max_loss=1e4):
        super().__init__(auto_prefix=False)
        self.network = net_with_loss
        self.network.set_grad()
        self.optimizer = optimizer
        self.weights = optimizer.parameters
        self.grad = ops.GradOperation(get_by_list=True, sens_param=True)
        self.grad_clip = grad_clip
        self.max_loss = max_loss
        self.reducer = ops.identity
        if _get_parallel_mode() in (ParallelMode.DATA_PARALLEL, ParallelMode.HYBRID_PARALLEL):
            self.reducer = nn.DistributedGradReducer(self.weights, _get_gradients_mean(), _get_device_num())

    def construct(self, *inputs):
        total, cls_loss, loc_loss = self.network(*inputs)
        sens = (ops.ones_like(total), ops.zeros_like(cls_loss), ops.zeros_like(loc_loss))
        grads = self.grad(self.network, self.weights)(*inputs, sens)
        grads = self.reducer(grads)
        norm = ops.sqrt(ops.addn([ops.reduce_sum(ops.square(g)) for g in grads]))
        applied = ops.logical_and(ops.logical_and(ops.isfinite(total), total < self.max_loss),
                                  ops.isfinite(norm))
        if applied:
            scale = ops.minimum(self.grad_clip / (norm + 1e-6), 1.0)
            grads = tuple(g * scale for g in grads)
            self.optimizer(grads)
        return total, cls_loss, loc_loss, norm, applied

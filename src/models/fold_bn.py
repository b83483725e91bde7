"""Fold inference BatchNorm into the convolution before it, for the tracking graphs.

At inference a BatchNorm2d is a per-channel ``y = (x - mean) * gamma / sqrt(var + eps) + beta``:
a separate oneDNN primitive that reads and writes the whole feature map once more (and a
BiasAdd follows a convolution with a bias anyway). Folded into the convolution's weights and
bias it costs nothing. The fold is exact arithmetic done in float64, cast to float32 once, so
the folded network differs from the unfolded one by float32 rounding only.

Only *provable* conv -> BN pairs are folded, where the BN's input is the convolution's output
and nothing else:

* in an ``nn.SequentialCell``, a ``Conv2d`` immediately followed by a ``BatchNorm2d``
  (AlexNet stages, the RPN / mask heads, the neck, ResNet downsample branches);
* in a cell listed in :data:`NAMED_PAIRS` (its ``construct`` applies ``bnK(convK(x))``):
  ResNet's stem and bottlenecks.

Any other BatchNorm stays as it is. Training code never sees a folded network: the folded one
is a copy (:func:`fold_batchnorm`).

Opt out with ``MS_TRACKER_FOLD_BN=0`` in the environment (see :func:`fold_enabled`).
"""
import copy
import logging
import os

import numpy as np

ENV_VAR = "MS_TRACKER_FOLD_BN"

log = logging.getLogger(__name__)


def _named_pair_classes():
    # classes whose construct computes bnK(convK(...)) with convK's output used nowhere else
    from .backbone.resnet import Bottleneck, ResNet50
    return {Bottleneck: (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3")),
            ResNet50: (("conv1", "bn1"),)}


def fold_enabled():
    """Whether the tracking back-end folds BatchNorm: on unless ``MS_TRACKER_FOLD_BN`` is 0/false/off/no.
    Any other value than those and 1/true/on/yes is a ValueError naming the variable."""
    value = os.environ.get(ENV_VAR, "1").strip().lower()
    if value in ("1", "true", "on", "yes", ""):
        return True
    if value in ("0", "false", "off", "no"):
        return False
    raise ValueError(f"{ENV_VAR}={os.environ[ENV_VAR]!r}: use 1 (fold BatchNorm, the default) or 0")


def _fold_pair(conv, bn):
    """Fold ``bn`` into ``conv`` in place (float64 arithmetic, one cast)."""
    import mindspore as ms
    w = conv.weight.asnumpy().astype(np.float64)
    co = w.shape[0]
    b = conv.bias.asnumpy().astype(np.float64) if conv.has_bias else np.zeros(co)
    gamma = bn.gamma.asnumpy().astype(np.float64)
    beta = bn.beta.asnumpy().astype(np.float64)
    mean = bn.moving_mean.asnumpy().astype(np.float64)
    var = bn.moving_variance.asnumpy().astype(np.float64)
    if gamma.shape != (co,):
        raise ValueError(f"cannot fold BatchNorm of {gamma.shape[0]} channels into a conv of {co} outputs")
    scale = gamma / np.sqrt(var + float(bn.eps))
    conv.weight.set_data(ms.Tensor((w * scale.reshape(-1, 1, 1, 1)).astype(np.float32)))
    new_bias = ((b - mean) * scale + beta).astype(np.float32)
    if conv.has_bias:
        conv.bias.set_data(ms.Tensor(new_bias))
    else:
        # nn.Conv2d.construct adds self.bias when self.has_bias (read when the graph compiles)
        conv.bias = ms.Parameter(ms.Tensor(new_bias), name=conv.weight.name.rsplit(".", 1)[0] + ".bias")
        conv.has_bias = True


def _foldable(conv, bn):
    from mindspore import nn
    return (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)
            and not bn.use_batch_statistics and conv.weight.shape[0] == bn.gamma.shape[0])


def fold_batchnorm_inplace(model):
    """Fold every provable conv -> BatchNorm pair of ``model`` in place; the BatchNorms become
    ``nn.Identity``. Returns the number folded. The model is left in eval mode."""
    from mindspore import nn
    pairs = _named_pair_classes()
    folded = 0
    for _, cell in list(model.cells_and_names()):
        if isinstance(cell, nn.SequentialCell):
            items = list(cell)
            for i in range(len(items) - 1):
                if _foldable(items[i], items[i + 1]):
                    _fold_pair(items[i], items[i + 1])
                    cell[i + 1] = nn.Identity()
                    folded += 1
        for conv_name, bn_name in pairs.get(type(cell), ()):
            conv, bn = getattr(cell, conv_name), getattr(cell, bn_name)
            if _foldable(conv, bn):
                _fold_pair(conv, bn)
                setattr(cell, bn_name, nn.Identity())
                folded += 1
    model.set_train(False)
    return folded


def fold_batchnorm(model):
    """(a folded copy of ``model`` for inference, number of BatchNorms folded); ``model`` itself
    is untouched (its parameters are not shared with the copy)."""
    folded_model = copy.deepcopy(model)
    n = fold_batchnorm_inplace(folded_model)
    return folded_model, n


def inference_model(model):
    """What the tracking back-end should build its graph Cells from: ``model`` with BatchNorm
    folded (a copy) unless ``MS_TRACKER_FOLD_BN=0``. Says once in the log which it did."""
    if not fold_enabled():
        _log_once(f"BatchNorm folding off ({ENV_VAR}=0)")
        return model
    folded_model, n = fold_batchnorm(model)
    _log_once(f"folded {n} BatchNorm layers into their convolutions for inference "
              f"(set {ENV_VAR}=0 to keep them)")
    return folded_model


_said = set()


def _log_once(message):
    if message not in _said:
        _said.add(message)
        log.info(message)

"""SiamMask heads: the mask branch (``MaskCorr``) and the refine module.

``MaskCorr`` is a ``DepthwiseXCorr`` with 63*63 = 3969 output channels; like
pysot's ``MaskCorr`` it *is* the depthwise module, so its parameters are named
``mask_head.conv_kernel.*``, ``mask_head.conv_search.*``, ``mask_head.head.*``
(foolwood SiamMask: ``mask_model.mask.*``). ``correlate`` gives the 256-channel
correlation feature that the refine module reads at one score-map position.

``Refine`` (foolwood ``experiments/siammask_sharp/custom.py``, pysot
``head/mask.py``) turns the correlation feature at one position plus crops of
the backbone features f0, f1, f2 around it into 127x127 mask logits. The
crops are made by the caller (:func:`src.models.siammask.refine_inputs`).
"""
import numpy as np
import mindspore as ms
from mindspore import nn, ops

from ..layers import conv2d
from .rpn import DepthwiseXCorr

MASK_SIZE = 63          # side of the coarse mask predicted per position (3969 channels)
REFINE_SIZE = 127       # side of the refined mask
# The windows of f0, f1, f2 that ``Refine`` reads around one score-map position:
# (zero padding of the feature map at a 255 search crop, step in feature pixels per
# score-map cell, window side = Refine's input side). The tracker crops them
# (siammask.refine_inputs, SiamMask's F.pad at test time), the sharp-stage training
# gathers the same windows (siammask.gather_windows, which derives the padding from
# the map sizes: 0 at a 143 crop). The C++ app keeps a copy in
# ascend310_infer/src/tracker.cc (MaskLogits) and ascend310_infer/src/model_desc.cc
# (kRefineCrop).
REFINE_CROPS = ((16, 4, 61), (8, 2, 31), (4, 1, 15))


class MaskCorr(DepthwiseXCorr):
    def __init__(self, in_channels=256, hidden=256, out_channels=MASK_SIZE * MASK_SIZE):
        super().__init__(in_channels, hidden, out_channels)


def nearest_indices(in_size, out_size):
    """PyTorch ``F.interpolate(mode='nearest', size=...)`` source indices:
    ``min(floor(dst * (in / out)), in - 1)`` with the scale in float32."""
    scale = np.float32(in_size / out_size)
    idx = np.floor(np.arange(out_size, dtype=np.float32) * scale).astype(np.int64)
    return np.minimum(idx, in_size - 1).astype(np.int32)


class NearestResize(nn.Cell):
    """Nearest-neighbour resize of a fixed (in_size x in_size) map to out_size,
    as two gathers with constant indices: the same source pixels as PyTorch's
    default ``F.upsample(size=...)`` on every backend."""

    def __init__(self, in_size, out_size):
        super().__init__()
        self.index = ms.Tensor(nearest_indices(in_size, out_size))

    def construct(self, x):
        return ops.gather(ops.gather(x, self.index, 2), self.index, 3)


def _conv_relu_stack(c_in, c_mid, c_out):
    """[conv3x3 p1, ReLU, conv3x3 p1, ReLU] as indices 0..3 (reference names .0 / .2)."""
    return nn.SequentialCell([conv2d(c_in, c_mid, 3, padding=1), nn.ReLU(),
                              conv2d(c_mid, c_out, 3, padding=1), nn.ReLU()])


class Refine(nn.Cell):
    """(p0 64x61x61, p1 256x31x31, p2 512x15x15, p3 256x1x1) -> (N, 127*127) logits."""

    def __init__(self):
        super().__init__()
        self.v0 = _conv_relu_stack(64, 16, 4)
        self.v1 = _conv_relu_stack(256, 64, 16)
        self.v2 = _conv_relu_stack(512, 128, 32)
        self.h2 = _conv_relu_stack(32, 32, 32)
        self.h1 = _conv_relu_stack(16, 16, 16)
        self.h0 = _conv_relu_stack(4, 4, 4)
        # weight layout (in, out, kH, kW) as PyTorch's ConvTranspose2d
        self.deconv = nn.Conv2dTranspose(256, 32, 15, stride=15, pad_mode="valid", has_bias=True,
                                         weight_init="HeUniform", bias_init="zeros")
        self.post0 = conv2d(32, 16, 3, padding=1)
        self.post1 = conv2d(16, 4, 3, padding=1)
        self.post2 = conv2d(4, 1, 3, padding=1)
        self.up1 = NearestResize(15, 31)
        self.up2 = NearestResize(31, 61)
        self.up3 = NearestResize(61, REFINE_SIZE)

    def construct(self, p0, p1, p2, p3):
        # the 15x15 stride-15 transposed conv of a 1x1 input is one matmul; written
        # so, it exports to ONNX graphs every runtime reads (MindSpore's ONNX
        # ConvTranspose carries an output_shape attribute onnxruntime rejects)
        w = self.deconv.weight.reshape(256, -1)                   # (in, 32*15*15)
        out = ops.matmul(p3.reshape(-1, 256), w).reshape(-1, 32, 15, 15)
        out = out + self.deconv.bias.reshape(1, 32, 1, 1)        # 32 x 15 x 15
        out = self.post0(self.up1(self.h2(out) + self.v2(p2)))   # 16 x 31 x 31
        out = self.post1(self.up2(self.h1(out) + self.v1(p1)))   # 4 x 61 x 61
        out = self.post2(self.up3(self.h0(out) + self.v0(p0)))   # 1 x 127 x 127
        return out.reshape(-1, REFINE_SIZE * REFINE_SIZE)

"""Feature adjustment between backbone and heads (pysot ``neck``).

SiamMask's "adjust" layer (foolwood ``ResDownS``, pysot ``AdjustLayer``): a 1x1
conv (no bias) + BN from 1024 to 256 channels; feature maps narrower than 20
(the template side: 15x15) are centre-cropped to ``center_size`` (7x7). The
search side (31x31 at 255) is left whole. Shapes are static in graph mode, so
the crop is decided when the graph is compiled.

``AdjustAllLayer`` wraps a single ``AdjustLayer`` as ``downsample``, giving
pysot's parameter names ``neck.downsample.downsample.{0,1}``.
"""
from mindspore import nn

from .layers import batch_norm, conv2d


class AdjustLayer(nn.Cell):
    def __init__(self, in_channels, out_channels, center_size=7, crop_below=20):
        super().__init__()
        self.downsample = nn.SequentialCell([conv2d(in_channels, out_channels, 1, bias=False),
                                             batch_norm(out_channels)])
        self.center_size = center_size
        self.crop_below = crop_below

    def construct(self, x):
        x = self.downsample(x)
        if x.shape[3] < self.crop_below:
            left = (x.shape[3] - self.center_size) // 2
            right = left + self.center_size
            x = x[:, :, left:right, left:right]
        return x


class AdjustAllLayer(nn.Cell):
    """One adjust layer (pysot ``AdjustAllLayer`` with a single input level)."""

    def __init__(self, in_channels=1024, out_channels=256, center_size=7):
        super().__init__()
        self.downsample = AdjustLayer(in_channels, out_channels, center_size)
        self.out_channels = out_channels

    def construct(self, x):
        return self.downsample(x)

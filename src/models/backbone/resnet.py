"""ResNet-50 to layer3 as used by SiamMask (foolwood ``experiments/siammask_sharp/
resnet.py``; identical to pysot ``resnet_atrous`` with ``used_layers [0, 1, 2, 3]``).

Differences from torchvision's ResNet-50:
* conv1 (7x7, stride 2) has **no padding**: 127 -> 61, 255 -> 125;
* layer2's first block has stride 2 in its 3x3 conv with padding 0, and its
  downsample branch is a **3x3** conv (stride 2, padding 0);
* layer3 keeps stride 1 and uses dilation 2 (its first block dilation 1 with a
  3x3, padding-1 downsample conv); layer4 is not built.

Shapes at 127 / 255: f0 (conv1+bn1+relu) 64x61 / 64x125, f1 (layer1) 256x31 /
256x63, f2 (layer2) 512x15 / 512x31, f3 (layer3) 1024x15 / 1024x31.

``construct`` returns all four so SiamMask's refine module can use f0..f2.
Parameter names follow pysot (``conv1``, ``bn1``, ``layerK.i.convJ``,
``layerK.i.downsample.{0,1}``); training freezes stages by these names.
"""
from mindspore import nn, ops

from ..layers import batch_norm, conv2d

EXPANSION = 4


class Bottleneck(nn.Cell):
    """1x1 -> 3x3 (stride / dilation) -> 1x1 (x4 channels), residual, ReLU."""

    def __init__(self, inplanes, planes, stride=1, downsample=None, dilation=1):
        super().__init__()
        padding = 2 - stride
        if downsample is not None and dilation > 1:
            dilation = dilation // 2
            padding = dilation
        if dilation > 1:
            padding = dilation
        self.conv1 = conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = batch_norm(planes)
        self.conv2 = conv2d(planes, planes, 3, stride=stride, padding=padding, dilation=dilation, bias=False)
        self.bn2 = batch_norm(planes)
        self.conv3 = conv2d(planes, planes * EXPANSION, 1, bias=False)
        self.bn3 = batch_norm(planes * EXPANSION)
        self.relu = nn.ReLU()
        self.has_downsample = downsample is not None
        if self.has_downsample:
            self.downsample = downsample

    def construct(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.has_downsample:
            residual = self.downsample(x)
        else:
            residual = x
        return self.relu(out + residual)


class ResNet50(nn.Cell):
    """ResNet-50 stem + layer1..layer3; returns (f0, f1, f2, f3)."""

    def __init__(self, layers=(3, 4, 6)):
        super().__init__()
        self.inplanes = 64
        self.conv1 = conv2d(3, 64, 7, stride=2, padding=0, bias=False)
        self.bn1 = batch_norm(64)
        self.relu = nn.ReLU()
        # maxpool 3/2 with padding 1. Its input is a ReLU output (>= 0), so zero padding
        # gives the same maxima as PyTorch's -inf padding; an explicit pad + 'valid' pool
        # also exports to ONNX (MaxPool2d(pad_mode='pad') lowers to MaxPool3DWithArgmax).
        self.pool_pad = ops.Pad(((0, 0), (0, 0), (1, 1), (1, 1)))
        self.maxpool = nn.MaxPool2d(3, 2, pad_mode="valid")
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=1, dilation=2)
        self.out_channels = 256 * EXPANSION          # layer3
        self.feature_channels = (64, 64 * EXPANSION, 128 * EXPANSION, 256 * EXPANSION)

    def _make_layer(self, planes, blocks, stride=1, dilation=1):
        downsample = None
        out = planes * EXPANSION
        if stride != 1 or self.inplanes != out:
            if stride == 1 and dilation == 1:
                downsample = nn.SequentialCell([conv2d(self.inplanes, out, 1, stride=stride, bias=False),
                                                batch_norm(out)])
            else:
                dd = dilation // 2 if dilation > 1 else 1
                padding = dd if dilation > 1 else 0
                downsample = nn.SequentialCell([conv2d(self.inplanes, out, 3, stride=stride, padding=padding,
                                                       dilation=dd, bias=False),
                                                batch_norm(out)])
        cells = [Bottleneck(self.inplanes, planes, stride, downsample, dilation=dilation)]
        self.inplanes = out
        for _ in range(1, blocks):
            cells.append(Bottleneck(self.inplanes, planes, dilation=dilation))
        return nn.SequentialCell(cells)

    def construct(self, x):
        f0 = self.relu(self.bn1(self.conv1(x)))
        f1 = self.layer1(self.maxpool(self.pool_pad(f0)))
        f2 = self.layer2(f1)
        f3 = self.layer3(f2)
        return f0, f1, f2, f3

"""RPN heads: original up-channel SiamRPN and pysot's depthwise variant.

Each head is split the way a tracker runs it: ``template(zf)`` turns the
exemplar feature into correlation kernels once per target, ``track(xf, k_cls,
k_loc)`` runs per frame. Parameter names follow pysot so checkpoints convert
with BatchNorm renames only.
"""
from mindspore import nn

from ..layers import batch_norm, conv2d
from ..xcorr import xcorr_depthwise, xcorr_up


class UpChannelRPN(nn.Cell):
    """SiamRPN (CVPR'18): template convs lift 256 -> 2k*256 / 4k*256 channels."""

    def __init__(self, anchor_num=5, in_channels=256, hidden=256):
        super().__init__()
        cls_out, loc_out = 2 * anchor_num, 4 * anchor_num
        self.template_cls_conv = conv2d(in_channels, in_channels * cls_out, 3)
        self.template_loc_conv = conv2d(in_channels, in_channels * loc_out, 3)
        self.search_cls_conv = conv2d(in_channels, in_channels, 3)
        self.search_loc_conv = conv2d(in_channels, in_channels, 3)
        self.loc_adjust = conv2d(loc_out, loc_out, 1)

    def template(self, zf):
        return self.template_cls_conv(zf), self.template_loc_conv(zf)

    def track(self, xf, k_cls, k_loc):
        cls = xcorr_up(self.search_cls_conv(xf), k_cls)
        loc = self.loc_adjust(xcorr_up(self.search_loc_conv(xf), k_loc))
        return cls, loc


class DepthwiseXCorr(nn.Cell):
    """conv+BN+ReLU on each side, depthwise correlation, then a 1x1 head."""

    def __init__(self, in_channels, hidden, out_channels):
        super().__init__()
        self.conv_kernel = nn.SequentialCell([conv2d(in_channels, hidden, 3, bias=False),
                                              batch_norm(hidden), nn.ReLU()])
        self.conv_search = nn.SequentialCell([conv2d(in_channels, hidden, 3, bias=False),
                                              batch_norm(hidden), nn.ReLU()])
        self.head = nn.SequentialCell([conv2d(hidden, hidden, 1, bias=False), batch_norm(hidden),
                                       nn.ReLU(), conv2d(hidden, out_channels, 1)])

    def template(self, zf):
        return self.conv_kernel(zf)

    def track(self, xf, kernel):
        return self.head(xcorr_depthwise(self.conv_search(xf), kernel))

    def correlate(self, xf, kernel):
        """Correlation feature before the head (SiamMask's refine uses it)."""
        return xcorr_depthwise(self.conv_search(xf), kernel)


class DepthwiseRPN(nn.Cell):
    def __init__(self, anchor_num=5, in_channels=256, hidden=256):
        super().__init__()
        self.cls = DepthwiseXCorr(in_channels, hidden, 2 * anchor_num)
        self.loc = DepthwiseXCorr(in_channels, hidden, 4 * anchor_num)

    def template(self, zf):
        return self.cls.template(zf), self.loc.template(zf)

    def track(self, xf, k_cls, k_loc):
        return self.cls.track(xf, k_cls), self.loc.track(xf, k_loc)

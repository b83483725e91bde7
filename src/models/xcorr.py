"""Cross-correlation of search features with per-sample template kernels.

Both variants fold the batch into the channel axis and run one grouped
convolution, so the graph holds no per-sample loop and no fixed batch size
(pysot ``xcorr_fast`` / ``xcorr_depthwise``).
"""
from mindspore import ops


def xcorr_depthwise(x, kernel):
    """x (B, C, H, W), kernel (B, C, h, w) -> (B, C, H-h+1, W-w+1)."""
    b, c, kh, kw = kernel.shape
    px = x.reshape(1, b * c, x.shape[2], x.shape[3])
    pk = kernel.reshape(b * c, 1, kh, kw)
    out = ops.conv2d(px, pk, groups=b * c)
    return out.reshape(b, c, out.shape[2], out.shape[3])


def xcorr_up(x, kernel):
    """Up-channel correlation: x (B, C, H, W), kernel (B, K*C, h, w) -> (B, K, H', W').

    Kernel channel ``k*C + c`` correlates with feature channel ``c`` and sums
    into output ``k`` (the layout of the template conv's output).
    """
    b, c = x.shape[0], x.shape[1]
    kh, kw = kernel.shape[2], kernel.shape[3]
    px = x.reshape(1, b * c, x.shape[2], x.shape[3])
    pk = kernel.reshape(-1, c, kh, kw)
    out = ops.conv2d(px, pk, groups=b)
    return out.reshape(b, -1, out.shape[2], out.shape[3])

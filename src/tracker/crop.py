"""Context crops with mean padding: the square cut around a target that every tracker feeds its network.

``padded_square`` is the one place that cuts a square out of a frame and fills what lies
outside it; the families differ only in how they round the corner and the side and in their
padding colour: pysot's ``get_subwindow`` here (SiamRPN, SiamMask), siamfc-pytorch's
``crop_and_resize`` in siamfc_tracker.py. ``resized_square`` is that square resized: a padded
crop much larger than the output is not materialised but sampled where the resize reads it
(``sampled_resize``, the same bytes; the C++ app's ``SampledResize`` alike).
"""
import math

import cv2
import numpy as np


def round_half_up(x):
    """pysot rounds crop corners with ``floor(x + 0.5)``."""
    return math.floor(x + 0.5)


def padded_square(image, x0, y0, side, fill):
    """``image[y0:y0 + side, x0:x0 + side]`` (HxWxC) with the pixels outside the frame set to ``fill``.

    A crop that lies inside the frame is a view; otherwise only the crop itself is
    allocated, not a padded copy of the whole frame (what pysot's and siamfc-pytorch's
    padded canvases hold, same pixels), so the cost does not grow with the image.
    """
    h, w = image.shape[:2]
    ix0, iy0 = max(x0, 0), max(y0, 0)
    ix1, iy1 = min(x0 + side, w), min(y0 + side, h)
    if ix0 == x0 and iy0 == y0 and ix1 == x0 + side and iy1 == y0 + side:
        return image[y0:y0 + side, x0:x0 + side]
    patch = np.empty((side, side, image.shape[2]), image.dtype)
    patch[:] = fill
    if ix1 > ix0 and iy1 > iy0:
        patch[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] = image[iy0:iy1, ix0:ix1]
    return patch


# OpenCV's INTER_LINEAR fixed point for uint8 (imgproc/src/resize.cpp): coefficients scaled by
# 2^INTER_RESIZE_COEF_BITS, the horizontal pass exact in int32
_COEF_SCALE = np.float32(1 << 11)
# a padded crop up to this many times the output's side is materialised: measured on 2 cores,
# sampling (numpy, ~2-6 ms at 127-287 outputs) costs less only beyond, where the crop buffer
# outgrows malloc's reuse and each frame pays its page faults
_SAMPLE_ABOVE = 4


def _linear_taps(src, dst, clamp_weights):
    """OpenCV's INTER_LINEAR taps along one axis of ``src`` -> ``dst`` samples: (i0, i1, w0, w1)
    with ``out = in[i0] * w0 + in[i1] * w1`` in 1/2048 units. cv2.resize computes the position in
    float32 from a float64 scale ``1 / (dst / src)``, rounds each weight half-even (cvRound) and
    clamps reads to the edge; along x an out-of-range tap also gets weight (2048, 0), along y only
    the row index is clamped (the weights stay: both rows are then the same edge row)."""
    scale = 1.0 / (dst / src)
    pos = ((np.arange(dst) + 0.5) * scale - 0.5).astype(np.float32)
    i0 = np.floor(pos).astype(np.int64)
    frac = (pos - i0.astype(np.float32)).astype(np.float32)
    if clamp_weights:
        edge = (i0 < 0) | (i0 >= src - 1)
        frac[edge] = 0
        i0 = np.clip(i0, 0, src - 1)
    w0 = np.rint((np.float32(1) - frac) * _COEF_SCALE).astype(np.int32)
    w1 = np.rint(frac * _COEF_SCALE).astype(np.int32)
    return np.clip(i0, 0, src - 1), np.clip(i0 + 1, 0, src - 1), w0, w1


def _taps_image(image, x0, y0, xs, ys, fill):
    """``padded_square(image, x0, y0, ...)[ys][:, xs]`` (crop coordinates) without the crop: one
    nearest-neighbour cv2.remap on integer coordinates, an exact gather, whose constant border
    is the padding; coordinates off the frame (also those int16 cannot hold) read ``fill``."""
    h, w = image.shape[:2]
    xs, ys = xs + x0, ys + y0
    xs = np.where((xs >= 0) & (xs < w), xs, -1).astype(np.int16)
    ys = np.where((ys >= 0) & (ys < h), ys, -1).astype(np.int16)
    coords = np.empty((len(ys), len(xs), 2), np.int16)
    coords[..., 0] = xs
    coords[..., 1] = ys[:, None]
    return cv2.remap(image, coords, None, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                     borderValue=tuple(float(v) for v in np.broadcast_to(fill, image.shape[2:3])))


def sampled_resize(image, x0, y0, side, out_size, fill):
    """``cv2.resize(padded_square(image, x0, y0, side, fill), (out_size, out_size))`` byte for
    byte, for a uint8 HxWx3 ``image``, reading only the crop pixels the resize reads (two rows
    and two columns per output pixel), so the cost follows ``out_size``, not ``side``.

    Reproduces OpenCV's INTER_LINEAR for uint8 (4.x, resize.cpp): horizontal pass
    ``p[i0] * a0 + p[i1] * a1`` exact in int32; vertical pass as its SIMD kernel
    (VResizeLinearVec_32s8u), which cv2 uses across the whole row: each row term shifted right
    by 4, multiplied by the row weight keeping the high 16 bits, the two summed and rounded
    ``(s + 2) >> 2``. tests/test_crop_exact.py holds it to cv2.resize on many sizes and boxes
    (exact 2x downscales included, where cv2 takes its INTER_AREA path: same bytes)."""
    xi0, xi1, a0, a1 = _linear_taps(side, out_size, clamp_weights=True)
    yi0, yi1, b0, b1 = _linear_taps(side, out_size, clamp_weights=False)
    n = out_size
    # the four taps of every output pixel: rows (yi0, yi1) x columns (xi0, xi1)
    taps = _taps_image(image, x0, y0, np.concatenate([xi0, xi1]), np.concatenate([yi0, yi1]), fill)
    rows = np.multiply(taps[:, :n], a0[:, None], dtype=np.int32)      # both rows of each output row
    rows += np.multiply(taps[:, n:], a1[:, None], dtype=np.int32)
    rows >>= 4
    rows *= np.concatenate([b0, b1])[:, None, None]
    rows >>= 16
    out = rows[:n]
    out += rows[n:]
    out += 2
    out >>= 2
    return np.clip(out, 0, 255, out=out).astype(np.uint8)


def resized_square(image, x0, y0, side, out_size, fill):
    """``padded_square(image, x0, y0, side, fill)`` resized to ``out_size`` (cv2 INTER_LINEAR),
    as uint8 HxWxC. A crop inside the frame is a view, which cv2.resize reads only where it
    samples; a padded crop much larger than the output is sampled (``sampled_resize``, same
    bytes), not materialised: a 3,940-pixel crop would be a 47 MB buffer written each frame."""
    h, w = image.shape[:2]
    inside = x0 >= 0 and y0 >= 0 and x0 + side <= w and y0 + side <= h
    if side == out_size:
        return padded_square(image, x0, y0, side, fill)
    # (the gather's int16 coordinates hold frames up to 32767 pixels a side)
    if (not inside and side > _SAMPLE_ABOVE * out_size and image.dtype == np.uint8
            and image.ndim == 3 and max(h, w) < 2 ** 15):
        return sampled_resize(image, x0, y0, side, out_size, fill)
    return cv2.resize(padded_square(image, x0, y0, side, fill), (out_size, out_size))


def get_subwindow(image, center, model_size, original_size, avg_chans, rounding=round_half_up):
    """Square crop of side ``original_size`` around ``center``, resized to ``model_size``.

    Returns a (1, 3, model_size, model_size) float32 array (BGR, 0..255).
    Outside the image the crop is filled with ``avg_chans`` cast to uint8,
    exactly as pysot's padded uint8 canvas does. The C++ app crops the same way
    (``SiamTracker::Crop`` in ``ascend310_infer/src/tracker.cc``).
    """
    sz = int(original_size)
    c = (original_size + 1) / 2
    xmin = int(rounding(center[0] - c))
    ymin = int(rounding(center[1] - c))
    patch = resized_square(image, xmin, ymin, sz, model_size, np.asarray(avg_chans).astype(np.uint8))
    return np.ascontiguousarray(patch.transpose(2, 0, 1)[None], dtype=np.float32)

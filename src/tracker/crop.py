"""Context crops with mean padding: the square cut around a target that every tracker feeds its network.

``padded_square`` is the one place that cuts a square out of a frame and fills what lies
outside it; the families differ only in how they round the corner and the side and in their
padding colour: pysot's ``get_subwindow`` here (SiamRPN, SiamMask), siamfc-pytorch's
``crop_and_resize`` in siamfc_tracker.py.
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
    patch = padded_square(image, xmin, ymin, sz, np.asarray(avg_chans).astype(np.uint8))
    if model_size != sz:
        patch = cv2.resize(patch, (model_size, model_size))
    return np.ascontiguousarray(patch.transpose(2, 0, 1)[None], dtype=np.float32)

"""Search/template crops with mean padding (pysot ``get_subwindow``)."""
import math

import cv2
import numpy as np


def round_half_up(x):
    """pysot rounds crop corners with ``floor(x + 0.5)``."""
    return math.floor(x + 0.5)


def get_subwindow(image, center, model_size, original_size, avg_chans, rounding=round_half_up):
    """Square crop of side ``original_size`` around ``center``, resized to ``model_size``.

    Returns a (1, 3, model_size, model_size) float32 array (BGR, 0..255).
    Outside the image the crop is filled with ``avg_chans`` cast to uint8,
    exactly as pysot's padded uint8 canvas does; unlike pysot, only the crop
    itself is allocated, not a padded copy of the whole frame, so the cost
    does not grow with the image. The C++ app crops the same way
    (``SiamTracker::Crop`` in ``ascend310_infer/src/tracker.cc``).
    """
    sz = int(original_size)
    c = (original_size + 1) / 2
    xmin = int(rounding(center[0] - c))
    ymin = int(rounding(center[1] - c))
    h, w = image.shape[:2]
    x0, y0 = max(xmin, 0), max(ymin, 0)
    x1, y1 = min(xmin + sz, w), min(ymin + sz, h)
    if x0 == xmin and y0 == ymin and x1 == xmin + sz and y1 == ymin + sz:
        patch = image[y0:y1, x0:x1]
    else:
        patch = np.empty((sz, sz, image.shape[2]), np.uint8)
        patch[:] = np.asarray(avg_chans).astype(np.uint8)
        if x1 > x0 and y1 > y0:
            patch[y0 - ymin:y1 - ymin, x0 - xmin:x1 - xmin] = image[y0:y1, x0:x1]
    if model_size != sz:
        patch = cv2.resize(patch, (model_size, model_size))
    return np.ascontiguousarray(patch.transpose(2, 0, 1)[None], dtype=np.float32)

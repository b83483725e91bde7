"""pysot's / SiamMask's ``par_crop.py`` crops, written out on their own from
their formulas (``s_x = s_z + 2 * pad``, ``crop_hwc``'s affine map), so the
tests of ``src.data.prepare`` compare its crops with an independent
computation rather than with ``src.data.crop`` itself."""
import math

import cv2
import numpy as np


def pysot_crop_geometry(box, out=511, exemplar=127, context=0.5):
    """The 2x3 matrix of pysot's ``crop_hwc`` for the search crop of ``box`` = [x1, y1, x2, y2]."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    wc_z, hc_z = h + context * (w + h), w + context * (w + h)
    s_z = math.sqrt(wc_z * hc_z)
    pad = (out - exemplar) / 2 / (exemplar / s_z)
    s_x = s_z + 2 * pad
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    bx1, by1, bx2, by2 = cx - s_x / 2, cy - s_x / 2, cx + s_x / 2, cy + s_x / 2
    a, b = (out - 1) / (bx2 - bx1), (out - 1) / (by2 - by1)
    return np.array([[a, 0, -a * bx1], [0, b, -b * by1]])


def pysot_crop(image, box, padding=None, out=511):
    """pysot's ``crop_like_SiamFC`` search crop; ``padding`` defaults to the image's mean colour (par_crop.py)."""
    if padding is None:
        padding = tuple(float(v) for v in np.mean(image, axis=(0, 1)))
    return cv2.warpAffine(image, pysot_crop_geometry(box, out), (out, out),
                          borderMode=cv2.BORDER_CONSTANT, borderValue=padding)


def siammask_mask_crop(mask, box, threshold, out=511):
    """SiamMask's mask crop: the 0/1 mask warped like the image (padding 0), thresholded, 0/255."""
    return (pysot_crop(mask.astype(np.float32), box, 0, out) > threshold).astype(np.uint8) * 255

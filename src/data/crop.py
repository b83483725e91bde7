"""SiamFC-style crops shared by the dataset generators and the training loader.

Both sides must use the very same warp: the training loader recovers the target
box inside a ``crop511`` image purely from the original box and the crop
geometry, so any difference (half-pixel shift, other interpolation) would
silently misplace every training label. Coordinates follow OpenCV/pysot:
pixel centres lie on integer coordinates.
"""
import cv2
import numpy as np

from src.crop_geometry import CONTEXT_AMOUNT, EXEMPLAR_SIZE, context_size, crop_side
from src.models.box_coder import center_to_corner, corner_to_center


def warp_crop(image, bbox_corners, out_size, padding=0, interpolation=cv2.INTER_LINEAR):
    """Resample ``bbox_corners`` = [x1, y1, x2, y2] of ``image`` to ``out_size`` squared.

    This is pysot's ``crop_hwc``: ``a = (out-1)/(x2-x1)``, ``b = (out-1)/(y2-y1)``,
    ``c = -a*x1``, ``d = -b*y1``; x1 maps to pixel 0 and x2 to pixel out-1.
    Pixels outside the image take the constant ``padding`` (a scalar, or one
    value per channel, e.g. the image's mean colour).
    """
    x1, y1, x2, y2 = (float(v) for v in bbox_corners)
    a = (out_size - 1) / (x2 - x1)
    b = (out_size - 1) / (y2 - y1)
    mapping = np.array([[a, 0.0, -a * x1], [0.0, b, -b * y1]], dtype=np.float64)
    return cv2.warpAffine(image, mapping, (out_size, out_size), flags=interpolation,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=padding)


def crop_like_siamfc(image, box_corners, out_size, padding=0, context_amount=CONTEXT_AMOUNT,
                     exemplar_size=EXEMPLAR_SIZE, interpolation=cv2.INTER_LINEAR):
    """Crop centred on the target box [x1, y1, x2, y2], with the target at scale 127/s_z.

    ``s_z = sqrt((w + p)(h + p))`` with ``p = context_amount * (w + h)`` is the
    exemplar context; the crop square has side ``s_z * out_size / exemplar_size``
    so the target has the same scale whatever ``out_size`` is: 127 gives the
    exemplar, 255 the search region and 511 pysot's ``crop511`` (side
    ``s_x * 511/255`` with ``s_x = s_z * 255/127``), exactly as pysot's
    ``par_crop.py``. The target centre lands on pixel ``(out_size - 1) / 2``.
    """
    cx, cy, w, h = corner_to_center([float(v) for v in box_corners])
    side = crop_side(context_size(w, h, context_amount), out_size, exemplar_size)
    return warp_crop(image, center_to_corner([cx, cy, side, side]), out_size, padding, interpolation)

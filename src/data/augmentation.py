"""Training-crop augmentation: a port of pysot ``datasets/augmentation.py``.

pysot cuts the 127 template and the 255 search region out of a ``crop511``
image (target centred at scale 127/s_z) and jitters that cut; the jitter is
what teaches the network where the target is, so the geometry is reproduced
exactly: in pysot's order, gray -> shift/scale crop -> colour -> blur -> flip.

Differences from pysot, none of which change the distribution:
* all randomness comes from the ``numpy.random.Generator`` passed in (pysot
  uses the global ``np.random``), so a sample is reproducible on its own;
* the colour jitter returns float32 (pysot: float64, cast to float32 later).

SiamMask (foolwood ``datasets/siam_mask_dataset.py``) passes the search
frame's mask through the same window (``crop_hwc``: bilinear, zero border)
and the same flip; the caller thresholds it at 0.5. The mask draws no random
numbers, so a pair's images are the same with or without it.
"""
import cv2
import numpy as np

from src.data.crop import warp_crop
from src.models.box_coder import center_to_corner, corner_to_center

# pysot's PCA colour basis (rows scaled eigenvectors of RGB pixel covariance).
RGB_VAR = np.array([[-0.55919361, 0.98062831, -0.41940627],
                    [1.72091413, 0.19879334, -1.82968581],
                    [4.64467907, 4.73710203, 4.88324118]], dtype=np.float32)

# pysot's motion-blur kernel sizes: odd, 5..45.
BLUR_SIZES = np.arange(5, 46, 2)


def _uniform(rng):
    """Uniform in [-1, 1) (pysot ``Augmentation.random``)."""
    return rng.random() * 2 - 1.0


class Augmentation:
    """One of pysot's two augmenters (template or search), built from an ``AugConfig``.

    ``shift`` is in crop pixels, ``scale`` a relative amplitude (x and y drawn
    independently), ``blur``/``flip``/``color`` are probabilities.
    """

    def __init__(self, aug_cfg):
        self.shift = aug_cfg.shift
        self.scale = aug_cfg.scale
        self.blur = aug_cfg.blur
        self.flip = aug_cfg.flip
        self.color = aug_cfg.color

    def _shift_scale_aug(self, image, bbox, crop_bbox, size, rng):
        """Jitter the crop window, cut it out with ``warp_crop`` and map ``bbox`` into it.

        The window is scaled (at most to the image size) about its centre,
        then shifted (kept inside the image); the target box follows:
        ``(box - window_x1) / scale``. Returns ``(crop, box, window)``.
        """
        im_h, im_w = image.shape[:2]
        cx, cy, w, h = corner_to_center(np.asarray(crop_bbox, dtype=np.float64))
        scale_x = scale_y = 1.0
        if self.scale:
            scale_x = min(1.0 + _uniform(rng) * self.scale, float(im_w) / w)
            scale_y = min(1.0 + _uniform(rng) * self.scale, float(im_h) / h)
        x1, y1, x2, y2 = center_to_corner(np.array([cx, cy, w * scale_x, h * scale_y]))
        if self.shift:
            sx = _uniform(rng) * self.shift
            sy = _uniform(rng) * self.shift
            sx = max(-x1, min(im_w - 1 - x2, sx))
            sy = max(-y1, min(im_h - 1 - y2, sy))
            x1, y1, x2, y2 = x1 + sx, y1 + sy, x2 + sx, y2 + sy
        bx1, by1, bx2, by2 = bbox
        box = np.array([(bx1 - x1) / scale_x, (by1 - y1) / scale_y,
                        (bx2 - x1) / scale_x, (by2 - y1) / scale_y])
        return warp_crop(image, (x1, y1, x2, y2), size), box, (x1, y1, x2, y2)

    def _color_aug(self, image, rng):
        """Subtract a random PCA colour offset (computed in RGB, applied to BGR)."""
        offset = (RGB_VAR @ rng.standard_normal(3).astype(np.float32))[::-1]
        return image.astype(np.float32) - offset

    def _blur_aug(self, image, rng):
        """Motion blur: a cross-shaped kernel whose two arms share the weight wx / 1-wx."""
        size = int(rng.choice(BLUR_SIZES))
        kernel = np.zeros((size, size))
        c = size // 2
        wx = rng.random()
        kernel[:, c] += 1.0 / size * wx
        kernel[c, :] += 1.0 / size * (1 - wx)
        return cv2.filter2D(image, -1, kernel)

    @staticmethod
    def _gray_aug(image):
        return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)

    @staticmethod
    def _flip_aug(image, bbox):
        image = cv2.flip(image, 1)
        width = image.shape[1]
        x1, y1, x2, y2 = bbox
        return image, np.array([width - 1 - x2, y1, width - 1 - x1, y2])

    def __call__(self, image, bbox_corners, size, gray, rng, mask=None):
        """Cut a ``size`` x ``size`` crop around the centre of ``image``.

        ``bbox_corners`` is the target [x1, y1, x2, y2] in ``image``; returns
        ``(crop, box)`` with ``crop`` HxWx3 (uint8, or float32 after the colour
        jitter) and ``box`` the target's float64 [x1, y1, x2, y2] in the crop.
        The unjittered window is pysot's: centre ``(shape[0] // 2, shape[1] // 2)``
        (x from the height, as in pysot; crop511 images are square), side
        ``size - 1``, so window pixel 0 is image pixel ``centre - (size - 1) / 2``.

        With ``mask`` (float32 HxW of ``image``'s size, 0/1) the result is
        ``(crop, box, mask_crop)``: the mask cut through the same window
        (bilinear, zeros outside the image) and flipped with the crop, float32.
        """
        centre = np.array([image.shape[0] // 2, image.shape[1] // 2, size - 1, size - 1],
                          dtype=np.float64)
        crop_bbox = center_to_corner(centre)
        if gray:
            image = self._gray_aug(image)
        image, box, window = self._shift_scale_aug(image, bbox_corners, crop_bbox, size, rng)
        if mask is not None:
            mask = warp_crop(np.asarray(mask, dtype=np.float32), window, size)
        if self.color > rng.random():
            image = self._color_aug(image, rng)
        if self.blur > rng.random():
            image = self._blur_aug(image, rng)
        if self.flip and self.flip > rng.random():
            image, box = self._flip_aug(image, box)
            if mask is not None:
                mask = cv2.flip(mask, 1)
        if mask is not None:
            return image, box, mask
        return image, box

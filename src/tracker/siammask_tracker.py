"""SiamMask tracking step (foolwood/SiamMask ``siamese_track`` with mask and refine).

The box follows the SiamRPN step (``SiamRPNTracker``); the mask
is read at the best score-map position (the refine module's 127x127 logits,
or the 63x63 mask head output without refine), warped back into the frame,
thresholded at ``seg_thr``; the largest contour's ``cv2.minAreaRect`` is the
rotated box reported for VOT, with the axis-aligned box as fallback when no
contour is larger than 100 px.
"""
import cv2
import numpy as np
from scipy.special import expit

from ..models.siammask import refine_inputs
from .base import center_to_rect
from .siamrpn_tracker import SiamRPNTracker

MIN_CONTOUR_AREA = 100


def warp_bilinear(src, a, c, b, d, size, border=-1.0):
    """``cv2.warpAffine(src, [[a, 0, c], [0, b, d]], size, INTER_LINEAR, BORDER_CONSTANT)``
    with exact bilinear weights.

    OpenCV 4 quantises sampling positions to 1/32 pixel, which moves tens of
    mask pixels across the threshold compared with the reference (made with
    OpenCV 5); exact weights reproduce it. Only the image window the source
    patch can reach is computed; the rest is ``border``.
    """
    w, h = size
    sh, sw = src.shape
    out = np.full((h, w), border, dtype=np.float32)
    # destination pixels whose source position lies within one pixel of the patch
    x_lo, x_hi = sorted((c - a, c + a * sw))
    y_lo, y_hi = sorted((d - b, d + b * sh))
    xs = np.arange(max(int(np.floor(x_lo)), 0), min(int(np.ceil(x_hi)) + 1, w))
    ys = np.arange(max(int(np.floor(y_lo)), 0), min(int(np.ceil(y_hi)) + 1, h))
    if len(xs) == 0 or len(ys) == 0:
        return out
    u, v = (xs - c) / a, (ys - d) / b
    x0, y0 = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    fx, fy = u - x0, v - y0
    padded = np.pad(src.astype(np.float64), 1, constant_values=border)
    xi0, xi1 = np.clip(x0 + 1, 0, sw + 1), np.clip(x0 + 2, 0, sw + 1)
    yi0, yi1 = np.clip(y0 + 1, 0, sh + 1), np.clip(y0 + 2, 0, sh + 1)
    top = padded[yi0][:, xi0] * (1 - fx) + padded[yi0][:, xi1] * fx
    bottom = padded[yi1][:, xi0] * (1 - fx) + padded[yi1][:, xi1] * fx
    out[ys[0]:ys[-1] + 1, xs[0]:xs[-1] + 1] = top * (1 - fy)[:, None] + bottom * fy[:, None]
    return out


class SiamMaskTracker(SiamRPNTracker):
    """``init(image, [x, y, w, h])``; ``track(image) -> ([x, y, w, h], score)``.

    After each ``track`` call ``last_mask`` holds the binary mask in the frame
    (uint8 HxW) and ``region()`` the rotated box ``x1,y1,...,x4,y4``.
    """

    crop_rounding = staticmethod(round)       # SiamMask's get_subwindow_tracking uses round()

    def __init__(self, backend, track_cfg, anchor_cfg, refine=True, box_origin=0):
        super().__init__(backend, track_cfg, anchor_cfg, box_origin)
        self.refine = refine
        # the refine module reads the backbone and correlation features, the coarse mask the mask head
        self.output_names = ("cls", "loc") + (("f0", "f1", "f2", "corr_feature") if refine else ("mask",))
        self.last_mask = self.last_polygon = self.last_best_pos = None

    def _mask_logits(self, outputs, y, x):
        """(out_size, out_size) mask logits at score-map position (y, x)."""
        size = self.cfg.out_size
        if self.refine:
            return self.backend.refine(*self._refine_inputs(outputs, y, x)).reshape(size, size)
        mask = outputs["mask"]
        side = int(round(np.sqrt(mask.shape[1])))
        logits = mask[0, :, y, x].reshape(side, side)
        return logits if side == size else cv2.resize(logits, (size, size))

    @staticmethod
    def _refine_inputs(outputs, y, x):
        return refine_inputs(*(outputs[n] for n in ("f0", "f1", "f2", "corr_feature")), y, x)

    def _best_position(self):
        """Score-map (row, column) of the anchor ``_locate`` picked last."""
        _, y, x = np.unravel_index(self.last_best_index, (self.anchors.shape[0] // self.score_size ** 2,
                                                          self.score_size, self.score_size))
        return int(y), int(x)

    @classmethod
    def finish_track_batch(cls, trackers, outputs_list, crops, images):
        """``[t.finish_track(o, c, i) for ...]`` with the refine module run ONCE for all targets
        (the back-end's ``refine_batch``; MultiTargetTracker). The steps are finish_track's
        (base.py) in its order, split where the refine call is shared: every target's decision
        and mask position first, then one refine call, then each target's mask and update. A
        target's logits depend on its own refine inputs only, so each equals its
        single-target result up to float rounding. Without refine: finish_track per target."""
        if not trackers or not trackers[0].refine:
            return super().finish_track_batch(trackers, outputs_list, crops, images)
        decided, inputs = [], []
        for tracker, outputs, crop in zip(trackers, outputs_list, crops):
            outputs = tracker._read_outputs(outputs)
            state, score = tracker._locate(outputs, crop)
            y, x = tracker._best_position()
            decided.append((state, score, y, x))
            inputs.append(tracker._refine_inputs(outputs, y, x))
        size = trackers[0].cfg.out_size
        logits = trackers[0].backend.refine_batch(*(np.concatenate(p) for p in zip(*inputs)))
        results = []
        for tracker, (state, score, y, x), lg, crop, image in zip(trackers, decided, logits, crops, images):
            tracker._set_mask(lg.reshape(size, size), y, x, state, crop, image)
            tracker._update(state, image.shape)
            tracker._observe(score)
            results.append((tracker.last_box, score))
        return results

    def _mask_in_image(self, prob, y, x, crop_side, image_shape):
        """Warp the mask of the exemplar-sized box at (y, x) back into the frame (SiamMask ``crop_back``;
        the C++ app: ``SiamTracker::MaskRegion`` in ascend310_infer/src/tracker.cc)."""
        cfg = self.cfg
        ih, iw = image_shape[:2]
        crop_x0 = self.center_pos[0] - crop_side / 2
        crop_y0 = self.center_pos[1] - crop_side / 2
        s = crop_side / cfg.instance_size
        sub_box = [crop_x0 + (x - cfg.base_size / 2) * self.stride * s,
                   crop_y0 + (y - cfg.base_size / 2) * self.stride * s,
                   s * cfg.exemplar_size, s * cfg.exemplar_size]
        s = cfg.out_size / sub_box[2]
        back_box = [-sub_box[0] * s, -sub_box[1] * s, iw * s, ih * s]
        a = (iw - 1) / back_box[2]
        b = (ih - 1) / back_box[3]
        return warp_bilinear(prob, a, -a * back_box[0], b, -b * back_box[1], (iw, ih))

    def _track_extras(self, outputs, box, crop, image):
        """The mask at the best anchor's position, around the centre before this frame's update."""
        y, x = self._best_position()
        self._set_mask(self._mask_logits(outputs, y, x), y, x, box, crop, image)

    def _set_mask(self, logits, y, x, box, crop, image):
        """``last_mask``, ``last_polygon``, ``last_best_pos`` from the mask logits at (y, x)."""
        _, crop_side = crop
        prob = expit(logits).astype(np.float32)
        mask = (self._mask_in_image(prob, y, x, crop_side, image.shape) > self.cfg.seg_thr).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        areas = [cv2.contourArea(c) for c in contours]
        if areas and max(areas) > MIN_CONTOUR_AREA:
            polygon = cv2.boxPoints(cv2.minAreaRect(contours[int(np.argmax(areas))].reshape(-1, 2)))
        else:   # empty mask: the axis-aligned box (before clipping, as SiamMask)
            x0, y0, w, h = center_to_rect(*box)
            polygon = np.array([[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]])
        self.last_mask = mask
        self.last_polygon = [float(v) for v in np.asarray(polygon).ravel()]
        self.last_best_pos = (y, x)

    def region(self):
        return self.last_polygon

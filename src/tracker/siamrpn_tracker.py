"""SiamRPN tracking step (pysot ``SiamRPNTracker``).

Everything that depends only on the hyperparameters (anchors, cosine window)
is built once per tracker; everything that depends on the target (template
kernels, mean colour, centre, size) lives in the tracker object, so one
network can serve several trackers at once.
"""
import numpy as np
from scipy.special import expit

from ..crop_geometry import PENALTY_CONTEXT, context_size, search_side
from ..models.anchors import score_size, tracking_anchors
from ..models.box_coder import decode
from .crop import get_subwindow, round_half_up


def _change(r):
    return np.maximum(r, 1.0 / r)


def center_to_rect(cx, cy, w, h):
    """``[x, y, w, h]`` of the box with centre (cx, cy): ``x = cx - w / 2`` (pysot's
    output box; the init box's centre is ``x + (w - 1) / 2``, so the two are not inverses)."""
    return [cx - w / 2, cy - h / 2, w, h]


def check_init_box(box, image_shape):
    """A clear error for boxes a tracker cannot start from."""
    x, y, w, h = [float(v) for v in box]
    if not np.all(np.isfinite([x, y, w, h])):
        raise ValueError(f"init box {list(box)} has non-finite values")
    if w <= 0 or h <= 0:
        raise ValueError(f"init box {list(box)} has zero or negative area")
    ih, iw = image_shape[:2]
    if x >= iw or y >= ih or x + w <= 0 or y + h <= 0:
        raise ValueError(f"init box {list(box)} lies outside the {iw}x{ih} image")


class SiamRPNTracker:
    """``init(image, [x, y, w, h])``, then ``track(image) -> ([x, y, w, h], score)``.

    Images are BGR uint8 HxWx3 arrays (grayscale HxW is expanded). ``region()``
    gives what the VOT protocol scores after a ``track`` call.

    The C++ app repeats this step in ``ascend310_infer/src/tracker.cc``
    (``SiamTracker::Init``, ``Search``, ``Update``), operation for operation.
    """

    # pysot rounds crop corners with floor(x + 0.5); SiamMask's code uses round()
    crop_rounding = staticmethod(round_half_up)

    def __init__(self, backend, track_cfg, anchor_cfg):
        self.backend = backend
        self.cfg = track_cfg
        self.stride = anchor_cfg.stride
        self.score_size = score_size(track_cfg.instance_size, track_cfg.exemplar_size,
                                     anchor_cfg.stride, track_cfg.base_size)
        hanning = np.hanning(self.score_size)
        self.window = np.tile(np.outer(hanning, hanning).ravel(), anchor_cfg.num)
        self.anchors = tracking_anchors(anchor_cfg.stride, anchor_cfg.ratios, anchor_cfg.scales,
                                        self.score_size)
        self.center_pos = self.size = self.kernels = self.channel_average = None

    @staticmethod
    def _as_bgr(image):
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        return image

    def init(self, image, box):
        image = self._as_bgr(image)
        check_init_box(box, image.shape)
        x, y, w, h = [float(v) for v in box]
        self.center_pos = np.array([x + (w - 1) / 2, y + (h - 1) / 2])
        self.size = np.array([w, h])
        s_z = round(context_size(w, h, self.cfg.context_amount))
        self.channel_average = np.mean(image, axis=(0, 1))
        z = get_subwindow(image, self.center_pos, self.cfg.exemplar_size, s_z, self.channel_average,
                          self.crop_rounding)
        self.kernels = self.backend.template(z)

    def _decode(self, cls, loc):
        """Foreground scores (N,) and boxes (4, N) in the search crop, anchor-major order."""
        logits = cls.reshape(2, -1)
        score = expit(logits[1] - logits[0])          # softmax over {bg, fg}, overflow-free
        # float64 deltas, as pysot's numpy decoding (the C++ app decodes in double too)
        return score, decode(loc.reshape(4, -1).astype(np.float64), self.anchors)

    def _search(self, image):
        """Crop, run the network, score and pick the best anchor.

        Returns (outputs, best index, box [cx, cy, w, h] in the image before
        clipping, foreground score of the best anchor, search-crop side).
        """
        if self.kernels is None:
            raise RuntimeError("track() called before init()")
        cfg = self.cfg
        s_z = context_size(self.size[0], self.size[1], cfg.context_amount)
        scale_z = cfg.exemplar_size / s_z
        s_x = round(search_side(s_z, cfg.instance_size, cfg.exemplar_size))
        x = get_subwindow(image, self.center_pos, cfg.instance_size, s_x, self.channel_average,
                          self.crop_rounding)
        outputs = self.backend.track(x, self.kernels)
        # an untrained or diverged network can predict absurd log-sizes: anchors whose
        # score or box (in crop or in frame units) is NaN/inf are ranked last instead of
        # winning argmax (an infinite box has a zero penalty, so the window alone would
        # keep its score finite)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            score, boxes = self._decode(outputs[0], outputs[1])
            s_c = _change(context_size(boxes[2], boxes[3], PENALTY_CONTEXT) /
                          context_size(self.size[0] * scale_z, self.size[1] * scale_z, PENALTY_CONTEXT))
            r_c = _change((self.size[0] / self.size[1]) / (boxes[2] / boxes[3]))
            penalty = np.exp(-(r_c * s_c - 1) * cfg.penalty_k)
            pscore = penalty * score * (1 - cfg.window_influence) + self.window * cfg.window_influence
            frame_boxes = boxes / scale_z   # crop units -> frame units
            finite = np.isfinite(pscore) & np.isfinite(frame_boxes).all(axis=0)
        pscore[~finite] = -np.inf
        best = int(np.argmax(pscore))

        if not finite[best]:   # no usable anchor at all: the target stays where it was, and the
            best = int(np.argmax(self.window))   # position (SiamMask's mask) is the window's centre
            self.last_best_index = best
            return outputs, best, np.array([*self.center_pos, *self.size]), 0.0, s_x
        self.last_best_index = best
        box = frame_boxes[:, best]
        lr = penalty[best] * score[best] * cfg.lr
        cx, cy = box[0] + self.center_pos[0], box[1] + self.center_pos[1]
        width = self.size[0] * (1 - lr) + box[2] * lr
        height = self.size[1] * (1 - lr) + box[3] * lr
        return outputs, best, np.array([cx, cy, width, height]), float(score[best]), s_x

    def _update(self, box, image_shape):
        """Clip the centre to the image and the size to [10, image side]; store the state."""
        cx, cy, width, height = box
        ih, iw = image_shape[:2]
        self.center_pos = np.array([max(0, min(cx, iw)), max(0, min(cy, ih))])
        self.size = np.array([max(10, min(width, iw)), max(10, min(height, ih))])

    def track(self, image):
        image = self._as_bgr(image)
        _, _, box, score, _ = self._search(image)
        self._update(box, image.shape)
        return self.last_box, score

    @property
    def last_box(self):
        """The current target box ``[x, y, w, h]``."""
        return center_to_rect(*self.center_pos, *self.size)

    def region(self):
        """The region to report for VOT after ``track``: the box (SiamMask: its rotated box)."""
        return self.last_box

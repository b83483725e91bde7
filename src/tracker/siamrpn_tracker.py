"""SiamRPN tracking step (pysot ``SiamRPNTracker``).

The state, crops and update are the base's (base.py, pysot's); this class adds
what depends on the anchors: everything that depends only on the
hyperparameters (anchors, cosine window) is built once per tracker, the
decoding of the ``cls`` / ``loc`` outputs and the scale / ratio penalties run
every frame.
"""
import numpy as np
from scipy.special import expit

from ..crop_geometry import PENALTY_CONTEXT, context_size
from ..models.anchors import score_size, tracking_anchors
from ..models.box_coder import decode
from .base import SiameseTracker


def _change(r):
    return np.maximum(r, 1.0 / r)


class SiamRPNTracker(SiameseTracker):
    """``init(image, [x, y, w, h])``, then ``track(image) -> ([x, y, w, h], score)``.

    Images are BGR uint8 HxWx3 arrays (grayscale HxW is expanded). ``region()``
    gives what the VOT protocol scores after a ``track`` call; ``last_best_index``
    the chosen anchor (anchor-major order).

    The C++ app repeats this step in ``ascend310_infer/src/tracker.cc``
    (``SiamTracker::Init``, ``Search``, ``Update``), operation for operation.
    """

    output_names = ("cls", "loc")

    def __init__(self, backend, track_cfg, anchor_cfg, box_origin=0):
        super().__init__(backend, track_cfg, box_origin)
        self.stride = anchor_cfg.stride
        self.score_size = score_size(track_cfg.instance_size, track_cfg.exemplar_size,
                                     anchor_cfg.stride, track_cfg.base_size)
        hanning = np.hanning(self.score_size)
        self.window = np.tile(np.outer(hanning, hanning).ravel(), anchor_cfg.num)
        self.anchors = tracking_anchors(anchor_cfg.stride, anchor_cfg.ratios, anchor_cfg.scales,
                                        self.score_size)
        self.last_best_index = None

    def _decode(self, cls, loc):
        """Foreground scores (N,) and boxes (4, N) in the search crop, anchor-major order."""
        logits = cls.reshape(2, -1)
        score = expit(logits[1] - logits[0])          # softmax over {bg, fg}, overflow-free
        # float64 deltas, as pysot's numpy decoding (the C++ app decodes in double too)
        return score, decode(loc.reshape(4, -1).astype(np.float64), self.anchors)

    def _locate(self, outputs, crop):
        """Score and pick the best anchor: (box [cx, cy, w, h] in the image before clipping,
        foreground score of the best anchor)."""
        cfg = self.cfg
        scale_z, _ = crop
        # an untrained or diverged network can predict absurd log-sizes: anchors whose
        # score or box (in crop or in frame units) is NaN/inf are ranked last instead of
        # winning argmax (an infinite box has a zero penalty, so the window alone would
        # keep its score finite)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            score, boxes = self._decode(outputs["cls"], outputs["loc"])
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
            return np.array([*self.center_pos, *self.size]), 0.0
        self.last_best_index = best
        box = frame_boxes[:, best]
        lr = penalty[best] * score[best] * cfg.lr
        cx, cy = box[0] + self.center_pos[0], box[1] + self.center_pos[1]
        width = self.size[0] * (1 - lr) + box[2] * lr
        height = self.size[1] * (1 - lr) + box[3] * lr
        return np.array([cx, cy, width, height]), float(score[best])

"""SiamRPN tracking step (pysot ``SiamRPNTracker``).

The state, crops and update are the base's (base.py, pysot's); this class adds
what depends on the anchors: everything that depends only on the
hyperparameters (anchors, cosine window) is built once per tracker, the
decoding of the ``cls`` / ``loc`` outputs and the scale / ratio penalties run
every frame. ``anchor_grid`` builds the anchors and window of any crop size and
``_pick`` decides over them, so pysot's long-term tracker (siamrpn_lt_tracker.py,
``track.long_term``) reuses the same decision on its larger lost-target crop.
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
    #: whether the class runs pysot's long-term mode (``track.long_term``, siamrpn_lt_tracker.py)
    long_term = False

    def __init__(self, backend, track_cfg, anchor_cfg, box_origin=0):
        if getattr(track_cfg, "long_term", False) and not self.long_term:
            raise ValueError(f"track.long_term: {type(self).__name__} has no long-term mode (SiamRPN's is "
                             "SiamRPNLTTracker, which build_tracker makes for model.arch siamrpn)")
        super().__init__(backend, track_cfg, box_origin)
        self.anchor_cfg = anchor_cfg
        self.stride = anchor_cfg.stride
        self.score_size, self.anchors, self.window = self.anchor_grid(track_cfg.instance_size)
        self.last_best_index = None

    def anchor_grid(self, instance_size):
        """(score_size, anchors (A*S*S, 4), cosine window (A*S*S,)) of a search crop resized to
        ``instance_size``, as pysot builds them (``SiamRPNTracker.__init__``)."""
        a, t = self.anchor_cfg, self.cfg
        size = score_size(instance_size, t.exemplar_size, a.stride, t.base_size)
        hanning = np.hanning(size)
        window = np.tile(np.outer(hanning, hanning).ravel(), a.num)
        return size, tracking_anchors(a.stride, a.ratios, a.scales, size), window

    def _decode(self, cls, loc, anchors=None):
        """Foreground scores (N,) and boxes (4, N) in the search crop, anchor-major order
        (``anchors``: the tracker's own by default)."""
        anchors = self.anchors if anchors is None else anchors
        logits = cls.reshape(2, -1)
        if logits.shape[1] != len(anchors):
            raise ValueError(f"the search graph's cls output holds {logits.shape[1]} anchors' scores, the "
                             f"tracker's grid has {len(anchors)} (track.instance_size / base_size / "
                             "model.anchor do not match the network)")
        score = expit(logits[1] - logits[0])          # softmax over {bg, fg}, overflow-free
        # float64 deltas, as pysot's numpy decoding (the C++ app decodes in double too)
        return score, decode(loc.reshape(4, -1).astype(np.float64), anchors)

    def _locate(self, outputs, crop):
        """Score and pick the best anchor: (box [cx, cy, w, h] in the image before clipping,
        foreground score of the best anchor)."""
        return self._pick(outputs, crop[0], self.anchors, self.window, self.cfg.window_influence)

    def _pick(self, outputs, scale_z, anchors, window, window_influence):
        """``_locate`` over the given anchors and window (the long-term mode's larger grid)."""
        cfg = self.cfg
        # an untrained or diverged network can predict absurd log-sizes: anchors whose
        # score or box (in crop or in frame units) is NaN/inf are ranked last instead of
        # winning argmax (an infinite box has a zero penalty, so the window alone would
        # keep its score finite)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            score, boxes = self._decode(outputs["cls"], outputs["loc"], anchors)
            s_c = _change(context_size(boxes[2], boxes[3], PENALTY_CONTEXT) /
                          context_size(self.size[0] * scale_z, self.size[1] * scale_z, PENALTY_CONTEXT))
            r_c = _change((self.size[0] / self.size[1]) / (boxes[2] / boxes[3]))
            penalty = np.exp(-(r_c * s_c - 1) * cfg.penalty_k)
            pscore = penalty * score * (1 - window_influence) + window * window_influence
            frame_boxes = boxes / scale_z   # crop units -> frame units
            finite = np.isfinite(pscore) & np.isfinite(frame_boxes).all(axis=0)
        pscore[~finite] = -np.inf
        best = int(np.argmax(pscore))

        if not finite[best]:   # no usable anchor at all: the target stays where it was, and the
            best = int(np.argmax(window))        # position (SiamMask's mask) is the window's centre
            self.last_best_index = best
            return np.array([*self.center_pos, *self.size]), 0.0
        self.last_best_index = best
        box = frame_boxes[:, best]
        lr = penalty[best] * score[best] * cfg.lr
        cx, cy = box[0] + self.center_pos[0], box[1] + self.center_pos[1]
        width = self.size[0] * (1 - lr) + box[2] * lr
        height = self.size[1] * (1 - lr) + box[3] * lr
        return np.array([cx, cy, width, height]), float(score[best])

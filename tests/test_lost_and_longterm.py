"""Per-frame confidence, the lost-target state (src/tracker/base.py) and SiamRPN's long-term mode.

Fake back-ends answer with the scores a test chooses, as the real ones do: a dict by output name.
"""
import os

import cv2
import numpy as np
import pytest
from scipy.special import expit, logit

from src.config import Config, load_config, replace
from src.tracker.sasiam_tracker import SASiamTracker
from src.tracker.siamfc_tracker import SiamFCTracker
from src.tracker.siamrpn_tracker import SiamRPNTracker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOX = [60, 50, 30, 24]


def _frames(n, h=120, w=160, seed=0):
    rng = np.random.default_rng(seed)
    return [cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (0, 0), 2) for _ in range(n)]


class ScoreBackend:
    """SiamRPN stand-in whose chosen anchor has the foreground probability the test asks for.

    ``scores``: one probability per ``track`` call. The map's side follows the crop's
    (pysot's score_size), every anchor but one (anchor ``anchor`` at cell ``cell``, relative to
    the map's centre) has probability ~1e-13 and every box delta is 0, so that anchor is chosen
    and the target moves to its centre."""

    def __init__(self, scores, anchors=5, stride=8, exemplar=127, cell=(0, 0), anchor=2):
        self.scores, self.anchors, self.stride, self.exemplar = list(scores), anchors, stride, exemplar
        self.cell, self.anchor = cell, anchor
        self.sizes = []          # the search crop's side on every call

    def template(self, z):
        return ("k_cls", "k_loc")

    def track(self, x, kernels):
        size = x.shape[-1]
        self.sizes.append(size)
        side = (size - self.exemplar) // self.stride + 1
        cls = np.zeros((1, 2 * self.anchors, side, side), np.float32)
        cls[0, self.anchors:] = -30.0                       # foreground logit minus background logit
        cy, cx = side // 2 + self.cell[0], side // 2 + self.cell[1]
        cls[0, self.anchors + self.anchor, cy, cx] = logit(self.scores.pop(0))
        return {"cls": cls, "loc": np.zeros((1, 4 * self.anchors, side, side), np.float32)}


def _rpn(scores, cfg=None, **track):
    cfg = replace(cfg or Config(), **{f"track.{k}": v for k, v in track.items()})
    return SiamRPNTracker(ScoreBackend(scores), cfg.track, cfg.model.anchor)


# ----------------------------------------------------------------------------- confidence, lost

def test_confidence_is_the_returned_score_and_lost_needs_lost_frames_low_frames():
    high, low = 0.9, 0.2
    scores = [high, low, low, high, low, low, low, low, high]
    tracker = _rpn(list(scores), lost_threshold=0.5, lost_frames=3)
    frames = _frames(len(scores) + 1)
    tracker.init(frames[0], BOX)
    assert tracker.confidence is None and tracker.lost is False
    lost = []
    for frame, wanted in zip(frames[1:], scores):
        _, score = tracker.track(frame)
        assert tracker.confidence == score                  # the very value track() returned
        assert score == pytest.approx(wanted, rel=1e-5)     # the chosen anchor's foreground probability
        lost.append(tracker.lost)
    # two low frames are not enough; the third in a row is; one high frame clears it
    assert lost == [False, False, False, False, False, False, True, True, False]


def test_the_threshold_is_strict_and_one_frame_can_suffice():
    tracker = _rpn([0.5, 0.49], lost_threshold=0.5, lost_frames=1)
    frames = _frames(3)
    tracker.init(frames[0], BOX)
    tracker.track(frames[1])
    at_threshold = tracker.lost
    tracker.track(frames[2])
    assert (at_threshold, tracker.lost) == (False, True)


def test_init_resets_confidence_and_lost():
    tracker = _rpn([0.1, 0.1, 0.95], lost_frames=2)
    frames = _frames(3)
    tracker.init(frames[0], BOX)
    tracker.track(frames[1])
    tracker.track(frames[2])
    assert tracker.lost and tracker.low_frames == 2
    tracker.init(frames[0], BOX)                        # a new target
    assert (tracker.confidence, tracker.lost, tracker.low_frames) == (None, False, 0)
    tracker.track(frames[1])
    assert not tracker.lost and tracker.confidence == pytest.approx(0.95, rel=1e-5)


class ResponseBackend:
    """SiamFC / SA-Siam stand-in: a response peaked at the centre whose peak logit is chosen per call."""

    def __init__(self, peaks, scales=3):
        yy, xx = np.mgrid[0:17, 0:17]
        self.blob = np.exp(-((yy - 8) ** 2 + (xx - 8) ** 2) / 4.0).astype(np.float32)
        self.peaks, self.scales = list(peaks), scales

    def template(self, z):
        return ("kernel",)

    def run(self, graph, inputs):                       # SA-Siam's two-exemplar template graph
        assert graph == "template"
        return {"kernel0": "k_a", "kernel1": "k_s"}

    def track(self, x, kernels):
        # the peak logit over a flat -8 floor (the peak stays at the centre whatever its value)
        response = np.float32(-8.0) + (self.peaks.pop(0) + 8.0) * self.blob
        return {"response": np.stack([response] * self.scales)[:, None]}


@pytest.mark.parametrize("family", ["siamfc", "sasiam"])
def test_response_families_report_the_sigmoid_of_the_peak_and_go_lost(family):
    peaks = [4.0, -3.0, -3.0, -3.0, 4.0]
    if family == "siamfc":
        cfg = load_config(os.path.join(ROOT, "configs", "siamfc_alexnet.yaml"), [("track.lost_frames", 2)])
        tracker, box_origin = SiamFCTracker(ResponseBackend(peaks), cfg.track), 1
    else:
        cfg = load_config(os.path.join(ROOT, "configs", "quickstart_sasiam.yaml"), [("track.lost_frames", 2)])
        tracker, box_origin = SASiamTracker(ResponseBackend(peaks), cfg.track, total_stride=8), 0
    tracker.box_origin = box_origin
    frames = _frames(len(peaks) + 1)
    tracker.init(frames[0], BOX)
    lost, confidences = [], []
    for frame in frames[1:]:
        _, score = tracker.track(frame)
        assert tracker.confidence == score
        confidences.append(score)
        lost.append(tracker.lost)
    # the centre scale's upsampled peak is the raw peak (the map is symmetric about its centre)
    np.testing.assert_allclose(confidences, expit(np.array(peaks)), rtol=0.02)
    assert lost == [False, False, True, True, False]
    tracker.init(frames[0], BOX)                        # SA-Siam's init is its own: the reset still happens
    assert (tracker.confidence, tracker.lost) == (None, False)


def test_lost_keys_are_checked_and_default_for_every_family():
    for arch in ("siamrpn", "siammask", "siamfc", "sasiam"):
        track = replace(Config(), **{"model.arch": arch}).track
        assert (track.lost_threshold, track.lost_frames) == (0.5, 5)
    from src.config import ConfigError
    with pytest.raises(ConfigError, match=r"'track.lost_frames' must be >= 1, got 0"):
        replace(Config(), **{"track.lost_frames": 0})
    with pytest.raises(ConfigError, match=r"'track.lost_threshold' must be in \[0, 1\], got 1.5"):
        replace(Config(), **{"track.lost_threshold": 1.5})

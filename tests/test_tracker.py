"""SiamRPN tracker: golden parity on the bag sequence, crops, init-box errors."""
import json
import os

import cv2
import mindspore as ms
import numpy as np
import pytest

from src.config import Config, load_config, replace
from src.models import build_model
from src.tools.convert_pth import convert
from src.tracker.backends import MindSporeBackend
from src.tracker.crop import get_subwindow
from src.tracker.siamrpn_tracker import SiamRPNTracker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def golden_tracker(golden_dir, tmp_path_factory):
    ckpt = str(tmp_path_factory.mktemp("trk") / "alex_dw.ckpt")
    convert("siamrpn_alex_dw", os.path.join(golden_dir, "siamrpn_alex_dwxcorr/model.pth.xz"), ckpt)
    cfg = load_config(os.path.join(ROOT, "configs", "siamrpn_alex_dw.yaml"))
    net = build_model(cfg)
    ms.load_param_into_net(net, ms.load_checkpoint(ckpt))
    return cfg, MindSporeBackend(net)


def test_siamrpn_reproduces_pysot_on_bag(golden_tracker, golden_dir):
    cfg, backend = golden_tracker
    ref_dir = os.path.join(golden_dir, "tracker_bag", "siamrpn_alex_dwxcorr")
    with open(os.path.join(ref_dir, "results.json")) as f:
        ref = json.load(f)
    frames = np.load(os.path.join(ref_dir, "frames.npz"))
    tracker = SiamRPNTracker(backend, cfg.track, cfg.model.anchor)
    image = cv2.imread(os.path.join(golden_dir, "data", "bag", ref["frames"][0]["file"]))
    tracker.init(image, ref["frames"][0]["bbox_xywh"])
    # the template crop pysot fed to the network, byte for byte
    s_z = round(np.sqrt(np.prod(tracker.size + 0.5 * tracker.size.sum())))
    crop = get_subwindow(image, tracker.center_pos, 127, s_z, tracker.channel_average)
    np.testing.assert_array_equal(crop, frames["template_crop"])
    for rec in ref["frames"][1:]:
        image = cv2.imread(os.path.join(golden_dir, "data", "bag", rec["file"]))
        box, score = tracker.track(image)
        assert tracker.last_best_index == rec["best_idx_flat"], rec["frame"]
        np.testing.assert_allclose(box, rec["bbox_xywh"], atol=0.5, rtol=0)
        np.testing.assert_allclose(tracker.center_pos, rec["center_pos_xy"], atol=0.5, rtol=0)
        assert score == pytest.approx(rec["best_score"], abs=1e-4)


def test_crop_pads_with_truncated_mean_outside_the_image():
    image = np.arange(20 * 30 * 3, dtype=np.uint8).reshape(20, 30, 3)
    avg = np.array([10.7, 20.2, 30.9])
    crop = get_subwindow(image, (0.0, 0.0), 11, 11, avg)
    assert crop.shape == (1, 3, 11, 11)
    np.testing.assert_array_equal(crop[0, :, 0, 0], [10, 20, 30])      # uint8 canvas truncates
    # corner at floor(0 - (11 + 1) / 2 + 0.5) = -6
    np.testing.assert_array_equal(crop[0, :, 6:, 6:].transpose(1, 2, 0), image[:5, :5])
    inside = get_subwindow(image, (15.0, 10.0), 5, 5, avg)
    np.testing.assert_array_equal(inside[0].transpose(1, 2, 0), image[7:12, 12:17])


@pytest.fixture(scope="module")
def small_tracker():
    cfg = replace(Config(), **{"model.width_mult": 0.125, "model.feature_channels": 16})
    return SiamRPNTracker(MindSporeBackend(build_model(cfg)), cfg.track, cfg.model.anchor)


@pytest.mark.parametrize("box, message", [
    ([10, 10, 0, 20], "zero or negative area"),
    ([10, 10, 20, -1], "zero or negative area"),
    ([700, 10, 20, 20], "outside the 640x480 image"),
    ([-50, 10, 20, 20], "outside the 640x480 image"),
    ([10, float("nan"), 20, 20], "non-finite"),
])
def test_bad_init_box_is_a_clear_error(small_tracker, box, message):
    with pytest.raises(ValueError, match=message):
        small_tracker.init(np.zeros((480, 640, 3), np.uint8), box)


def test_grayscale_frames_and_independent_targets(small_tracker):
    cfg = replace(Config(), **{"model.width_mult": 0.125, "model.feature_channels": 16})
    other = SiamRPNTracker(small_tracker.backend, cfg.track, cfg.model.anchor)
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 255, (240, 320), dtype=np.uint8)
    small_tracker.init(gray, [100, 80, 40, 30])
    other.init(gray, [10, 10, 30, 50])
    box, score = small_tracker.track(gray)
    assert len(box) == 4 and 0.0 <= score <= 1.0
    assert not np.allclose(small_tracker.center_pos, other.center_pos)   # state is per tracker


class _DivergedBackend:
    """A network whose every predicted box overflows (log-size deltas of 1e4), or all but the first 100
    (border positions, where the cosine window is lowest)."""

    def __init__(self, all_bad=True):
        self.n, self.all_bad = 0, all_bad     # anchors: set once the tracker knows them

    def template(self, z):
        return (np.zeros(1, np.float32),)

    def track(self, x, kernels):
        cls = np.zeros((1, 2 * self.n), np.float32)
        loc = np.zeros((1, 4 * self.n), np.float32)
        loc[0, 2 * self.n + (0 if self.all_bad else 100):3 * self.n] = 1e4
        return {"cls": cls, "loc": loc}


@pytest.mark.parametrize("all_bad", [True, False], ids=["no_usable_anchor", "some_overflow"])
def test_overflowing_boxes_never_win(all_bad):
    """Anchors whose decoded box overflows rank last; with none usable the target stays put at the
    window's centre (no NaN)."""
    cfg = Config()
    backend = _DivergedBackend(all_bad)
    tracker = SiamRPNTracker(backend, cfg.track, cfg.model.anchor)
    backend.n = len(tracker.anchors)
    frame = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    tracker.init(frame, [100, 80, 40, 30])
    before = list(tracker.last_box)
    with np.errstate(all="raise"):
        box, score = tracker.track(frame)
    assert np.isfinite(box).all()
    if all_bad:
        assert list(box) == before and score == 0.0
        assert tracker.last_best_index == int(np.argmax(tracker.window))   # the centre, for SiamMask's mask
    else:
        assert tracker.last_best_index < 100 and score == 0.5

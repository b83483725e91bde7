"""SiamMask tracker against foolwood/SiamMask on 20 frames of VOT bag (mask + refine on)."""
import json
import os

import cv2
import mindspore as ms
import numpy as np
import pytest

from conftest import polygon_distance
from src.config import load_config
from src.models import build_model
from src.tools.convert_pth import convert
from src.tracker import build_tracker
from src.tracker.backends import MindSporeBackend

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def tracker(golden_dir, tmp_path_factory):
    ckpt = str(tmp_path_factory.mktemp("sm") / "siammask.ckpt")
    convert("siammask_sharp", os.path.join(golden_dir, "siammask_sharp/model.pth.xz"), ckpt)
    cfg = load_config(os.path.join(ROOT, "configs", "siammask_sharp.yaml"))
    net = build_model(cfg)
    ms.load_param_into_net(net, ms.load_checkpoint(ckpt))
    return build_tracker(cfg, MindSporeBackend(net))


def test_siammask_reproduces_reference_on_bag(tracker, golden_dir):
    ref_dir = os.path.join(golden_dir, "tracker_bag", "siammask_sharp")
    with open(os.path.join(ref_dir, "results.json")) as f:
        ref = json.load(f)
    frames = np.load(os.path.join(ref_dir, "frames.npz"))
    image = cv2.imread(os.path.join(golden_dir, "data", "bag", ref["frames"][0]["file"]))
    cx, cy, w, h = ref["init_axis_aligned_cxcywh"]
    tracker.init(image, [cx - (w - 1) / 2, cy - (h - 1) / 2, w, h])   # the runner's init convention
    np.testing.assert_allclose(tracker.center_pos, [cx, cy], atol=1e-9)
    for i, rec in enumerate(ref["frames"][1:]):
        image = cv2.imread(os.path.join(golden_dir, "data", "bag", rec["file"]))
        box, score = tracker.track(image)
        assert list(tracker.last_best_pos) == rec["best_pos_yx"], rec["frame"]
        np.testing.assert_allclose(box, rec["bbox_xywh"], atol=0.5, rtol=0)
        assert polygon_distance(tracker.region(), rec["polygon_xy8"]) <= 1.0, rec["frame"]
        assert score == pytest.approx(rec["best_score"], abs=1e-4)
        # the reference notes up to 1 pixel of run-to-run noise in its binary masks
        assert np.sum(tracker.last_mask != frames["mask_in_img_binary"][i]) <= 1, rec["frame"]


def test_exact_bilinear_warp_agrees_with_opencv():
    """Same affine warp as cv2.warpAffine (which samples at 1/32-pixel steps)."""
    from src.tracker.siammask_tracker import warp_bilinear
    rng = np.random.default_rng(0)
    src = cv2.GaussianBlur(rng.random((127, 127)).astype(np.float32), (0, 0), 3)
    a, c, b, d = 1.7, -40.3, 1.9, 25.6
    ours = warp_bilinear(src, a, c, b, d, (320, 240))
    ref = cv2.warpAffine(src, np.array([[a, 0, c], [0, b, d]]), (320, 240), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=-1)
    u = (np.arange(320) - c) / a          # source position of each destination pixel
    v = (np.arange(240) - d) / b
    inside = ((v >= 1) & (v <= 125))[:, None] & ((u >= 1) & (u <= 125))[None, :]
    assert inside.sum() > 30000
    # OpenCV's 1/32-pixel sampling error times the (blurred) image gradient
    assert np.abs(ours[inside] - ref[inside]).max() < 0.005
    outside = ((v < -1) | (v > 127))[:, None] | ((u < -1) | (u > 127))[None, :]
    assert (ours[outside] == -1).all() and (ref[outside] == -1).all()

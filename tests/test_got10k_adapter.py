"""The got10k adapter: same boxes as the project tracker, and a got10k experiment runs it."""
import importlib
import json
import os

import cv2
import numpy as np
import pytest

from conftest import ROOT, synthetic_test_sets
from PIL import Image

from src.config import Config, replace
from src.evaluation.geometry import init_rect_from_region
from src.models import build_model
from src.tracker import build_tracker
from src.tracker.backends import MindSporeBackend, load_tracker_model
from src.tracker.got10k_adapter import Got10kTracker


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("got10k")
    synthetic_test_sets(root, seed=5, videos=2, frames=12, sub="syn")
    cfg = replace(Config(), **{"model.width_mult": 0.125, "model.feature_channels": 16})
    backend = MindSporeBackend(build_model(cfg))
    return root, cfg, backend


def _to_got10k_val(otb_root, out_root):
    """OTB-layout sequences rewritten in GOT-10k's val layout (what got10k's GOT10k class reads)."""
    val = out_root / "val"
    names = sorted(d for d in os.listdir(otb_root) if os.path.isdir(otb_root / d))
    for name in names:
        src_dir, dst = otb_root / name, val / name
        dst.mkdir(parents=True)
        frames = sorted(os.listdir(src_dir / "img"))
        for i, f in enumerate(frames):
            os.link(src_dir / "img" / f, dst / f"{i + 1:08d}.jpg")
        gt = np.loadtxt(src_dir / "groundtruth_rect.txt", delimiter=",")
        np.savetxt(dst / "groundtruth.txt", gt, fmt="%.4f", delimiter=",")
        h, w = cv2.imread(str(dst / "00000001.jpg")).shape[:2]
        (dst / "meta_info.ini").write_text(f"[METAINFO]\nresolution: ({w}, {h})\n")
        for label, value in (("absence", 0), ("cut_by_image", 0), ("cover", 8)):
            np.savetxt(dst / f"{label}.label", np.full(len(frames), value), fmt="%d")
    (val / "list.txt").write_text("\n".join(names) + "\n")


def test_adapter_gives_the_trackers_boxes(setup):
    _, cfg, backend = setup
    rng = np.random.default_rng(0)
    frames = [cv2.GaussianBlur(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8), (0, 0), 2) for _ in range(4)]
    ours = build_tracker(cfg, backend)
    adapter = Got10kTracker(build_tracker(cfg, backend), name="tiny")
    box0 = [50.0, 40.0, 30.0, 25.0]
    ours.init(frames[0], init_rect_from_region(box0))      # eval.py's init convention
    adapter.init(Image.fromarray(frames[0][:, :, ::-1].copy()), np.array(box0))
    for frame in frames[1:]:
        expected, _ = ours.track(frame)
        got = adapter.update(Image.fromarray(frame[:, :, ::-1].copy()))
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_adapter_boxes_equal_eval_py_one_pass_boxes(setup, tmp_path):
    """got10k's Tracker.track (what its experiments call) through the adapter, and eval.py's OPE run,
    with a model that tracks, on the same synthetic OTB sequences: the same boxes (result files
    hold 4 decimals). Before the adapter used eval.py's init convention they drifted apart."""
    root, _, _ = setup
    data = root / "syn" / "test" / "OTBSYN"
    ckpt = os.path.join(ROOT, "tests", "fixtures", "quickstart_siamrpn.ckpt")
    # eval.py's main in this process: no interpreter and MindSpore start-up (a refusal raises
    # SystemExit and fails the test)
    importlib.import_module("eval").main(["--ckpt", ckpt, "--dataset_path", str(data), "--dataset_name", "OTBSYN",
                                          "--results_dir", str(tmp_path / "results"), "--filename",
                                          str(tmp_path / "eval.json"), "--plots", "false", "--tracker_name", "qs"])
    cfg, backend, _ = load_tracker_model("mindspore", ckpt)
    adapter = Got10kTracker(build_tracker(cfg, backend), name="qs")
    names = sorted(d for d in os.listdir(data) if os.path.isdir(data / d))
    assert len(names) == 2
    for name in names:
        frames = [str(data / name / "img" / f) for f in sorted(os.listdir(data / name / "img"))]
        gt = np.loadtxt(data / name / "groundtruth_rect.txt", delimiter=",")
        boxes, _ = adapter.track(frames, gt[0])
        ope = np.loadtxt(tmp_path / "results" / "OTBSYN" / "qs" / f"{name}.txt", delimiter=",")
        assert boxes.shape == ope.shape == (len(frames), 4)
        np.testing.assert_allclose(boxes[0], gt[0], atol=0)            # got10k records the ground truth
        np.testing.assert_allclose(ope[0], init_rect_from_region(gt[0]), atol=1e-4)
        # got10k decodes the JPEGs with PIL, eval.py with OpenCV: both bundle libjpeg-turbo's exact
        # integer IDCT, so the pixels and hence the boxes agree (OTB files hold full-precision floats)
        np.testing.assert_allclose(boxes[1:], ope[1:], rtol=0, atol=1e-4)
        assert np.abs(boxes[1:, :2] - boxes[0, :2]).max() > 1          # the target moves: a real comparison


def test_got10k_experiment_runs_and_reports(setup, tmp_path):
    from got10k.experiments import ExperimentGOT10k
    root, cfg, backend = setup
    _to_got10k_val(root / "syn" / "test" / "OTBSYN", tmp_path / "GOT-10k")
    experiment = ExperimentGOT10k(str(tmp_path / "GOT-10k"), subset="val",
                                  result_dir=str(tmp_path / "results"), report_dir=str(tmp_path / "reports"))
    experiment.run(Got10kTracker(build_tracker(cfg, backend), name="tiny"))
    performance = experiment.report(["tiny"])
    overall = performance["tiny"]["overall"]
    assert 0.0 <= overall["ao"] <= 1.0 and 0.0 <= overall["sr"] <= 1.0
    assert json.loads((tmp_path / "reports" / "GOT-10k" / "tiny" / "performance.json").read_text())

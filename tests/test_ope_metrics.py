"""OTB one-pass (pysot OPEBenchmark) and GOT-10k (got10k toolkit) metrics."""
import json
import os

import cv2
import numpy as np
import pytest

from src.evaluation import ope_metrics as om
from src.evaluation.datasets import load_dataset
from src.evaluation.report import (format_got10k_table, format_ope_table, plot_got10k_success, plot_ope_curves,
                                   score_got10k, score_ope)
from src.evaluation.results import write_got10k_result

TRACKERS = ["SynTrackerA", "SynTrackerB", "SynTrackerC", "SynTrackerD"]


@pytest.fixture(scope="module")
def otbsyn(golden_dir):
    root = os.path.join(golden_dir, "vot_toolkit")
    with open(os.path.join(root, "expected.json")) as f:
        expected = json.load(f)["OTBSYN"]
    dataset = load_dataset("OTBSYN", os.path.join(root, "testing_dataset", "OTBSYN"))
    return root, expected, score_ope(dataset, os.path.join(root, "results", "OTBSYN"), TRACKERS)


def test_thresholds_match_pysot(otbsyn):
    _, expected, _ = otbsyn
    np.testing.assert_array_equal(om.SUCCESS_THRESHOLDS, expected["success_thresholds"])
    np.testing.assert_array_equal(om.PRECISION_THRESHOLDS, expected["precision_thresholds_px"])
    np.testing.assert_array_equal(om.NORM_PRECISION_THRESHOLDS, expected["norm_precision_thresholds"])


@pytest.mark.parametrize("tracker", TRACKERS)
def test_otbsyn_against_pysot(otbsyn, tracker):
    _, expected, scores = otbsyn
    got, want = scores[tracker], expected["trackers"][tracker]
    assert got["success_auc"] == pytest.approx(want["success_auc"], rel=0, abs=1e-12)
    assert got["precision"] == pytest.approx(want["precision_at_20px"], rel=0, abs=1e-12)
    assert got["norm_precision"] == pytest.approx(want["norm_precision_at_0.20"], rel=0, abs=1e-12)
    for seq, w in want["per_sequence"].items():
        g = got["per_video"][seq]
        assert g["success_auc"] == pytest.approx(w["success_auc"], rel=0, abs=1e-12)
        for key in ("success_curve", "precision_curve", "norm_precision_curve"):
            np.testing.assert_allclose(g[key], w[key], rtol=0, atol=1e-12, err_msg=f"{seq} {key}")


def test_otbsyn_table_matches_pysot(otbsyn):
    root, _, scores = otbsyn
    with open(os.path.join(root, "pysot_show_result_OTBSYN.txt")) as f:
        assert format_ope_table(scores, show_video_level=True, color=True) == f.read()


def test_ope_plots(otbsyn, tmp_path):
    _, _, scores = otbsyn
    paths = plot_ope_curves(scores, str(tmp_path), "OTBSYN")
    # the dataset name is in the file names: plots of two datasets can share a folder
    plot_ope_curves(scores, str(tmp_path), "OTB100")
    assert sorted(os.path.basename(p) for p in paths) == ["precision_plot_OTBSYN.png", "success_plot_OTBSYN.png"]
    assert sorted(os.listdir(tmp_path)) == ["precision_plot_OTB100.png", "precision_plot_OTBSYN.png",
                                            "success_plot_OTB100.png", "success_plot_OTBSYN.png"]


def test_absent_frames_miss_in_success_hit_in_precision():
    gt = np.array([[10, 10, 20, 20], [0, 0, 0, 0], [0, 0, 0, 0], [10, 10, 20, 20]], float)
    pred = np.array([[10, 10, 20, 20], [10, 10, 20, 20], [300, 300, 5, 5], [10, 10, 20, 20]], float)
    c = om.ope_sequence_curves(gt, pred)
    assert c["success"][0] == 0.5                     # IoU > 0 only on the two visible frames
    assert c["precision"][0] == 1.0                   # absent frames are hits even at 0 px
    assert c["norm_precision"][0] == 1.0
    # visible mask (pysot LaSOT): score 2 frames, divide by all 4
    c = om.ope_sequence_curves(gt, pred, visible=[True, False, False, False])
    assert c["success"][0] == 0.25 and c["precision"][0] == 0.25


def test_overlap_ratio_is_continuous_iou():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 0, 0]], float)
    b = np.array([[5, 0, 10, 10], [20, 20, 5, 5], [0, 0, 0, 0]], float)
    iou = om.overlap_ratio(a, b)
    assert iou[0] == pytest.approx(50 / 150) and iou[1] == 0 and np.isnan(iou[2])


def test_got10k_rect_iou_clips_to_image():
    a = np.array([[90, 0, 20, 10], [-10, 0, 20, 10]], float)
    b = np.array([[90, 0, 10, 10], [0, 0, 10, 10]], float)
    # right/bottom overflow is cut; a negative x/y is moved to 0 with the size kept (got10k rect_iou)
    np.testing.assert_allclose(om.rect_iou_bounded(a, b, (100, 100)), [1.0, 0.5])
    np.testing.assert_allclose(om.rect_iou_bounded(a, b), [0.5, 0.5])
    np.testing.assert_array_equal(a, [[90, 0, 20, 10], [-10, 0, 20, 10]])      # inputs untouched


def _write_got10k(root, seqs):
    os.makedirs(root)
    with open(os.path.join(root, "list.txt"), "w") as f:
        f.write("".join(s + "\n" for s in seqs))
    for name, (gt, cover) in seqs.items():
        d = os.path.join(root, name)
        os.makedirs(d)
        for t in range(len(gt)):
            cv2.imwrite(os.path.join(d, f"{t + 1:08d}.jpg"), np.zeros((60, 80, 3), np.uint8))
        np.savetxt(os.path.join(d, "groundtruth.txt"), gt, fmt="%.4f", delimiter=",")
        np.savetxt(os.path.join(d, "cover.label"), cover, fmt="%d")
        np.savetxt(os.path.join(d, "absence.label"), (np.asarray(cover) == 0).astype(int), fmt="%d")
        with open(os.path.join(d, "meta_info.ini"), "w") as f:
            f.write("[METAINFO]\nobject_class: thing\nresolution: (80, 60)\n")


def test_got10k_scoring(tmp_path):
    gt1 = np.array([[10, 10, 20, 20]] * 5, float)
    gt2 = np.array([[30, 20, 10, 10]] * 4, float)
    root = str(tmp_path / "val")
    _write_got10k(root, {"GOT-10k_Val_000001": (gt1, [8, 8, 0, 8, 8]), "GOT-10k_Val_000002": (gt2, [8] * 4)})
    dataset = load_dataset("GOT10k-val", root)
    assert dataset["GOT-10k_Val_000001"].image_size == (80, 60)     # from meta_info.ini
    results_dir = str(tmp_path / "results")
    pred1 = gt1.copy()
    pred1[0] = [70, 50, 5, 5]          # first frame: never scored
    pred1[2] = [70, 50, 5, 5]          # cover 0: not scored
    pred1[3] = [10, 10, 10, 20]        # IoU 0.5 exactly: not a success at 0.5
    pred2 = gt2.copy()
    pred2[1] = [31, 20, 10, 10]        # IoU 90/110
    write_got10k_result(results_dir, "T", "GOT-10k_Val_000001", pred1.tolist(), [0.01] * 5)
    write_got10k_result(results_dir, "T", "GOT-10k_Val_000002", pred2.tolist(), [0.02] * 4)
    scores = score_got10k(dataset, results_dir, ["T"])["T"]
    ious = np.array([1.0, 0.5, 1.0] + [1.0, 90 / 110, 1.0])
    assert scores["ao"] == pytest.approx(ious.mean())
    assert scores["sr50"] == pytest.approx(np.mean(ious > 0.5))
    assert scores["sr75"] == pytest.approx(np.mean(ious > 0.75))
    assert scores["speed_fps"] == pytest.approx(np.mean(1 / np.array([0.01] * 5 + [0.02] * 4)))
    assert scores["per_video"]["GOT-10k_Val_000001"]["length"] == 4
    assert len(scores["succ_curve"]) == 101
    assert "AO" in format_got10k_table({"T": scores})
    path = plot_got10k_success({"T": scores}, str(tmp_path / "plots"), "GOT10k-val")
    assert os.listdir(tmp_path / "plots") == ["success_plot_GOT10k-val.png"] == [os.path.basename(path)]


def test_got10k_test_split_has_first_box_only(tmp_path):
    root = str(tmp_path / "test")
    _write_got10k(root, {"GOT-10k_Test_000001": (np.array([[10, 10, 20, 20]] * 3, float), [8] * 3)})
    with open(os.path.join(root, "GOT-10k_Test_000001", "groundtruth.txt"), "w") as f:
        f.write("10,10,20,20\n")
    dataset = load_dataset("GOT10k-test", root)
    video = dataset[0]
    assert len(video) == 3 and video.gt.shape == (1, 4) and video.init_rect == [10, 10, 20, 20]
    with pytest.raises(ValueError, match="official server"):
        score_got10k(dataset, str(tmp_path / "results"), ["T"])
    with pytest.raises(Exception, match="frames"):
        load_dataset("GOT10k-val", root)

"""VOT accuracy / robustness / EAO against pysot's toolkit on the golden synthetic trackers."""
import json
import os

import numpy as np
import pytest

from src.evaluation import vot_metrics as vm
from src.evaluation.datasets import load_dataset
from src.evaluation.report import format_vot_table, plot_eao_curve, score_vot

TRACKERS = ["SynTrackerA", "SynTrackerB", "SynTrackerC", "SynTrackerD"]
TOL = 5e-4        # required agreement; the port reproduces pysot to float rounding (asserted at 1e-12)


@pytest.fixture(scope="module")
def golden(golden_dir):
    root = os.path.join(golden_dir, "vot_toolkit")
    with open(os.path.join(root, "expected.json")) as f:
        expected = json.load(f)
    return root, expected


@pytest.fixture(scope="module", params=["VOT2016", "VOT2018"])
def scored(request, golden):
    root, expected = golden
    name = request.param
    dataset = load_dataset(name, os.path.join(root, "testing_dataset", name))
    scores = score_vot(dataset, os.path.join(root, "results", name), TRACKERS)
    return name, dataset, scores, expected[name]


def test_image_sizes_from_first_frames(scored, golden):
    _, dataset, _, _ = scored
    sizes = golden[1]["image_size_wh"]
    assert {v.name: [v.width, v.height] for v in dataset} == sizes


@pytest.mark.parametrize("tracker", TRACKERS)
def test_failures_identical(scored, tracker):
    _, _, scores, expected = scored
    got, want = scores[tracker], expected["trackers"][tracker]
    assert {n: v["num_failures"] for n, v in got["per_video"].items()} == \
        {n: v["failures"] for n, v in want["per_sequence"].items()}
    assert got["lost_number"] == want["lost_number"]
    assert {n: v["length"] for n, v in got["per_video"].items()} == \
        {n: v["num_frames"] for n, v in want["per_sequence"].items()}


@pytest.mark.parametrize("tracker", TRACKERS)
def test_accuracy_robustness_eao(scored, tracker):
    name, _, scores, expected = scored
    got, want = scores[tracker], expected["trackers"][tracker]
    assert tuple(got["eao_range"]) == tuple(expected["eao_range_low_high_peak"]) == vm.EAO_RANGES[name]
    for key in ("accuracy", "robustness", "eao"):
        assert abs(got[key] - want[key]) < TOL
        assert got[key] == pytest.approx(want[key], rel=0, abs=1e-12), key
    for tag, value in want["eao_per_tag"].items():
        assert got["eao_per_tag"][tag] == pytest.approx(value, rel=0, abs=1e-12), tag
    for seq, v in want["per_sequence"].items():
        assert got["per_video"][seq]["accuracy"] == pytest.approx(v["accuracy"], rel=0, abs=1e-12), seq


@pytest.mark.parametrize("tracker", TRACKERS)
def test_expected_overlap_curve(scored, tracker):
    _, _, scores, expected = scored
    want = np.array(expected["trackers"][tracker]["expected_overlap_curve"], dtype=np.float64)
    got = np.array(scores[tracker]["eao_curve"])
    np.testing.assert_array_equal(got, want)      # float32 values, bit for bit


def test_table_matches_pysot_show_result(scored, golden):
    name, _, scores, _ = scored
    with open(os.path.join(golden[0], f"pysot_show_result_{name}.txt")) as f:
        assert format_vot_table(scores, show_video_level=True, color=True) == f.read()
    plain = format_vot_table(scores)
    assert "\x1b" not in plain and plain.splitlines()[3].startswith("| SynTrackerA |")


def test_eao_plot_written_atomically(scored, tmp_path):
    name, _, scores, _ = scored
    path = plot_eao_curve(scores, str(tmp_path / "plots" / "eao.png"), name)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(tmp_path / "plots") == ["eao.png"]


# ----------------------------------------------------------- unit behaviour
class _Video:
    def __init__(self, name, gt, size=(100, 100), tags=None):
        self.name, self.gt, (self.width, self.height) = name, np.asarray(gt, float), size
        n = len(gt)
        self.tags = tags or {"all": np.ones(n, int)}


def _calculate_expected_overlap_loop(fragments, fweights):
    """pysot statistics.calculate_expected_overlap, verbatim (test oracle)."""
    max_len = fragments.shape[1]
    expected_overlaps = np.zeros((max_len), np.float32)
    expected_overlaps[0] = 1
    for i in range(1, max_len):
        mask = np.logical_not(np.isnan(fragments[:, i]))
        if np.any(mask):
            fragment = fragments[mask, 1:i + 1]
            seq_mean = np.sum(fragment, 1) / fragment.shape[1]
            expected_overlaps[i] = np.sum(seq_mean * fweights[mask]) / np.sum(fweights[mask])
    return expected_overlaps


def test_failure_frames_and_burnin():
    box = [10, 10, 20, 20]
    traj = [[1], box, box, [2], [0], [0], [0], [0], [1], box, box, box]
    assert vm.failure_frames(traj) == [3]
    gt = [box] * len(traj)
    ov = vm.sequence_overlaps(traj, gt, (100, 100), burnin=2)
    assert np.isnan(ov[[0, 1, 3, 4, 5, 6, 7, 8, 9]]).all()
    assert (ov[[2, 10, 11]] == 1).all()
    ov0 = vm.sequence_overlaps(traj, gt, (100, 100))
    assert (ov0[[1, 2, 9, 10, 11]] == 1).all() and np.isnan(ov0[[0, 3, 8]]).all()
    # shorter ground truth truncates (pysot min_len)
    assert len(vm.sequence_overlaps(traj, gt[:5], (100, 100))) == 5


def test_is_failure_follows_pysot_test_py():
    assert vm.is_failure([50, 50, 10, 10], [0, 0, 10, 10], (100, 100))
    assert not vm.is_failure([5, 5, 10, 10], [0, 0, 10, 10], (100, 100))
    # overlap exactly 0 when the rounded boxes only touch
    assert vm.is_failure([10, 0, 10, 10], [0, 0, 10, 10], (100, 100))


def test_accuracy_robustness_aggregation_is_frame_weighted():
    box = [10, 10, 20, 20]
    half = [10, 10, 10, 20]
    v1 = _Video("a", [box] * 30)
    v2 = _Video("b", [box] * 60)
    runs = {"a": [[[1]] + [box] * 29], "b": [[[1]] + [half] * 20 + [[2], [0], [0], [0], [0], [1]] + [half] * 33]}
    res = vm.accuracy_robustness([v1, v2], runs, burnin=10)
    assert res["lost_number"] == 1 and res["length"] == 90
    assert res["robustness"] == pytest.approx(100 / 90)
    per_b = res["per_video"]["b"]
    assert per_b["num_failures"] == 1 and per_b["accuracy"] == pytest.approx(11 * 21 / (21 * 21))
    # frame-weighted: 20 valid frames of 'a' (acc 1) and 11 + 24 of 'b'
    want = (20 * 1.0 + 35 * per_b["accuracy"]) / 55
    assert res["accuracy"] == pytest.approx(want)


def test_expected_overlap_curve_matches_pysot_loop():
    rng = np.random.default_rng(0)
    fragments = np.full((7, 40), np.nan)
    for k in range(7):
        n = rng.integers(5, 41)
        fragments[k, :n] = rng.uniform(0, 1, n)
        if k % 2:
            fragments[k, n:] = 0          # closed fragments are zero-padded
    fweights = rng.uniform(0.1, 1, 7)
    np.testing.assert_array_equal(vm.expected_overlap_curve(fragments, fweights),
                                  _calculate_expected_overlap_loop(fragments, fweights))


def test_eao_segments_and_range():
    box = [10, 10, 20, 20]
    gt = [box] * 20
    traj = [[1]] + [box] * 5 + [[2], [0], [0], [0], [0], [1]] + [box] * 8
    video = _Video("v", gt)
    fragments, weights = vm.eao_fragments([video], {"v": [traj]})
    # cut at failure (frame 6) + 5 = 11: [0..11] closed (zero-padded), [11..] open
    assert fragments.shape == (2, 20)
    assert (fragments[0, 1:6] == 1).all() and (fragments[0, 6:] == 0).all()
    assert np.isnan(fragments[1, 9:]).all() and (fragments[1, 1:9] == 1).all()
    assert weights["all"][0] == pytest.approx(1 / (1 + 1e-10))
    res = vm.expected_average_overlap([video], {"v": [traj]}, (2, 20), tags=("all",))
    curve = res["curves"]["all"]
    assert curve[0] == 1 and res["eao"]["all"] == pytest.approx(np.mean(curve[1:20]))
    assert vm.eao_range_for("VOT2019") == (46, 291, 128)
    with pytest.raises(ValueError, match="VOTSYN has no known EAO range.*pass --eao_range LOW HIGH"):
        vm.eao_range_for("VOTSYN")


def test_check_eao_range():
    assert vm.check_eao_range((5, 16), [16, 9], "VOTSYN") == (5, 16)
    assert vm.check_eao_range(None, [600, 30], "VOT2018") == (100, 356)      # the known range
    for bad, words in (((0, 5), "1 <= LOW <= HIGH"), ((8, 4), "1 <= LOW <= HIGH"),
                       ((5, 17), "longest VOTSYN sequence has 16 frames")):
        with pytest.raises(ValueError, match=words):
            vm.check_eao_range(bad, [16, 9], "VOTSYN")
    with pytest.raises(ValueError, match=r"the VOT2018 EAO range \[100, 356\]: the longest VOT2018 sequence has 300"):
        vm.check_eao_range(None, [300], "VOT2018")


def test_eao_high_beyond_the_longest_sequence_would_be_another_interval():
    """Why HIGH <= longest: pysot's weight[low-1:high] is cut at the curve's end, so a longer
    HIGH silently averages over [LOW, longest] (and a LOW beyond it gives NaN)."""
    box = [10, 10, 20, 20]
    video = _Video("v", [box] * 12)
    traj = [[1]] + [[10, 10, 10, 20]] * 11
    res = vm.expected_average_overlap([video], {"v": [traj]}, (2, 12), tags=("all",))
    longer = vm.expected_average_overlap([video], {"v": [traj]}, (2, 50), tags=("all",))
    assert res["eao"]["all"] == longer["eao"]["all"]
    assert np.isnan(vm.eao_from_curve(res["curves"]["all"], 13, 50))

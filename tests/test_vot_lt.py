"""VOT long-term (VOT2018-LT / VOT2019-LT) evaluation: metrics, dataset, runner, eval.py.

The metric tests are hand cases: every expected number is worked out in the
comments from pysot's definitions (toolkit/utils/statistics.py
``determine_thresholds`` / ``calculate_f1``, toolkit/evaluation/f1_benchmark.py).
With S the summed overlap of the k selected frames and N the visible frames,
Pr = S / k and Re = S / N, so F = 2 Pr Re / (Pr + Re) = 2 S / (k + N).
"""
from types import SimpleNamespace

import numpy as np
import pytest

from src.evaluation import lt_metrics as lt

NAN = float("nan")


# ----------------------------------------------------------------- thresholds
def test_thresholds_small_resolution_by_hand():
    # 9 scores (the NaN of the first frame dropped), resolution 5 -> 3 inner thresholds:
    # delta = floor(9 / 3) = 3, indices floor(linspace(2, 6, 3) + 0.5) = 2, 4, 6 of the sorted scores
    scores = [NAN, 0.9, 0.8, 0.3, 0.2, 0.1, 0.7, 0.4, 0.6, 0.5]
    th = lt.determine_thresholds(scores, resolution=5)
    assert th[0] == -np.inf and th[-1] == np.inf
    assert th[1:-1].tolist() == [0.3, 0.5, 0.7]


def test_thresholds_pysot_resolution():
    # n = 98 = resolution - 2: delta = 1, indices linspace(0, 97, 98) = every score
    th = lt.determine_thresholds(np.arange(98.0)[::-1])
    assert len(th) == 100 and th[1:-1].tolist() == list(range(98))
    # n = 196: delta = 2, linspace(1, 194, 98) has step 193 / 97 = 1.98969...: 1, 2.99 -> 3, ..., 194
    th = lt.determine_thresholds(np.arange(196.0))
    assert len(th) == 100 and (th[1], th[2], th[3], th[-2]) == (1, 3, 5, 194)
    assert np.all(np.diff(th) >= 0)


def test_thresholds_fewer_scores_than_resolution():
    # pysot indexes past the end here (IndexError); every score becomes a threshold (VOT toolkit)
    th = lt.determine_thresholds([0.5, NAN, 0.2, 0.9])
    assert th.tolist() == [-np.inf, 0.2, 0.5, 0.9, np.inf]
    assert lt.determine_thresholds([NAN]).tolist() == [-np.inf, np.inf]


# ------------------------------------------------------- precision and recall
# 10 frames; frame 0 is the initialisation (overlap NaN, confidence NaN); the target is absent on
# frames 3, 4, 5 (overlap NaN, scored as 0). Visible frames: 0, 1, 2, 6, 7, 8, 9 -> N = 7.
HAND_OVERLAPS = [NAN, 0.9, 0.8, NAN, NAN, NAN, 0.6, 0.0, 0.7, 0.5]
HAND_SCORES = [NAN, 0.9, 0.8, 0.3, 0.2, 0.1, 0.7, 0.4, 0.6, 0.5]


def test_precision_recall_by_hand():
    thresholds = lt.determine_thresholds(HAND_SCORES, resolution=5)[::-1]   # inf, 0.7, 0.5, 0.3, -inf
    pr, re = lt.precision_recall(HAND_OVERLAPS, HAND_SCORES, thresholds, n_visible=7)
    # inf:  nothing selected                               -> Pr 1, Re 0
    # 0.7:  frames 1, 2, 6        S = 2.3, k = 3           -> Pr 2.3/3, Re 2.3/7, F = 4.6/10
    # 0.5:  + frames 8, 9         S = 3.5, k = 5           -> Pr 0.7,   Re 0.5,   F = 7/12
    # 0.3:  + frame 7 (overlap 0) and absent frame 3       -> Pr 3.5/7, Re 0.5,   F = 0.5
    # -inf: score > 0: frames 1..9 (frame 0's NaN is 0)    -> Pr 3.5/9, Re 0.5,   F = 7/16
    assert pr == pytest.approx([1, 2.3 / 3, 0.7, 0.5, 3.5 / 9], abs=1e-12)
    assert re == pytest.approx([0, 2.3 / 7, 0.5, 0.5, 0.5], abs=1e-12)
    assert lt.f_score(pr, re) == pytest.approx([0, 0.46, 7 / 12, 0.5, 7 / 16], abs=1e-12)
    k, p, r, f = lt.best_point(pr, re)
    assert (k, p, r) == (2, pytest.approx(0.7), pytest.approx(0.5)) and f == pytest.approx(7 / 12)


def test_minus_inf_threshold_selects_positive_scores_only():
    # pysot calculate_f1: at -inf the frames with score > 0 are selected, elsewhere score >= t,
    # so frames of confidence 0 or below count at a threshold of -0.5 but not at -inf. The first
    # frame's NaN confidence reads as 0, so at -0.5 it is selected too, with its NaN overlap as 0:
    # -0.5: frames 0, 1, 2: S = 2, k = 3 -> Pr 2/3, Re 2/3;  -inf: nothing -> Pr 1, Re 0
    overlaps, scores = [NAN, 1.0, 1.0], [NAN, 0.0, -0.2]
    pr, re = lt.precision_recall(overlaps, scores, [np.inf, -0.5, -np.inf], n_visible=3)
    assert pr == pytest.approx([1, 2 / 3, 1]) and re == pytest.approx([0, 2 / 3, 0])


def test_f_score_is_zero_not_nan_without_precision_and_recall():
    assert lt.f_score([0.0, 0.5], [0.0, 0.5]).tolist() == [0.0, 0.5]


# --------------------------------------------- whole sequences, absent target
def _video(gt, name="seq", size=(100, 100)):
    return SimpleNamespace(name=name, gt=np.array(gt, np.float64), width=size[0], height=size[1])


GT_BOX = [10.0, 10.0, 20.0, 20.0]
WRONG_BOX = [60.0, 60.0, 20.0, 20.0]      # disjoint from GT_BOX: overlap 0
ABSENT = [NAN] * 4
# frames 3, 4, 5 absent; the tracker is right (the same box: overlap exactly 1) on 1, 2, 6, 8, 9,
# wrong on 7, and reports a box on the absent frames too
HAND_GT = [GT_BOX, GT_BOX, GT_BOX, ABSENT, ABSENT, ABSENT, GT_BOX, GT_BOX, GT_BOX, GT_BOX]
HAND_TRAJ = [[1.0], GT_BOX, GT_BOX, WRONG_BOX, GT_BOX, WRONG_BOX, GT_BOX, WRONG_BOX, GT_BOX, GT_BOX]


def test_sequence_overlaps_absent_frames_are_nan():
    overlaps = lt.sequence_overlaps(HAND_TRAJ, np.array(HAND_GT), (100, 100))
    assert np.isnan(overlaps[[0, 3, 4, 5]]).all()       # init code, and the target absent
    assert overlaps[[1, 2, 6, 8, 9]].tolist() == [1, 1, 1, 1, 1] and overlaps[7] == 0
    assert lt.absent_frames(np.array(HAND_GT)).tolist() == [False] * 3 + [True] * 3 + [False] * 4


def test_absent_frames_low_confidence_by_hand():
    scores = [NAN, 0.9, 0.8, 0.2, 0.2, 0.2, 0.7, 0.3, 0.6, 0.5]
    s = lt.long_term_scores([_video(HAND_GT)], {"seq": (HAND_TRAJ, scores)}, resolution=5)
    # sorted scores 0.2 0.2 0.2 0.3 0.5 0.6 0.7 0.8 0.9, indices 2, 4, 6 -> 0.2, 0.5, 0.7
    assert s["thresholds"].tolist() == [np.inf, 0.7, 0.5, 0.2, -np.inf]
    # N = 7 (frame 0 counts: the target is there).
    # 0.7: frames 1, 2, 6: S = 3, k = 3 -> Pr 1, Re 3/7, F = 6/10
    # 0.5: + 8, 9:         S = 5, k = 5 -> Pr 1, Re 5/7, F = 10/12   <- maximum
    # 0.2 and -inf: all nine, the absent ones with overlap 0: S = 5, k = 9 -> Pr 5/9, F = 10/16
    assert s["f_curve"] == pytest.approx([0, 0.6, 10 / 12, 0.625, 0.625], abs=1e-12)
    assert (s["precision"], s["recall"], s["f_score"], s["threshold"]) == \
        (pytest.approx(1), pytest.approx(5 / 7), pytest.approx(5 / 6), 0.5)
    v = s["per_video"]["seq"]
    assert (v["n_visible"], v["n_absent"], v["length"]) == (7, 3, 10)


def test_confident_reports_on_absent_frames_cost_precision_by_hand():
    # the same boxes, but the tracker is most confident on the three absent frames
    scores = [NAN, 0.9, 0.8, 0.95, 0.95, 0.95, 0.7, 0.3, 0.6, 0.5]
    s = lt.long_term_scores([_video(HAND_GT)], {"seq": (HAND_TRAJ, scores)}, resolution=5)
    # sorted 0.3 0.5 0.6 0.7 0.8 0.9 0.95 0.95 0.95 -> 0.6, 0.8, 0.95
    assert s["thresholds"].tolist() == [np.inf, 0.95, 0.8, 0.6, -np.inf]
    # 0.95: the absent frames only: S = 0, k = 3 -> Pr 0, Re 0, F 0 (pysot: NaN)
    # 0.8:  + 1, 2:    S = 2, k = 5 -> Pr 0.4, Re 2/7, F = 4/12
    # 0.6:  + 6, 8:    S = 4, k = 7 -> Pr 4/7, Re 4/7, F = 8/14
    # -inf: all nine:  S = 5, k = 9 -> Pr 5/9, Re 5/7, F = 10/16      <- maximum
    assert s["precision_curve"] == pytest.approx([1, 0, 0.4, 4 / 7, 5 / 9], abs=1e-12)
    assert s["recall_curve"] == pytest.approx([0, 0, 2 / 7, 4 / 7, 5 / 7], abs=1e-12)
    assert s["f_curve"] == pytest.approx([0, 0, 1 / 3, 4 / 7, 0.625], abs=1e-12)
    assert s["f_score"] == pytest.approx(0.625) and s["precision"] == pytest.approx(5 / 9)
    assert s["threshold"] == -np.inf


def test_curves_averaged_over_sequences_before_f():
    # two 3-frame sequences, target always visible (N = 3 each), resolution 3 (one inner threshold)
    gt = [GT_BOX] * 3
    runs = {"a": ([[1.0], GT_BOX, WRONG_BOX], [NAN, 0.9, 0.1]),      # overlaps 1, 0
            "b": ([[1.0], GT_BOX, GT_BOX], [NAN, 0.5, 0.4])}          # overlaps 1, 1
    s = lt.long_term_scores([_video(gt, "a"), _video(gt, "b")], runs, resolution=3)
    # pooled 0.1 0.4 0.5 0.9: delta = 4, index floor(linspace(3, 0, 1) + 0.5) = 3 -> 0.9
    assert s["thresholds"].tolist() == [np.inf, 0.9, -np.inf]
    # 0.9:  a: Pr 1, Re 1/3; b: nothing, Pr 1, Re 0      -> mean Pr 1, Re 1/6, F = 2/7
    # -inf: a: Pr 1/2, Re 1/3; b: Pr 1, Re 2/3          -> mean Pr 3/4, Re 1/2, F = 0.6
    assert s["precision_curve"] == pytest.approx([1, 1, 0.75]) and s["recall_curve"] == pytest.approx([0, 1 / 6, 0.5])
    assert (s["precision"], s["recall"], s["f_score"]) == (pytest.approx(0.75), pytest.approx(0.5), pytest.approx(0.6))
    # per video, each at its own maximum: a peaks at 0.9 (2*1/(1+3) = 0.5 vs 2*1/(2+3) = 0.4)
    assert s["per_video"]["a"]["f_score"] == pytest.approx(0.5) and s["per_video"]["a"]["threshold"] == 0.9
    assert s["per_video"]["b"]["f_score"] == pytest.approx(0.8)


# ------------------------------------------------------------------- dataset
def _lt_set(root, videos=2, frames=12, seed=0):
    from src.data.synthetic import write_lt_part
    write_lt_part(root, videos, frames, seed)
    return root / "VOTLTSYN"


@pytest.fixture(scope="module")
def lt_root(tmp_path_factory):
    return _lt_set(tmp_path_factory.mktemp("votlt"))


def _absent_rows(path):
    return [i for i, line in enumerate(path.read_text().splitlines()) if line == "nan,nan,nan,nan"]


@pytest.mark.parametrize("layout", ["json", "raw"])
def test_dataset_reads_absent_rows(lt_root, tmp_path, layout):
    import shutil
    from src.evaluation.datasets import dataset_kind, load_dataset
    assert {dataset_kind(n) for n in ("VOT2018-LT", "VOT2019-LT", "VOTLTSYN", "votlt_syn")} == {"votlt"}
    assert dataset_kind("VOT2018") == "vot"
    root = lt_root
    if layout == "raw":                       # list.txt + <seq>/groundtruth.txt, no pysot JSON
        root = tmp_path / "VOTLTSYN"
        shutil.copytree(lt_root, root)
        (root / "VOTLTSYN.json").unlink()
    dataset = load_dataset("VOTLTSYN", str(root), check_frames=True)
    assert dataset.kind == "votlt" and len(dataset) == 2
    for video in dataset:
        absent = _absent_rows(lt_root / video.name / "groundtruth.txt")
        assert absent and 0 not in absent
        assert np.flatnonzero(~video.visible).tolist() == absent
        assert np.isnan(video.gt[absent]).all() and np.isfinite(np.delete(video.gt, absent, axis=0)).all()
        assert dataset.notes["absent_frames"][video.name] == len(absent)
    assert dataset.notes["unusable_gt_frames"] == {}       # absent frames are not "unusable" boxes


@pytest.mark.parametrize("bad", ["12.0,nan,3,4", "12.0,abc,3,4", "1,2,3"])
def test_malformed_row_is_one_line_naming_sequence_and_line(lt_root, tmp_path, bad):
    import shutil
    from src.evaluation.datasets import DatasetError, load_dataset
    root = tmp_path / "VOTLTSYN"
    shutil.copytree(lt_root, root)
    (root / "VOTLTSYN.json").unlink()
    gt = root / "syn_lt_0001" / "groundtruth.txt"
    lines = gt.read_text().splitlines()
    lines[6] = bad
    gt.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError) as e:
        load_dataset("VOTLTSYN", str(root))
    message = str(e.value)
    assert "\n" not in message and message.startswith("syn_lt_0001: ") and f"{gt}:7" in message


def test_json_row_mixing_nan_and_numbers_names_gt_rect(lt_root, tmp_path):
    import json
    import shutil
    from src.evaluation.datasets import DatasetError, load_dataset
    root = tmp_path / "VOTLTSYN"
    shutil.copytree(lt_root, root)
    meta = json.loads((root / "VOTLTSYN.json").read_text())
    meta["syn_lt_0000"]["gt_rect"][4] = [1.0, NAN, 2.0, 3.0]
    (root / "VOTLTSYN.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match=r"syn_lt_0000: .*VOTLTSYN.json: gt_rect\[4\]: row 1,nan,2,3 mixes NaN"):
        load_dataset("VOTLTSYN", str(root))


# ----------------------------------------------------------- runner + writer
class _FakeTracker:
    """Tracks nothing: returns a fixed box and a score per frame; counts inits."""

    def __init__(self, scores, confidence=None):
        self.scores, self.confidence_values, self.inits, self.frames = list(scores), confidence, 0, 0

    def init(self, image, box):
        self.inits += 1
        self.box = [float(v) for v in box]

    def track(self, image):
        self.frames += 1
        if self.confidence_values is not None:
            self.confidence = self.confidence_values[self.frames - 1]
        return self.box, self.scores[self.frames - 1]


def test_runner_initialises_once_and_records_confidence(lt_root):
    from src.evaluation.datasets import load_dataset
    from src.evaluation.runner import run_long_term
    video = load_dataset("VOTLTSYN", str(lt_root))[0]
    n = len(video)
    tracker = _FakeTracker(scores=[0.1 * k for k in range(n - 1)])
    boxes, confidences, times = run_long_term(tracker, video)
    assert tracker.inits == 1 and tracker.frames == n - 1          # absent frames tracked, no re-init
    assert confidences[0] is None and confidences[1:] == pytest.approx([0.1 * k for k in range(n - 1)])
    assert len(boxes) == len(times) == n and boxes[1] == tracker.box
    # a tracker with a confidence attribute (tracker.confidence): it wins over the returned score
    tracker = _FakeTracker(scores=[5.0] * (n - 1), confidence=[0.5] * (n - 1))
    _, confidences, _ = run_long_term(tracker, video)
    assert confidences[1:] == [0.5] * (n - 1)


def test_writer_layout_and_reader_round_trip(lt_root, tmp_path):
    from src.evaluation import results
    from src.evaluation.datasets import load_dataset
    video = load_dataset("VOTLTSYN", str(lt_root))[0]
    n = len(video)
    boxes = [[1.5, 2.0, 30.25, 40.0]] * n
    confidences = [None] + [0.25 + 0.01 * k for k in range(n - 1)]
    results.write_lt_result(str(tmp_path), "trk", video.name, boxes, confidences)
    folder = tmp_path / "trk" / "longterm" / video.name
    traj = (folder / f"{video.name}_001.txt").read_text().splitlines()
    conf = (folder / f"{video.name}_001_confidence.value").read_text().split("\n")
    # pysot tools/test.py: "1" then ','.join(str(v)); confidences: an empty first line, then {:.6f}
    assert traj[0] == "1" and traj[1] == "1.5,2.0,30.25,40.0" and len(traj) == n
    assert conf[0] == "" and conf[1] == "0.250000" and len(conf) == n + 1 and conf[-1] == ""
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]     # no temp file left
    rows, scores = results.read_lt_result(str(folder / f"{video.name}_001.txt"), n_frames=n)
    assert rows[0] == [1.0] and rows[1] == [1.5, 2.0, 30.25, 40.0]
    assert np.isnan(scores[0]) and scores[1:] == pytest.approx(confidences[1:], abs=1e-6)
    assert results.is_complete(str(folder / f"{video.name}_001_confidence.value"), n, first_may_be_empty=True)
    # a bad confidence line is refused with file and line
    lines = conf[:-1]
    lines[3] = "high"
    (folder / f"{video.name}_001_confidence.value").write_text("\n".join(lines) + "\n")
    with pytest.raises(results.ResultsError, match=r"_001_confidence.value:4: expected one confidence value"):
        results.read_lt_result(str(folder / f"{video.name}_001.txt"), n_frames=n)


@pytest.fixture(scope="module")
def tiny_tracker():
    from src.config import Config, replace
    from src.models import build_model
    from src.tracker import build_tracker
    from src.tracker.backends import MindSporeBackend
    import mindspore as ms
    cfg = replace(Config(), **{"model.width_mult": 0.125, "model.feature_channels": 16,
                               "track.instance_size": 255})
    ms.set_seed(1)
    backend = MindSporeBackend(build_model(cfg))
    return lambda: build_tracker(cfg, backend)


@pytest.mark.slow
def test_run_dataset_with_a_tiny_model_then_score(lt_root, tmp_path, tiny_tracker):
    from src.evaluation import evaluate, results
    from src.evaluation.datasets import load_dataset
    dataset = load_dataset("VOTLTSYN", str(lt_root))
    fps, counts = evaluate.run_dataset(tiny_tracker, dataset, "lt", str(tmp_path), "tiny")
    assert counts == {"run": 2, "resumed": 0}
    for video in dataset:
        folder = tmp_path / "tiny" / "longterm" / video.name
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            f"{video.name}{s}" for s in ("_001.txt", "_001_confidence.value", "_time.txt"))
        _, scores = results.read_lt_result(str(folder / f"{video.name}_001.txt"), n_frames=len(video))
        # SiamRPN's confidence is a foreground probability
        assert np.all((scores[1:] >= 0) & (scores[1:] <= 1))
    s = evaluate.score(dataset, "lt", str(tmp_path), ["tiny"])["tiny"]
    assert 0 <= s["precision"] <= 1 and 0 <= s["recall"] <= 1
    assert s["f_score"] == pytest.approx(2 * s["precision"] * s["recall"] / (s["precision"] + s["recall"])
                                         if s["precision"] + s["recall"] else 0)
    assert s["n_thresholds"] == 2 * 11 + 2          # 22 confidences < 98: each one a threshold, and -inf, inf
    # everything finished: a second run resumes both sequences and rewrites nothing
    _, counts = evaluate.run_dataset(tiny_tracker, dataset, "lt", str(tmp_path), "tiny",
                                        reuse={v.name for v in dataset})
    assert counts == {"run": 0, "resumed": 2}
    table = evaluate.format_table("lt", {"tiny": s})
    assert "Precision" in table and "F1" in table and f"{s['f_score']:.3f}" in table


# ----------------------------------------------------------------- eval.py
@pytest.fixture(scope="module")
def lt_checkpoints(tmp_path_factory):
    import mindspore as ms
    from src.config import Config, replace, to_yaml
    from src.models import build_model
    from src.training.checkpoint import save_checkpoint_atomic
    root = tmp_path_factory.mktemp("votlt_ckpt")
    cfg = replace(Config(), **{"name": "tiny", "model.width_mult": 0.125, "model.feature_channels": 16,
                               "track.instance_size": 255})
    ms.set_seed(1)
    for epoch in (1, 2):
        save_checkpoint_atomic(build_model(cfg), str(root / f"tiny_epoch{epoch:03d}.ckpt"),
                               append_dict={"epoch": epoch, "config": to_yaml(cfg)})
    return root


@pytest.mark.slow
def test_eval_py_long_term_sweep_then_score_only(lt_root, lt_checkpoints, tmp_path):
    import json
    from conftest import assert_one_line_error, run_script
    base = ["--dataset_path", str(lt_root), "--dataset_name", "VOTLTSYN", "--results_dir", str(tmp_path / "r")]
    proc = run_script("eval.py", "--ckpt_dir", lt_checkpoints, "--filename", tmp_path / "sweep.json", *base)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Precision" in proc.stdout and "Recall" in proc.stdout and "F1" in proc.stdout
    sweep = json.loads((tmp_path / "sweep.json").read_text())
    assert sweep["ranked_by"] == "f_score" and set(sweep["sweep"]) == {"tiny_epoch001", "tiny_epoch002"}
    best = sweep["best"]
    assert best["protocol"].startswith("VOT long-term")
    assert best["dataset_notes"]["absent_frames"] == {
        name: len(_absent_rows(lt_root / name / "groundtruth.txt")) for name in ("syn_lt_0000", "syn_lt_0001")}
    for key in ("precision", "recall", "f_score"):
        assert 0 <= best["all_videos"][key] <= 1
    for name, v in best["per_video"].items():
        assert v["length"] == 12 and v["n_visible"] + v["n_absent"] == 12 and v["fps"] > 0
    assert (tmp_path / "precision_recall_plot_VOTLTSYN.png").stat().st_size > 0
    assert (tmp_path / "f_score_plot_VOTLTSYN.png").stat().st_size > 0
    folder = tmp_path / "r" / "VOTLTSYN" / "tiny_epoch001"
    assert (folder / "manifest.json").is_file()
    result = folder / "longterm" / "syn_lt_0000" / "syn_lt_0000_001.txt"
    assert result.read_text().splitlines()[0] == "1"
    # scoring the files again gives the same numbers
    proc = run_script("eval.py", "--score_only", "--filename", tmp_path / "scores.json", "--plots", "False", *base)
    assert proc.returncode == 0, proc.stderr[-3000:]
    scores = json.loads((tmp_path / "scores.json").read_text())["trackers"]
    for name, all_videos in sweep["sweep"].items():
        assert scores[name]["all_videos"]["f_score"] == pytest.approx(all_videos["f_score"], abs=1e-12)
    # a long-term set has no EAO interval
    proc = run_script("eval.py", "--ckpt", lt_checkpoints / "tiny_epoch001.ckpt", "--eao_range", "2", "5", *base)
    assert_one_line_error(proc, "--eao_range applies to VOT datasets", prefix="eval.py: ")


def test_scoring_names_tracker_sequence_and_missing_or_short_files(lt_root, tmp_path):
    from src.evaluation import report, results
    from src.evaluation.datasets import load_dataset
    dataset = load_dataset("VOTLTSYN", str(lt_root))
    for video in dataset:
        n = len(video)
        results.write_lt_result(str(tmp_path), "trk", video.name, [list(video.gt[0])] * n,
                                [None] + [0.5] * (n - 1))
    s = report.score_lt(dataset, str(tmp_path), ["trk"])["trk"]
    # a tracker that stays on the first box with confidence 0.5: 22 confidences, each a threshold
    assert s["n_thresholds"] == 2 * 11 + 2 and 0 < s["f_score"] <= 1
    table = report.format_lt_table({"trk": s, "other": s}, show_video_level=True)
    # pysot's summary header once, then one column group per tracker in the per-video table
    assert table.count("syn_lt_0000") == 1 and "Video name" in table
    assert table.count(" Precision | Recall |  F1   |") == 3
    video = dataset[1]
    conf = tmp_path / "trk" / "longterm" / video.name / f"{video.name}_001_confidence.value"
    conf.write_text("\n".join(conf.read_text().split("\n")[:5]) + "\n")
    with pytest.raises(results.ResultsError, match=rf"tracker trk, sequence {video.name}: .*5 lines for a "
                                                   rf"sequence of 12 frames"):
        report.score_lt(dataset, str(tmp_path), ["trk"])
    conf.unlink()
    with pytest.raises(results.ResultsError, match=rf"tracker trk, sequence {video.name}: missing result file "
                                                   rf".*_001_confidence.value"):
        report.score_lt(dataset, str(tmp_path), ["trk"])

"""Fault injection for eval.py's scoring side: EAO ranges, result files, GOT-10k, flags, run_eval.sh.

Every bad input ends in one line naming what is wrong (tracker, sequence, file, line),
a non-zero exit, and no eval.json or plot left behind. Most cases call eval.py's
``main`` in this process (no interpreter and MindSpore start-up); the entry-point
cases (run_eval.sh, GOT-10k tracking) run it as a user would.
"""
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, assert_one_line_error, run_script, synthetic_test_sets

from src.evaluation import results
from src.evaluation.datasets import load_dataset

CKPT = os.path.join(ROOT, "tests", "fixtures", "quickstart_siamrpn.ckpt")
FRAMES = 14        # > the 10-frame VOT burn-in, so a perfect tracker has scored frames
SEQ = "syn_test_0000"


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    synthetic_test_sets(root, seed=7, videos=2, frames=FRAMES)
    test = root / "data" / "test"
    got = root / "GOT10k"           # GOT-10k's layout, made from the OTB-like set
    names = []
    for i, seq in enumerate(sorted(p.name for p in (test / "OTBSYN").iterdir() if p.is_dir())):
        name = f"GOT-10k_Val_{i + 1:06d}"
        names.append(name)
        (got / name).mkdir(parents=True)
        for k, frame in enumerate(sorted((test / "OTBSYN" / seq / "img").iterdir())):
            shutil.copy(frame, got / name / f"{k + 1:08d}.jpg")
        shutil.copy(test / "OTBSYN" / seq / "groundtruth_rect.txt", got / name / "groundtruth.txt")
    (got / "list.txt").write_text("\n".join(names) + "\n")
    return {"VOTSYN": test / "VOTSYN", "OTBSYN": test / "OTBSYN", "GOT10k-val": got}


def perfect_results(dataset_name, path, results_dir, tracker="T"):
    """Result files of a tracker that outputs the ground truth (written with the product's writers)."""
    dataset = load_dataset(dataset_name, str(path))
    base = os.path.join(str(results_dir), dataset_name)
    for video in dataset:
        if dataset_name == "VOTSYN":
            results.write_vot_result(results.vot_result_path(base, tracker, video.name),
                                     [results.VOT_INIT] + [list(g) for g in video.gt[1:]])
        elif dataset_name == "OTBSYN":
            results.write_ope_result(results.ope_result_path(base, tracker, video.name), video.gt.tolist())
        else:
            results.write_got10k_result(base, tracker, video.name, video.gt.tolist(), [0.01] * len(video))
    return base


def eval_main(*args):
    importlib.import_module("eval").main([str(a) for a in args])


def refused(*args):
    """eval.py's main refuses: SystemExit with one line starting 'eval.py: ' (anything else raises)."""
    with pytest.raises(SystemExit) as e:
        eval_main(*args)
    message = e.value.code
    assert isinstance(message, str) and message.startswith("eval.py: ") and "\n" not in message, message
    return message


def score_only(sets, name, results_dir, out, *extra):
    return ["--score_only", "--dataset_path", sets[name], "--dataset_name", name, "--results_dir", results_dir,
            "--filename", out / "eval.json", *extra]


# ------------------------------------------------------------------ EAO range
@pytest.mark.parametrize("rng, words", [
    (["0", "5"], ["--eao_range 0 5", "1 <= LOW <= HIGH"]),
    (["8", "4"], ["--eao_range 8 4", "1 <= LOW <= HIGH"]),
    (["5", "500"], ["--eao_range 5 500", f"the longest VOTSYN sequence has {FRAMES} frames", f"<= {FRAMES}"]),
    ([], ["VOTSYN has no known EAO range", "pass --eao_range LOW HIGH"]),
])
def test_eao_range_refused_before_tracking(sets, tmp_path, rng, words):
    for mode in (["--ckpt", CKPT, "--results_dir", tmp_path / "r"],
                 ["--score_only", "--results_dir", tmp_path / "r"]):
        message = refused(*mode, "--dataset_path", sets["VOTSYN"], "--dataset_name", "VOTSYN",
                          "--filename", tmp_path / "eval.json", *(["--eao_range", *rng] if rng else []))
        assert all(w in message for w in words), message
    assert not (tmp_path / "r").exists() and os.listdir(tmp_path) == []


def test_eao_range_on_a_dataset_without_eao(sets, tmp_path):
    message = refused("--ckpt", CKPT, "--dataset_path", sets["OTBSYN"], "--dataset_name", "OTBSYN",
                      "--eao_range", "2", "5", "--results_dir", tmp_path / "r", "--filename", tmp_path / "e.json")
    assert "--eao_range applies to VOT datasets" in message and "OTBSYN" in message
    assert os.listdir(tmp_path) == []


# -------------------------------------------------------- score-only: result files
def _lines(path):
    with open(path) as f:
        return f.read().splitlines()


def _write_lines(path, lines):
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))


VOT_FAULTS = {
    # name: (edit of the result lines, words of the message besides tracker / sequence / file)
    "truncated": (lambda ls: ls[:-1], [f"{FRAMES - 1} lines for a sequence of {FRAMES} frames",
                                       f"it ends after line {FRAMES - 1}"]),
    "extra_lines": (lambda ls: ls + ["1", "1"], [f"{FRAMES + 2} lines for a sequence of {FRAMES} frames",
                                                 f"2 too many, from line {FRAMES + 1}"]),
    "empty": (lambda ls: [], ["the file is empty"]),
    "non_numeric": (lambda ls: ls[:4] + ["1.0,abc,3,4"] + ls[5:], [":5: non-numeric value", "abc"]),
    "bad_code": (lambda ls: ls[:3] + ["3"] + ls[4:], [":4: 3 is not a VOT code"]),
    "nan_region": (lambda ls: ls[:2] + ["nan,1,2,3"] + ls[3:], [":3: non-finite value"]),
    "five_values": (lambda ls: ls[:6] + ["1,2,3,4,5"] + ls[7:], [":7: expected a code, 4 values or a polygon"]),
    "first_not_init": (lambda ls: ls[1:2] + ls[1:], [":1: a supervised trajectory starts with 1"]),
    "skip_without_failure": (lambda ls: ls[:3] + ["0"] + ls[4:], [":4: 0 (skipped) only follows a failure"]),
    "region_after_failure": (lambda ls: ls[:3] + ["2"] + ls[4:], [":5: after 2 (failure) comes 0 (skipped) or 1"]),
    "blank_line": (lambda ls: ls[:5] + [" "] + ls[6:], [":6: empty line"]),
}


@pytest.fixture(scope="module")
def vot_results(sets, tmp_path_factory):
    root = tmp_path_factory.mktemp("vot_results")
    perfect_results("VOTSYN", sets["VOTSYN"], root)
    return root


def test_score_only_of_good_results_has_no_nulls(sets, vot_results, tmp_path):
    eval_main(*score_only(sets, "VOTSYN", vot_results, tmp_path, "--eao_range", "2", str(FRAMES)))
    text = (tmp_path / "eval.json").read_text()
    record = json.loads(text)
    assert record["trackers"]["T"]["all_videos"]["accuracy"] == pytest.approx(1.0, abs=0.02)
    assert record["trackers"]["T"]["all_videos"]["lost_number"] == 0
    assert "null" not in text and "NaN" not in text
    # tags no frame carries have no EAO: left out and named, not written as null
    absent = record.get("undefined_metrics", [])
    assert all(k.startswith("trackers.T.all_videos.eao_per_tag.") for k in absent)
    assert all(k.rsplit(".", 1)[1] not in record["trackers"]["T"]["all_videos"]["eao_per_tag"] for k in absent)
    assert record["dataset_notes"]["listed_sequences"] == 2
    assert (tmp_path / "eao_VOTSYN.png").exists()


@pytest.mark.parametrize("fault", sorted(VOT_FAULTS))
def test_score_only_refuses_a_bad_vot_result_file(sets, vot_results, tmp_path, fault):
    edit, words = VOT_FAULTS[fault]
    shutil.copytree(vot_results, tmp_path / "r")
    path = results.vot_result_path(str(tmp_path / "r" / "VOTSYN"), "T", SEQ)
    _write_lines(path, edit(_lines(path)))
    out = tmp_path / "out"
    message = refused(*score_only(sets, "VOTSYN", tmp_path / "r", out, "--eao_range", "2", str(FRAMES)))
    for w in ["tracker T", f"sequence {SEQ}", path, *words]:
        assert w in message, (w, message)
    assert not out.exists()


def test_undefined_accuracy_is_left_out_and_named_not_written(sets, tmp_path, capsys):
    """Every frame within the burn-in after an initialisation (an untrained tracker): accuracy is
    undefined, EAO (0) is not. eval.json leaves accuracy out and names it; no NaN, no null."""
    base = perfect_results("VOTSYN", sets["VOTSYN"], tmp_path / "r")
    for seq in ("syn_test_0000", "syn_test_0001"):
        path = results.vot_result_path(base, "T", seq)
        lines = _lines(path)
        _write_lines(path, lines[:9] + ["2"] + ["0"] * (FRAMES - 10))     # failure at frame 10, then skipped
    eval_main(*score_only(sets, "VOTSYN", tmp_path / "r", tmp_path / "out", "--eao_range", "2", str(FRAMES)))
    assert "accuracy of T on VOTSYN is undefined" in capsys.readouterr().err
    text = (tmp_path / "out" / "eval.json").read_text()
    record = json.loads(text)
    numbers = record["trackers"]["T"]["all_videos"]
    assert "accuracy" not in numbers and "trackers.T.all_videos.accuracy" in record["undefined_metrics"]
    assert numbers["lost_number"] == 2 and 0 <= numbers["eao"] <= 1    # EAO stays defined
    assert "null" not in text and "NaN" not in text


def test_undefined_main_metric_is_refused(monkeypatch, sets, tmp_path):
    """The protocol's main metric undefined: nothing is reported (EAO here, forced to NaN)."""
    from src.evaluation import evaluate, report
    base = perfect_results("VOTSYN", sets["VOTSYN"], tmp_path / "r")
    real = report.score_vot

    def nan_eao(*args, **kwargs):
        scores = real(*args, **kwargs)
        for s in scores.values():
            s["eao"] = float("nan")
        return scores
    monkeypatch.setattr(report, "score_vot", nan_eao)
    from src.evaluation.datasets import load_dataset
    with pytest.raises(ValueError, match="eao of T on VOTSYN is undefined .*nothing was written"):
        evaluate.score(load_dataset("VOTSYN", str(sets["VOTSYN"])), "vot", base, ["T"], (2, FRAMES))


def test_score_only_refuses_bad_ope_files(sets, tmp_path):
    base = perfect_results("OTBSYN", sets["OTBSYN"], tmp_path / "r")
    path = results.ope_result_path(base, "T", SEQ)
    lines = _lines(path)
    _write_lines(path, lines[:-2])
    message = refused(*score_only(sets, "OTBSYN", tmp_path / "r", tmp_path / "out"))
    assert all(w in message for w in ("tracker T", f"sequence {SEQ}", path, f"{FRAMES - 2} lines"))
    _write_lines(path, lines[:3] + ["1,2,3"] + lines[4:])
    message = refused(*score_only(sets, "OTBSYN", tmp_path / "r", tmp_path / "out"))
    assert f"{path}:4: expected 4 values, got 3" in message
    assert not (tmp_path / "out").exists()


def test_score_only_flag_faults(sets, vot_results, tmp_path):
    args = score_only(sets, "VOTSYN", vot_results, tmp_path, "--eao_range", "2", str(FRAMES))
    assert "--score_only only reads" in refused(*args, "--overwrite")
    assert "no results folder" in refused(*score_only(sets, "VOTSYN", tmp_path / "nope", tmp_path,
                                                      "--eao_range", "2", str(FRAMES)))
    assert "--tracker_names '../T'" in refused(*args, "--tracker_names", "../T")
    assert os.listdir(tmp_path) == []


def test_run_flag_faults(sets, tmp_path):
    common = ["--dataset_path", sets["OTBSYN"], "--dataset_name", "OTBSYN"]
    assert "--tracker_name 'a/b'" in refused("--ckpt", CKPT, *common, "--tracker_name", "a/b")
    assert "--tracker_name '..'" in refused("--ckpt", CKPT, *common, "--tracker_name", "..")
    (tmp_path / "folder").mkdir()
    assert "--filename" in refused("--ckpt", CKPT, *common, "--filename", tmp_path / "folder")
    (tmp_path / "afile").write_text("x")
    message = refused("--ckpt", CKPT, *common, "--results_dir", tmp_path / "afile", "--filename", tmp_path / "e.json")
    assert "--results_dir" in message and "is a file" in message
    assert "--ckpt_file" in refused(*common, "--filename", tmp_path / "e.json")
    assert sorted(os.listdir(tmp_path)) == ["afile", "folder"]


def test_missing_sequences_listed_or_refused(sets, vot_results, tmp_path):
    """A partial download: scored on the sequences present and listed in eval.json, or refused
    with --require_all_sequences (load_dataset's missing="error")."""
    partial = tmp_path / "VOTSYN"
    shutil.copytree(sets["VOTSYN"], partial)
    shutil.rmtree(partial / "syn_test_0001")           # still listed in VOTSYN.json
    args = ["--score_only", "--dataset_path", partial, "--dataset_name", "VOTSYN", "--results_dir", vot_results,
            "--eao_range", "2", str(FRAMES), "--plots", "false"]
    message = refused(*args, "--filename", tmp_path / "refused.json", "--require_all_sequences")
    assert "syn_test_0001" in message and "VOTSYN.json" in message
    assert not (tmp_path / "refused.json").exists()
    eval_main(*args, "--filename", tmp_path / "eval.json")
    record = json.loads((tmp_path / "eval.json").read_text())
    assert record["dataset_notes"]["missing_sequences"] == ["syn_test_0001"]
    assert list(record["trackers"]["T"]["per_video"]) == [SEQ]


# ---------------------------------------------------------------------- GOT-10k
def test_got10k_run_and_score_only_write_eval_json(sets, tmp_path):
    """GOT-10k used to print its table and crash in plotting (KeyError: 'success_auc')."""
    proc = run_script("eval.py", "--ckpt_file", CKPT, "--dataset_path", sets["GOT10k-val"],
                      "--dataset_name", "GOT10k-val", "--results_dir", tmp_path / "r",
                      "--filename", tmp_path / "run" / "eval.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads((tmp_path / "run" / "eval.json").read_text())
    with open(CKPT, "rb") as f:
        assert record["checkpoint_sha256"] == hashlib.sha256(f.read()).hexdigest()     # --ckpt_file = --ckpt
    assert set(record["all_videos"]) >= {"ao", "sr50", "sr75"} and 0 <= record["all_videos"]["ao"] <= 1
    assert record["sequences"] == {"run": 2, "resumed": 0}
    assert sorted(os.listdir(tmp_path / "run")) == ["eval.json", "success_plot_GOT10k-val.png"]
    eval_main(*score_only(sets, "GOT10k-val", tmp_path / "r", tmp_path / "score"))
    scored = json.loads((tmp_path / "score" / "eval.json").read_text())["trackers"]["quickstart_siamrpn"]
    assert scored["all_videos"]["ao"] == record["all_videos"]["ao"]
    assert scored["manifest"]["model"]["checkpoint"]["sha256"] == record["checkpoint_sha256"]
    assert (tmp_path / "score" / "success_plot_GOT10k-val.png").exists()


def test_got10k_bad_result_file(sets, tmp_path):
    base = perfect_results("GOT10k-val", sets["GOT10k-val"], tmp_path / "r")
    path = results.got10k_result_path(base, "T", "GOT-10k_Val_000002")
    _write_lines(path, _lines(path) + ["1,2,3,4"])
    message = refused(*score_only(sets, "GOT10k-val", tmp_path / "r", tmp_path / "out"))
    assert all(w in message for w in ("tracker T", "sequence GOT-10k_Val_000002", path, "1 too many"))
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ run_eval.sh
def run_eval_sh(*args):
    return subprocess.run(["bash", os.path.join(ROOT, "scripts", "run_eval.sh"), *map(str, args)],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHON": sys.executable})


def test_run_eval_sh_passes_flags_through(sets, tmp_path):
    # flags right after OUTPUT_JSON: the dataset name stays the folder's (VOTSYN), the flags reach eval.py
    proc = run_eval_sh(0, sets["VOTSYN"], CKPT, tmp_path / "a" / "eval.json", "--eao_range", "50", "120")
    assert_one_line_error(proc, "--eao_range 50 120", f"the longest VOTSYN sequence has {FRAMES} frames",
                          prefix="eval.py: ")
    assert not (tmp_path / "a").exists()
    # positional DATASET_NAME and DEVICE_TARGET, then flags
    proc = run_eval_sh(0, sets["OTBSYN"], CKPT, tmp_path / "b" / "eval.json", "OTBSYN", "CPU",
                       "--tracker_name", "viash", "--plots", "false", "--track.lr", "0.5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads((tmp_path / "b" / "eval.json").read_text())
    assert record["tracker"] == "viash" and record["hyperparameters"]["lr"] == 0.5
    assert (tmp_path / "b" / "results" / "OTBSYN" / "viash" / "manifest.json").exists()
    proc = run_eval_sh(0, sets["OTBSYN"], CKPT, tmp_path / "c.json", "OTBSYN", "CPU", "stray")
    assert_one_line_error(proc, "unexpected argument 'stray'", prefix="run_eval.sh: ")
    proc = run_eval_sh(0, tmp_path / "nope", CKPT, tmp_path / "c.json")
    assert_one_line_error(proc, "dataset path not found", prefix="run_eval.sh: ")
    assert not (tmp_path / "c.json").exists()


# ---------------------------------------------------------------- sweep naming
def test_sweep_checkpoints_and_names(tmp_path):
    ev = importlib.import_module("eval")
    for name in ("a_epoch001.ckpt", "a_epoch12.ckpt", "b_c_epoch003.ckpt", "x.ckpt", "a_epochX.ckpt",
                 "a_epoch002.ckpt.tmp"):
        (tmp_path / name).write_bytes(b"")
    found = ev.sweep_checkpoints(str(tmp_path), None)
    assert [(e, os.path.basename(p)) for e, p in found] == [(1, "a_epoch001.ckpt"), (3, "b_c_epoch003.ckpt"),
                                                          (12, "a_epoch12.ckpt")]
    assert [e for e, _ in ev.sweep_checkpoints(str(tmp_path), ev.parse_epochs("2-12"))] == [3, 12]
    assert ev.sweep_tracker_name("run1", found[0][1]) == "run1_a_epoch001"
    assert ev.sweep_tracker_name(None, found[0][1]) == "a_epoch001"


# ----------------------------------------------------- result readers (property)
_floats = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)
_region = st.one_of(st.lists(_floats, min_size=4, max_size=4), st.lists(_floats, min_size=8, max_size=8))


@st.composite
def vot_trajectories(draw):
    """Trajectories the supervised protocol produces: 1, regions, 2, 0..., 1, ..."""
    entries = [results.VOT_INIT]
    for _ in range(draw(st.integers(0, 25))):
        previous = entries[-1]
        if previous in (results.VOT_FAILURE, results.VOT_SKIPPED):
            entries.append(draw(st.sampled_from([results.VOT_SKIPPED, results.VOT_INIT])))
        else:
            entries.append(draw(st.one_of(_region, st.just(results.VOT_FAILURE), st.just(results.VOT_INIT))))
    return entries


@settings(max_examples=60, deadline=None)
@given(entries=vot_trajectories())
def test_vot_result_round_trip(tmp_path_factory, entries):
    path = str(tmp_path_factory.mktemp("vot") / "r.txt")
    results.write_vot_result(path, entries)
    rows = results.read_vot_result(path, n_frames=len(entries))
    assert len(rows) == len(entries)
    for row, entry in zip(rows, entries):
        if isinstance(entry, int):
            assert row == [float(entry)]
        else:      # written as C floats with %.4f (pysot vot_float2str)
            np.testing.assert_allclose(row, np.float32(entry).astype(np.float64), rtol=0, atol=5.001e-5)


@settings(max_examples=60, deadline=None)
@given(boxes=st.lists(st.lists(_floats, min_size=4, max_size=4), min_size=1, max_size=20))
def test_ope_result_round_trip(tmp_path_factory, boxes):
    path = str(tmp_path_factory.mktemp("ope") / "r.txt")
    results.write_ope_result(path, boxes)
    np.testing.assert_array_equal(results.read_ope_result(path, n_frames=len(boxes)), np.array(boxes))


_garbage = st.one_of(
    st.binary(max_size=200),
    st.lists(st.one_of(st.text(alphabet="0123456789.,-e \tnaifNA\r", max_size=30),
                       st.sampled_from(["1", "2", "0", "3", "1.5", "-0", "nan", "inf", "1e400", "1,2,3,4",
                                        "1,2,3,4,5,6", "1,2,3", ""])),
             max_size=12).map(lambda ls: "\n".join(ls).encode()),
)


@settings(max_examples=200, deadline=None)
@given(data=_garbage, n_frames=st.one_of(st.none(), st.integers(0, 12)))
def test_readers_reject_garbage_with_results_error_only(tmp_path_factory, data, n_frames):
    path = str(tmp_path_factory.mktemp("garbage") / "r.txt")
    with open(path, "wb") as f:
        f.write(data)
    for read in (results.read_vot_result, results.read_ope_result):
        try:
            rows = read(path, n_frames=n_frames)
        except results.ResultsError as e:
            assert "\n" not in str(e) and path in str(e)
            continue
        # accepted: every value finite, the line count as asked, well-formed rows
        rows = [list(r) for r in rows]
        assert all(np.isfinite(v) for r in rows for v in r)
        assert n_frames is None or len(rows) == n_frames
        if read is results.read_ope_result:
            assert all(len(r) == 4 for r in rows)
        else:
            assert not rows or rows[0] == [1.0]
            assert all(r in ([0.0], [1.0], [2.0]) or len(r) == 4 or (len(r) >= 6 and len(r) % 2 == 0)
                       for r in rows)

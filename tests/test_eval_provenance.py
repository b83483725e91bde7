"""Result-folder provenance: eval.py resumes only into results made by the same model, config and data.

A small synthetic VOT set (4 sequences of 12 frames) and the quickstart checkpoint
(a model that really tracks, so other hyperparameters give other result files).
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, assert_one_line_error, run_script, synthetic_test_sets

CKPT = os.path.join(ROOT, "tests", "fixtures", "quickstart_siamrpn.ckpt")
NAME = "quickstart_siamrpn"          # the checkpoint's config name: the default tracker folder
SEQS = [f"syn_test_{i:04d}" for i in range(4)]
OTHER_HP = ["--track.penalty_k", "0.9", "--track.lr", "0.9"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("provenance")
    synthetic_test_sets(root, seed=5, videos=len(SEQS), frames=12)
    return root / "data" / "test" / "VOTSYN"


def common(data, results, filename, *extra):
    return ["--ckpt", CKPT, "--dataset_path", data, "--dataset_name", "VOTSYN", "--eao_range", "2", "12",
            "--results_dir", results, "--filename", filename, "--plots", "false", *extra]


def eval_main(*args):
    """eval.py's main in this process (fast: no interpreter and MindSpore start-up)."""
    import importlib
    importlib.import_module("eval").main([str(a) for a in args])


def eval_ok(*args):
    """A run that must succeed, through eval.py's main in this process (a refusal raises SystemExit
    and fails the test); the refusals a user sees are checked on real eval.py processes below."""
    eval_main(*args)


def refused(*args, fragments=()):
    """eval.py's main refuses in one line (what assert_one_line_error checks on a process): a
    SystemExit whose message starts with 'eval.py: ' and names every fragment."""
    with pytest.raises(SystemExit) as e:
        eval_main(*args)
    message = e.value.code
    assert isinstance(message, str) and message.startswith("eval.py: ") and "\n" not in message, message
    for fragment in fragments:
        assert str(fragment) in message, (fragment, message)
    return message


def result_file(results, seq, name=NAME):
    return os.path.join(results, "VOTSYN", name, "baseline", seq, f"{seq}_001.txt")


def result_texts(results, name=NAME):
    with_text = {}
    for seq in SEQS:
        with open(result_file(results, seq, name)) as f:
            with_text[seq] = f.read()
    return with_text


def scores_of(record):
    """The numbers of an eval.json, without the timings."""
    per_video = {k: {m: v for m, v in e.items() if m != "fps"} for k, e in record["per_video"].items()}
    return per_video, {k: v for k, v in record["all_videos"].items() if k != "mean_fps"}


@pytest.fixture(scope="module")
def default_run(data, tmp_path_factory):
    """One finished run with the checkpoint's own hyperparameters."""
    out = tmp_path_factory.mktemp("default")
    eval_ok(*common(data, out / "results", out / "eval.json"))
    return out, json.loads((out / "eval.json").read_text())


def test_manifest_and_eval_json_record_provenance(default_run):
    out, record = default_run
    with open(CKPT, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    assert record["checkpoint_sha256"] == sha
    assert record["sequences"] == {"run": len(SEQS), "resumed": 0}
    manifest = json.loads((out / "results" / "VOTSYN" / NAME / "manifest.json").read_text())
    assert manifest["model"] == {"backend": "mindspore", "precision": "float32",
                                 "checkpoint": {"file": CKPT, "sha256": sha}}
    assert manifest["config"]["track"] == record["hyperparameters"]
    assert manifest["config"]["model"] == record["model"]
    assert manifest["dataset"]["name"] == "VOTSYN" and sorted(manifest["dataset"]["sequences"]) == SEQS
    assert manifest["dataset"]["ground_truth_sha256"] == record["provenance"]["ground_truth_sha256"]
    assert manifest["code_version"] and record["provenance"]["code_version"]
    assert "null" not in (out / "eval.json").read_text()


def test_other_hyperparameters_refused_overwrite_equals_fresh_run(default_run, data, tmp_path):
    out, first = default_run
    shared = tmp_path / "shared"
    shutil.copytree(out / "results", shared)
    mtimes = {s: os.stat(result_file(shared, s)).st_mtime_ns for s in SEQS}

    proc = run_script("eval.py", *common(data, shared, tmp_path / "other.json", *OTHER_HP))
    assert_one_line_error(proc, os.path.join(str(shared), "VOTSYN", NAME),
                          "was made with another config: track.penalty_k 0.16 (this run 0.9), "
                          "track.lr 0.3 (this run 0.9)", "--tracker_name", "--overwrite", prefix="eval.py: ")
    assert not (tmp_path / "other.json").exists()
    assert {s: os.stat(result_file(shared, s)).st_mtime_ns for s in SEQS} == mtimes   # nothing ran

    eval_ok(*common(data, shared, tmp_path / "over.json", *OTHER_HP, "--overwrite"))
    eval_ok(*common(data, tmp_path / "fresh", tmp_path / "fresh.json", *OTHER_HP))
    over = json.loads((tmp_path / "over.json").read_text())
    fresh = json.loads((tmp_path / "fresh.json").read_text())
    assert over["sequences"] == fresh["sequences"] == {"run": len(SEQS), "resumed": 0}
    assert over["hyperparameters"]["penalty_k"] == 0.9 and over["hyperparameters"]["lr"] == 0.9
    assert scores_of(over) == scores_of(fresh)
    assert result_texts(shared) == result_texts(tmp_path / "fresh")
    # the bug this guards against: other hyperparameters credited with the first run's files
    assert result_texts(shared) != result_texts(out / "results")
    assert not [n for n in os.listdir(shared / "VOTSYN") if n.startswith(".")]     # no trash left


def test_other_checkpoint_and_results_without_manifest_are_refused(default_run, data, tmp_path):
    from src.config import to_yaml
    from src.training.checkpoint import load_model_checkpoint, save_checkpoint_atomic
    out, _ = default_run
    # the same weights saved again with another epoch number: other bytes, so another sha256
    other = tmp_path / "resaved.ckpt"
    cfg, net = load_model_checkpoint(CKPT)
    save_checkpoint_atomic(net, str(other), append_dict={"epoch": 99, "config": to_yaml(cfg)})
    shared = tmp_path / "shared"
    shutil.copytree(out / "results", shared)
    args = common(data, shared, tmp_path / "e.json")
    args[1] = str(other)
    refused(*args, fragments=("was made with another checkpoint (sha256", "--overwrite"))

    os.remove(shared / "VOTSYN" / NAME / "manifest.json")       # results of an older eval.py
    refused(*common(data, shared, tmp_path / "e.json"),
            fragments=(os.path.join(str(shared), "VOTSYN", NAME), "without a manifest.json", "--tracker_name",
                       "--overwrite"))
    assert not (tmp_path / "e.json").exists()
    # --score_only needs no manifest (other trackers' raw results): it scores the files as they are
    eval_main("--score_only", "--dataset_path", data, "--dataset_name", "VOTSYN", "--eao_range", "2", "12",
              "--results_dir", shared, "--filename", tmp_path / "s.json", "--plots", "false")
    assert "manifest" not in json.loads((tmp_path / "s.json").read_text())["trackers"][NAME]


def test_manifest_checks(default_run, tmp_path):
    from src.evaluation import manifest
    out, _ = default_run
    folder = tmp_path / NAME
    shutil.copytree(out / "results" / "VOTSYN" / NAME, folder)
    stored = manifest.read_manifest(str(folder))
    reuse, warning = manifest.check_resume(str(folder), stored, stored)
    assert reuse == set(SEQS) and warning is None
    # another code version only warns; a sequence added since is run, not reused
    newer = json.loads(json.dumps(stored))
    newer["code_version"] = "v9-other"
    newer["dataset"]["sequences"]["syn_new"] = "0" * 64
    reuse, warning = manifest.check_resume(str(folder), stored, newer)
    assert reuse == set(SEQS) and "code version" in warning and "v9-other" in warning
    assert set(manifest.merged(stored, newer)["dataset"]["sequences"]) == {*SEQS, "syn_new"}
    for change, words in ((("dataset", "sequences", SEQS[1]), f"ground truth for sequence {SEQS[1]}"),
                          (("model", "backend"), "--backend"), (("config", "model", "width_mult"),
                                                                "model.width_mult"),
                          (("dataset", "name"), "on dataset")):
        other = json.loads(json.dumps(stored))
        *path, key = change
        node = other
        for k in path:
            node = node[k]
        node[key] = "changed"
        with pytest.raises(manifest.ProvenanceError, match="--overwrite") as e:
            manifest.check_resume(str(folder), stored, other)
        assert words in str(e.value) and str(folder) in str(e.value)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(manifest.ProvenanceError, match="manifest.json is unreadable.*--overwrite"):
        manifest.read_manifest(str(folder))
    (folder / "manifest.json").write_text("[1, 2]")
    with pytest.raises(manifest.ProvenanceError, match="not an eval.py results manifest"):
        manifest.read_manifest(str(folder))
    # --overwrite's removal: the folder goes, a link is unlinked with its target kept
    link = tmp_path / "link"
    os.symlink(folder, link)
    manifest.remove_results(str(link))
    assert not os.path.lexists(link) and folder.is_dir()
    manifest.remove_results(str(folder))
    assert not folder.exists() and not [n for n in os.listdir(tmp_path) if n.startswith(".")]


def test_code_version_without_git(monkeypatch):
    from src.evaluation import manifest
    monkeypatch.setenv("PATH", "")            # no git executable: recorded as unknown, no failure
    assert manifest.code_version() == "unknown"


def test_killed_run_is_not_credited_to_other_settings_and_resumes_with_the_same(default_run, data, tmp_path):
    _, first = default_run
    results = tmp_path / "results"
    cmd = [sys.executable, os.path.join(ROOT, "eval.py"), *map(str, common(data, results, tmp_path / "k.json"))]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    first_file = result_file(results, SEQS[0])
    deadline = time.time() + 300
    while not os.path.exists(first_file) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert os.path.exists(first_file), "the run ended before its first sequence was written"
    assert not (tmp_path / "k.json").exists()
    done = [s for s in SEQS if os.path.exists(result_file(results, s))]

    # other hyperparameters into the same folder: refused before anything runs
    refused(*common(data, results, tmp_path / "other.json", *OTHER_HP),
            fragments=("track.penalty_k 0.16 (this run 0.9), track.lr 0.3 (this run 0.9)", "--overwrite"))
    assert not (tmp_path / "other.json").exists()
    assert [s for s in SEQS if os.path.exists(result_file(results, s))] == done

    # the same settings: the finished sequences are reused, the rest run, same numbers as in one go
    eval_ok(*common(data, results, tmp_path / "k.json"))
    record = json.loads((tmp_path / "k.json").read_text())
    assert record["sequences"] == {"run": len(SEQS) - len(done), "resumed": len(done)}
    assert record["sequences"]["resumed"] >= 1
    assert scores_of(record) == scores_of(first)

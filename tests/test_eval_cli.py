"""eval.py end to end on small synthetic VOT/OTB sets: run, resume, sweep, score-only, bad input."""
import json
import os
import subprocess
import sys

import mindspore as ms
import pytest

from conftest import synthetic_test_sets

from src.config import Config, replace, to_yaml
from src.models import build_model
from src.training.checkpoint import save_checkpoint_atomic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("evalcli")
    synthetic_test_sets(root, seed=3, videos=2, frames=16)
    cfg = replace(Config(), **{"name": "tiny", "model.width_mult": 0.125, "model.feature_channels": 16,
                               "track.instance_size": 255})
    ms.set_seed(1)
    for epoch in (1, 2):
        net = build_model(cfg)
        save_checkpoint_atomic(net, str(root / "ckpt" / f"tiny_epoch{epoch:03d}.ckpt"),
                               append_dict={"epoch": epoch, "config": to_yaml(cfg)})
    return root


def run_eval(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "eval.py"), *args], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)


def test_vot_run_writes_results_and_eval_json_then_resumes(workspace):
    data = str(workspace / "data" / "test" / "VOTSYN")
    out = workspace / "vot"
    args = ["--ckpt", str(workspace / "ckpt" / "tiny_epoch001.ckpt"), "--dataset_path", data,
            "--dataset_name", "VOTSYN", "--eao_range", "5", "16", "--results_dir", str(out / "results"),
            "--filename", str(out / "eval.json")]
    proc = run_eval(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((out / "eval.json").read_text())
    assert record["dataset"] == "VOTSYN" and record["config"] == "tiny"
    assert record["hyperparameters"]["instance_size"] == 255 and "mindspore" in record["software"]
    assert set(record["per_video"]) == {"syn_test_0000", "syn_test_0001"}
    for v in record["per_video"].values():
        assert v["length"] == 16 and v["fps"] > 0 and isinstance(v["num_failures"], int)
    assert set(record["all_videos"]) >= {"accuracy", "robustness", "eao"}
    result = out / "results" / "VOTSYN" / "tiny" / "baseline" / "syn_test_0000" / "syn_test_0000_001.txt"
    lines = result.read_text().splitlines()
    assert len(lines) == 16 and lines[0] == "1"
    assert (out / "eao_VOTSYN.png").exists()
    # a second run finds complete results and only re-scores: the files are not rewritten
    mtime = result.stat().st_mtime_ns
    proc = run_eval(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert result.stat().st_mtime_ns == mtime
    assert json.loads((out / "eval.json").read_text())["all_videos"] == record["all_videos"]


def test_sweep_and_score_only(workspace):
    data = str(workspace / "data" / "test" / "OTBSYN")
    out = workspace / "otb"
    proc = run_eval("--ckpt_dir", str(workspace / "ckpt"), "--epochs", "1-2", "--dataset_path", data,
                    "--dataset_name", "OTBSYN", "--results_dir", str(out / "results"),
                    "--filename", str(out / "sweep.json"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    sweep = json.loads((out / "sweep.json").read_text())
    assert set(sweep["sweep"]) == {"tiny_epoch001", "tiny_epoch002"} and sweep["ranked_by"] == "success_auc"
    aucs = [v["success_auc"] for v in sweep["sweep"].values()]
    assert aucs == sorted(aucs, reverse=True)
    assert (out / "success_plot_OTBSYN.png").exists() or any(p.suffix == ".png" for p in out.iterdir())
    proc = run_eval("--score_only", "--results_dir", str(out / "results"), "--dataset_path", data,
                    "--dataset_name", "OTBSYN", "--filename", str(out / "scores.json"), "--plots", "False")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "tiny_epoch001" in proc.stdout and "tiny_epoch002" in proc.stdout
    scores = json.loads((out / "scores.json").read_text())
    assert scores["trackers"]["tiny_epoch002"]["all_videos"]["success_auc"] == pytest.approx(
        sweep["sweep"]["tiny_epoch002"]["success_auc"])


def test_bad_inputs_name_the_problem(workspace, tmp_path):
    ckpt = str(workspace / "ckpt" / "tiny_epoch001.ckpt")
    proc = run_eval("--ckpt", ckpt, "--dataset_path", str(tmp_path / "nope"), "--dataset_name", "VOT2018")
    assert proc.returncode != 0 and f"dataset path not found: {tmp_path / 'nope'}" in proc.stderr
    truncated = tmp_path / "cut.ckpt"
    truncated.write_bytes((workspace / "ckpt" / "tiny_epoch001.ckpt").read_bytes()[:1000])
    proc = run_eval("--ckpt", str(truncated), "--dataset_path", str(workspace / "data" / "test" / "VOTSYN"),
                    "--dataset_name", "VOTSYN", "--eao_range", "5", "16", "--results_dir", str(tmp_path / "r"))
    assert proc.returncode != 0 and "cut.ckpt is unreadable or truncated" in proc.stderr
    # a ground-truth line broken in a copy of the dataset
    import shutil
    bad = tmp_path / "VOTSYN"
    shutil.copytree(workspace / "data" / "test" / "VOTSYN", bad)
    os.remove(bad / "VOTSYN.json")
    gt = bad / "syn_test_0001" / "groundtruth.txt"
    lines = gt.read_text().splitlines()
    lines[6] = "12.0,abc,3"
    gt.write_text("\n".join(lines) + "\n")
    proc = run_eval("--ckpt", ckpt, "--dataset_path", str(bad), "--dataset_name", "VOTSYN",
                    "--eao_range", "5", "16", "--results_dir", str(tmp_path / "r"))
    assert proc.returncode != 0
    message = proc.stderr.strip().splitlines()[-1]
    assert "syn_test_0001" in message and "groundtruth.txt" in message and "7" in message


def test_siammask_reports_rotated_boxes_on_vot(workspace, tmp_path):
    """SiamMask runs under the VOT protocol and its result lines are 8-value polygons."""
    from src.config import load_config
    cfg = load_config(os.path.join(ROOT, "configs", "siammask_sharp.yaml"))
    cfg = replace(cfg, **{"name": "tiny_mask"})
    ms.set_seed(2)
    ckpt = str(tmp_path / "tiny_mask_epoch001.ckpt")
    save_checkpoint_atomic(build_model(cfg), ckpt, append_dict={"epoch": 1, "config": to_yaml(cfg)})
    proc = run_eval("--ckpt", ckpt, "--dataset_path", str(workspace / "data" / "test" / "VOTSYN"),
                    "--dataset_name", "VOTSYN", "--eao_range", "5", "16", "--results_dir", str(tmp_path / "r"),
                    "--filename", str(tmp_path / "eval.json"), "--plots", "False")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = (tmp_path / "r" / "VOTSYN" / "tiny_mask" / "baseline" / "syn_test_0000" /
             "syn_test_0000_001.txt").read_text().splitlines()
    assert lines[0] == "1" and len(lines) == 16
    regions = [line.split(",") for line in lines if "," in line]
    assert regions and all(len(r) == 8 for r in regions)
    assert json.loads((tmp_path / "eval.json").read_text())["config"] == "tiny_mask"


def test_hyperparameter_presets(workspace, tmp_path):
    data = str(workspace / "data" / "test" / "VOTSYN")
    ckpt = str(workspace / "ckpt" / "tiny_epoch001.ckpt")
    common = ["--ckpt", ckpt, "--dataset_path", data, "--dataset_name", "VOTSYN", "--eao_range", "5", "16",
              "--results_dir", str(tmp_path / "r"), "--plots", "false"]
    proc = run_eval(*common, "--hp_preset", "siamrpn_alex_dw_vot", "--track.lr", "0.5",
                    "--filename", str(tmp_path / "e.json"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    hp = json.loads((tmp_path / "e.json").read_text())["hyperparameters"]
    # the preset's values, except what an explicit override sets
    assert (hp["penalty_k"], hp["window_influence"], hp["instance_size"], hp["lr"]) == (0.16, 0.40, 287, 0.5)
    # a SiamMask preset sets track.seg_thr, which the SiamRPN track section does not have
    proc = run_eval(*common, "--hp_preset", "siammask_vot-ld")
    assert proc.returncode != 0 and "unknown config key 'track.seg_thr' (model.arch siamrpn has no such key" \
        in proc.stderr.strip().splitlines()[-1]
    proc = run_eval(*common, "--hp_preset", "nope")
    assert proc.returncode != 0 and "unknown --hp_preset 'nope'" in proc.stderr.strip().splitlines()[-1]

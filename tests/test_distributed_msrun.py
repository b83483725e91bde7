"""Data-parallel training on CPU under msrun (2 processes), through train.py.

* Both ranks end with the same weights, and these equal (within 1e-5
  relative) a single-process run on the concatenation of the two ranks'
  batches from the same initial weights. Conditions that make the two
  computations the same function:
  - BatchNorm frozen (inference mode; statistics from a calibration run): with
    batch statistics each rank normalises by its own half-batch;
  - every pair positive with exactly ``train.pos_num`` positive anchors: pysot's
    classification loss divides by the batch's positive/negative counts, and
    the mean of two half-batch losses equals the whole-batch loss only when
    the halves hold equal counts (checked below);
  - a few steps (3, one per epoch): the mean of two half-batch gradients
    differs from the whole-batch gradient by float rounding (~1e-7), and with
    max-pooling and ReLU a gradient is discontinuous in the weights: on this
    data, 1e-7 relative weight noise changes one batch's gradient by 4e-5, so
    over tens of steps the two runs drift apart by far more than rounding.
  The gradient clip is set so that the first steps are clipped and the last
  is not (an unclipped update would double if the ranks summed their
  gradients instead of averaging them).
* A run killed after its first checkpoint resumes on both ranks from rank 0's
  newest checkpoint at the same epoch and ends exactly where the uninterrupted
  run ends. Rank 0 validates after every epoch, which also makes the epochs
  long enough to kill the job between two checkpoints.
"""
import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from src.config import load_config, replace
from src.data.pipeline import create_train_dataset
from src.models import build_model
from src.training.trainer import Trainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER = os.path.join(ROOT, "tests", "distributed_train_worker.py")
NAME = "quickstart_siamrpn"
EPOCHS, BATCH = 3, 2            # per-rank batch; one step per epoch


def _free_port():
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _cfg(overrides):
    return replace(load_config(os.path.join(ROOT, "configs", f"{NAME}.yaml")), **overrides)


def _cli(overrides):
    """--key value flags for train.py; mappings become dotted keys (a number inside a
    YAML mapping must have a dot to be read as one: 2e-05 would be a string)."""
    flat = {}
    for key, value in overrides.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return [a for k, v in flat.items() for a in (f"--{k}", json.dumps(v))]


def _weights(net):
    return {p.name: p.asnumpy().copy() for p in net.get_parameters()}


def _sample_keys(cfg, data, epoch, rank, group_size):
    """Per batch: (sorted fingerprints of its pairs, positives per pair, negatives per pair)."""
    ds = create_train_dataset(cfg, data, rank=rank, group_size=group_size, num_workers=1, epoch=epoch)
    out = []
    for b in ds.create_dict_iterator(num_epochs=1, output_numpy=True):
        keys = sorted(hash(s.tobytes()) for s in b["search"])
        out.append((keys, (b["label_cls"] == 1).sum(axis=(1, 2, 3)), (b["label_cls"] == 0).sum(axis=(1, 2, 3))))
    return out


def msrun(log_dir, args, **popen):
    """Start ``msrun`` with 2 local workers running ``args`` (a script and its arguments) from
    the repository root; msrun starts ``python`` from PATH, so this interpreter's comes first."""
    cmd = ["msrun", "--worker_num=2", "--local_worker_num=2", f"--master_port={_free_port()}",
           f"--log_dir={log_dir}", "--join=True", *args]
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)


def _msrun(out, overrides, data, **popen):
    return msrun(f"{out}/msrun_log", [WORKER, "--config", os.path.join(ROOT, "configs", f"{NAME}.yaml"),
                                      "--data_path", data, "--output_dir", str(out), "--run_distribute", "True",
                                      *_cli(overrides)], **popen)


def _logs(out):
    text = []
    for path in sorted(glob.glob(f"{out}/msrun_log/worker_*.log")):
        lines = [ln for ln in open(path, errors="replace") if not ln.startswith("[")]
        text.append(f"--- {path}\n" + "".join(lines[-30:]))
    return "\n".join(text)


def _run_to_end(out, overrides, data):
    proc = _msrun(out, overrides, data)
    assert proc.wait(timeout=300) == 0, _logs(out)
    return [dict(np.load(out / f"weights_rank{r}.npz")) for r in (0, 1)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Synthetic data, calibrated initial weights, the overrides of the 2-rank runs, the
    single-process reference on the concatenated batches, and an uninterrupted 2-rank run."""
    from src.data.synthetic import generate
    root = tmp_path_factory.mktemp("dp")
    data = str(root / "data")
    generate(data, seed=1, train_videos=4, train_frames=6, val_videos=2, test_videos=0)
    small = {"model.width_mult": 0.125, "model.feature_channels": 16, "data.num_workers": 1, "data.val": []}
    # ordinary training (BN on batch statistics) for 24 steps: moving statistics that fit
    # the data, so that the frozen-BN runs below are well conditioned
    Trainer(_cfg({**small, "train.epochs": 1, "train.batch_size": 4, "data.videos_per_epoch": 96}),
            data, str(root / "calib")).run()
    bn = [n for n, c in build_model(_cfg(small)).cells_and_names() if isinstance(c, nn.BatchNorm2d)]
    dp = {**small, "train.epochs": EPOCHS, "train.batch_size": BATCH, "data.videos_per_epoch": 2 * BATCH,
          "data.neg": 0.0, "train.pos_num": 1, "train.init_from": str(root / "calib" / f"{NAME}_epoch001.ckpt"),
          "train.frozen_modules": bn, "train.grad_clip": 40.0, "train.log_interval": 1,
          "train.lr": {"warmup_epochs": 0, "start": 0.0005, "end": 0.0005},
          "data.val": [{"name": "SYN_VAL", "root": "val/syn/crop511", "anno": "val/syn/val.json",
                        "frame_range": 20, "num_use": -1}], "data.val_pairs": 96}
    ref_cfg = _cfg({**dp, "train.batch_size": 2 * BATCH})
    ref = _weights(Trainer(ref_cfg, data, str(root / "ref")).run())
    start = {k: v.asnumpy() for k, v in ms.load_checkpoint(dp["train.init_from"]).items() if k in ref}
    straight = _run_to_end(root / "straight", dp, data)
    return {"data": data, "dp": dp, "ref_cfg": ref_cfg, "ref": ref, "start": start, "straight": straight,
            "straight_dir": root / "straight"}


def _check_against_reference(ranks, setup):
    ref, start = setup["ref"], setup["start"]
    assert sorted(ranks[0]) == sorted(ref)
    moved = 0.0
    # each parameter is held to its layer's scale (the largest |value| among the parameters of its
    # module): a bias that starts at zero holds nothing but its three updates (layer1's: 8e-6), and
    # their rounding error is relative to the gradient's cancelling sum over every position, not to
    # the bias (measured 4.7e-5 of it on one CI machine, 0 on another); the bias adds to W·x, whose
    # size the layer's weights set.
    layer_scale = {}
    for name, value in ref.items():
        layer = name.rsplit(".", 1)[0]
        layer_scale[layer] = max(layer_scale.get(layer, 0.0), float(np.abs(value).max()))
    for name, value in ref.items():
        np.testing.assert_array_equal(ranks[1][name], ranks[0][name], err_msg=f"ranks differ: {name}")
        scale = max(layer_scale[name.rsplit(".", 1)[0]], 1e-12)
        diff = np.abs(ranks[0][name] - value).max()
        assert diff <= 1e-5 * scale, f"{name}: 2-rank vs 1-process max diff {diff:.3g} (scale {scale:.3g})"
        if name.endswith("weight"):
            moved = max(moved, np.abs(value - start[name]).max() / scale)
    assert moved > 1e-3, "the weights hardly changed: the comparison would prove little"


def test_two_ranks_equal_one_process_on_the_concatenated_batches(setup):
    cfg = setup["ref_cfg"]
    rank_cfg = replace(cfg, **{"train.batch_size": BATCH})
    for epoch in range(EPOCHS):   # the premise: the same pairs, equal label counts in each half
        halves = [_sample_keys(rank_cfg, setup["data"], epoch, r, 2) for r in (0, 1)]
        whole = _sample_keys(cfg, setup["data"], epoch, 0, 1)
        assert len(whole) == len(halves[0]) == len(halves[1]) == 1
        for (k0, p0, n0), (k1, p1, n1), (k, p, n) in zip(*halves, whole):
            assert sorted(k0 + k1) == k and not set(k0) & set(k1)
            assert set(p0) | set(p1) | set(p) == {cfg.train.pos_num}
            assert set(n0) | set(n1) | set(n) == {cfg.train.total_num - cfg.train.pos_num}
    _check_against_reference(setup["straight"], setup)
    out = setup["straight_dir"]
    # only rank 0 writes checkpoints, metrics and validation; some steps were clipped and some not, so
    # both branches of the clip ran on the all-reduced gradients (which steps, depends on the CPU's
    # float32 kernels: Intel Xeon clipped the first, AMD EPYC the second)
    assert sorted(os.path.basename(p) for p in glob.glob(str(out / "*.ckpt"))) == \
        [f"{NAME}_epoch{e:03d}.ckpt" for e in range(EPOCHS + 1)]
    metrics = json.loads((out / "metrics.json").read_text())
    assert sorted(metrics) == [str(e) for e in range(EPOCHS + 1)] and metrics["3"]["pairs"] == 96
    norms = [float(x) for x in re.findall(r"grad_norm ([0-9.]+)", (out / "train_rank0.log").read_text())]
    assert len(norms) == EPOCHS and max(norms) > 40.0 > min(norms), norms


def _descendants(pid):
    """pids of every process below ``pid`` (msrun puts its workers in their own sessions,
    so killing msrun's process group would leave them running)."""
    parents = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = open(stat).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def test_killed_run_resumes_from_rank0_checkpoint_on_both_ranks(setup, tmp_path):
    proc = _msrun(tmp_path, setup["dp"], setup["data"], start_new_session=True)
    first = tmp_path / f"{NAME}_epoch001.ckpt"
    deadline = time.time() + 240
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    for pid in [proc.pid] + _descendants(proc.pid):   # a crash of the whole job
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    done = max(int(m.group(1)) for p in glob.glob(str(tmp_path / "*.ckpt"))
               if (m := re.search(r"_epoch(\d+)\.ckpt$", p)))
    assert 1 <= done < EPOCHS, f"the run was not stopped part-way (last checkpoint: epoch {done})"
    ranks = _run_to_end(tmp_path, setup["dp"], setup["data"])
    log0 = (tmp_path / "train_rank0.log").read_text()
    log1 = (tmp_path / "train_rank1.log").read_text()
    assert f"resuming from {tmp_path / f'{NAME}_epoch{done:03d}.ckpt'} (epoch {done} done)" in log0
    assert f"resuming after epoch {done} with rank 0's weights and SGD state" in log1
    for name, value in setup["straight"][0].items():
        np.testing.assert_array_equal(ranks[0][name], value, err_msg=f"resumed vs uninterrupted: {name}")
    _check_against_reference(ranks, setup)


def test_train_performance_script_reports_one_and_n_device_rates():
    """scripts/run_train_performance.sh 2: pairs/s on 1 device and on 2 msrun processes, and the
    speed-up and efficiency computed from them."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run(["bash", "scripts/run_train_performance.sh", "2", "-", "configs/quickstart_siamrpn.yaml",
                           "2", "2"], cwd=root, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-2000:])
    m = re.search(r"1 device: ([\d.]+) pairs/s; 2 devices: ([\d.]+) pairs/s; speed-up ([\d.]+)x; "
                  r"scaling efficiency (\d+)%", proc.stdout)
    assert m, proc.stdout[-2000:]
    one, many, speedup, efficiency = (float(v) for v in m.groups())
    assert one > 0 and many > 0
    assert abs(speedup - many / one) < 0.01 and abs(efficiency - 100 * many / (2 * one)) <= 1
    bad = subprocess.run(["bash", "scripts/run_train_performance.sh", "zero"], cwd=root, capture_output=True,
                         text=True)
    assert bad.returncode != 0 and bad.stderr.startswith("Usage: bash scripts/run_train_performance.sh DEVICE_NUM")

"""LR schedule, freezing phases, bad-step skipping, checkpoint resume and the held-out metric."""
import json
import math
import os

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from src.config import Config, LRConfig, load_config, replace
from src.models import build_model
from src.training.checkpoint import newest_valid_checkpoint, save_checkpoint_atomic
from src.training.loss import SiamRPNWithLoss
from src.training.lr_schedule import epoch_lrs, step_lrs
from src.training.train_step import ClipSkipTrainStep
from src.training.trainer import Trainer, frozen_layers_at, phases
from src.training.validate import top_anchor_hit_rate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_lr_schedule_warmup_then_log_decay():
    lrs = epoch_lrs(LRConfig(5, 0.005, 0.01, 0.01, 0.0005), 50)
    assert len(lrs) == 50
    assert lrs[0] == pytest.approx(0.005)
    ratios = lrs[1:5] / lrs[:4]
    np.testing.assert_allclose(ratios, 2 ** 0.2)                    # geometric warm-up
    assert lrs[5] == pytest.approx(0.01) and lrs[-1] == pytest.approx(0.0005)
    np.testing.assert_allclose(np.diff(np.log(lrs[5:])), math.log(0.05) / 44)   # log-linear
    steps = step_lrs(LRConfig(5, 0.005, 0.01, 0.01, 0.0005), 50, 3, first_epoch=10, last_epoch=12)
    np.testing.assert_allclose(steps, np.repeat(lrs[10:12], 3), rtol=1e-6)


def test_freezing_phases_follow_the_config():
    cfg = load_config(os.path.join(ROOT, "configs", "siamrpn_alex_dw.yaml"))
    assert phases(cfg, 0) == [(0, 10), (10, 50)]
    assert phases(cfg, 12) == [(12, 50)]
    assert frozen_layers_at(cfg, 9) == ("layer1", "layer2", "layer3", "layer4", "layer5")
    assert frozen_layers_at(cfg, 10) == ("layer1", "layer2", "layer3")


def _tiny_cfg():
    return replace(Config(), **{"model.width_mult": 0.125, "model.feature_channels": 16})


def _batch(b=2, seed=0):
    rng = np.random.default_rng(seed)
    label_cls = rng.integers(-1, 2, (b, 5, 17, 17)).astype(np.int32)
    return [ms.Tensor(rng.uniform(0, 255, (b, 3, 127, 127)).astype(np.float32)),
            ms.Tensor(rng.uniform(0, 255, (b, 3, 255, 255)).astype(np.float32)),
            ms.Tensor(label_cls),
            ms.Tensor(rng.standard_normal((b, 4, 5, 17, 17)).astype(np.float32)),
            ms.Tensor((label_cls == 1).astype(np.float32) / 16)]


def test_non_finite_step_is_skipped_and_good_step_is_clipped():
    net = build_model(_tiny_cfg())
    opt = nn.SGD(net.trainable_params(), learning_rate=0.1, momentum=0.0)
    step = ClipSkipTrainStep(SiamRPNWithLoss(net), opt, grad_clip=1.0)
    step.set_train()
    before = {p.name: p.asnumpy().copy() for p in net.trainable_params()}
    bad = _batch()
    bad[3] = ms.Tensor(np.full((2, 4, 5, 17, 17), np.inf, np.float32))   # infinite regression target
    *_, norm, applied = step(*bad)
    assert not bool(applied.asnumpy())
    for p in net.trainable_params():
        np.testing.assert_array_equal(p.asnumpy(), before[p.name])
    *_, norm, applied = step(*_batch())
    assert bool(applied.asnumpy()) and float(norm.asnumpy()) > 1.0
    # plain SGD with lr 0.1 and the gradient clipped to norm 1: the update has norm 0.1
    delta = math.sqrt(sum(((p.asnumpy() - before[p.name]) ** 2).sum() for p in net.trainable_params()))
    assert delta == pytest.approx(0.1, rel=1e-3)


def test_newest_valid_checkpoint_skips_truncated_files(tmp_path):
    net = build_model(_tiny_cfg())
    for epoch in (1, 2):
        save_checkpoint_atomic(net, str(tmp_path / f"run_epoch{epoch:03d}.ckpt"))
    good = (tmp_path / "run_epoch002.ckpt").read_bytes()
    (tmp_path / "run_epoch003.ckpt").write_bytes(good[: len(good) // 2])
    epoch, params, path = newest_valid_checkpoint(str(tmp_path), "run")
    assert epoch == 2 and path.endswith("run_epoch002.ckpt") and params
    assert not list(tmp_path.glob(".*.tmp.ckpt"))


def test_top_anchor_metric_scores_perfect_and_wrong_predictions():
    cfg = Config()
    rng = np.random.default_rng(0)
    target = np.tile(np.array([0.1, -0.2, 0.05, 0.1], np.float32).reshape(1, 4, 1, 1, 1), (3, 1, 5, 17, 17))
    # deltas w.r.t. each anchor of the same box, so any anchor decodes to it
    from src.models.anchors import training_anchors
    from src.models.box_coder import encode
    _, centers = training_anchors(8, cfg.model.anchor.ratios, cfg.model.anchor.scales, 127, 17)
    box = np.array([140.0, 120.0, 60.0, 50.0]).reshape(4, 1, 1, 1)
    target = np.repeat(encode(box, centers)[None], 3, axis=0)
    batch = {"template": None, "search": None, "label_loc": target}

    def perfect(z, x):
        cls = rng.standard_normal((3, 10, 17, 17)).astype(np.float32)
        cls[:, 5 + 2, 7, 9] = 50.0        # fg of anchor 2 (64x64) near the target
        return cls, target.reshape(3, 20, 17, 17)

    def wrong(z, x):
        cls = np.zeros((3, 10, 17, 17), np.float32)
        cls[:, 5, 0, 0] = 50.0            # corner anchor, and its box is kept
        return cls, np.zeros((3, 20, 17, 17), np.float32)

    assert top_anchor_hit_rate(perfect, [batch], cfg) == (1.0, 3)
    assert top_anchor_hit_rate(wrong, [batch], cfg) == (0.0, 3)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from src.data.synthetic import generate
    out = tmp_path_factory.mktemp("syn")
    generate(str(out), seed=1, train_videos=4, train_frames=6, val_videos=2, test_videos=0)
    return str(out)


def _train_cfg(epochs):
    cfg = load_config(os.path.join(ROOT, "configs", "quickstart_siamrpn.yaml"))
    return replace(cfg, **{"train.epochs": epochs, "train.batch_size": 4, "data.videos_per_epoch": 8,
                           "data.val_pairs": 4, "model.width_mult": 0.125, "model.feature_channels": 16,
                           "data.num_workers": 1})


def _weights(net):
    return {p.name: p.asnumpy().copy() for p in net.get_parameters()}


def test_train_then_resume_matches_uninterrupted_run(tiny_data, tmp_path, capfd):
    straight = _weights(Trainer(_train_cfg(2), tiny_data, str(tmp_path / "a")).run())
    Trainer(_train_cfg(1), tiny_data, str(tmp_path / "b")).run()
    assert sorted(os.listdir(tmp_path / "b"))[:1] == ["metrics.json"]
    capfd.readouterr()
    resumed = _weights(Trainer(_train_cfg(2), tiny_data, str(tmp_path / "b")).run())
    # weights and SGD state load without MindSpore's "parameters ... are not loaded" warning
    assert "are not loaded" not in capfd.readouterr().err
    assert (tmp_path / "b" / "quickstart_siamrpn_epoch002.ckpt").exists()
    for name, value in straight.items():
        np.testing.assert_allclose(resumed[name], value, rtol=1e-5, atol=1e-6, err_msg=name)
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert sorted(metrics) == ["0", "1", "2"]
    assert metrics["2"]["loss"] is not None and 0.0 <= metrics["2"]["top_anchor_iou>0.5"] <= 1.0
    assert metrics["2"]["unreadable_images"] == {"SYN": 0}
    # a finished run resumes to "nothing left to do" and leaves the weights alone
    again = _weights(Trainer(_train_cfg(2), tiny_data, str(tmp_path / "b")).run())
    for name, value in resumed.items():
        np.testing.assert_array_equal(again[name], value)


def test_resume_at_the_unfreeze_epoch_matches_uninterrupted_run(tiny_data, tmp_path):
    """pysot builds a new optimiser when layers unfreeze; a run resumed at that epoch
    starts it afresh too (the saved momentum belongs to the previous phase's parameters)."""
    phased = {"train.frozen_layers": ["layer1", "layer2"], "train.unfreeze_layers": ["layer2"],
              "train.unfreeze_epoch": 1}
    straight = _weights(Trainer(replace(_train_cfg(2), **phased), tiny_data, str(tmp_path / "a")).run())
    Trainer(replace(_train_cfg(1), **phased), tiny_data, str(tmp_path / "b")).run()
    resumed = _weights(Trainer(replace(_train_cfg(2), **phased), tiny_data, str(tmp_path / "b")).run())
    for name, value in straight.items():
        np.testing.assert_allclose(resumed[name], value, rtol=1e-5, atol=1e-6, err_msg=name)


def test_train_cli_reports_missing_data_path(tmp_path):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), "--config",
                           os.path.join(ROOT, "configs", "quickstart_siamrpn.yaml"), "--data_path",
                           str(tmp_path / "nowhere"), "--output_dir", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1] == f"train.py: data path not found: {tmp_path / 'nowhere'}"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), "--config",
                           os.path.join(ROOT, "configs", "quickstart_siamrpn.yaml"), "--data_path",
                           str(tmp_path), "--train.batch_sise", "3"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "unknown config key 'train.batch_sise'" in proc.stderr

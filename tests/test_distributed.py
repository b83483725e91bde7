"""Pieces of multi-device training that run in one process: LR scaling with the global
batch, mixed precision (network cast, loss scaling, overflow skipping), local ranks,
and train.py's checks of the new flags. The 2-process runs are in test_distributed_msrun.py."""
import dataclasses
import math
import os
import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from src.config import load_config, replace
from src.device import effective_amp_level, local_rank
from src.models import build_model
from src.training.loss import SiamRPNWithLoss
from src.training.lr_schedule import lr_scale, step_lrs
from src.training.train_step import ClipSkipTrainStep, build_train_step, cast_network
from src.training.trainer import Trainer

from test_training import _batch, _tiny_cfg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "configs", "quickstart_siamrpn.yaml")


def replace_train(train_cfg, **kw):
    return dataclasses.replace(train_cfg, **kw)


def test_lr_scaling_rules():
    t = replace(load_config(CONFIG), **{"train.batch_size": 16}).train
    assert lr_scale(t, 8) == 1.0                                            # default: none
    assert lr_scale(replace_train(t, lr_scaling="linear"), 8) == 8.0       # reference = one device
    assert lr_scale(replace_train(t, lr_scaling="linear", reference_batch=64), 8) == 2.0
    assert lr_scale(replace_train(t, lr_scaling="sqrt", reference_batch=32), 8) == pytest.approx(math.sqrt(4))
    assert lr_scale(replace_train(t, lr_scaling="linear"), 1) == 1.0       # one device: unchanged
    with pytest.raises(ValueError, match="train.lr_scaling must be one of none, linear, sqrt, got 'cubic'"):
        lr_scale(replace_train(t, lr_scaling="cubic"))


def test_trainer_applies_the_scaled_lr_to_the_optimiser():
    cfg = replace(_tiny_cfg(), **{"train.batch_size": 4, "train.lr_scaling": "linear", "train.epochs": 3})
    trainer = Trainer(cfg, ".", ".", rank=0, group_size=4)
    trainer.steps_per_epoch = 5
    net = build_model(cfg)
    _, lrs = trainer._optimizer(net, (), 0, 3)
    np.testing.assert_allclose(lrs, 4 * step_lrs(cfg.train.lr, 3, 5), rtol=1e-6)
    unscaled = Trainer(replace(cfg, **{"train.lr_scaling": "none"}), ".", ".", rank=0, group_size=4)
    unscaled.steps_per_epoch = 5
    np.testing.assert_array_equal(unscaled._optimizer(net, (), 0, 3)[1], step_lrs(cfg.train.lr, 3, 5))


def test_optimiser_leaves_batchnorm_running_statistics_alone():
    """BN's moving mean / variance are parameters that are not learned: the optimiser must not get
    them (its weight decay and momentum would shrink them every step), also after an unfreeze."""
    cfg = _tiny_cfg()
    trainer = Trainer(cfg, ".", ".")
    trainer.steps_per_epoch = 2
    net = build_model(cfg)
    stats = {p.name for p in net.get_parameters() if "moving_" in p.name}
    assert stats
    for frozen in (("layer1", "layer2"), ()):       # frozen, then unfrozen as at train.unfreeze_epoch
        opt, _ = trainer._optimizer(net, frozen, 0, 1)
        names = {p.name for p in opt.parameters}
        assert not names & stats and names
    assert not any(p.requires_grad for p in net.get_parameters() if p.name in stats)


def test_amp_level_on_cpu_falls_back_to_o0_and_says_so(caplog):
    assert effective_amp_level("CPU", "O0") == "O0"
    with caplog.at_level("WARNING"):
        assert effective_amp_level("CPU", "O3") == "O0"
    assert "amp_level O3 asked for, but CPU training runs in float32 (O0)" in caplog.text
    assert effective_amp_level("Ascend", "O2") == "O2" and effective_amp_level("GPU", "O3") == "O3"
    with pytest.raises(ValueError, match="train.amp_level must be one of O0, O2, O3, got 'O1'"):
        effective_amp_level("GPU", "O1")


def test_cast_network_keeps_names_and_batchnorm_precision():
    names = [p.name for p in build_model(_tiny_cfg()).get_parameters()]
    for level, bn_type in (("O2", "FP32"), ("O3", "FP16")):
        net = cast_network(build_model(_tiny_cfg()), level)
        assert [p.name for p in net.get_parameters()] == names
        assert all(p.dtype == ms.float32 for p in net.get_parameters())      # master weights stay float32
        for _, cell in net.cells_and_names():
            if isinstance(cell, nn.BatchNorm2d):
                assert cell.get_mixed_precision_type().name == bn_type
            elif isinstance(cell, nn.Conv2d):
                assert cell.get_mixed_precision_type().name == "FP16"
    assert build_train_step(_tiny_cfg().train, SiamRPNWithLoss(build_model(_tiny_cfg())),
                            nn.SGD(build_model(_tiny_cfg()).trainable_params())).scaling is False


def _weights(net):
    return {p.name: p.asnumpy().copy() for p in net.trainable_params()}


def test_loss_scaling_unscales_before_clipping():
    """A fixed scale of 1024 on a float32 network gives the unscaled step's update: the
    gradients are divided back before the norm and the clip (clipping the scaled
    gradients first would make the update 1024 times smaller)."""
    updates = []
    for scale in (1.0, 1024.0):
        ms.set_seed(0)
        net = build_model(_tiny_cfg())
        before = _weights(net)
        opt = nn.SGD(net.trainable_params(), learning_rate=0.1, momentum=0.0)
        step = ClipSkipTrainStep(SiamRPNWithLoss(net), opt, grad_clip=1.0, loss_scale=scale)
        step.set_train()
        *_, norm, applied = step(*_batch())
        assert bool(applied.asnumpy()) and float(norm.asnumpy()) > 1.0   # the clip is active
        updates.append((float(norm.asnumpy()), {k: v - before[k] for k, v in _weights(net).items()}))
    assert updates[1][0] == pytest.approx(updates[0][0], rel=1e-5)
    for name, delta in updates[0][1].items():
        np.testing.assert_allclose(updates[1][1][name], delta, rtol=1e-4, atol=1e-7, err_msg=name)


def test_o2_step_runs_on_cpu_skips_overflows_and_adjusts_the_scale():
    """MindSpore's CPU kernels run this network in float16, so the O2 path is exercised for
    real: with the initial scale of 2**16 the first gradients overflow, those steps are skipped
    (weights unchanged) and the scale halves, until a step applies."""
    cfg = _tiny_cfg()
    net = cast_network(build_model(cfg), "O2")
    opt = nn.SGD(net.trainable_params(), learning_rate=0.01, momentum=0.9)
    step = build_train_step(cfg.train, SiamRPNWithLoss(net), opt, amp_level="O2")
    step.set_train()
    assert step.scaling and float(step.loss_scale.asnumpy()) == 65536.0
    scales, applied_flags = [], []
    for i in range(8):
        before = _weights(net)
        total, _, _, norm, applied = step(*_batch(seed=i))
        applied = bool(applied.asnumpy())
        assert np.isfinite(float(total.asnumpy()))
        changed = any(not np.array_equal(v, before[k]) for k, v in _weights(net).items())
        assert changed == applied
        scales.append(float(step.loss_scale.asnumpy()))
        applied_flags.append(applied)
        if not applied:
            assert not np.isfinite(float(norm.asnumpy()))
            assert scales[-1] == (scales[-2] if i else 65536.0) / 2
    assert not applied_flags[0] and any(applied_flags), (applied_flags, scales)


def test_local_rank_from_launcher_variables(monkeypatch):
    for var in ("LOCAL_RANK", "RANK_TABLE_FILE", "MS_ROLE", "DEVICE_ID"):
        monkeypatch.delenv(var, raising=False)
    assert local_rank(9, 16) == 1 and local_rank(1, 2) == 1      # 8 devices per server assumed
    monkeypatch.setenv("DEVICE_ID", "5")
    assert local_rank(12, 16) == 4                                 # DEVICE_ID alone may be a user's setting
    monkeypatch.setenv("RANK_TABLE_FILE", "/x/rt.json")
    assert local_rank(12, 16) == 5                                 # under a rank table it is this server's device
    monkeypatch.delenv("RANK_TABLE_FILE")
    monkeypatch.setenv("MS_ROLE", "MS_WORKER")
    assert local_rank(12, 16) == 5                                 # msrun numbers DEVICE_ID per server too
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert local_rank(12, 16) == 3


def test_train_cli_rejects_bad_parallel_and_precision_values(tmp_path):
    # the config loader checks the choices, naming the file and the key
    for flags, message in ((["--amp_level", "O1"], "'train.amp_level' must be one of O0, O2, O3, got 'O1'"),
                           (["--train.lr_scaling", "cubic"],
                            "'train.lr_scaling' must be one of none, linear, sqrt, got 'cubic'")):
        proc = subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), "--config", CONFIG,
                               "--data_path", str(tmp_path), *flags], capture_output=True, text=True, timeout=120)
        assert proc.returncode != 0
        assert proc.stderr.strip().splitlines()[-1] == f"train.py: {CONFIG}: config key {message}"

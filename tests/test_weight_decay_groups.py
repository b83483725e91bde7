"""train.weight_decay_on: which parameters the trainer's SGD weight decay shrinks
(src/training/trainer.py ``_optimizer``, ``conv_weight_decay_groups``).

One optimiser step on zero gradients is the weight decay alone: a decayed parameter becomes
``p - lr * weight_decay * p``, every other one stays bit-identical. The expected sets are
written independently of the trainer's rule (by shape: convolution kernels are the only 4-D
parameters; fully connected weights are 2-D, biases and BatchNorm's scale and shift 1-D).

* "conv_weights" (SA-Siam's and SiamFC-TensorFlow's L2, the reference's): the conv kernels only,
  also within backbone_lr_mult's LR groups, each at its group's LR;
* "all" (default, every existing recipe unchanged): MindSpore SGD's own choice, every trainable
  parameter but those named *gamma* / *beta* (BatchNorm's scale and shift).

Slow: each case compiles an optimiser step (seconds).
"""
import os

import mindspore as ms
import numpy as np
import pytest

from conftest import ROOT
from src.config import ConfigError, load_config, replace
from src.models import build_model
from src.training.trainer import Trainer

pytestmark = pytest.mark.slow

WEIGHT_DECAY = 0.1          # large, so the decay is far above float32 rounding


def _config(name, **changes):
    return replace(load_config(os.path.join(ROOT, "configs", name)),
                   **{"model.width_mult": 0.125, "train.weight_decay": WEIGHT_DECAY, **changes})


def _sasiam(**changes):
    # both branches trainable: conv kernels, conv and head biases, BN, the attention's Dense layers
    return _config("sasiam_appearance.yaml", **{"model.fusion_channels": 8, "train.frozen_modules": [], **changes})


def _decay_step(cfg):
    """({name: lr the parameter is updated with}, before, after) of one SGD step on zero gradients
    of a fresh network."""
    ms.set_seed(1)
    net = build_model(cfg)
    trainer = Trainer(cfg, ".", ".")
    trainer.steps_per_epoch = 1
    opt, lrs = trainer._optimizer(net, (), 0, 1)
    params = list(opt.parameters)
    assert {p.name for p in params} == {p.name for p in net.trainable_params()}
    # no zero parameter (initial biases are): a decayed zero would not move
    rng = np.random.default_rng(0)
    for p in params:
        p.set_data(ms.Tensor(rng.uniform(0.5, 1.5, p.shape).astype(np.float32)))
    mult = cfg.train.backbone_lr_mult
    lr = {p.name: float(lrs[0]) * (mult if p.name.startswith("backbone.") else 1.0) for p in params}
    before = {p.name: p.asnumpy().copy() for p in params}
    opt(tuple(ms.Tensor(np.zeros(p.shape, np.float32)) for p in params))
    after = {p.name: p.asnumpy() for p in params}
    return lr, before, after


def _decayed(lr, before, after):
    """The names whose update is exactly the weight decay (else unchanged, asserted)."""
    decayed = set()
    for name, value in before.items():
        if np.array_equal(after[name], value):
            continue
        # float32: p - lr * (wd * p); the factor's own rounding and the product's, ~1e-7
        np.testing.assert_allclose(after[name], value * (1 - lr[name] * WEIGHT_DECAY), rtol=1e-6, err_msg=name)
        decayed.add(name)
    return decayed


def test_conv_weights_decays_only_the_convolution_kernels():
    cfg = _sasiam()
    assert cfg.train.weight_decay_on == "conv_weights"          # configs/sasiam_*.yaml, the reference's
    lr, before, after = _decay_step(cfg)
    kernels = {n for n, v in before.items() if v.ndim == 4}
    # the other kinds are there and trainable: a test that would catch them being decayed
    assert {n for n, v in before.items() if v.ndim == 2} >= {"semantic.att_conv4.fc1.weight"}
    assert {"appearance.backbone.conv1.1.gamma", "appearance.head.bias", "semantic.c1x1_conv4.bias"} <= set(before)
    assert "semantic.c1x1_conv4.weight" in kernels                 # the 1x1 fusion convs are conv layers
    assert _decayed(lr, before, after) == kernels


def test_all_keeps_mindspores_choice():
    lr, before, after = _decay_step(_sasiam(**{"train.weight_decay_on": "all"}))
    expected = {n for n in before if "gamma" not in n and "beta" not in n}
    assert expected > {n for n, v in before.items() if v.ndim == 4}     # biases and Dense weights too
    assert _decayed(lr, before, after) == expected


def test_conv_weights_within_the_backbone_lr_groups():
    """SiamRPN with backbone_lr_mult 0.1: the backbone's kernels decay at a tenth of the LR of the
    neck's and head's; their biases and BN not at all."""
    cfg = _config("quickstart_siamrpn.yaml", **{"train.weight_decay_on": "conv_weights", "train.backbone_lr_mult": 0.1})
    lr, before, after = _decay_step(cfg)
    kernels = {n for n, v in before.items() if v.ndim == 4}
    assert any(n.startswith("backbone.") for n in kernels) and any(not n.startswith("backbone.") for n in kernels)
    assert _decayed(lr, before, after) == kernels


def test_the_option_is_checked_and_defaults_to_all():
    assert load_config(os.path.join(ROOT, "configs", "siamfc_alexnet.yaml")).train.weight_decay_on == "all"
    assert load_config(os.path.join(ROOT, "configs", "sasiam_semantic.yaml")).train.weight_decay_on == "conv_weights"
    with pytest.raises(ConfigError, match=r"train\.weight_decay_on.*conv_weights.*'biases'"):
        _sasiam(**{"train.weight_decay_on": "biases"})

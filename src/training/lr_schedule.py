"""Learning-rate schedules (pysot ``WarmUPScheduler`` of step + log).

pysot changes the LR once per epoch: the warm-up epochs climb geometrically
from ``warmup_start`` to ``warmup_end``, the rest decay log-linearly from
``start`` to ``end``. MindSpore optimisers take a per-step array.
"""
import math

import numpy as np

from ..config import LR_SCALING


def epoch_lrs(lr_cfg, epochs):
    """LR of each epoch, float64 array of length ``epochs``."""
    warm = min(lr_cfg.warmup_epochs, epochs)
    out = []
    if warm > 0:
        mult = (lr_cfg.warmup_end / lr_cfg.warmup_start) ** (1.0 / warm)
        out += [lr_cfg.warmup_start * mult ** i for i in range(warm)]
    rest = epochs - warm
    if rest > 0:
        out += list(np.logspace(math.log10(lr_cfg.start), math.log10(lr_cfg.end), rest))
    return np.asarray(out, dtype=np.float64)


def step_lrs(lr_cfg, epochs, steps_per_epoch, first_epoch=0, last_epoch=None):
    """Per-step float32 LRs for epochs [first_epoch, last_epoch)."""
    last_epoch = epochs if last_epoch is None else last_epoch
    lrs = epoch_lrs(lr_cfg, epochs)[first_epoch:last_epoch]
    return np.repeat(lrs, steps_per_epoch).astype(np.float32)


def lr_scale(train_cfg, group_size=1):
    """Factor applied to every LR of the schedule for data-parallel training.

    ``cfg.train.batch_size`` is per device, so ``group_size`` devices see a
    global batch ``batch_size * group_size``. The configured LRs are for a
    global batch of ``train.reference_batch`` (0: ``batch_size``, i.e. one
    device). ``train.lr_scaling``: ``none`` keeps them (pysot's behaviour: its
    LRs are for its own GPU count), ``linear`` multiplies them by
    global / reference (Goyal et al.'s rule, with the warm-up the schedules
    already have), ``sqrt`` by its square root.
    """
    rule = train_cfg.lr_scaling
    if rule not in LR_SCALING:
        raise ValueError(f"train.lr_scaling must be one of {', '.join(LR_SCALING)}, got '{rule}'")
    if train_cfg.reference_batch < 0:
        raise ValueError(f"train.reference_batch must be 0 or positive, got {train_cfg.reference_batch}")
    ratio = train_cfg.batch_size * group_size / (train_cfg.reference_batch or train_cfg.batch_size)
    return {"none": 1.0, "linear": ratio, "sqrt": math.sqrt(ratio)}[rule]

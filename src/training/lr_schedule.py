"""Learning-rate schedules (pysot ``WarmUPScheduler`` of step + log).

pysot changes the LR once per epoch: the warm-up epochs climb geometrically
from ``warmup_start`` to ``warmup_end``, the rest decay log-linearly from
``start`` to ``end``. MindSpore optimisers take a per-step array.
"""
import math

import numpy as np


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

"""Checkpoint files: atomic writes and finding the newest valid one to resume."""
import glob
import logging
import os
import re

import mindspore as ms

logger = logging.getLogger("src.training")


def save_checkpoint_atomic(params_or_net, path, append_dict=None):
    """Write to a hidden temp file then rename, so a crash never leaves a
    truncated file under the final name. (MindSpore appends '.ckpt' to names
    that lack it, hence the temp name's ending.)"""
    directory, base = os.path.split(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{base}.tmp.ckpt")
    ms.save_checkpoint(params_or_net, tmp, append_dict=append_dict)
    os.replace(tmp, path)


def load_checkpoint_checked(path):
    """``ms.load_checkpoint`` with a one-line error naming a missing or corrupt file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return ms.load_checkpoint(path)
    except Exception as e:  # mindspore raises ValueError/RuntimeError for corrupt files
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"checkpoint {path} is unreadable or truncated: {msg}") from None


def checkpoint_epoch(name, prefix):
    """N of a ``<prefix>_epochNNN.ckpt`` file name or path (also an object-store one), else None."""
    m = re.fullmatch(rf"{re.escape(prefix)}_epoch(\d+)\.ckpt", name.replace("\\", "/").rsplit("/", 1)[-1])
    return int(m.group(1)) if m else None


def epoch_checkpoints(directory, prefix):
    """[(epoch, path)] of ``<prefix>_epochNN.ckpt`` files, newest first."""
    found = []
    for path in glob.glob(os.path.join(directory, f"{prefix}_epoch*.ckpt")):
        epoch = checkpoint_epoch(path, prefix)
        if epoch is not None:
            found.append((epoch, path))
    return sorted(found, reverse=True)


def newest_valid_checkpoint(directory, prefix):
    """(epoch, param_dict) of the newest readable checkpoint, or (0, None).

    Truncated or corrupt files are skipped with a warning, so an interrupted
    save never blocks resuming from the one before it.
    """
    for epoch, path in epoch_checkpoints(directory, prefix):
        try:
            return epoch, load_checkpoint_checked(path), path
        except ValueError as e:
            logger.warning("skipping %s", e)
    return 0, None, None


def config_of_checkpoint(params, path, overrides=()):
    """The experiment config stored in a checkpoint by train.py or convert_pth."""
    from ..config import config_from_text
    text = params.get("config")
    if not isinstance(text, str):
        raise ValueError(f"checkpoint {path} carries no config; pass --config")
    return config_from_text(text, overrides, source=f"config inside {path}")


def config_differences(params, cfg, prefixes=("",)):
    """[(key, in the checkpoint, in ``cfg``)] where the config a checkpoint carries
    differs from ``cfg`` (keys starting with one of ``prefixes``); [] without one."""
    from ..config import ConfigError, config_from_text, flatten
    text = params.get("config")
    if not isinstance(text, str):
        return []
    try:
        theirs = flatten(config_from_text(text).to_dict())
    except ConfigError:
        return []
    ours = flatten(cfg.to_dict())
    return [(k, theirs.get(k), v) for k, v in ours.items()
            if k.startswith(tuple(prefixes)) and theirs.get(k) != v]


def check_fits(parameters, params, path, cfg, cause):
    """ValueError (one line) naming the first of ``parameters`` (a network's or an
    optimiser's) that the checkpoint ``params`` lacks or holds in another shape,
    both shapes and ``cause``, the likely reason and what to do (``cfg``: the
    config the network was built from, None when unknown)."""
    for p in parameters:
        value = params.get(p.name)
        if value is None:
            problem = f"it has no {p.name} (the network has {tuple(p.shape)})"
        elif tuple(value.shape) != tuple(p.shape):
            problem = f"{p.name} is {tuple(value.shape)} in the checkpoint, {tuple(p.shape)} in the network"
        else:
            continue
        differ = config_differences(params, cfg, ("model.",)) if cfg is not None else []
        if differ:
            key, theirs, ours = differ[0]
            cause += f"; its config has {key} {theirs!r}, this one {ours!r}"
        target = f"config '{cfg.name}'" if cfg is not None else "the network"
        raise ValueError(f"checkpoint {path} does not fit {target}: {problem}: {cause}")


def load_fitting(parameters, params, path, cfg, cause):
    """Copy the checkpoint's values into ``parameters`` after :func:`check_fits`.

    ``ms.load_param_into_net`` wants a Cell and warns about every parameter of
    that Cell the dictionary lacks, which for an optimiser's state (a part of its
    parameters) is a false alarm; this copies exactly the parameters given.
    """
    parameters = list(parameters)
    check_fits(parameters, params, path, cfg, cause)
    for p in parameters:
        p.set_data(ms.Tensor(params[p.name].asnumpy(), dtype=p.dtype))


def load_model_checkpoint(path, config_path=None, overrides=()):
    """(cfg, net) from a checkpoint: its embedded config (or the YAML ``config_path``)
    with ``overrides``, and every parameter of that network loaded strictly
    (a one-line ValueError naming the first missing or misshapen parameter)."""
    from ..config import load_config
    from ..models import build_model
    params = load_checkpoint_checked(path)
    cfg = load_config(config_path, overrides) if config_path else config_of_checkpoint(params, path, overrides)
    net = build_model(cfg)
    if config_path:
        cause = "the checkpoint was trained with another config (pass the --config it was trained with, " \
                "or none: the checkpoint carries its own)"
    else:
        cause = "the --model.* overrides change the network the checkpoint was trained as (drop them)"
    load_fitting(net.get_parameters(), params, path, cfg, cause)
    return cfg, net

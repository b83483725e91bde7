"""The training driver behind train.py.

Training runs in phases separated by the unfreeze epoch (pysot rebuilds its
optimiser there too): each phase has its own trainable-parameter set, SGD
optimiser and slice of the LR schedule. Every epoch ends in a checkpoint
(weights + momentum), and a restart resumes from the newest valid one.

The loss cell, the loader columns and the validation metric are those of the
family ``cfg.model.arch`` names (src/models/registry.py): SiamRPN (cls + loc),
SiamMask (cls + loc + mask; base stage on the coarse masks, sharp stage on the
refine module when ``model.refine`` is set) or SiamFC (balanced logistic
loss). Cells named in ``train.frozen_modules`` stay fixed (BN in inference
mode) for the whole run.

Data parallel (``group_size`` > 1): every rank builds the same network from
``train.seed``, takes its shard of each epoch's pairs (src/data/pipeline.py)
and steps with averaged gradients. Only rank 0 writes checkpoints,
metrics.json and validation results. Resuming follows rank 0: it picks the
newest valid checkpoint in its ``output_dir`` and every rank takes rank 0's
epoch, weights and SGD state through the collective layer, so the ranks need
no shared disk and cannot start from different epochs. The LRs are scaled by
``train.lr_scaling`` (see lr_schedule.lr_scale). BatchNorm moving statistics
are not synchronised (as in pysot): each rank's follow its own shard, only
rank 0's are saved, and a resumed run starts every rank from rank 0's.
"""
import json
import logging
import os

import mindspore as ms
import numpy as np
from mindspore import nn
from mindspore.train import Model

from ..config import to_yaml
from ..data.crop511 import NO_PAIR
from ..data.pipeline import check_training_data, create_train_dataset, create_val_dataset
from ..distributed.collectives import parameters_from_rank0, value_from_rank0
from ..models import build_model
from ..utils import ensure_output_dir
from .callbacks import OPTIMIZER_STATE, EpochCheckpoint, KeepFrozenInEval, TrainMonitor, UnreadableImagesMonitor
from .checkpoint import (check_fits, checkpoint_epoch, config_differences, epoch_checkpoints,
                         load_checkpoint_checked, load_fitting, newest_valid_checkpoint, save_checkpoint_atomic)
from ..models.registry import get_family
from .loss import build_loss_cell
from .lr_schedule import epoch_lrs, lr_scale, step_lrs
from .train_step import build_train_step, cast_network

logger = logging.getLogger("src.training")

RESUME_CAUSE = ("the checkpoint was trained with another config (resume with the --config it was trained with, "
                "or train this one in another --output_dir)")


def frozen_layers_at(cfg, epoch):
    """Backbone stages whose weights (and BN statistics) are fixed in ``epoch``."""
    t = cfg.train
    if epoch >= t.unfreeze_epoch:
        return tuple(name for name in t.frozen_layers if name not in t.unfreeze_layers)
    return tuple(t.frozen_layers)


def phases(cfg, start_epoch):
    """[(first, last)) epoch ranges with a constant frozen-layer set."""
    bounds = sorted({start_epoch, cfg.train.epochs} |
                    ({cfg.train.unfreeze_epoch} if start_epoch < cfg.train.unfreeze_epoch < cfg.train.epochs else set()))
    return list(zip(bounds[:-1], bounds[1:]))


def get_cell(net, dotted, key="train.frozen_modules"):
    """The sub-cell ``net.a.b`` named by ``'a.b'`` (ValueError naming it and the config
    ``key`` that asked for it when absent)."""
    cell = net
    for part in dotted.split("."):
        child = cell.name_cells().get(part) if isinstance(cell, nn.Cell) else None
        if child is None:
            raise ValueError(f"{key}: the network has no cell '{dotted}'")
        cell = child
    return cell


def set_train_mode(net, frozen, training=True, modules=()):
    """Train mode everywhere except frozen backbone stages and the frozen
    ``modules`` (dotted cell names): there BN keeps its running stats."""
    net.set_train(training)
    for name in frozen:
        getattr(net.backbone, name).set_train(False)
    for name in modules:
        get_cell(net, name).set_train(False)


def load_pretrained(net, prefix, path, cfg=None):
    """Load the checkpoint ``path`` into the cell ``prefix`` of ``net`` (one entry of
    ``train.pretrained``, e.g. ``backbone``: an ImageNet backbone); its names may lack the
    prefix (a backbone-only checkpoint of src.tools.convert_pth) or carry it."""
    key = f"train.pretrained.{prefix}"
    cell = get_cell(net, prefix, key)
    params = load_checkpoint_checked(path)
    params = {(k if k.startswith(f"{prefix}.") else f"{prefix}.{k}"): v for k, v in params.items()}
    check_fits([p for p in net.get_parameters() if p.name in params], params, path, cfg,
               f"{key} is a {prefix} of another width or architecture")
    not_loaded, _ = ms.load_param_into_net(net, params, strict_load=False)
    own = [p.name for p in cell.get_parameters()]
    missing = [n for n in own if n not in params]
    if len(missing) == len(own):
        raise ValueError(f"{key}: checkpoint {path} holds no {prefix} parameters")
    logger.info("loaded pretrained %s %s (%d tensors, %d %s params missing)",
                prefix, path, len(own) - len(missing), len(missing), prefix)
    return not_loaded


def load_pretrained_backbone(net, path, cfg=None):
    """``load_pretrained`` into the backbone (``train.pretrained: {backbone: path}``)."""
    return load_pretrained(net, "backbone", path, cfg)


def load_initial_weights(net, path, cfg=None):
    """Load a whole-network checkpoint (e.g. SiamMask's base stage before the sharp
    stage); the network's parameters it lacks keep their values. Returns their names."""
    params = load_checkpoint_checked(path)
    own = [p.name for p in net.get_parameters()]
    own_names = set(own)
    matched = {k: v for k, v in params.items() if k in own_names}
    if not matched:
        raise ValueError(f"train.init_from: checkpoint {path} holds none of the network's parameters")
    check_fits([p for p in net.get_parameters() if p.name in matched], params, path, cfg,
               "train.init_from was trained with another network config (model.*)")
    ms.load_param_into_net(net, matched, strict_load=False)
    missing = [n for n in own if n not in matched]
    prefixes = sorted({n.split(".")[0] for n in missing})
    logger.info("initialised from %s (%d tensors); %d parameters keep their initial values%s",
                path, len(matched), len(missing), f" ({', '.join(prefixes)})" if prefixes else "")
    return missing


# the layers whose kernels train.weight_decay_on "conv_weights" decays
CONV_CELLS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Conv1dTranspose, nn.Conv2dTranspose, nn.Conv3dTranspose)


def conv_weight_decay_groups(net, groups, weight_decay):
    """SGD parameter groups (MindSpore's ``[{"params": [...], ...}]``) that decay only the kernels
    of ``net``'s convolution layers by ``weight_decay``: every group of ``groups`` (or the plain
    list of parameters, one group) split into its conv kernels and the rest (weight decay 0),
    each keeping the group's other keys (its LR)."""
    kernels = {cell.weight.name for _, cell in net.cells_and_names() if isinstance(cell, CONV_CELLS)}
    out = []
    for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
        for decayed, decay in ((True, weight_decay), (False, 0.0)):
            chosen = [p for p in group["params"] if (p.name in kernels) == decayed]
            if chosen:
                out.append({**group, "params": chosen, "weight_decay": decay})
    return out


class Trainer:
    def __init__(self, cfg, data_path, output_dir, rank=0, group_size=1, num_workers=None, amp_level="O0"):
        """``amp_level``: what this device runs (src.device.effective_amp_level)."""
        self.cfg = cfg
        self.data_path = data_path
        self.output_dir = output_dir
        self.rank = rank
        self.group_size = group_size
        self.num_workers = num_workers
        self.is_main = rank == 0
        self.state = {"skipped": 0}
        self.steps_per_epoch = None   # known once the training dataset exists
        self.metrics_path = os.path.join(output_dir, "metrics.json")
        self.family = get_family(cfg.model.arch)
        self.frozen_modules = tuple(cfg.train.frozen_modules)
        self._learnable = None   # names of the network's learnable parameters (see _optimizer)
        self.lr_scale = lr_scale(cfg.train, group_size)
        self.amp_level = amp_level
        self.unreadable = None   # the loader's UnreadableImages counter, one for the whole run

    def checkpoint_path(self, epoch):
        return os.path.join(self.output_dir, f"{self.cfg.name}_epoch{epoch:03d}.ckpt")

    # -- validation -------------------------------------------------------
    def validate(self, net, frozen, validator=None):
        """Held-out metrics of the family (SiamRPN: top-anchor hit rate; SiamMask also mask IoU;
        SiamFC: response peaks within r_pos), or None. ``validator``: the family's, made once."""
        if not self.cfg.data.val or not self.is_main:
            return None
        set_train_mode(net, frozen, training=False)
        ds = create_val_dataset(self.cfg, self.data_path, num_workers=self.num_workers)
        batches = ds.create_dict_iterator(num_epochs=1, output_numpy=True)
        validator = validator or self.family.build_validator(self.cfg, net, None)
        metric = validator(batches)
        set_train_mode(net, frozen, training=True, modules=self.frozen_modules)
        return metric

    def _record_metric(self, epoch, metric):
        """Append this epoch's numbers to metrics.json (atomically)."""
        if not self.is_main:
            return
        metric = dict(metric or {})
        if epoch > 0:
            metric.update(loss=self.state.get("epoch_loss"), pairs_per_s=self.state.get("epoch_pairs_per_s"),
                          skipped_steps=self.state["skipped"],
                          unreadable_images=self.state.get("epoch_unreadable"))
            metric.update({f"loss_{name}": value for name, value in (self.state.get("epoch_parts") or {}).items()})
        data = {}
        if os.path.isfile(self.metrics_path):
            with open(self.metrics_path) as f:
                data = json.load(f)
        data[str(epoch)] = metric
        tmp = self.metrics_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, self.metrics_path)
        if "peak_within_r_pos" in metric:
            logger.info("validation after epoch %d: response peak within r_pos on %.3f of %d pairs",
                        epoch, metric["peak_within_r_pos"], metric["pairs"])
        elif "pairs" in metric:
            logger.info("validation after epoch %d: top-anchor hit rate %.3f on %d pairs",
                        epoch, metric["top_anchor_iou>0.5"], metric["pairs"])
        if metric.get("mask_iou") is not None:
            logger.info("validation after epoch %d: mean mask IoU %.3f at %d positive positions",
                        epoch, metric["mask_iou"], metric["mask_positions"])

    # -- training ---------------------------------------------------------
    def _optimizer(self, net, frozen, first, last):
        cfg = self.cfg
        if self._learnable is None:
            # what the network declares learnable, before any freezing: BatchNorm's running
            # statistics are parameters with requires_grad False, and turning them on would hand them
            # to SGD, whose weight decay and momentum would then shrink them every step
            self._learnable = {p.name for p in net.trainable_params()}
        for p in net.get_parameters():
            p.requires_grad = p.name in self._learnable
        for name in frozen:
            for p in getattr(net.backbone, name).get_parameters():
                p.requires_grad = False
        for name in self.frozen_modules:
            for p in get_cell(net, name).get_parameters():
                p.requires_grad = False
        if not net.trainable_params():
            raise ValueError("nothing to train: every parameter is frozen")
        lrs = step_lrs(cfg.train.lr, cfg.train.epochs, self.steps_per_epoch, first, last) * np.float32(self.lr_scale)
        params = net.trainable_params()
        backbone = [p for p in params if p.name.startswith("backbone.")]
        others = [p for p in params if not p.name.startswith("backbone.")]
        if backbone and others and cfg.train.backbone_lr_mult != 1.0:
            groups = [{"params": others, "lr": ms.Tensor(lrs)},
                      {"params": backbone, "lr": ms.Tensor(lrs * cfg.train.backbone_lr_mult)}]
        else:
            # one LR for all: the same update, and per-group LRs would double the
            # compile time of a ResNet-50 train step
            groups = params
        if cfg.train.weight_decay_on == "conv_weights":
            groups = conv_weight_decay_groups(net, groups, cfg.train.weight_decay)
        opt = nn.SGD(groups, learning_rate=ms.Tensor(lrs), momentum=cfg.train.momentum,
                     weight_decay=cfg.train.weight_decay)
        return opt, lrs

    def _log_lr_scaling(self):
        t = self.cfg.train
        lrs = epoch_lrs(t.lr, t.epochs) * self.lr_scale
        logger.info("LR x %.4g (train.lr_scaling %s; global batch %d = %d x %d devices, reference %d): "
                    "epoch 1 LR %.6g, peak %.6g, last %.6g", self.lr_scale, t.lr_scaling,
                    t.batch_size * self.group_size, t.batch_size, self.group_size,
                    t.reference_batch or t.batch_size, lrs[0], lrs.max(), lrs[-1])

    def _check_output_dir(self):
        """Refuse a folder holding another config's training (its metrics.json would be mixed
        with this run's): checkpoints of other names and none of this config's."""
        if not self.is_main or epoch_checkpoints(self.output_dir, self.cfg.name):
            return
        others = sorted(f for f in os.listdir(self.output_dir)
                        if f.endswith(".ckpt") and "_epoch" in f
                        and checkpoint_epoch(f, f.rsplit("_epoch", 1)[0]) is not None)
        if others:
            raise ValueError(f"--output_dir {self.output_dir} holds the training of another config ({others[0]}, "
                             f"not {self.cfg.name}_epochNNN.ckpt): resume it with the --config it was trained "
                             f"with, or train this one in another --output_dir")

    def _resume_point(self):
        """(epoch, params, path) to resume from, decided by rank 0 (params None on other ranks)."""
        epoch, params, path = 0, None, None
        if self.is_main:
            epoch, params, path = newest_valid_checkpoint(self.output_dir, self.cfg.name)
        if self.group_size > 1:
            epoch = int(value_from_rank0(epoch, self.rank))
        if epoch and not self.is_main:
            logger.info("resuming after epoch %d with rank 0's weights and SGD state", epoch)
        return epoch, params, path

    def run(self):
        cfg = self.cfg
        ensure_output_dir(self.output_dir)
        # inputs first: no model, checkpoint or metrics.json before the data and folder pass
        check_training_data(cfg, self.data_path, self.group_size)
        # the effective mix (after --data.only; the checkpoints' embedded config records it too)
        logger.info("training data%s: %s", f" (data.only {','.join(cfg.data.only)})" if cfg.data.only else "",
                    "; ".join(f"{d.name} {d.root} frame_range {d.frame_range} num_use {d.num_use}"
                              for d in cfg.data.train))
        self._check_output_dir()
        self._log_lr_scaling()
        ms.set_seed(cfg.train.seed)   # identical initial weights on every rank
        net = cast_network(build_model(cfg), self.amp_level)
        start_epoch, resume_params, resume_path = self._resume_point()
        if resume_params is not None:
            load_fitting(net.get_parameters(), resume_params, resume_path, cfg, RESUME_CAUSE)
            logger.info("resuming from %s (epoch %d done)", resume_path, start_epoch)
            changed = config_differences(resume_params, cfg)
            if changed:
                logger.warning("the config of %s differs from this run's (%d keys; the run continues with "
                               "this one's): %s", resume_path, len(changed),
                               "; ".join(f"{k} {a!r} -> {b!r}" for k, a, b in changed[:8]))
        elif start_epoch == 0:
            for prefix, path in cfg.train.pretrained.items():   # e.g. {backbone: resnet50.ckpt}
                load_pretrained(net, prefix, path, cfg)
            if cfg.train.init_from:
                load_initial_weights(net, cfg.train.init_from, cfg)
            elif self.family.start_warning(cfg):
                logger.warning(self.family.start_warning(cfg))
        if self.group_size > 1:   # whatever each rank loaded, all continue from rank 0's weights
            parameters_from_rank0(net.get_parameters(), self.rank)
        for name in self.frozen_modules:
            get_cell(net, name)   # a misspelt name fails here, before any work
        net_with_loss, loss_names = build_loss_cell(cfg, net)
        validator = self.family.build_validator(cfg, net, net_with_loss)
        if start_epoch >= cfg.train.epochs:
            logger.info("all %d epochs already trained in %s", cfg.train.epochs, self.output_dir)
            return net
        if start_epoch == 0:
            if self.is_main:   # the untrained weights, as a baseline for evaluation
                save_checkpoint_atomic(net, self.checkpoint_path(0),
                                       append_dict={"epoch": 0, "config": to_yaml(cfg)})
            self._record_metric(0, self.validate(net, frozen_layers_at(cfg, 0), validator))

        for first, last in phases(cfg, start_epoch):
            frozen = frozen_layers_at(cfg, first)
            # the sampler starts at epoch `first` and advances by itself each epoch
            ds = create_train_dataset(cfg, self.data_path, rank=self.rank, group_size=self.group_size,
                                      num_workers=self.num_workers, epoch=first, unreadable=self.unreadable)
            self.unreadable = ds.unreadable
            self.steps_per_epoch = ds.get_dataset_size()
            opt, lrs = self._optimizer(net, frozen, first, last)
            step = build_train_step(cfg.train, net_with_loss, opt, self.amp_level)
            # SGD state (momentum buffers, first-step flags) being resumed; at a phase's first epoch
            # an uninterrupted run starts a new optimiser, so the resumed one starts afresh too
            if first == start_epoch > 0 and first not in dict(phases(cfg, 0)):
                state = [p for p in opt.get_parameters() if p.name.startswith(OPTIMIZER_STATE)]
                if resume_params is not None:
                    # only the state: load_param_into_net(opt, ...) would warn about every other parameter
                    load_fitting(state, resume_params, resume_path, cfg, RESUME_CAUSE)
                if self.group_size > 1:
                    parameters_from_rank0(state, self.rank)
            resume_params = None
            set_train_mode(step, (), training=True)
            set_train_mode(net, frozen, training=True, modules=self.frozen_modules)
            logger.info("epochs %d-%d: frozen %s, %d trainable tensors, %d steps/epoch",
                        first + 1, last, list(frozen) + list(self.frozen_modules) or "none", len(opt.parameters),
                        self.steps_per_epoch)
            monitor = TrainMonitor(cfg.train.batch_size, self.steps_per_epoch, cfg.train.epochs, lrs,
                                   cfg.train.log_interval, first_epoch=first, state=self.state,
                                   loss_names=loss_names)
            keep_modes = KeepFrozenInEval(
                lambda frozen=frozen: set_train_mode(net, frozen, training=True, modules=self.frozen_modules))
            callbacks = [keep_modes, monitor, UnreadableImagesMonitor(self.unreadable, cfg.data.max_bad_image_share,
                                                                      self.state)]
            if self.is_main:
                callbacks.append(EpochCheckpoint(step, self.checkpoint_path, to_yaml(cfg),
                                                 on_saved=self._after_epoch(net, frozen, validator)))
            try:
                Model(step).train(last, ds, callbacks=callbacks, dataset_sink_mode=False, initial_epoch=first)
            except RuntimeError as e:   # a loader worker gave up: MindSpore reports it in many lines
                line = next((line for line in str(e).splitlines() if NO_PAIR in line), None)
                if line is None:
                    raise
                raise ValueError(line[line.index(NO_PAIR):]) from None
        return net

    def _after_epoch(self, net, frozen, validator=None):
        def hook(epoch, path):
            self._record_metric(epoch, self.validate(net, frozen, validator))
        return hook

"""Training callbacks: progress log and per-epoch checkpoints."""
import logging
import time

import numpy as np
from mindspore.train import Callback

from .checkpoint import save_checkpoint_atomic

logger = logging.getLogger("src.training")

# SGD state saved with the weights so a resumed run continues exactly
# ('stat' marks a buffer's first step); the LR and global step are rebuilt.
OPTIMIZER_STATE = ("accum.", "stat.")


class TrainMonitor(Callback):
    """Logs loss (total and its named parts), LR, grad norm, pairs/s and ETA; counts skipped steps.

    ``lrs`` are the per-step LRs of the running phase (index = step in phase).
    The train step outputs ``(total, *parts, grad_norm, applied)`` with one
    part per name in ``loss_names`` (SiamRPN: cls, loc; SiamMask: cls, loc,
    mask). Each epoch's mean total and parts (over applied steps) go to
    ``state['epoch_loss']`` / ``state['epoch_parts']``.
    """

    def __init__(self, batch_size, steps_per_epoch, total_epochs, lrs, log_interval=20,
                 first_epoch=0, state=None, loss_names=("cls", "loc")):
        super().__init__()
        self.loss_names = tuple(loss_names)
        self.batch_size = batch_size
        self.steps_per_epoch = steps_per_epoch
        self.total_epochs = total_epochs
        self.lrs = lrs
        self.log_interval = max(1, log_interval)
        self.first_epoch = first_epoch
        self.state = state if state is not None else {}
        self.state.setdefault("skipped", 0)
        self._t0 = None
        self._window = []

    def on_train_epoch_begin(self, run_context):
        self._t0 = time.time()
        self._window = []
        self._epoch_losses = []
        self._epoch_losses_parts = []

    def on_train_epoch_end(self, run_context):
        self.state["epoch_loss"] = float(np.mean(self._epoch_losses)) if self._epoch_losses else None
        means = np.mean(self._epoch_losses_parts, axis=0) if self._epoch_losses else [None] * len(self.loss_names)
        self.state["epoch_parts"] = {name: (None if m is None else float(m)) for name, m in zip(self.loss_names, means)}
        self.state["epoch_pairs_per_s"] = len(self._epoch_losses) * self.batch_size / max(time.time() - self._t0, 1e-9)

    def on_train_step_end(self, run_context):
        cb = run_context.original_args()
        outputs = [np.asarray(o.asnumpy()) for o in cb.net_outputs]
        total, parts, norm, applied = outputs[0], outputs[1:-2], outputs[-2], outputs[-1]
        if len(parts) != len(self.loss_names):
            raise ValueError(f"train step returned {len(parts)} loss parts, expected {len(self.loss_names)} "
                             f"({', '.join(self.loss_names)})")
        if not bool(applied):
            self.state["skipped"] += 1
            logger.warning("epoch %d step %d: skipped update (loss %s, grad norm %s)",
                           cb.cur_epoch_num, cb.cur_step_num, total, norm)
        self._window.append((float(total), *(float(p) for p in parts), float(norm)))
        if bool(applied):
            self._epoch_losses.append(float(total))
            self._epoch_losses_parts.append([float(p) for p in parts])
        step_in_epoch = (cb.cur_step_num - 1) % self.steps_per_epoch + 1
        if step_in_epoch % self.log_interval == 0 or step_in_epoch == self.steps_per_epoch:
            elapsed = time.time() - self._t0
            rate = step_in_epoch * self.batch_size / max(elapsed, 1e-9)
            epochs_left = self.total_epochs - cb.cur_epoch_num
            steps_left = (self.steps_per_epoch - step_in_epoch) + epochs_left * self.steps_per_epoch
            eta = steps_left * self.batch_size / max(rate, 1e-9)
            mean = np.mean(self._window, axis=0)
            phase_step = (cb.cur_epoch_num - 1 - self.first_epoch) * self.steps_per_epoch + step_in_epoch - 1
            lr = self.lrs[min(phase_step, len(self.lrs) - 1)]
            parts = " ".join(f"{name} {value:.4f}" for name, value in zip(self.loss_names, mean[1:-1]))
            logger.info("epoch %d/%d step %d/%d loss %.4f (%s) grad_norm %.2f "
                        "lr %.6g %.1f pairs/s eta %s skipped %d",
                        cb.cur_epoch_num, self.total_epochs, step_in_epoch, self.steps_per_epoch,
                        mean[0], parts, mean[-1], lr, rate, _fmt_eta(eta),
                        self.state["skipped"])
            self._window = []


class UnreadableImagesMonitor(Callback):
    """Watches the loader's :class:`~src.data.pipeline.UnreadableImages` counter.

    After every step: stops training (the counter's one-line ValueError) once a
    sub-dataset's distinct unreadable files exceed ``max_share`` of its images.
    After every epoch: puts the epoch's count per sub-dataset in
    ``state['epoch_unreadable']`` (for metrics.json) and logs it when not zero.
    Must run before :class:`EpochCheckpoint`, so a refused epoch is not saved.
    """

    def __init__(self, counter, max_share, state):
        super().__init__()
        self.counter = counter
        self.max_share = max_share
        self.state = state

    def on_train_step_end(self, run_context):
        self.counter.check(self.max_share)

    def on_train_epoch_end(self, run_context):
        epoch = run_context.original_args().cur_epoch_num
        counts = self.counter.epoch_counts(epoch - 1)
        self.state["epoch_unreadable"] = counts
        if any(counts.values()):
            per_set = ", ".join(f"{name} {n} ({len(self.counter.files(name))} distinct files of "
                                f"{self.counter.num_images[name]} so far)" for name, n in counts.items() if n)
            logger.warning("epoch %d: %d unreadable images, each replaced by another pair: %s",
                           epoch, sum(counts.values()), per_set)
        self.counter.check(self.max_share)


class KeepFrozenInEval(Callback):
    """Re-applies the frozen cells' inference mode when training starts.

    ``Model.train`` calls ``set_train(True)`` on the whole train step before
    the first step (so before the graph is compiled), which would put frozen
    cells' BatchNorm back on batch statistics; ``apply`` (a function of no
    arguments) restores the intended modes.
    """

    def __init__(self, apply):
        super().__init__()
        self.apply = apply

    def on_train_begin(self, run_context):
        self.apply()

    def on_train_epoch_begin(self, run_context):
        self.apply()


class EpochCheckpoint(Callback):
    """Saves network weights and optimizer moments after every epoch (atomically)."""

    def __init__(self, train_step, path_for_epoch, config_text, on_saved=None):
        super().__init__()
        self.config_text = config_text
        self.train_step = train_step
        self.network_names = {p.name for p in train_step.network.get_parameters()}
        self.path_for_epoch = path_for_epoch
        self.on_saved = on_saved

    def on_train_epoch_end(self, run_context):
        epoch = run_context.original_args().cur_epoch_num
        params = [{"name": p.name, "data": p} for p in self.train_step.get_parameters()
                  if p.name in self.network_names or p.name.startswith(OPTIMIZER_STATE)]
        path = self.path_for_epoch(epoch)
        save_checkpoint_atomic(params, path, append_dict={"epoch": epoch, "config": self.config_text})
        logger.info("saved %s", path)
        if self.on_saved:
            self.on_saved(epoch, path)


def _fmt_eta(seconds):
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}"

"""MindSpore input pipelines over :class:`~src.data.crop511.TrackingPairs`.

Why a custom sampler for training: MindSpore's loader worker processes are
forked once per iterator and keep a frozen copy of the source, so a
``set_epoch`` call on the source in the main process would never reach them.
:class:`EpochSampler` runs in the main process instead, knows the epoch, and
hands the workers indices ``epoch * pairs_per_epoch + i``; the source derives
every random choice of sample ``i`` from (seed, epoch, i). Batches are thus
identical whatever the worker count, and each epoch draws new pairs. Sample
order within an epoch needs no extra shuffle: as in pysot, the epoch's video
list is already a random permutation (seeded by ``cfg.train.seed``), so the
pipeline's randomness never depends on ``mindspore.dataset.config.set_seed``.

Worker processes pass rows through /dev/shm (about 1 MB per pair, up to
``prefetch + 2`` rows per worker). Containers often mount a 64 MB /dev/shm,
and running out of it kills the loader with a bus error, so when the free
space is short the workers become threads instead (OpenCV releases the GIL;
on a 2-core machine threads were measured as fast as processes).

Data-parallel sharding: rank ``r`` of ``g`` takes samples ``r, r + g, ...``
(training) or MindSpore's ``num_shards``/``shard_id`` split (validation).
``cfg.train.batch_size`` is the batch per rank, as pysot's ``BATCH_SIZE`` is
per GPU.

Unreadable images (missing, truncated, corrupt) are replaced by the source
inside the workers; to count them across worker processes each training
sample carries two extra columns, its index and the images it could not read,
which a ``map`` running in the main process hands to an
:class:`UnreadableImages` counter before ``project`` drops them (so batches
and the network see only ``columns(cfg)``). No shared state between processes
is needed, and the count is exact whatever the worker count or kind.
"""
import functools
import logging
import os
import shutil
import threading

import mindspore.dataset as ds
import numpy as np

from src.data.crop511 import TrackingPairs
from src.models.registry import get_family

logger = logging.getLogger("src.data")

# the images every family's rows start with; the labels after them are the family's
IMAGE_COLUMNS = ["template", "search"]
# SiamRPN's row, and SiamMask's extra columns: K mask slots per pair (see
# src.data.anchor_target.mask_targets); the families' label_columns (src.models.registry)
COLUMNS = IMAGE_COLUMNS + ["label_cls", "label_loc", "label_loc_weight"]
MASK_COLUMNS = ["mask_pos", "mask_weight", "mask_target"]
# per-sample bookkeeping columns of the training source, dropped before batching
REPORT_COLUMNS = ["sample_index", "unreadable"]
# images per sub-dataset read by check_training_data (about 5 ms each for a crop511 JPEG)
SPOT_CHECKS = 32


def columns(cfg):
    """Output columns for ``cfg.model.arch``: the images, then the family's labels
    (SiamRPN's three, SiamMask's plus the mask labels, SiamFC's response labels)."""
    return IMAGE_COLUMNS + list(get_family(cfg.model.arch).label_columns)


class EpochSampler(ds.Sampler):
    """Sampler yielding ``epoch * num_pairs + i`` for this rank's ``i`` of the epoch.

    MindSpore deep-copies the sampler into every iterator and calls ``reset``
    on the copy at the end of each epoch, so within one iterator the epoch
    advances by itself, starting from the value set here. Call
    :meth:`set_epoch` (or :func:`set_epoch` on the dataset) before creating an
    iterator to start elsewhere: when resuming, or when making one iterator
    per epoch.
    """

    def __init__(self, num_pairs, rank=0, group_size=1, epoch=0):
        if not 0 <= rank < group_size:
            raise ValueError(f"rank must be in [0, {group_size}), got {rank}")
        self.num_pairs = num_pairs
        self.rank = rank
        self.group_size = group_size
        self.epoch = epoch
        super().__init__(num_samples=num_pairs // group_size)

    def set_epoch(self, epoch):
        self.epoch = epoch

    def reset(self):
        self.epoch += 1

    def __iter__(self):
        first = self.epoch * self.num_pairs + self.rank
        return iter(range(first, first + self.num_samples * self.group_size, self.group_size))


class UnreadableImages:
    """Counts the unreadable images met by a training pipeline, per epoch and sub-dataset.

    ``record`` runs in the main process (a ``map`` over the source's report
    columns, see the module doc), possibly on several threads. A sample's
    epoch is its index // pairs per epoch, so samples the loader prefetches
    for the next epoch are credited to that one.
    """

    def __init__(self, datasets, pairs_per_epoch):
        self.num_images = {d.name: d.num_images for d in datasets}
        self.pairs_per_epoch = pairs_per_epoch
        self._per_epoch = {}                  # epoch -> {name: unreadable reads}
        self._files = {d.name: {} for d in datasets}   # name -> {path: None}, first seen first
        self._lock = threading.Lock()

    def __deepcopy__(self, memo):
        return self   # MindSpore deep-copies pipelines per iterator; the count must stay one

    def record(self, index, unreadable):
        entries = [str(e).split("\t", 1) for e in np.asarray(unreadable).reshape(-1)]
        if entries:
            epoch = int(index) // self.pairs_per_epoch
            with self._lock:
                counts = self._per_epoch.setdefault(epoch, {})
                for name, path in entries:
                    counts[name] = counts.get(name, 0) + 1
                    self._files.setdefault(name, {})[path] = None
        return index, unreadable

    def epoch_counts(self, epoch):
        """{sub-dataset: unreadable image reads (each cost a replacement)} of ``epoch`` (0-based)."""
        with self._lock:
            counts = dict(self._per_epoch.get(epoch, {}))
        return {name: counts.get(name, 0) for name in self.num_images}

    def files(self, name):
        """Distinct unreadable files of sub-dataset ``name`` met so far, in the order met."""
        with self._lock:
            return list(self._files.get(name, {}))

    def check(self, max_share):
        """ValueError (one line) when a sub-dataset's distinct unreadable files exceed
        ``max_share`` of the images its index lists. Distinct files found are a lower
        bound of the bad ones, so a sub-dataset below the share never stops."""
        with self._lock:
            found = {name: len(files) for name, files in self._files.items()}
        for name, count in found.items():
            if count:
                _check_share(name, count, self.num_images.get(name, 0), max_share, self.files(name)[0])


def _check_share(name, count, total, max_share, example):
    """ValueError when ``count`` unreadable files are more than ``max_share`` of a sub-dataset's ``total``."""
    if count > max_share * total:
        raise ValueError(f"{name}: at least {count} of its {total} images are unreadable ({count / max(total, 1):.1%} > "
                         f"data.max_bad_image_share {max_share:g}), e.g. {example}: repair or re-create them, "
                         f"or raise data.max_bad_image_share")


class _ReportingSource:
    """The training source with the report columns: (*pair, index, unreadable images)."""

    def __init__(self, pairs):
        self.pairs = pairs

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, index):
        pair, failures = self.pairs.sample(index)
        unreadable = np.array([f"{name}\t{path}" for name, path in failures], dtype=np.str_)
        return (*pair, np.int64(index), unreadable)


def _free_shared_memory():
    """Free bytes in /dev/shm (0 when it does not exist)."""
    try:
        return shutil.disk_usage("/dev/shm").free
    except OSError:
        return 0


def _row_bytes(cfg):
    """Bytes of one output row (template, search, the family's labels)."""
    t = cfg.train
    return 3 * 4 * (t.exemplar_size ** 2 + t.search_size ** 2) + get_family(cfg.model.arch).label_bytes(cfg)


@functools.lru_cache(maxsize=None)
def _shared_memory_enabled():
    # asked once per process: MindSpore 2.8+ logs a deprecation warning on every call
    return ds.config.get_enable_shared_mem()


def _use_processes(cfg, num_workers):
    """Worker processes if there are several and /dev/shm can hold their queues.

    MindSpore keeps ``max(2, min(p, 4p // workers)) + 2`` rows of shared memory
    per worker (``p`` = prefetch size); only half of the free space is
    counted on, leaving room for a second pipeline (validation) running at
    the same time.
    """
    if num_workers <= 1:
        return False
    if not _shared_memory_enabled():
        return True
    prefetch = ds.config.get_prefetch_size()
    rows = num_workers * (max(2, min(prefetch, prefetch * 4 // num_workers)) + 2)
    need, free = rows * _row_bytes(cfg), _free_shared_memory()
    if need > free // 2:
        logger.warning("/dev/shm has %.0f MB free, loader worker processes need about %.0f MB: "
                       "using %d worker threads instead", free / 2 ** 20, need / 2 ** 20, num_workers)
        return False
    return True


def _generator(cfg, source, num_workers, sampler=None, rank=0, group_size=1, extra_columns=()):
    """GeneratorDataset over ``source`` with ``num_workers`` workers (processes if possible)."""
    sharding = {}
    if sampler is None:
        sharding["shuffle"] = False
        if group_size > 1:
            sharding.update(num_shards=group_size, shard_id=rank)
    return ds.GeneratorDataset(
        source, column_names=columns(cfg) + list(extra_columns), sampler=sampler,
        num_parallel_workers=max(1, num_workers), python_multiprocessing=_use_processes(cfg, num_workers),
        **sharding)


def generator_node(dataset):
    """The GeneratorDataset at the bottom of a pipeline made here (None if there is none)."""
    node = dataset
    while node is not None and not isinstance(node, ds.GeneratorDataset):
        node = node.children[0] if node.children else None
    return node


def _check_batches(pairs, batch_size, what, log=True):
    if pairs < batch_size:
        raise ValueError(f"{what}: {pairs} pairs per rank is fewer than batch_size {batch_size}")
    if pairs % batch_size and log:
        logger.info("%s: the last %d of %d pairs per rank do not fill a batch and are skipped",
                    what, pairs % batch_size, pairs)


def check_training_data(cfg, data_path, group_size=1, epoch_pairs=None):
    """Check what training will read, before anything is built or written.

    For ``data.train`` and ``data.val``: the data path, every index JSON (it
    parses, has pysot's structure, lists a video with a usable box), every
    crop folder and the index's video folders in it, and that each rank gets
    at least one batch. A sub-dataset none of whose videos has a folder (a
    wrong ``root``), or with more than ``data.max_bad_image_share`` of them
    missing, is refused; fewer missing ones are counted as unreadable images
    once training meets them. A sample of ``SPOT_CHECKS`` images per
    sub-dataset is read: unreadable ones beyond the share of its images (the
    rule training applies, see :class:`UnreadableImages`) stop here already.
    Raises FileNotFoundError / ValueError (one line).
    """
    share = cfg.data.max_bad_image_share
    for split, subs in (("train", cfg.data.train), ("val", cfg.data.val)):
        if split == "val" and not subs:
            continue
        source = TrackingPairs(cfg, data_path, split, epoch_pairs if split == "train" else None)
        for i, sub in enumerate(source.datasets):
            missing = sub.missing_video_folders()
            if not missing:
                continue
            where = (f"{len(missing)} of the {sub.num} videos of {sub.anno} have no folder in {sub.root} "
                     f"(e.g. {os.path.join(sub.root, missing[0])})")
            if len(missing) == sub.num:
                raise FileNotFoundError(f"{sub.name}: none of the {sub.num} videos of {sub.anno} has a folder "
                                        f"in {sub.root} (e.g. {os.path.join(sub.root, missing[0])}): check data.{split}[{i}].root")
            if len(missing) > share * sub.num:
                raise FileNotFoundError(f"{sub.name}: {where}, more than data.max_bad_image_share {share:g}")
            logger.warning("%s: %s; their pairs will be replaced and counted", sub.name, where)
        for sub in source.datasets:
            bad = sub.unreadable_sample(SPOT_CHECKS)
            if bad:
                _check_share(sub.name, len(bad), sub.num_images, share, bad[0])
        pairs = len(source) // group_size if split == "train" else -(-len(source) // group_size)
        _check_batches(pairs, cfg.train.batch_size, split, log=False)


def create_train_dataset(cfg, data_path, epoch_pairs=None, rank=0, group_size=1,
                         num_workers=None, epoch=0, num_batches=None, unreadable=None):
    """Batched training pairs from ``cfg.data.train`` under ``data_path``.

    ``epoch_pairs`` pairs per epoch over all ranks (default: see
    :class:`TrackingPairs`), ``num_workers`` loader workers (default
    ``cfg.data.num_workers``), ``epoch`` the epoch of the first pass (later
    passes of the same iterator follow on). Columns: ``columns(cfg)``; batches of
    ``cfg.train.batch_size``, the last partial batch dropped, or only the
    first ``num_batches`` batches of each epoch when given (ValueError if the
    epoch has fewer). Raises FileNotFoundError/ValueError for missing or
    empty data. ``unreadable``: an :class:`UnreadableImages` to count the
    unreadable images in (default: a new one); it is also the dataset's
    ``unreadable`` attribute.
    """
    source = TrackingPairs(cfg, data_path, "train", epoch_pairs)
    sampler = EpochSampler(len(source), rank, group_size, epoch)
    batch_size = cfg.train.batch_size
    _check_batches(sampler.num_samples, batch_size, "train")
    workers = cfg.data.num_workers if num_workers is None else num_workers
    counter = UnreadableImages(source.datasets, len(source)) if unreadable is None else unreadable
    dataset = _generator(cfg, _ReportingSource(source), workers, sampler=sampler, extra_columns=REPORT_COLUMNS)
    # a function closing over the counter: MindSpore deep-copies the pipeline for each iterator
    dataset = dataset.map(lambda index, names: counter.record(index, names), input_columns=REPORT_COLUMNS,
                          output_columns=REPORT_COLUMNS, num_parallel_workers=1)
    dataset = dataset.project(columns(cfg))
    dataset = dataset.batch(batch_size, drop_remainder=True)
    if num_batches is not None:
        available = sampler.num_samples // batch_size
        if num_batches > available:
            raise ValueError(f"train: num_batches={num_batches} but an epoch has only {available} "
                             f"batches of {batch_size} per rank")
        if num_batches < available:
            dataset = dataset.take(num_batches)
    dataset.unreadable = counter
    return dataset


def create_val_dataset(cfg, data_path, rank=0, group_size=1, num_workers=None, batch_size=None):
    """Batched fixed validation pairs from ``cfg.data.val``, or None when it is empty.

    The same ``cfg.data.val_pairs`` pairs (centre crops, no augmentation, no
    negative pairs) come out in the same order on every pass, so the metric is
    comparable across epochs. ``batch_size`` defaults to ``cfg.train.batch_size``.
    """
    if not cfg.data.val:
        return None
    source = TrackingPairs(cfg, data_path, "val")
    batch_size = cfg.train.batch_size if batch_size is None else batch_size
    _check_batches(-(-len(source) // group_size), batch_size, "val")
    workers = cfg.data.num_workers if num_workers is None else num_workers
    dataset = _generator(cfg, source, workers, rank=rank, group_size=group_size)
    return dataset.batch(batch_size, drop_remainder=True)


def set_epoch(dataset, epoch):
    """Make the next iterator created from a training ``dataset`` start at ``epoch``."""
    node = generator_node(dataset)
    if not isinstance(getattr(node, "sampler", None), EpochSampler):
        raise ValueError("dataset was not made by create_train_dataset (no EpochSampler found)")
    node.sampler.set_epoch(epoch)

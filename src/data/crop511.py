"""Training pairs from pysot-style ``crop511`` folders (port of pysot ``datasets/dataset.py``).

Layout (see ``src/data/synthetic.py`` and pysot's ``training_dataset``)::

    <root>/<video>/<frame:06d>.<track>.x.jpg     511x511 crop centred on the target
    <anno>   {video: {track: {frame6: [x1, y1, x2, y2]}}}   boxes in original-image pixels

Sampling follows pysot's ``SubDataset``/``TrkDataset``: every epoch each
sub-dataset contributes ``num_use`` videos (each video equally often), the
lists are concatenated and shuffled; for a video a track and a template frame
are drawn uniformly and the search frame lies within +-``frame_range`` frames
of it on the same track. With probability ``neg`` the pair is negative: the
template comes from that video and the search from a random video of a random
sub-dataset. The box inside a crop is recomputed from the annotated size
(pysot ``_get_bbox``), then both crops are jittered by :class:`Augmentation` and
labelled by :class:`AnchorTarget`. (pysot draws each sub-dataset's
``num_use`` videos once for the whole run; here they are redrawn every epoch,
which only matters when ``num_use`` is smaller than the number of videos.)

Reproducibility differs from pysot on purpose: pysot draws from the global
``np.random`` (so samples depend on worker count and order). Here sample
``index`` of ``epoch`` draws everything from its own
``np.random.default_rng([seed, split, epoch, index])``, and the per-epoch
video list from ``default_rng([seed, split, epoch])``; a sample is the same
whichever process computes it, in whatever order.

The labels come from the family's targets (``build_targets`` in
src/models/registry.py), which also turn the crops into the network's arrays.
SiamMask: sub-datasets with ``has_mask`` also hold ``<frame>.<track>.m.png`` masks in the crop511 geometry. The search
frame's mask goes through the search crop's augmentation (foolwood
``siam_mask_dataset.py``) and becomes fixed-size mask labels
(:func:`~src.data.anchor_target.mask_targets`); negative pairs and samples
from sub-datasets without masks get all-zero mask weights.
"""
import functools
import json
import logging
import math
import os

import cv2
import numpy as np

from src.config import AugConfig, sub_dataset_folder
from src.image_io import ImageError, read_image
from src.utils import is_json_number, read_json
from src.data.augmentation import Augmentation
from src.crop_geometry import CONTEXT_AMOUNT, context_size
from src.models.box_coder import center_to_corner
from src.models.registry import get_family

logger = logging.getLogger("src.data")

SPLIT_CODES = {"train": 0, "val": 1}
# Attempts at drawing a pair whose two images can be read before giving up.
MAX_ATTEMPTS = 100
# how the error after MAX_ATTEMPTS starts: the trainer finds it in MindSpore's
# report of an exception raised in a loader worker
NO_PAIR = "no readable training pair"


def mask_path(image_path):
    """``<frame>.<track>.m.png`` beside a crop511 ``<frame>.<track>.x.jpg``."""
    stem = image_path[:-len(".x.jpg")] if image_path.endswith(".x.jpg") else os.path.splitext(image_path)[0]
    return stem + ".m.png"


def _box_size(box):
    """(w, h) of an annotation: [x1, y1, x2, y2], or pysot's alternative [w, h]."""
    if len(box) == 4:
        return box[2] - box[0], box[3] - box[1]
    return box[0], box[1]


def _is_box(box):
    """A pysot index box: a list of 4 numbers [x1, y1, x2, y2] or 2 [w, h]."""
    return (isinstance(box, list) and len(box) in (2, 4)
            and all(is_json_number(v) for v in box))


def _check_index_structure(meta, path):
    """ValueError naming the file and the first entry that is not
    {video: {track: {frame: box}}} (pysot's ``train.json`` layout)."""
    if not isinstance(meta, dict):
        raise ValueError(f"index {path} must map video names to tracks, got a JSON {type(meta).__name__}")
    for video, tracks in meta.items():
        if not isinstance(tracks, dict):
            raise ValueError(f"index {path}: video '{video}' must map track ids to frames, "
                             f"got {type(tracks).__name__}")
        for track, frames in tracks.items():
            if not isinstance(frames, dict):
                raise ValueError(f"index {path}: video '{video}' track '{track}' must map frame numbers "
                                 f"to boxes, got {type(frames).__name__}")
            for frame, box in frames.items():
                if frame.isdigit() and not _is_box(box):
                    raise ValueError(f"index {path}: video '{video}' track '{track}' frame '{frame}': "
                                     f"a box is [x1, y1, x2, y2] (or [w, h]), got {json.dumps(box)[:60]}")


@functools.lru_cache(maxsize=8)
def _load_index(path, mtime_ns, size):
    """Parsed, filtered index JSON: {video: {track: {"boxes": {frame6: box}, "frames": [int]}}}.

    The structure is checked first (ValueError naming the file and entry).
    Zero/negative-size boxes (and non-finite ones), tracks left without frames
    and videos left without tracks are dropped, as in pysot. Cached by (path,
    mtime, size) because the trainer builds a new loader every epoch and
    pysot-sized indices (ImageNet VID, YouTube-BB) take seconds to parse;
    callers must not modify the result.
    """
    meta = read_json(path)
    _check_index_structure(meta, path)
    labels = {}
    for video, tracks in meta.items():
        kept = {}
        for track, frames in tracks.items():
            boxes = {frame: box for frame, box in frames.items()
                     if frame.isdigit() and min(_box_size(box)) > 0 and all(map(math.isfinite, box))}
            if boxes:
                kept[track] = {"boxes": boxes, "frames": sorted(int(f) for f in boxes)}
        if kept:
            labels[video] = kept
    return labels


def _missing_part(sub, data_path):
    """What of sub-dataset ``sub`` is not under ``data_path`` (its folder, index or crop
    folder, relative, folders with a trailing '/'), or None."""
    folder = sub_dataset_folder(sub)
    if folder and not os.path.isdir(os.path.join(data_path, folder)):
        return folder + "/"
    if not os.path.isfile(os.path.join(data_path, sub.anno)):
        return sub.anno
    if not os.path.isdir(os.path.join(data_path, sub.root)):
        return sub.root.rstrip("/") + "/"
    return None


def _prepare_name(sub):
    """The ``python -m src.data.prepare`` dataset whose output ``sub``'s folder is, or None."""
    from src.data.prepare import SOURCES
    name = sub_dataset_folder(sub).rsplit("/", 1)[-1]
    return name if name in SOURCES else None


def _only_token(sub):
    """How --data.only names ``sub``: its folder when that is one plain name, else its name."""
    folder = sub_dataset_folder(sub)
    return folder if folder and "/" not in folder else sub.name.lower()


def check_sub_datasets(subs, data_path, split="train"):
    """FileNotFoundError (one line) when a sub-dataset of ``subs`` (``cfg.data.<split>``) lacks
    its folder, index or crop folder under ``data_path``: it names each missing one (name,
    root, anno), how to prepare it and how to train without it."""
    missing = [(i, sub, part) for i, sub in enumerate(subs)
               for part in [_missing_part(sub, data_path)] if part]
    if not missing:
        return
    what = ", ".join(f"no {part} (sub-dataset {sub.name}: {sub.root}, {sub.anno})" for _, sub, part in missing)
    names = [_prepare_name(sub) for _, sub, _ in missing]
    one = len(missing) == 1
    if all(names) and one:
        sub = missing[0][1]
        out = os.path.join(data_path, sub_dataset_folder(sub))
        how = f"prepare it with `python -m src.data.prepare {names[0]} --src RAW --out {out}`"
    elif all(names):
        how = (f"prepare each with `python -m src.data.prepare NAME --src RAW --out {os.path.join(data_path, 'NAME')}` "
               f"(NAME: {', '.join(names)})")
    else:
        how = "check " + ", ".join(f"data.{split}[{i}].root/anno" for i, _, _ in missing)
    present = [_only_token(sub) for i, sub in enumerate(subs) if i not in {m[0] for m in missing}]
    if not present:
        how += f" (none of data.{split} is there: is the data path right?)"
    elif split == "train":
        how += f" or leave {'it' if one else 'them'} out with --data.only {','.join(present)}"
    else:
        how += f" or remove {'it' if one else 'them'} from data.{split}"
    raise FileNotFoundError(f"data_path {data_path} has {what}; {how}")


class SubDataset:
    """One annotated crop511 collection (pysot ``SubDataset``).

    Videos get global indices ``start_idx .. start_idx + num - 1`` so that
    several sub-datasets share one index space.
    """

    def __init__(self, cfg, data_path, start_idx):
        self.name = cfg.name
        self.root = os.path.join(data_path, cfg.root)
        self.anno = os.path.join(data_path, cfg.anno)
        self.frame_range = cfg.frame_range
        self.has_mask = cfg.has_mask
        self.start_idx = start_idx
        if not os.path.isfile(self.anno):
            raise FileNotFoundError(f"{self.name}: index file not found: {self.anno}")
        if not os.path.isdir(self.root):
            raise FileNotFoundError(f"{self.name}: crop folder not found: {self.root}")
        logger.info("loading %s from %s", self.name, self.anno)
        stat = os.stat(self.anno)
        try:
            self.labels = _load_index(self.anno, stat.st_mtime_ns, stat.st_size)
        except ValueError as exc:   # read_json's and the structure checks' one-line messages
            raise ValueError(f"{self.name}: {exc}") from None
        self.videos = list(self.labels)
        self.num = len(self.videos)
        if self.num == 0:
            raise ValueError(f"{self.name}: no video with a valid box in {self.anno}")
        # the images the index lists: the denominator of data.max_bad_image_share
        self.num_images = sum(len(t["frames"]) for tracks in self.labels.values() for t in tracks.values())
        self.num_use = self.num if cfg.num_use == -1 else cfg.num_use
        logger.info("%s: %d videos, start index %d, %d used per epoch",
                    self.name, self.num, self.start_idx, self.num_use)

    def __len__(self):
        return self.num

    def missing_video_folders(self):
        """Videos of the index without a folder in the crop folder (a wrong ``root``, a partial copy)."""
        return [v for v in self.videos if not os.path.isdir(os.path.join(self.root, v))]

    def unreadable_sample(self, count):
        """Paths of the unreadable ones among the first images of ``count`` evenly spread videos."""
        bad = []
        for index in np.unique(np.linspace(0, self.num - 1, min(count, self.num)).astype(int)):
            video = self.videos[index]
            track = next(iter(self.labels[video]))
            path, _ = self.get_image_anno(video, track, self.labels[video][track]["frames"][0])
            try:
                read_image(path)
            except ImageError:
                bad.append(path)
        return bad

    def shuffle(self, rng):
        """``num_use`` global video indices: whole shuffled passes over the videos."""
        videos = np.arange(self.start_idx, self.start_idx + self.num)
        passes = -(-self.num_use // self.num)
        return np.concatenate([rng.permutation(videos) for _ in range(passes)])[:self.num_use]

    def get_image_anno(self, video, track, frame):
        """(image path, box) of ``frame`` (an int) of ``track`` in ``video``."""
        frame = f"{frame:06d}"
        path = os.path.join(self.root, video, f"{frame}.{track}.x.jpg")
        return path, self.labels[video][track]["boxes"][frame]

    def _random_track(self, index, rng):
        video = self.videos[index]
        tracks = list(self.labels[video])
        track = tracks[rng.integers(len(tracks))]
        return video, track, self.labels[video][track]["frames"]

    def get_positive_pair(self, index, rng):
        """Template and search (path, box) from one track of video ``index`` (local index)."""
        video, track, frames = self._random_track(index, rng)
        template = int(rng.integers(len(frames)))
        left = max(template - self.frame_range, 0)
        right = min(template + self.frame_range, len(frames) - 1) + 1
        search = frames[left + int(rng.integers(right - left))]
        return (self.get_image_anno(video, track, frames[template]),
                self.get_image_anno(video, track, search))

    def get_random_target(self, index, rng):
        """(path, box) of a random frame of a random track of video ``index`` (None: random video)."""
        if index is None:
            index = int(rng.integers(self.num))
        video, track, frames = self._random_track(index, rng)
        return self.get_image_anno(video, track, frames[rng.integers(len(frames))])


class TrackingPairs:
    """Random-access source of SiamRPN training pairs (pysot ``TrkDataset``).

    ``pairs[index]`` returns ``(template, search, label_cls, label_loc,
    label_loc_weight)``: float32 CHW BGR 0..255 crops of ``exemplar_size`` and
    ``search_size`` (no normalisation, as pysot), int32 (A, S, S), float32
    (4, A, S, S) and float32 (A, S, S): SiamRPN's row; each family's targets
    decide its row (src.models.registry). For SiamMask three more: ``mask_pos`` int32 (K,), ``mask_weight``
    float32 (K,) and ``mask_target`` int8 (K, 127, 127) with
    K = min(pos_num, S*S) (see :func:`~src.data.anchor_target.mask_targets`).

    ``len(pairs)`` is the number of pairs per epoch; ``index`` may run past it
    and then encodes the epoch: ``index = epoch * len(pairs) + i``. The epoch
    travels inside the index because loader worker processes hold frozen
    copies of this object: a sampler (``src.data.pipeline.EpochSampler``)
    knows the epoch, the workers need not.

    ``split='train'`` uses ``cfg.data.train``, the configured augmentation,
    gray and negative-pair rates, and ``epoch_pairs`` pairs per epoch
    (default ``cfg.data.videos_per_epoch``, or the sum of ``num_use`` when that
    is <= 0, as pysot). ``split='val'`` uses ``cfg.data.val``, only the
    deterministic centre crop, no negative pairs and ``cfg.data.val_pairs``
    pairs (``epoch_pairs`` overrides).

    A pair whose image cannot be read (missing, truncated or corrupt, see
    :func:`src.image_io.read_image`; or a mask of another size) is replaced by
    another pair, drawn from a random video with a generator seeded by (...,
    index, attempt), so the replacement is reproducible too. :meth:`sample`
    returns the unreadable images met while drawing a sample with it, which
    is how the loader counts them across worker processes
    (src/data/pipeline.py); each is also logged once per process (logger
    ``src.data``) and counted in ``bad_images`` (this process's copy only).
    """

    def __init__(self, cfg, data_path, split="train", epoch_pairs=None):
        if split not in SPLIT_CODES:
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        if not os.path.isdir(data_path):
            raise FileNotFoundError(f"data path not found: {data_path}")
        sub_cfgs = cfg.data.train if split == "train" else cfg.data.val
        if not sub_cfgs:
            raise ValueError(f"no sub-datasets configured in data.{split}")
        check_sub_datasets(sub_cfgs, data_path, split)   # all missing ones in one message
        train = cfg.train
        self.split = split
        self.seed = train.seed
        self.exemplar_size = train.exemplar_size
        self.search_size = train.search_size
        self.datasets = []
        start = 0
        for sub_cfg in sub_cfgs:
            sub = SubDataset(sub_cfg, data_path, start)
            self.datasets.append(sub)
            start += sub.num
        if split == "train":
            self.template_aug = Augmentation(cfg.data.template_aug)
            self.search_aug = Augmentation(cfg.data.search_aug)
            self.neg, self.gray = cfg.data.neg, cfg.data.gray
            default_pairs = cfg.data.videos_per_epoch
        else:
            # geometry only: the target is shifted/scaled as in training (a fixed draw
            # per pair), so the metric measures localisation, not a centre prior
            search = cfg.data.search_aug
            self.template_aug = Augmentation(AugConfig(0, 0, 0, 0, 0))
            self.search_aug = Augmentation(AugConfig(search.shift, search.scale, 0, 0, 0))
            self.neg, self.gray = 0.0, 0.0
            default_pairs = cfg.data.val_pairs
        if epoch_pairs is None:
            epoch_pairs = default_pairs if default_pairs > 0 else sum(d.num_use for d in self.datasets)
        if epoch_pairs <= 0:
            raise ValueError(f"pairs per epoch must be positive, got {epoch_pairs}")
        self.num = epoch_pairs
        # the family's labels (src.models.registry): anchor targets, SiamMask's mask slots, ...
        family = get_family(cfg.model.arch)
        self.targets = family.build_targets(cfg, split)
        self.uses_masks = family.uses_masks
        self.bad_images = 0
        self._warned = set()
        self._pick_cache = (None, None)

    def __len__(self):
        return self.num

    def _rng(self, *keys):
        return np.random.default_rng([self.seed, SPLIT_CODES[self.split], *keys])

    def epoch_pick(self, epoch):
        """Global video index of every pair of ``epoch`` (pysot ``TrkDataset.shuffle``)."""
        cached_epoch, pick = self._pick_cache  # one read: loader threads may share this object
        if cached_epoch != epoch:
            rng = self._rng(epoch)
            videos = np.concatenate([d.shuffle(rng) for d in self.datasets])
            passes = -(-self.num // len(videos))
            pick = np.concatenate([rng.permutation(videos) for _ in range(passes)])[:self.num]
            self._pick_cache = (epoch, pick)
        return pick

    def _find_dataset(self, index):
        for dataset in self.datasets:
            if dataset.start_idx + dataset.num > index:
                return dataset, index - dataset.start_idx
        raise IndexError(f"video index {index} out of range")

    def _unreadable(self, dataset, path, reason, failures):
        failures.append((dataset.name, path))
        self.bad_images += 1
        if path not in self._warned:
            self._warned.add(path)
            logger.warning("%s: %s; using another pair instead", dataset.name, reason)

    def _read(self, dataset, path, failures, flags=cv2.IMREAD_COLOR):
        """The image at ``path`` (of sub-dataset ``dataset``), or None, recorded in ``failures``."""
        try:
            return read_image(path, flags)
        except ImageError as e:
            self._unreadable(dataset, path, str(e), failures)
            return None

    def _crop_box(self, image, anno):
        """Target box in a crop511 image: centred, size scaled by exemplar/s_z (pysot ``_get_bbox``)."""
        imh, imw = image.shape[:2]
        w, h = _box_size(anno)
        # the context the crop511 images were made with (src.crop_geometry), not track.context_amount
        scale_z = self.exemplar_size / context_size(w, h, CONTEXT_AMOUNT)
        return center_to_corner(np.array([imw // 2, imh // 2, w * scale_z, h * scale_z]))

    def __getitem__(self, index):
        return self.sample(index)[0]

    def sample(self, index):
        """(pair, unreadable) for ``index``: the pair ``self[index]`` and the
        [(sub-dataset name, path)] of the images that could not be read while
        drawing it (each one cost a replacement)."""
        epoch, i = divmod(int(index), self.num)
        pick = self.epoch_pick(epoch)
        failures = []
        for attempt in range(MAX_ATTEMPTS):
            if attempt == 0:
                rng = self._rng(epoch, i)
                video = int(pick[i])
            else:
                rng = self._rng(epoch, i, attempt)
                video = int(pick[rng.integers(self.num)])
            sample = self._pair(video, rng, failures)
            if sample is not None:
                return sample, failures
        name, path = failures[-1]
        raise RuntimeError(f"{NO_PAIR}: {len(failures)} unreadable images in {MAX_ATTEMPTS} attempts at "
                           f"training pair {index} (e.g. {name} {path})")

    def _pair(self, video, rng, failures):
        """One labelled pair for global video index ``video``, or None if an image is unreadable
        (then appended to ``failures``)."""
        dataset, local = self._find_dataset(video)
        gray = self.gray and self.gray > rng.random()
        neg = bool(self.neg and self.neg > rng.random())
        search_dataset = dataset
        if neg:
            template = dataset.get_random_target(local, rng)
            search_dataset = self.datasets[rng.integers(len(self.datasets))]
            search = search_dataset.get_random_target(None, rng)
        else:
            template, search = dataset.get_positive_pair(local, rng)
        template_image = self._read(dataset, template[0], failures)
        search_image = self._read(search_dataset, search[0], failures)
        if template_image is None or search_image is None:
            return None
        # SiamMask: the search frame's mask, for positive pairs of sub-datasets with masks
        search_mask = None
        if self.uses_masks and dataset.has_mask and not neg:
            search_mask = self._read(dataset, mask_path(search[0]), failures, cv2.IMREAD_GRAYSCALE)
            if search_mask is None:
                return None
            if search_mask.shape != search_image.shape[:2]:
                self._unreadable(dataset, mask_path(search[0]),
                                 f"mask {mask_path(search[0])} has another size than its image", failures)
                return None
            search_mask = (search_mask > 0).astype(np.float32)
        template_crop, _ = self.template_aug(
            template_image, self._crop_box(template_image, template[1]),
            self.exemplar_size, gray, rng)
        search_box = self._crop_box(search_image, search[1])
        if search_mask is None:
            search_crop, box = self.search_aug(search_image, search_box, self.search_size, gray, rng)
        else:
            search_crop, box, search_mask = self.search_aug(search_image, search_box, self.search_size,
                                                            gray, rng, mask=search_mask)
        return self.targets.sample(template_crop, search_crop, box, neg, rng, search_mask)

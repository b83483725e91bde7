"""Experiment configuration: one YAML file per experiment in ``configs/``.

The YAML is read into frozen dataclasses (typed, nested, immutable). A config has
the sections ``model``, ``data``, ``train`` and ``track``; ``data`` is the same for
every tracker family, the other three are typed per family: each family declares
subclasses of :class:`ModelConfig`, :class:`TrainConfig` and :class:`TrackConfig`
in its own model file (e.g. src/models/siamfc.py) and names them in its registry
record (``Family.config_sections``). Building a config reads ``model.arch`` first
(after the overrides) and builds each section with that family's class, so a key
another family has is an unknown key here, and each class carries the value checks
of its fields (``RANGES``, ``ORDERED``: class attributes, merged along the MRO).

``Config()`` holds pysot's SiamRPN-AlexNet defaults, so a YAML file only states
what its experiment changes. Overrides come from the command line as dotted keys
(``--train.batch_size 16``, also into mappings: ``--train.pretrained.backbone
r50.ckpt``). There is no module-level mutable config: callers pass the ``Config``
object they loaded.

Versions: ``version: 2`` is this schema. Version 1 (no ``version`` key) had one
section class per section with every family's keys mixed, and ``train.pretrained``
a single backbone path; :func:`migrate` turns such data into version 2 whenever a
config is read (YAML files, checkpoints' embedded configs, exports' config dicts).
"""
import collections.abc
import copy
import dataclasses
import functools
import math
import os
import re
import typing
from dataclasses import dataclass, field
from typing import ClassVar, Mapping, Tuple

import yaml

from .utils import is_json_number

CONFIG_VERSION = 2          # the schema this code writes and reads (older ones are migrated)
DEFAULT_ARCH = "siamrpn"    # what Config() and a file without model.arch build
SECTIONS = ("model", "train", "track")   # the sections a family types (Family.config_sections)


class ConfigError(ValueError):
    """A bad config file, key or value; the message names it on one line."""


# choices of string keys checked at load time (train.py, eval.py and export read them)
AMP_LEVELS = ("O0", "O2", "O3")
LR_SCALING = ("none", "linear", "sqrt")
WEIGHT_DECAY_ON = ("all", "conv_weights")      # train.weight_decay_on (see TrainConfig)


# ----------------------------------------------------------------------------
# value ranges: each section class lists its fields' rules in ``RANGES`` (and its ordered
# pairs in ``ORDERED``); a subclass adds its own, so a family's checks live with its section.
# They are checked when a config is built (file, overrides, a checkpoint's embedded
# config), so a bad value stops before any model, data or output exists.

@dataclass(frozen=True)
class Range:
    """``low``/``high`` bounds (``open_low``: strictly above ``low``); ``also``: extra
    allowed values outside them (num_use -1); ``choices`` for strings; floats must be
    finite unless ``inf_ok``; ``non_empty`` strings / lists. For tuples the bounds apply
    to every item, ``lengths`` lists the allowed lengths (empty: any) and ``ascending``
    asks for items in non-decreasing order; for mappings the rule applies to every value."""
    low: float = None
    high: float = None
    open_low: bool = False
    also: Tuple = ()
    choices: Tuple[str, ...] = ()
    inf_ok: bool = False
    non_empty: bool = False
    lengths: Tuple[int, ...] = ()
    ascending: bool = False

    def problem(self, value):
        """What is wrong with one value (None when it is fine)."""
        if self.choices:
            return None if value in self.choices else f"must be one of {', '.join(self.choices)}"
        if isinstance(value, (str, bool)):
            return None
        if value in self.also:
            return None
        if isinstance(value, float) and not math.isfinite(value) and not (self.inf_ok and value == math.inf):
            return "must be a finite number"
        if self.low is not None and (not value > self.low if self.open_low else not value >= self.low):
            return self._describe()
        if self.high is not None and not value <= self.high:
            return self._describe()
        return None

    def _describe(self):
        if self.low is not None and self.high is not None:
            bound = f"in ({self.low}, {self.high}]" if self.open_low else f"in [{self.low}, {self.high}]"
        elif self.low is not None:
            bound = f"> {self.low}" if self.open_low else f">= {self.low}"
        else:
            bound = f"<= {self.high}"
        return "must be " + bound + "".join(f" or {v}" for v in self.also)


POSITIVE_INT, NON_NEGATIVE = Range(low=1), Range(low=0)
POSITIVE, SHARE = Range(low=0, open_low=True), Range(low=0, high=1)
NAME = Range(non_empty=True)


def _rules(cls, attr):
    """``cls.RANGES`` ({field: Range}) or ``cls.ORDERED`` ((a, b), ...) merged over its MRO."""
    if attr == "RANGES":
        merged = {}
        for klass in reversed(cls.__mro__):
            merged.update(vars(klass).get(attr, {}))
        return merged
    pairs = []
    for klass in reversed(cls.__mro__):
        pairs += [p for p in vars(klass).get(attr, ()) if p not in pairs]
    return pairs


def check_values(obj, prefix="", recursive=True):
    """ConfigError (one line, the key and the rule) for the first field of the config
    dataclass ``obj`` (and its nested ones) outside its class's ``RANGES`` / ``ORDERED``.
    Run on every section a config is built from; call it on a section built by hand
    (``SiamFCTrackConfig(upsample=...)``) to get the same check. ``recursive``: the
    nested dataclasses too (the loader checks each as it builds it)."""
    cls = type(obj)
    for f in dataclasses.fields(cls) if recursive else ():
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            check_values(value, _join(prefix, f.name))
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if dataclasses.is_dataclass(item):
                    check_values(item, f"{_join(prefix, f.name)}[{i}]")
    for name, rule in _rules(cls, "RANGES").items():
        _check_rule(rule, getattr(obj, name), _join(prefix, name))
    for low_name, high_name in _rules(cls, "ORDERED"):
        low, high = getattr(obj, low_name), getattr(obj, high_name)
        if low > high:
            raise ConfigError(f"config key '{_join(prefix, low_name)}' ({low}) must not exceed "
                              f"'{_join(prefix, high_name)}' ({high})")


def _check_rule(rule, value, key):
    if isinstance(value, collections.abc.Mapping):
        for name, item in value.items():
            _check_rule(rule, item, f"{key}.{name}")
        return
    if rule.non_empty and not (value.strip() if isinstance(value, str) else value):
        raise ConfigError(f"config key '{key}' must not be empty")
    if isinstance(value, tuple):
        if rule.lengths and len(value) not in rule.lengths:
            counts = " or ".join(str(n) for n in rule.lengths)
            raise ConfigError(f"config key '{key}' must be a list of {counts} items, got {list(value)}")
        if rule.ascending and any(a > b for a, b in zip(value, value[1:])):
            raise ConfigError(f"config key '{key}' must be in ascending order, got {list(value)}")
    items = value if isinstance(value, tuple) else (value,)
    for i, item in enumerate(items):
        problem = rule.problem(item)
        if problem:
            where = f"{key}[{i}]" if isinstance(value, tuple) else key
            raise ConfigError(f"config key '{where}' {problem}, got {item!r}")


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


# ----------------------------------------------------------------------------
# mappings: ``Mapping[str, X]`` fields (e.g. train.pretrained {cell prefix: checkpoint})

class FrozenMap(collections.abc.Mapping):
    """The read-only, hashable mapping a frozen config holds for a ``Mapping[str, X]``
    field (a plain dict in ``to_dict`` and YAML); equal to a dict with the same items."""
    __slots__ = ("_items",)

    def __init__(self, items=()):
        object.__setattr__(self, "_items", dict(items))

    def __getitem__(self, key):
        return self._items[key]

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)

    def __hash__(self):
        return hash(frozenset(self._items.items()))

    def __setattr__(self, name, value):
        raise AttributeError("a config mapping is read-only (use src.config.replace)")

    def __reduce__(self):
        return FrozenMap, (self._items,)

    def __repr__(self):
        return f"FrozenMap({self._items!r})"


def _is_mapping_type(tp):
    return typing.get_origin(tp) in (dict, collections.abc.Mapping)


# ----------------------------------------------------------------------------
# the common sections (every family's sections subclass ModelConfig, TrainConfig, TrackConfig)

@dataclass(frozen=True)
class ModelConfig:
    """Keys of every family's ``model`` section; a family adds its own (src/models/<family>.py)
    and sets ``arch``'s default to its name."""
    arch: str = DEFAULT_ARCH         # the family (src/models/registry.py families())
    backbone: str = "alexnet"        # alexnet | resnet50 (SiamMask) | alexnet_v1 (SiamFC)
    width_mult: float = 1.0

    # model.arch is checked against the registered families when the config is built
    RANGES: ClassVar[dict] = {"backbone": NAME, "width_mult": POSITIVE}


@dataclass(frozen=True)
class AugConfig:
    shift: float = 0.0
    scale: float = 0.0
    blur: float = 0.0
    flip: float = 0.0
    color: float = 1.0

    RANGES: ClassVar[dict] = {"shift": NON_NEGATIVE, "scale": Range(low=0, high=0.99), "blur": SHARE,
                              "flip": SHARE, "color": SHARE}


@dataclass(frozen=True)
class SubDatasetConfig:
    name: str = ""
    root: str = ""          # crop511 folder, relative to --data_path
    anno: str = ""          # index JSON, relative to --data_path
    frame_range: int = 100
    num_use: int = -1       # pairs drawn from this sub-dataset per epoch; -1 = one per video
    has_mask: bool = False  # SiamMask: crops have <frame>.<track>.m.png masks (YouTube-VOS, COCO)

    RANGES: ClassVar[dict] = {"name": NAME, "root": NAME, "anno": NAME, "frame_range": POSITIVE_INT,
                              "num_use": Range(low=1, also=(-1,))}


@dataclass(frozen=True)
class DataConfig:
    # pysot's defaults (pysot/core/config.py DATASET.*); the folders are those of
    # ``python -m src.data.prepare NAME --out DATA/NAME`` (vid, ytb, coco, det, ytb_vos, got10k, lasot)
    train: Tuple[SubDatasetConfig, ...] = (
        SubDatasetConfig("VID", "vid/crop511", "vid/train.json", 100, 100000),
        SubDatasetConfig("YOUTUBEBB", "ytb/crop511", "ytb/train.json", 3, -1),
        SubDatasetConfig("COCO", "coco/crop511", "coco/train2017.json", 1, -1),
        SubDatasetConfig("DET", "det/crop511", "det/train.json", 1, -1),
    )
    # train on these of ``train`` only (its names or folders, any case; ``--data.only vid,coco``);
    # empty = all. Applied when the config is built, so ``train`` (and the config a checkpoint
    # stores) holds the sub-datasets actually used; applying it again changes nothing.
    only: Tuple[str, ...] = ()
    val: Tuple[SubDatasetConfig, ...] = ()
    template_aug: AugConfig = field(default_factory=lambda: AugConfig(4.0, 0.05, 0.0, 0.0, 1.0))
    search_aug: AugConfig = field(default_factory=lambda: AugConfig(64.0, 0.18, 0.2, 0.0, 1.0))
    neg: float = 0.05
    gray: float = 0.0
    videos_per_epoch: int = 600000
    num_workers: int = 2
    val_pairs: int = 256
    # training stops when more than this share of a sub-dataset's images (distinct
    # files, of those its index lists) turned out unreadable (missing, truncated,
    # corrupt); below it they are replaced by other pairs and counted (see
    # src/data/pipeline.py UnreadableImages)
    max_bad_image_share: float = 0.01

    RANGES: ClassVar[dict] = {"neg": SHARE, "gray": SHARE, "videos_per_epoch": NON_NEGATIVE,
                              "num_workers": NON_NEGATIVE, "val_pairs": NON_NEGATIVE,
                              "max_bad_image_share": SHARE}


@dataclass(frozen=True)
class LRConfig:
    warmup_epochs: int = 5
    warmup_start: float = 0.005
    warmup_end: float = 0.01
    start: float = 0.01
    end: float = 0.0005

    RANGES: ClassVar[dict] = {"warmup_epochs": NON_NEGATIVE, "warmup_start": POSITIVE, "warmup_end": POSITIVE,
                              "start": POSITIVE, "end": POSITIVE}


@dataclass(frozen=True)
class TrainConfig:
    """Keys of every family's ``train`` section (sizes, schedule, optimiser, freezing,
    initial weights, precision); a family adds its loss and target keys."""
    exemplar_size: int = 127
    search_size: int = 255
    output_size: int = 17
    batch_size: int = 128
    epochs: int = 50
    lr: LRConfig = field(default_factory=LRConfig)
    momentum: float = 0.9
    weight_decay: float = 1e-4
    # what weight_decay applies to: "all" is MindSpore SGD's own choice (one parameter group: every
    # trainable parameter except those named *gamma* / *beta*, i.e. BatchNorm's scale and shift;
    # with backbone_lr_mult's two groups: every trainable parameter); "conv_weights": only the
    # kernels of convolution layers, no bias, BatchNorm or fully connected weight, as the L2 of
    # SiamFC-TensorFlow / SA-Siam (slim conv arg_scope) and SiamFC's MatConvNet
    weight_decay_on: str = "all"
    grad_clip: float = 10.0
    max_loss: float = 1e4           # steps with a larger (or non-finite) loss are skipped
    # backbone layers (layer1..layer5) frozen at the start and trained from unfreeze_epoch on
    frozen_layers: Tuple[str, ...] = ("layer1", "layer2", "layer3", "layer4", "layer5")
    unfreeze_layers: Tuple[str, ...] = ("layer4", "layer5")
    unfreeze_epoch: int = 10
    backbone_lr_mult: float = 1.0
    # network cells (dotted names, e.g. rpn_head or mask_head.head) fixed for the whole run,
    # BatchNorm in inference mode (SiamMask sharp stage: backbone, neck, rpn_head)
    frozen_modules: Tuple[str, ...] = ()
    # checkpoints loaded before training, by the network cell (dotted prefix) they fill:
    # {backbone: resnet50.ckpt}; a checkpoint's names may lack the prefix (src/training/trainer.py)
    pretrained: Mapping[str, str] = field(default_factory=FrozenMap)
    # whole-network checkpoint loaded before training (SiamMask sharp stage: the base
    # stage's weights); parameters it lacks (refine_head) keep their initial values
    init_from: str = ""
    seed: int = 123456
    log_interval: int = 20
    # data parallel: the LR values above are for a global batch of reference_batch pairs
    # (0 = batch_size, one device); lr_scaling none | linear | sqrt scales every LR by
    # (batch_size * devices / reference_batch) or its square root (see lr_schedule.lr_scale)
    lr_scaling: str = "none"
    reference_batch: int = 0
    # mixed precision on Ascend/GPU: O0 float32, O2 float16 except BatchNorm, O3 all float16
    # (CPU always runs O0); the loss is scaled by loss_scale (halved on overflow and doubled
    # after loss_scale_window good steps when loss_scale_dynamic), gradients unscaled before clipping
    amp_level: str = "O0"
    loss_scale: float = 65536.0
    loss_scale_dynamic: bool = True
    loss_scale_window: int = 1000

    RANGES: ClassVar[dict] = {
        "exemplar_size": POSITIVE_INT, "search_size": POSITIVE_INT, "output_size": POSITIVE_INT,
        "batch_size": POSITIVE_INT, "epochs": POSITIVE_INT, "momentum": Range(low=0, high=0.999999),
        "weight_decay": NON_NEGATIVE, "weight_decay_on": Range(choices=WEIGHT_DECAY_ON), "grad_clip": POSITIVE, "max_loss": Range(low=0, open_low=True, inf_ok=True),
        "unfreeze_epoch": NON_NEGATIVE, "backbone_lr_mult": NON_NEGATIVE, "pretrained": NAME,
        "seed": Range(low=0, high=2 ** 63 - 1), "log_interval": POSITIVE_INT,
        "lr_scaling": Range(choices=LR_SCALING), "reference_batch": NON_NEGATIVE,
        "amp_level": Range(choices=AMP_LEVELS), "loss_scale": POSITIVE, "loss_scale_window": POSITIVE_INT}
    ORDERED: ClassVar[tuple] = (("exemplar_size", "search_size"),)


@dataclass(frozen=True)
class TrackConfig:
    """Keys of every family's ``track`` section (crop sizes, context, cosine window);
    a family adds its decoding and state-update keys."""
    exemplar_size: int = 127
    instance_size: int = 287
    context_amount: float = 0.5
    window_influence: float = 0.40
    # the lost-target signal (src/tracker/base.py): a tracker reports ``lost`` once its per-frame
    # confidence (the score track() returns: a probability in every family, SiamRPN / SiamMask
    # the chosen anchor's foreground probability, SiamFC / SA-Siam the sigmoid of the peak
    # logit) stayed below lost_threshold for lost_frames frames in a row. Defaults: 0.5, the
    # decision boundary of both families' classifiers (the quick-start SiamRPN scores its
    # target 0.8-0.98 and a frame with the target painted over 0.001-0.013); 5 frames (a sixth
    # of a second at 30 fps) so that a one-frame dip, e.g. a thin occluder, is not a loss.
    # Not lowered or raised for VOTLTSYN, where lost fires in 2 of 6 sequences: while its target
    # is away, that model sits on a look-alike distractor it scores 0.79-0.97, as high as the
    # target (0.79-0.96 medians), so no threshold on this confidence tells the two apart
    lost_threshold: float = 0.5
    lost_frames: int = 5

    RANGES: ClassVar[dict] = {"exemplar_size": POSITIVE_INT, "instance_size": POSITIVE_INT,
                              "context_amount": NON_NEGATIVE, "window_influence": SHARE,
                              "lost_threshold": SHARE, "lost_frames": POSITIVE_INT}
    ORDERED: ClassVar[tuple] = (("exemplar_size", "instance_size"),)


def _default_section(name):
    """default_factory of a family section: the DEFAULT_ARCH family's class, with its defaults."""
    return lambda: section_classes(DEFAULT_ARCH)[name]()


@dataclass(frozen=True)
class Config:
    """A whole experiment. ``model``, ``train`` and ``track`` are instances of the classes
    the family ``model.arch`` declares (checked here, so a hand-built Config cannot mix
    families); build one with :func:`load_config`, :func:`replace` or ``Config()``."""
    version: int = CONFIG_VERSION
    name: str = "siamrpn_alex_dw"
    model: ModelConfig = field(default_factory=_default_section("model"))
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=_default_section("train"))
    track: TrackConfig = field(default_factory=_default_section("track"))

    def __post_init__(self):
        if not isinstance(self.model, ModelConfig):
            raise ConfigError(f"config section 'model' must be a ModelConfig, got {type(self.model).__name__}")
        classes = section_classes(self.model.arch)
        for name, cls in classes.items():
            if type(getattr(self, name)) is not cls:
                raise ConfigError(f"config section '{name}' is a {type(getattr(self, name)).__name__}; "
                                  f"model.arch {self.model.arch} takes {cls.__name__}")

    def to_dict(self):
        return _to_plain(self)


def section_classes(arch):
    """{'model': cls, 'train': cls, 'track': cls} of the family ``arch`` (its
    ``config_sections``); ConfigError naming ``model.arch`` for an unknown one."""
    from .models.registry import families, get_family
    if not isinstance(arch, str):
        raise ConfigError(f"config key 'model.arch' must be a string, got {arch!r}")
    try:
        family = get_family(arch)
    except ValueError:
        raise ConfigError(f"config key 'model.arch' must be one of {', '.join(families())}, got {arch!r}") from None
    sections = dict(family.config_sections or {})
    missing = [s for s in SECTIONS if s not in sections]
    if missing:
        raise ConfigError(f"tracker family '{arch}' declares no config section {', '.join(missing)} "
                          "(Family.config_sections)")
    if sections["model"].__dataclass_fields__["arch"].default != arch:   # its default must name itself
        raise ConfigError(f"tracker family '{arch}': its model section {sections['model'].__name__} has "
                          f"arch default {sections['model'].__dataclass_fields__['arch'].default!r}")
    return {s: sections[s] for s in SECTIONS}


def _config_types(arch):
    """{top-level key: type} of a Config of the family ``arch``."""
    return {**_field_types(Config), **section_classes(arch)}


@functools.lru_cache(maxsize=None)
def _field_types(cls):
    """{field name: type} of a config dataclass (cached: every build and override asks)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _has_key(types, dotted):
    """Whether the schema ``types`` ({key: type} of the top level) has the dotted key."""
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if part not in types:
            return False
        tp = types[part]
        if i < len(parts) - 1:
            if _is_mapping_type(tp):
                return True
            if not dataclasses.is_dataclass(tp):
                return False
            types = _field_types(tp)
    return True


def _unknown_key(full, arch):
    """The message for an unknown key; in a family section it says which family lacks it
    and which families have it (a key of another family's section is the likely mistake)."""
    if arch is None or full.split(".")[0] not in SECTIONS:
        return f"unknown config key '{full}'"
    from .models.registry import families
    others = [name for name in families() if name != arch and _has_key(_config_types(name), full)]
    having = f"; {', '.join(others)} {'has' if len(others) == 1 else 'have'} it" if others else ""
    return f"unknown config key '{full}' (model.arch {arch} has no such key{having})"


# ----------------------------------------------------------------------------
# version 1 -> 2

# Every key of the model, train and track sections in version 1 (one class per section,
# all families' keys in it; ``data`` and ``name`` are unchanged in version 2). Migration
# drops those of them that the family's version-2 sections lack; a key not listed here
# (a typo in a user's file) stays and is an unknown key as before.
V1_KEYS = (
    "model.arch", "model.backbone", "model.width_mult", "model.head", "model.feature_channels",
    "model.refine", "model.anchor", "model.anchor.stride", "model.anchor.ratios", "model.anchor.scales",
    "model.response_scale", "model.response_bias",
    "train.exemplar_size", "train.search_size", "train.output_size", "train.batch_size", "train.epochs",
    "train.lr", "train.lr.warmup_epochs", "train.lr.warmup_start", "train.lr.warmup_end", "train.lr.start",
    "train.lr.end", "train.momentum", "train.weight_decay", "train.grad_clip", "train.max_loss",
    "train.cls_weight", "train.loc_weight", "train.mask_weight", "train.thr_high", "train.thr_low",
    "train.pos_num", "train.total_num", "train.neg_num", "train.frozen_layers", "train.unfreeze_layers",
    "train.unfreeze_epoch", "train.backbone_lr_mult", "train.frozen_modules", "train.pretrained",
    "train.init_from", "train.seed", "train.log_interval", "train.lr_scaling", "train.reference_batch",
    "train.amp_level", "train.loss_scale", "train.loss_scale_dynamic", "train.loss_scale_window",
    "track.exemplar_size", "track.instance_size", "track.base_size", "track.context_amount",
    "track.penalty_k", "track.window_influence", "track.lr", "track.seg_thr", "track.out_size",
    "track.scale_num", "track.scale_step", "track.scale_penalty", "track.scale_lr", "track.response_up",
)


def _version_of(data):
    version = data.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ConfigError(f"config key 'version' must be an integer, got {version!r}")
    if version > CONFIG_VERSION:
        raise ConfigError(f"config version {version} is newer than this code ({CONFIG_VERSION}); update the code")
    if version < 1:
        raise ConfigError(f"config key 'version' must be 1 or {CONFIG_VERSION}, got {version}")
    return version


def _drop_keys(data, keys, types):
    """Remove from the plain tree ``data`` the dotted ``keys`` that the schema ``types`` lacks."""
    for dotted in keys:
        if _has_key(types, dotted):
            continue
        *parents, last = dotted.split(".")
        node = data
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)


def migrate(data, arch=None):
    """Plain config data of any known version -> version-2 data (a new tree; ``data`` is
    not changed). ``arch``: the family to migrate for (default: the data's model.arch, or
    the default family); load functions pass the one the overrides choose.

    Version 1 -> 2: the version-1 keys the family's sections lack are dropped (version 1
    wrote every family's keys into every config), ``train.pretrained: "x.ckpt"`` becomes
    ``{backbone: x.ckpt}`` (``""``: ``{}``), and ``version: 2`` is set. A newer version
    than this code's is a ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError(f"config must be a mapping, got {type(data).__name__}")
    version = _version_of(data)
    data = copy.deepcopy(data)
    if version == CONFIG_VERSION:
        return data
    if arch is None:
        arch = _arch_of(data, ())
    _drop_keys(data, V1_KEYS, _config_types(arch))
    train = data.get("train")
    if isinstance(train, dict) and isinstance(train.get("pretrained"), str):
        path = train["pretrained"]
        train["pretrained"] = {"backbone": path} if path.strip() else {}
    data.pop("version", None)
    return {"version": CONFIG_VERSION, **data}


# ----------------------------------------------------------------------------
# building typed objects from plain YAML data

def _to_plain(obj):
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple):
        return [_to_plain(v) for v in obj]
    if isinstance(obj, collections.abc.Mapping):
        return {k: _to_plain(v) for k, v in obj.items()}
    return obj


def _coerce(value, tp, key, arch):
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a mapping, got {type(value).__name__}")
        return _build(tp, value, key, arch)
    if _is_mapping_type(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a mapping, got {value!r}")
        item_tp = typing.get_args(tp)[1]
        out = {}
        for name, item in value.items():
            if not isinstance(name, str) or not name.strip() or name != name.strip(". "):
                raise ConfigError(f"config key '{key}' has a key {name!r}; keys must be names (a.b.c)")
            out[name] = _coerce(item, item_tp, f"{key}.{name}", arch)
        return FrozenMap(out)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{key}' must be a list, got {type(value).__name__}")
        item_tp = typing.get_args(tp)[0]
        return tuple(_coerce(v, item_tp, f"{key}[{i}]", arch) for i, v in enumerate(value))
    if tp is float:
        if not is_json_number(value):
            raise ConfigError(f"config key '{key}' must be a number, got {value!r}")
        try:
            return float(value)
        except OverflowError:   # an integer beyond float range
            raise ConfigError(f"config key '{key}' must be a finite number, got {value}") from None
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key '{key}' must be an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config key '{key}' must be true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"config key '{key}' must be a string, got {value!r}")
        return value
    raise ConfigError(f"config key '{key}': unsupported type {tp}")


def sub_dataset_folder(sub):
    """The folder of a sub-dataset under --data_path: its crop folder's parent (``vid`` for
    ``vid/crop511``), '' when the crop folder lies at the top."""
    folder = os.path.dirname(os.path.normpath(sub.root))
    return "" if folder in ("", ".") else folder.replace(os.sep, "/")


def sub_dataset_listing(subs):
    """'VID (vid/), COCO (coco/)': the sub-datasets as messages name them."""
    return ", ".join(f"{s.name} ({sub_dataset_folder(s)}/)" if sub_dataset_folder(s) else s.name for s in subs)


def _only_names(value):
    """data.only as given: a list, or one comma-separated string (``--data.only vid,coco``)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [] if value is None else value    # ``--data.only ''`` reads as YAML null: all


def _select(train, only, key):
    """The sub-datasets of ``train`` that ``only`` names (by name or folder, any case), in
    ``train``'s order; ConfigError naming the first name that matches none."""
    def matches(sub, wanted):
        folder = sub_dataset_folder(sub).lower()
        return wanted in (sub.name.lower(), folder, folder.rsplit("/", 1)[-1])

    wanted = [w.strip().strip("/").lower() for w in only]
    for w, raw in zip(wanted, only):
        if not any(matches(sub, w) for sub in train):
            raise ConfigError(f"config key '{key}' names '{raw}', which is not in data.train "
                              f"(configured: {sub_dataset_listing(train) or 'none'})")
    return tuple(sub for sub in train if any(matches(sub, w) for w in wanted))


def _arch_of(data, overrides):
    """model.arch as the overrides leave it (the last of ``--model.arch`` / ``--model
    {arch: ...}``), else the data's, else DEFAULT_ARCH; not yet checked."""
    model = data.get("model") if isinstance(data, dict) else None
    arch = model.get("arch", DEFAULT_ARCH) if isinstance(model, dict) else DEFAULT_ARCH
    for key, value in overrides:
        if key == "model.arch":
            arch = value
        elif key == "model" and isinstance(value, dict) and "arch" in value:
            arch = value["arch"]
    return arch


def _build(cls, data, prefix="", arch=None):
    if cls is Config:
        arch = _arch_of(data, ())
        types = _config_types(arch)
    else:
        types = _field_types(cls)
    for key in data:
        if key not in types:
            raise ConfigError(_unknown_key(_join(prefix, str(key)), arch))
    if cls is DataConfig and "only" in data:
        data = {**data, "only": _only_names(data["only"])}
    kwargs = {k: _coerce(v, types[k], _join(prefix, k), arch) for k, v in data.items()}
    if cls is Config:
        if kwargs.get("version", CONFIG_VERSION) != CONFIG_VERSION:
            raise ConfigError(f"config key 'version' must be {CONFIG_VERSION} (this code's config version), "
                              f"got {kwargs['version']}")
        for name in SECTIONS:   # sections the data leaves out: the family's defaults
            kwargs.setdefault(name, types[name]())
    obj = cls(**kwargs)
    if cls is Config:
        _check_config(obj)
    else:
        check_values(obj, prefix, recursive=False)
    if cls is DataConfig and obj.only:
        obj = dataclasses.replace(obj, train=_select(obj.train, obj.only, _join(prefix, "only")))
    return obj


def _check_config(cfg):
    """Checks across the whole config (each section checked itself as it was built)."""
    names = [d.name for d in cfg.data.train]
    for name in names:
        if names.count(name) > 1:   # the per-sub-dataset counts and messages go by name
            raise ConfigError(f"config key 'data.train' names sub-dataset '{name}' twice")


def _set_dotted(tree, dotted, value, root_types, arch):
    """Set the dotted key in the plain tree ``tree`` (schema ``root_types``: {key: type} of
    its top level). A mapping value for a section merges key by key; a dotted key into a
    ``Mapping`` field sets one entry, its key the rest of the path (cell prefixes have dots)."""
    parts = dotted.split(".")
    node, types = tree, root_types
    for i, part in enumerate(parts):
        key = ".".join(parts[:i + 1])
        if part not in types:
            raise ConfigError(f"{_unknown_key(key, arch)} (from --{dotted})")
        tp = types[part]
        if i == len(parts) - 1:
            if isinstance(value, dict) and dataclasses.is_dataclass(tp):
                for sub_key, sub in value.items():   # a mapping merges key by key, like dotted overrides
                    _set_dotted(tree, f"{dotted}.{sub_key}", sub, root_types, arch)
                return
            node[part] = value   # a Mapping field's value replaces the whole mapping
            return
        if _is_mapping_type(tp):
            entries = node.setdefault(part, {})
            if not isinstance(entries, dict):
                raise ConfigError(f"config key '{key}' must be a mapping")
            entries[".".join(parts[i + 1:])] = value
            return
        if not dataclasses.is_dataclass(tp):
            raise ConfigError(f"config key '{key}' has no sub-keys (from --{dotted})")
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"config key '{key}' must be a mapping")
        types = _field_types(tp)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 floats: YAML 1.1 wants a dot in a float, so
    ``lr: 5e-05`` would be the string '5e-05' (and a type error) with plain ``safe_load``."""


class _Dumper(yaml.SafeDumper):
    """The writer matching ``_Loader``: a string that ``_Loader`` would read as a float
    (a config named '1e5') is quoted, so to_yaml text always reads back the same."""


for _cls in (_Loader, _Dumper):
    _cls.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                       |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                       |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                       |[-+]?\.(?:inf|Inf|INF)
                       |\.(?:nan|NaN|NAN))$""", re.X),
        list("-+0123456789."))


def _load_yaml(stream):
    return yaml.load(stream, Loader=_Loader)


def _parse_value(raw):
    """A command-line value, read as YAML (numbers, lists, mappings); left as text if it is not YAML."""
    try:
        return _load_yaml(raw)
    except yaml.YAMLError:
        return raw


def parse_overrides(args):
    """['--train.batch_size', '16', '--a.b=3'] -> [('train.batch_size', 16), ('a.b', 3)].

    Values are parsed as YAML, so ``[1, 2]``, ``true`` and ``1e-3`` work.
    """
    out = []
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) == 2:
            raise ConfigError(f"unexpected argument '{arg}' (overrides look like --train.batch_size 16)")
        if "=" in arg:
            key, raw = arg[2:].split("=", 1)
            i += 1
        else:
            if i + 1 >= len(args):
                raise ConfigError(f"override '{arg}' has no value")
            key, raw = arg[2:], args[i + 1]
            i += 2
        out.append((key, _parse_value(raw)))
    return out


def flatten(tree, prefix=""):
    """{dotted key: leaf value} of a plain nested dict (a config as Config.to_dict gives it,
    a record of eval.json); lists are leaves."""
    out = {}
    for key, value in tree.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out.update(flatten(value, dotted))
        else:
            out[dotted] = value
    return out


def differences(old, new):
    """[(dotted key, old value, new value)] where two plain nested dicts differ: ``new``'s keys in
    order, then those only ``old`` has; a key one of them lacks shows as "<unset>"."""
    a, b = flatten(old), flatten(new)
    keys = list(b) + [k for k in a if k not in b]
    return [(k, a.get(k, "<unset>"), b.get(k, "<unset>")) for k in keys
            if a.get(k, "<unset>") != b.get(k, "<unset>")]


def to_yaml(cfg):
    """The whole config as YAML text (stored inside checkpoints), ``version`` first."""
    return yaml.dump(cfg.to_dict(), Dumper=_Dumper, sort_keys=False)


def config_from_text(text, overrides=(), source="<checkpoint>"):
    """Parse YAML text (e.g. a checkpoint's embedded config, any version) into a Config."""
    try:
        data = _load_yaml(text) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"invalid YAML in {source}: {e}") from None
    return config_from_dict(data, overrides, source)


def config_from_dict(data, overrides=(), source="<dict>"):
    """Build a Config from plain data of any version (e.g. ``Config.to_dict()`` stored in
    an export's JSON)."""
    if not isinstance(data, dict):
        raise ConfigError(f"config in {source} must be a mapping")
    return _build_with_overrides(data, overrides, source)


def _build_with_overrides(data, overrides, source=None):
    """Migrate plain YAML data to this version, apply the dotted overrides and build the
    Config; errors name ``source``. The family (``model.arch``, overrides included) is
    known first: it decides what migration keeps and which keys the overrides may set."""
    try:
        arch = _arch_of(data, overrides)
        section_classes(arch)
        data = migrate(data, arch)
        types = _config_types(arch)
        for key, value in overrides:
            _set_dotted(data, key, value, types, arch)
        return _build(Config, data)
    except ConfigError as e:
        if source:
            raise ConfigError(f"{source}: {e}") from None
        raise


def load_config(path=None, overrides=()):
    """Load ``path`` (YAML, any version) and apply ``overrides`` [(dotted_key, value)]."""
    data = {}
    if path:
        if not os.path.isfile(path):
            raise ConfigError(f"config file not found: {path}")
        try:
            with open(path, "r", encoding="utf-8") as f:
                data = _load_yaml(f) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f":{mark.line + 1}" if mark else ""
            raise ConfigError(f"invalid YAML in {path}{where}: {getattr(e, 'problem', e)}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return _build_with_overrides(data, overrides, path)


def replace(cfg, **dotted):
    """Copy of ``cfg`` with dotted keys replaced: ``replace(cfg, **{'train.epochs': 2})``.

    A new ``model.arch`` keeps the values ``cfg`` changed from its family's defaults in
    the keys the new family has too, and takes the new family's defaults for the rest
    (``replace(Config(), **{'model.arch': 'siamfc'})`` is SiamFC's defaults)."""
    data = cfg.to_dict()
    arch = _arch_of(data, dotted.items())
    types = _config_types(arch)
    if arch != cfg.model.arch:
        _drop_keys(data, _schema_keys(_config_types(cfg.model.arch)), types)
        old = {name: cls() for name, cls in section_classes(cfg.model.arch).items()}
        for name in SECTIONS:
            _drop_equal(data[name], _to_plain(old[name]))
        data["model"]["arch"] = arch
    for key, value in dotted.items():
        _set_dotted(data, key, value, types, arch)
    return _build(Config, data)


def _drop_equal(tree, defaults):
    """Remove from the plain tree the keys whose value equals the one in ``defaults``."""
    for key in [k for k in tree if k in defaults]:
        if isinstance(tree[key], dict) and isinstance(defaults[key], dict):
            _drop_equal(tree[key], defaults[key])
        elif tree[key] == defaults[key]:
            del tree[key]


def _schema_keys(types, prefix=""):
    """Every dotted key of the schema ``types``, sections before their keys."""
    keys = []
    for name, tp in types.items():
        key = _join(prefix, name)
        keys.append(key)
        if dataclasses.is_dataclass(tp):
            keys += _schema_keys(_field_types(tp), key)
    return keys

"""Experiment configuration: one YAML file per experiment in ``configs/``.

The YAML is read into frozen dataclasses (typed, nested, immutable); defaults
below are pysot's SiamRPN-AlexNet values, so a YAML file only states what its
experiment changes. Overrides come from the command line as dotted keys
(``--train.batch_size 16``). There is no module-level mutable config: callers
pass the ``Config`` object they loaded.
"""
import copy
import dataclasses
import math
import os
import re
import typing
from dataclasses import dataclass, field
from typing import Tuple

import yaml

from .utils import is_json_number


class ConfigError(ValueError):
    """A bad config file, key or value; the message names it on one line."""


# choices of string keys checked at load time (train.py, eval.py and export read them)
AMP_LEVELS = ("O0", "O2", "O3")
LR_SCALING = ("none", "linear", "sqrt")


@dataclass(frozen=True)
class AnchorConfig:
    stride: int = 8
    ratios: Tuple[float, ...] = (0.33, 0.5, 1.0, 2.0, 3.0)
    scales: Tuple[float, ...] = (8.0,)

    @property
    def num(self):
        return len(self.ratios) * len(self.scales)


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "siamrpn"            # siamrpn | siammask | siamfc
    backbone: str = "alexnet"        # alexnet | resnet50 (SiamMask) | alexnet_v1 (SiamFC)
    width_mult: float = 1.0
    head: str = "depthwise"          # depthwise | upchannel
    feature_channels: int = 256
    refine: bool = False             # SiamMask: build the refine module ("sharp" models)
    anchor: AnchorConfig = field(default_factory=AnchorConfig)
    # --- SiamFC (src/models/siamfc.py) ---
    response_scale: float = 0.001    # head: response_scale * xcorr (siamfc-pytorch out_scale)
    response_bias: bool = False      # + a learned scalar bias (SiamFC-TensorFlow, MatConvNet); reference: none


@dataclass(frozen=True)
class AugConfig:
    shift: float = 0.0
    scale: float = 0.0
    blur: float = 0.0
    flip: float = 0.0
    color: float = 1.0


@dataclass(frozen=True)
class SubDatasetConfig:
    name: str = ""
    root: str = ""          # crop511 folder, relative to --data_path
    anno: str = ""          # index JSON, relative to --data_path
    frame_range: int = 100
    num_use: int = -1       # pairs drawn from this sub-dataset per epoch; -1 = one per video
    has_mask: bool = False  # SiamMask: crops have <frame>.<track>.m.png masks (YouTube-VOS, COCO)


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
    template_aug: AugConfig = field(default_factory=lambda: AugConfig(4, 0.05, 0.0, 0.0, 1.0))
    search_aug: AugConfig = field(default_factory=lambda: AugConfig(64, 0.18, 0.2, 0.0, 1.0))
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


@dataclass(frozen=True)
class LRConfig:
    warmup_epochs: int = 5
    warmup_start: float = 0.005
    warmup_end: float = 0.01
    start: float = 0.01
    end: float = 0.0005


@dataclass(frozen=True)
class TrainConfig:
    exemplar_size: int = 127
    search_size: int = 255
    output_size: int = 17
    batch_size: int = 128
    epochs: int = 50
    lr: LRConfig = field(default_factory=LRConfig)
    momentum: float = 0.9
    weight_decay: float = 1e-4
    grad_clip: float = 10.0
    max_loss: float = 1e4           # steps with a larger (or non-finite) loss are skipped
    cls_weight: float = 1.0
    loc_weight: float = 1.2
    mask_weight: float = 36.0       # SiamMask mask loss weight (unused by SiamRPN)
    thr_high: float = 0.6
    thr_low: float = 0.3
    pos_num: int = 16
    total_num: int = 64
    neg_num: int = 16               # negatives kept for a negative pair (pysot TRAIN.NEG_NUM)
    # backbone layers (layer1..layer5) frozen at the start and trained from unfreeze_epoch on
    frozen_layers: Tuple[str, ...] = ("layer1", "layer2", "layer3", "layer4", "layer5")
    unfreeze_layers: Tuple[str, ...] = ("layer4", "layer5")
    unfreeze_epoch: int = 10
    backbone_lr_mult: float = 1.0
    # network cells (dotted names, e.g. rpn_head or mask_head.head) fixed for the whole run,
    # BatchNorm in inference mode (SiamMask sharp stage: backbone, neck, rpn_head)
    frozen_modules: Tuple[str, ...] = ()
    pretrained: str = ""            # backbone checkpoint (.ckpt) loaded before training
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


@dataclass(frozen=True)
class TrackConfig:
    exemplar_size: int = 127
    instance_size: int = 287
    base_size: int = 0
    context_amount: float = 0.5
    penalty_k: float = 0.16
    window_influence: float = 0.40
    lr: float = 0.30
    seg_thr: float = 0.30           # SiamMask: threshold on the sigmoid mask
    out_size: int = 127             # SiamMask: side of the (refined) mask in the search crop
    # --- SiamFC (siamfc-pytorch TrackerSiamFC.parse_args; instance_size 255, window_influence 0.176) ---
    scale_num: int = 3              # search scales per frame, one batch
    scale_step: float = 1.0375      # scale factors scale_step ** (k - scale_num // 2)
    scale_penalty: float = 0.9745   # multiplies the responses of the scales other than 1
    scale_lr: float = 0.59          # size update rate
    response_up: int = 16           # bicubic upsampling of the response map


@dataclass(frozen=True)
class Config:
    name: str = "siamrpn_alex_dw"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    track: TrackConfig = field(default_factory=TrackConfig)

    def to_dict(self):
        return _to_plain(self)


# ----------------------------------------------------------------------------
# value ranges, checked when a config is built (file, overrides, a checkpoint's
# embedded config), so a bad value stops before any model, data or output exists

@dataclass(frozen=True)
class _Range:
    """``low``/``high`` bounds (``open_low``: strictly above ``low``); ``also``: extra
    allowed values outside them (num_use -1); ``choices`` for strings; floats must be
    finite unless ``inf_ok``; ``non_empty`` strings / lists. For tuples the bounds apply
    to every item."""
    low: float = None
    high: float = None
    open_low: bool = False
    also: Tuple = ()
    choices: Tuple[str, ...] = ()
    inf_ok: bool = False
    non_empty: bool = False

    def problem(self, value):
        """What is wrong with one value (None when it is fine)."""
        if isinstance(value, str) and not self.choices:
            return None
        if self.choices:
            return None if value in self.choices else f"must be one of {', '.join(self.choices)}"
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


_POSITIVE_INT, _NON_NEGATIVE = _Range(low=1), _Range(low=0)
_POSITIVE, _SHARE = _Range(low=0, open_low=True), _Range(low=0, high=1)
_NAME = _Range(non_empty=True)

_RANGES = {
    "AnchorConfig": {"stride": _POSITIVE_INT, "ratios": _Range(low=0, open_low=True, non_empty=True),
                     "scales": _Range(low=0, open_low=True, non_empty=True)},
    "ModelConfig": {"width_mult": _POSITIVE, "feature_channels": _POSITIVE_INT, "response_scale": _POSITIVE},
    "AugConfig": {"shift": _NON_NEGATIVE, "scale": _Range(low=0, high=0.99), "blur": _SHARE,
                  "flip": _SHARE, "color": _SHARE},
    "SubDatasetConfig": {"name": _NAME, "root": _NAME, "anno": _NAME, "frame_range": _POSITIVE_INT,
                         "num_use": _Range(low=1, also=(-1,))},
    "DataConfig": {"neg": _SHARE, "gray": _SHARE, "videos_per_epoch": _NON_NEGATIVE,
                   "num_workers": _NON_NEGATIVE, "val_pairs": _NON_NEGATIVE, "max_bad_image_share": _SHARE},
    "LRConfig": {"warmup_epochs": _NON_NEGATIVE, "warmup_start": _POSITIVE, "warmup_end": _POSITIVE,
                 "start": _POSITIVE, "end": _POSITIVE},
    "TrainConfig": {
        "exemplar_size": _POSITIVE_INT, "search_size": _POSITIVE_INT, "output_size": _POSITIVE_INT,
        "batch_size": _POSITIVE_INT, "epochs": _POSITIVE_INT, "momentum": _Range(low=0, high=0.999999),
        "weight_decay": _NON_NEGATIVE, "grad_clip": _POSITIVE, "max_loss": _Range(low=0, open_low=True, inf_ok=True),
        "cls_weight": _NON_NEGATIVE, "loc_weight": _NON_NEGATIVE, "mask_weight": _NON_NEGATIVE,
        "thr_high": _SHARE, "thr_low": _SHARE, "pos_num": _POSITIVE_INT, "total_num": _POSITIVE_INT,
        "neg_num": _NON_NEGATIVE, "unfreeze_epoch": _NON_NEGATIVE, "backbone_lr_mult": _NON_NEGATIVE,
        "seed": _Range(low=0, high=2 ** 63 - 1), "log_interval": _POSITIVE_INT,
        "lr_scaling": _Range(choices=LR_SCALING), "reference_batch": _NON_NEGATIVE,
        "amp_level": _Range(choices=AMP_LEVELS), "loss_scale": _POSITIVE, "loss_scale_window": _POSITIVE_INT},
    "TrackConfig": {"exemplar_size": _POSITIVE_INT, "instance_size": _POSITIVE_INT, "base_size": _NON_NEGATIVE,
                    "context_amount": _NON_NEGATIVE, "penalty_k": _NON_NEGATIVE, "window_influence": _SHARE,
                    "lr": _SHARE, "seg_thr": _SHARE, "out_size": _POSITIVE_INT,
                    "scale_num": _POSITIVE_INT, "scale_step": _Range(low=1), "scale_penalty": _SHARE,
                    "scale_lr": _SHARE, "response_up": _POSITIVE_INT},
}
# (key a, key b): a <= b, checked on the whole config
_ORDERED = (("train.thr_low", "train.thr_high"), ("train.pos_num", "train.total_num"),
            ("train.neg_num", "train.total_num"), ("train.exemplar_size", "train.search_size"),
            ("track.exemplar_size", "track.instance_size"))


def _check_ranges(cls, obj, prefix):
    for name, rule in _RANGES.get(cls.__name__, {}).items():
        key = f"{prefix}.{name}" if prefix else name
        value = getattr(obj, name)
        if rule.non_empty and not (value.strip() if isinstance(value, str) else value):
            raise ConfigError(f"config key '{key}' must not be empty")
        items = value if isinstance(value, tuple) else (value,)
        for i, item in enumerate(items):
            problem = rule.problem(item)
            if problem:
                where = f"{key}[{i}]" if isinstance(value, tuple) else key
                raise ConfigError(f"config key '{where}' {problem}, got {item!r}")


def _check_order(cfg):
    for low_key, high_key in _ORDERED:
        low, high = (_get_dotted(cfg, k) for k in (low_key, high_key))
        if low > high:
            raise ConfigError(f"config key '{low_key}' ({low}) must not exceed '{high_key}' ({high})")
    names = [d.name for d in cfg.data.train]
    for name in names:
        if names.count(name) > 1:   # the per-sub-dataset counts and messages go by name
            raise ConfigError(f"config key 'data.train' names sub-dataset '{name}' twice")


def _get_dotted(obj, dotted):
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


# ----------------------------------------------------------------------------
# building typed objects from plain YAML data

def _to_plain(obj):
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple):
        return [_to_plain(v) for v in obj]
    return obj


def _coerce(value, tp, key):
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a mapping, got {type(value).__name__}")
        return _build(tp, value, key)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{key}' must be a list, got {type(value).__name__}")
        item_tp = typing.get_args(tp)[0]
        return tuple(_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value))
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


def _build(cls, data, prefix=""):
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            full = f"{prefix}.{key}" if prefix else str(key)
            raise ConfigError(f"unknown config key '{full}'")
    if cls is DataConfig and "only" in data:
        data = {**data, "only": _only_names(data["only"])}
    kwargs = {k: _coerce(v, hints[k], f"{prefix}.{k}" if prefix else k) for k, v in data.items()}
    obj = cls(**kwargs)
    _check_ranges(cls, obj, prefix)
    if cls is DataConfig and obj.only:
        obj = dataclasses.replace(obj, train=_select(obj.train, obj.only, f"{prefix}.only" if prefix else "only"))
    if cls is Config:
        _check_order(obj)
    return obj


def _set_dotted(tree, dotted, value):
    parts = dotted.split(".")
    node, cls = tree, Config
    for i, part in enumerate(parts):
        hints = typing.get_type_hints(cls) if dataclasses.is_dataclass(cls) else {}
        if part not in hints:
            raise ConfigError(f"unknown config key '{'.'.join(parts[:i + 1])}' (from --{dotted})")
        if i == len(parts) - 1:
            if isinstance(value, dict) and dataclasses.is_dataclass(hints[part]):
                for key, sub in value.items():   # a mapping merges key by key, like dotted overrides
                    _set_dotted(tree, f"{dotted}.{key}", sub)
                return
            node[part] = value
            return
        cls = hints[part]
        if not dataclasses.is_dataclass(cls):
            raise ConfigError(f"config key '{'.'.join(parts[:i + 1])}' has no sub-keys (from --{dotted})")
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"config key '{'.'.join(parts[:i + 1])}' must be a mapping")


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


def to_yaml(cfg):
    """The whole config as YAML text (stored inside checkpoints)."""
    return yaml.dump(cfg.to_dict(), Dumper=_Dumper, sort_keys=False)


def config_from_text(text, overrides=(), source="<checkpoint>"):
    """Parse YAML text (e.g. a checkpoint's embedded config) into a Config."""
    try:
        data = _load_yaml(text) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"invalid YAML in {source}: {e}") from None
    return config_from_dict(data, overrides, source)


def config_from_dict(data, overrides=(), source="<dict>"):
    """Build a Config from plain data (e.g. ``Config.to_dict()`` stored in an export's JSON)."""
    if not isinstance(data, dict):
        raise ConfigError(f"config in {source} must be a mapping")
    return _build_with_overrides(copy.deepcopy(data), overrides, source)


def _build_with_overrides(data, overrides, source=None):
    """Apply dotted overrides to plain YAML data and build the Config; errors name ``source``."""
    for key, value in overrides:
        _set_dotted(data, key, value)
    try:
        return _build(Config, data)
    except ConfigError as e:
        if source:
            raise ConfigError(f"{source}: {e}") from None
        raise


def load_config(path=None, overrides=()):
    """Load ``path`` (YAML) and apply ``overrides`` [(dotted_key, value)]."""
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
    """Copy of ``cfg`` with dotted keys replaced: ``replace(cfg, **{'train.epochs': 2})``."""
    data = cfg.to_dict()
    for key, value in dotted.items():
        _set_dotted(data, key, value)
    return _build(Config, data)

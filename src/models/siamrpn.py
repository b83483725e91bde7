"""SiamRPN network: ``template(z)`` once per target, ``track(x, k_cls, k_loc)``
per frame (run through the cells of split.py), ``construct(z, x)`` for training.
"""
from dataclasses import dataclass, field
from typing import ClassVar, Tuple

from mindspore import nn

from ..config import NON_NEGATIVE, POSITIVE_INT, SHARE, ModelConfig, Range, TrackConfig, TrainConfig
from .backbone import build_backbone
from .head import RPN_HEADS, build_rpn_head
from .registry import Family, GraphSpec, register


# -- config sections (src/config.py; the family record names them): keys, defaults, checks -----

@dataclass(frozen=True)
class AnchorConfig:
    stride: int = 8
    ratios: Tuple[float, ...] = (0.33, 0.5, 1.0, 2.0, 3.0)
    scales: Tuple[float, ...] = (8.0,)

    RANGES: ClassVar[dict] = {"stride": POSITIVE_INT, "ratios": Range(low=0, open_low=True, non_empty=True),
                              "scales": Range(low=0, open_low=True, non_empty=True)}

    @property
    def num(self):
        return len(self.ratios) * len(self.scales)


@dataclass(frozen=True)
class SiamRPNModelConfig(ModelConfig):
    head: str = "depthwise"          # depthwise | upchannel
    feature_channels: int = 256
    anchor: AnchorConfig = field(default_factory=AnchorConfig)

    # the RPN heads take one feature map: AlexNet's (ResNet-50 gives four, SiamMask's neck adapts them)
    RANGES: ClassVar[dict] = {"backbone": Range(choices=("alexnet",)), "head": Range(choices=tuple(sorted(RPN_HEADS))),
                              "feature_channels": POSITIVE_INT}


@dataclass(frozen=True)
class SiamRPNTrainConfig(TrainConfig):
    """Loss weights and anchor-target sampling (pysot TRAIN.*, src/data/anchor_target.py)."""
    cls_weight: float = 1.0
    loc_weight: float = 1.2
    thr_high: float = 0.6
    thr_low: float = 0.3
    pos_num: int = 16
    total_num: int = 64
    neg_num: int = 16               # negatives kept for a negative pair (pysot TRAIN.NEG_NUM)

    RANGES: ClassVar[dict] = {"cls_weight": NON_NEGATIVE, "loc_weight": NON_NEGATIVE, "thr_high": SHARE,
                              "thr_low": SHARE, "pos_num": POSITIVE_INT, "total_num": POSITIVE_INT,
                              "neg_num": NON_NEGATIVE}
    ORDERED: ClassVar[tuple] = (("thr_low", "thr_high"), ("pos_num", "total_num"), ("neg_num", "total_num"))


@dataclass(frozen=True)
class SiamRPNTrackConfig(TrackConfig):
    """pysot's tracker hyperparameters (window_influence 0.40: the common section's default).

    ``long_term``: pysot's SiamRPNLTTracker (src/tracker/siamrpn_lt_tracker.py; SiamRPN only, on
    the MindSpore Cell back-end): below ``confidence_low`` the target stays put and the next
    searches crop ``lost_instance_size`` with the window weighed ``lost_window_influence``,
    until a frame scores above ``confidence_high``. Defaults: pysot/core/config.py's
    (TRACK.LOST_INSTANCE_SIZE, CONFIDENCE_LOW, CONFIDENCE_HIGH; 0.001 is the constant of its
    tracker's lost branch); configs/siamrpn_alex_dw_lt.yaml has its VOT-LT preset."""
    base_size: int = 0
    penalty_k: float = 0.16
    lr: float = 0.30
    long_term: bool = False
    lost_instance_size: int = 831
    confidence_low: float = 0.85
    confidence_high: float = 0.998
    lost_window_influence: float = 0.001

    RANGES: ClassVar[dict] = {"base_size": NON_NEGATIVE, "penalty_k": NON_NEGATIVE, "lr": SHARE,
                              "lost_instance_size": POSITIVE_INT, "confidence_low": SHARE,
                              "confidence_high": SHARE, "lost_window_influence": SHARE}
    ORDERED: ClassVar[tuple] = (("instance_size", "lost_instance_size"), ("confidence_low", "confidence_high"))


class SiamRPN(nn.Cell):
    def __init__(self, model_cfg):
        super().__init__()
        self.backbone = build_backbone(model_cfg)
        self.rpn_head = build_rpn_head(model_cfg, self.backbone.out_channels)

    def template(self, z):
        return self.rpn_head.template(self.backbone(z))

    def track(self, x, k_cls, k_loc):
        return self.rpn_head.track(self.backbone(x), k_cls, k_loc)

    def construct(self, z, x):
        k_cls, k_loc = self.template(z)
        return self.track(x, k_cls, k_loc)


# -- the SiamRPN family (src/models/registry.py); factories import lazily, see there -----------

def _tracker(cfg, backend):
    if cfg.track.long_term:
        from ..tracker.siamrpn_lt_tracker import SiamRPNLTTracker
        return SiamRPNLTTracker(backend, cfg.track, cfg.model.anchor)
    from ..tracker.siamrpn_tracker import SiamRPNTracker
    return SiamRPNTracker(backend, cfg.track, cfg.model.anchor)


def _loss(cfg, network):
    from ..training.loss import rpn_loss_cell
    return rpn_loss_cell(cfg, network)


def _targets(cfg, split):
    from ..data.anchor_target import RPNTargets
    return RPNTargets(cfg)


def anchor_label_bytes(cfg):
    """Bytes of label_cls, label_loc (4 maps) and label_loc_weight: 6 (A, S, S) maps of 4 bytes."""
    return 6 * cfg.model.anchor.num * cfg.train.output_size ** 2 * 4


def _validator(cfg, network, loss_cell):
    from ..training.validate import rpn_validator
    return rpn_validator(cfg, network, loss_cell)


def anchor_graphs(cfg, kernels, search_outputs):
    """The template and search graphs of an anchor family (SiamRPN, SiamMask): ``kernels``
    correlation kernels from a (1, 3, exemplar, exemplar) crop, then the search graph on one
    (1, 3, instance, instance) crop with them."""
    from .split import SearchNet, TemplateNet
    t = cfg.track
    names = tuple(f"kernel{i}" for i in range(kernels))
    return (GraphSpec("template", TemplateNet, (("z", (1, 3, t.exemplar_size, t.exemplar_size)),), names),
            GraphSpec("search", SearchNet, (("x", (1, 3, t.instance_size, t.instance_size)),)
                      + tuple((n, None) for n in names), tuple(search_outputs)))


def anchor_decoder(cfg, mask="none"):
    """The export JSON's decoder entry of an anchor family: the score map and its anchors
    (src/models/anchors.py); ``mask``: none, coarse (the 63x63 mask head output) or refine."""
    from .anchors import score_size
    a, t = cfg.model.anchor, cfg.track
    return {"kind": "anchors", "score_size": score_size(t.instance_size, t.exemplar_size, a.stride, t.base_size),
            "stride": a.stride, "ratios": [float(r) for r in a.ratios], "scales": [float(s) for s in a.scales],
            "mask": mask}


register(Family(
    name="siamrpn", build_model=lambda cfg: SiamRPN(cfg.model), build_tracker=_tracker, build_loss=_loss,
    build_targets=_targets, label_columns=("label_cls", "label_loc", "label_loc_weight"),
    label_bytes=anchor_label_bytes, build_validator=_validator,
    config_sections={"model": SiamRPNModelConfig, "train": SiamRPNTrainConfig, "track": SiamRPNTrackConfig},
    graphs=lambda cfg: anchor_graphs(cfg, 2, ("cls", "loc")), decoder=anchor_decoder,
    # pysot rounds crop corners with floor(x + 0.5)
    crop_rounding="round_half_up"))

"""SiamMask (ResNet-50 to layer3, adjust, depthwise RPN, mask head, refine)
and its tracker/export split.

Same structure as foolwood/SiamMask ``experiments/siammask_sharp`` (``Custom``)
and pysot ``siammask_r50_l3``; parameter names are pysot's (``backbone``,
``neck``, ``rpn_head``, ``mask_head``, ``refine_head``).

A tracker runs three graphs:

* ``template(z) -> (k_cls, k_loc, k_mask)``: the three depthwise-correlation
  kernels of the exemplar, once per target (``split.TemplateNet``);
* ``track(x, k_cls, k_loc, k_mask) -> (cls, loc, mask, f0, f1, f2, corr)``
  every frame (``split.SearchNet``): RPN outputs, the coarse 63x63 masks of
  every position (3969 channels), the backbone features and the mask branch's
  correlation feature that the refine module needs;
* ``refine(p0, p1, p2, p3) -> (N, 16129)`` at the chosen score-map position
  (``split.RefineNet``; "sharp" models only), fed by :func:`refine_inputs`.

``construct(z, x) -> (cls, loc, mask)`` is the base-stage training forward;
``sharp_forward(z, x, pos) -> (cls, loc, masks)`` the sharp stage's (refine
module at given score-map positions, search crops of 143: 3x3 positions).
"""
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from mindspore import nn, ops

from ..config import NON_NEGATIVE, POSITIVE_INT, SHARE, Range
from .backbone import build_backbone
from .head.mask import MASK_SIZE, REFINE_CROPS, MaskCorr, Refine
from .head.rpn import DepthwiseRPN
from .neck import AdjustAllLayer
from .registry import Family, GraphSpec, register
from .siamrpn import SiamRPNModelConfig, SiamRPNTrackConfig, SiamRPNTrainConfig


# -- config sections (src/config.py; the family record names them): SiamRPN's plus the mask keys --

@dataclass(frozen=True)
class SiamMaskModelConfig(SiamRPNModelConfig):
    arch: str = "siammask"
    backbone: str = "resnet50"
    refine: bool = False             # build the refine module ("sharp" models)

    RANGES: ClassVar[dict] = {"backbone": Range(choices=("resnet50",)), "head": Range(choices=("depthwise",))}


@dataclass(frozen=True)
class SiamMaskTrainConfig(SiamRPNTrainConfig):
    mask_weight: float = 36.0       # weight of the mask loss

    RANGES: ClassVar[dict] = {"mask_weight": NON_NEGATIVE}


@dataclass(frozen=True)
class SiamMaskTrackConfig(SiamRPNTrackConfig):
    seg_thr: float = 0.30           # threshold on the sigmoid mask
    out_size: int = 127             # side of the (refined) mask in the search crop

    RANGES: ClassVar[dict] = {"seg_thr": SHARE, "out_size": POSITIVE_INT}


class SiamMask(nn.Cell):
    def __init__(self, model_cfg):
        super().__init__()
        if model_cfg.backbone != "resnet50":
            raise ValueError(f"model.arch 'siammask' needs model.backbone 'resnet50', got '{model_cfg.backbone}'")
        if model_cfg.head != "depthwise":
            raise ValueError(f"model.arch 'siammask' needs model.head 'depthwise', got '{model_cfg.head}'")
        hidden = model_cfg.feature_channels
        self.backbone = build_backbone(model_cfg)
        self.neck = AdjustAllLayer(self.backbone.out_channels, hidden)
        self.rpn_head = DepthwiseRPN(anchor_num=model_cfg.anchor.num, in_channels=hidden, hidden=hidden)
        self.mask_head = MaskCorr(hidden, hidden, MASK_SIZE * MASK_SIZE)
        self.has_refine = bool(model_cfg.refine)
        if self.has_refine:
            self.refine_head = Refine()

    def features(self, x):
        """x -> (f0, f1, f2, adjusted layer3 feature)."""
        f0, f1, f2, f3 = self.backbone(x)
        return f0, f1, f2, self.neck(f3)

    def template(self, z):
        zf = self.features(z)[3]
        k_cls, k_loc = self.rpn_head.template(zf)
        return k_cls, k_loc, self.mask_head.template(zf)

    def track(self, x, k_cls, k_loc, k_mask):
        f0, f1, f2, xf = self.features(x)
        cls, loc = self.rpn_head.track(xf, k_cls, k_loc)
        corr = self.mask_head.correlate(xf, k_mask)
        mask = self.mask_head.head(corr)
        return cls, loc, mask, f0, f1, f2, corr

    def refine(self, p0, p1, p2, p3):
        return self.refine_head(p0, p1, p2, p3)

    def construct(self, z, x):
        k_cls, k_loc, k_mask = self.template(z)
        xf = self.features(x)[3]
        cls, loc = self.rpn_head.track(xf, k_cls, k_loc)
        return cls, loc, self.mask_head.track(xf, k_mask)

    # -- sharp-stage training ------------------------------------------------
    def adjust_reference(self, f3):
        """foolwood ``ResDownS``: 1x1 conv + BN, then maps narrower than 20 lose 4
        pixels per side. Same as ``neck`` on the 15x15 template (-> 7x7) and on a
        31x31 search map (no crop); on the 17x17 map of a 143 search crop it keeps
        9x9 (pysot's centre crop would keep 7x7), which makes the sharp stage's
        3x3 score map."""
        x = self.neck.downsample.downsample(f3)
        if x.shape[3] < 20:
            x = x[:, :, 4:x.shape[2] - 4, 4:x.shape[3] - 4]
        return x

    def sharp_forward(self, z, x, pos):
        """Sharp-stage training forward (foolwood ``siammask_sharp`` training graph).

        ``pos`` (B, K) int32 flat score-map positions. Returns ``(cls, loc,
        masks)``, masks (B, K, 127*127) the refine module's logits at those
        positions, fed by the windows that ``F.unfold`` cuts in the reference
        (see :func:`gather_windows`) and the correlation feature there.
        """
        zf = self.adjust_reference(self.backbone(z)[3])
        f0, f1, f2, f3 = self.backbone(x)
        xf = self.adjust_reference(f3)
        k_cls, k_loc = self.rpn_head.template(zf)
        cls, loc = self.rpn_head.track(xf, k_cls, k_loc)
        corr = self.mask_head.correlate(xf, self.mask_head.template(zf))
        b, c, size, _ = corr.shape
        k = pos.shape[1]
        (_, step0, side0), (_, step1, side1), (_, step2, side2) = REFINE_CROPS
        p0 = gather_windows(f0, pos, size, side0, step0)
        p1 = gather_windows(f1, pos, size, side1, step1)
        p2 = gather_windows(f2, pos, size, side2, step2)
        p3 = ops.gather(corr.reshape(b, c, size * size), pos, 2, batch_dims=1)     # (B, C, K)
        p3 = p3.transpose(0, 2, 1).reshape(b * k, c, 1, 1)
        masks = self.refine_head(p0, p1, p2, p3)
        return cls, loc, masks.reshape(b, k, -1)


def gather_windows(f, pos, size, window, step):
    """Windows of ``f`` (B, C, H, W) at flat score-map positions ``pos`` (B, K) of
    a ``size`` x ``size`` map -> (B*K, C, window, window), in graph mode.

    Window (y, x) is ``pad(f, p)[step*y : step*y + window, step*x : step*x + window]``
    with ``p = ((size - 1) * step + window - H) / 2``: 0 at a 143 search crop
    (the reference's training ``F.unfold``), 16/8/4 for f0/f1/f2 at 255 (its
    tracking-time crops, :func:`refine_inputs`; ``REFINE_CROPS``). Two batched gathers, no
    dynamic slicing.
    """
    b, c, h, w = f.shape
    k = pos.shape[1]
    pad = ((size - 1) * step + window - h) // 2
    if pad > 0:
        f = ops.pad(f, (pad, pad, pad, pad))
        h = h + 2 * pad
        w = w + 2 * pad
    offsets = ops.arange(window).astype(pos.dtype)
    rows = ((pos // size) * step).reshape(b, k, 1) + offsets.reshape(1, 1, window)      # (B, K, window)
    cols = ((pos % size) * step).reshape(b * k, 1) + offsets.reshape(1, window)         # (B*K, window)
    f = ops.gather(f, rows.reshape(b, k * window), 2, batch_dims=1)                     # (B, C, K*window, W)
    f = f.reshape(b, c, k, window, w).transpose(0, 2, 1, 3, 4).reshape(b * k, c * window, w)
    f = ops.gather(f, cols, 2, batch_dims=1)                                             # (B*K, C*window, window)
    return f.reshape(b * k, c, window, window)



def refine_inputs(f0, f1, f2, corr, y, x):
    """Crops around score-map position (row ``y``, column ``x``) for the refine
    module (numpy; SiamMask ``Refine.forward(..., test=True)``).

    f0 (B, 64, 125, 125), f1 (B, 256, 63, 63), f2 (B, 512, 31, 31) and corr
    (B, 256, 25, 25) are a 255 search crop's outputs. Returns float32 arrays
    p0 (B, 64, 61, 61), p1 (B, 256, 31, 31), p2 (B, 512, 15, 15), p3 (B, 256, 1, 1).
    """
    y, x = int(y), int(x)

    def crop(f, pad, step, size):
        f = np.asarray(f, dtype=np.float32)
        padded = np.pad(f, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        return np.ascontiguousarray(padded[:, :, step * y:step * y + size, step * x:step * x + size])

    p0, p1, p2 = (crop(f, *window) for f, window in zip((f0, f1, f2), REFINE_CROPS))
    corr = np.asarray(corr, dtype=np.float32)
    p3 = np.ascontiguousarray(corr[:, :, y, x].reshape(-1, corr.shape[1], 1, 1))
    return p0, p1, p2, p3


# -- the SiamMask family (src/models/registry.py); factories import lazily, see there ----------

def _tracker(cfg, backend):
    from ..tracker.siammask_tracker import SiamMaskTracker
    return SiamMaskTracker(backend, cfg.track, cfg.model.anchor, refine=cfg.model.refine)


def _loss(cfg, network):
    from ..training.loss import siammask_loss_cell
    return siammask_loss_cell(cfg, network)


def _targets(cfg, split):
    from ..data.anchor_target import MaskTargets
    return MaskTargets(cfg)


def _label_bytes(cfg):
    """SiamRPN's labels plus K mask slots (pos int32, weight float32, an int8 127x127 window)."""
    from ..data.anchor_target import MASK_WINDOW, mask_slots
    from .siamrpn import anchor_label_bytes
    t = cfg.train
    return anchor_label_bytes(cfg) + mask_slots(t.pos_num, t.output_size) * (4 + 4 + MASK_WINDOW ** 2)


def _validator(cfg, network, loss_cell):
    from ..training.validate import siammask_validator
    return siammask_validator(cfg, network, loss_cell)


def _start_warning(cfg):
    if cfg.model.refine:
        return ("SiamMask sharp stage without train.init_from: the refine module is trained "
                "on a base network that was never trained")
    return None


SEARCH_OUTPUTS = ("cls", "loc", "mask", "f0", "f1", "f2", "corr_feature")
REFINE_INPUTS = ("p0", "p1", "p2", "p3")


def _refine_examples(values):
    """Refine inputs at the centre of the score map, from the search graph's outputs (export)."""
    c = values["cls"].shape[-1] // 2
    return dict(zip(REFINE_INPUTS, refine_inputs(values["f0"], values["f1"], values["f2"],
                                                 values["corr_feature"], c, c)))


def _graphs(cfg):
    """SiamRPN's template and search graphs (three kernels, the mask outputs), and the refine
    module at one score-map position for sharp models (``model.refine``)."""
    from .siamrpn import anchor_graphs
    from .split import RefineNet
    graphs = anchor_graphs(cfg, 3, SEARCH_OUTPUTS)
    if cfg.model.refine:
        graphs += (GraphSpec("refine", RefineNet, tuple((n, None) for n in REFINE_INPUTS), ("refine_logits",),
                             example_inputs=_refine_examples),)
    return graphs


def _decoder(cfg):
    from .siamrpn import anchor_decoder
    return anchor_decoder(cfg, mask="refine" if cfg.model.refine else "coarse")


register(Family(
    name="siammask", build_model=lambda cfg: SiamMask(cfg.model), build_tracker=_tracker, build_loss=_loss,
    build_targets=_targets, label_columns=("label_cls", "label_loc", "label_loc_weight",
                                           "mask_pos", "mask_weight", "mask_target"),
    label_bytes=_label_bytes, build_validator=_validator,
    graphs=_graphs, decoder=_decoder, uses_masks=True,
    config_sections={"model": SiamMaskModelConfig, "train": SiamMaskTrainConfig, "track": SiamMaskTrackConfig},
    # SiamMask's own code rounds crop corners with round() (half to even)
    crop_rounding="round_half_even", start_warning=_start_warning))

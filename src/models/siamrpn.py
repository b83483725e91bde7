"""SiamRPN network: ``template(z)`` once per target, ``track(x, k_cls, k_loc)``
per frame (run through the cells of split.py), ``construct(z, x)`` for training.
"""
from mindspore import nn

from .backbone import build_backbone
from .head import build_rpn_head
from .registry import Family, GraphSpec, register


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
    graphs=lambda cfg: anchor_graphs(cfg, 2, ("cls", "loc")), decoder=anchor_decoder,
    # pysot rounds crop corners with floor(x + 0.5)
    crop_rounding="round_half_up"))

"""Networks: backbones, heads, anchors and box coding."""


def build_model(cfg):
    """The network named by ``cfg.model.arch``."""
    from . import siamfc
    from .siammask import SiamMask
    from .siamrpn import SiamRPN
    archs = {"siamrpn": SiamRPN, "siammask": SiamMask}
    if cfg.model.arch == "siamfc":   # SiamFC family (issue 13): until the family registry replaces this
        return siamfc.build(cfg)
    if cfg.model.arch not in archs:
        raise ValueError(f"unknown model.arch '{cfg.model.arch}' (choose from {sorted([*archs, 'siamfc'])})")
    return archs[cfg.model.arch](cfg.model)

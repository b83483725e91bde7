"""Networks: backbones, heads, anchors and box coding."""


def build_model(cfg):
    """The network of the family ``cfg.model.arch`` names (src/models/registry.py)."""
    from .registry import get_family
    return get_family(cfg.model.arch).build_model(cfg)

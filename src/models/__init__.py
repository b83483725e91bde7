"""Networks: backbones, heads, anchors and box coding."""


def build_model(cfg):
    """The network of the family ``cfg.model.arch`` names (src/models/registry.py)."""
    from .registry import get_family
    net = get_family(cfg.model.arch).build_model(cfg)
    # the back-ends run the graphs the family declares for this config (src/tracker/backends.py)
    net.config = cfg
    return net

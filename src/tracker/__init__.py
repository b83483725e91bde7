"""Trackers: per-target state and the tracking step over a network back-end."""


def build_tracker(cfg, backend):
    """The tracker for ``cfg.model.arch`` over ``backend`` (see backends.py)."""
    if cfg.model.arch == "siamrpn":
        from .siamrpn_tracker import SiamRPNTracker
        return SiamRPNTracker(backend, cfg.track, cfg.model.anchor)
    if cfg.model.arch == "siammask":
        from .siammask_tracker import SiamMaskTracker
        return SiamMaskTracker(backend, cfg.track, cfg.model.anchor, refine=cfg.model.refine)
    raise ValueError(f"no tracker for model.arch '{cfg.model.arch}'")

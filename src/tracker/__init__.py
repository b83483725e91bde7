"""Trackers: per-target state and the tracking step over a network back-end."""


def build_tracker(cfg, backend):
    """The tracker for ``cfg.model.arch`` over ``backend`` (see backends.py)."""
    from .siamrpn_tracker import SiamRPNTracker
    trackers = {"siamrpn": SiamRPNTracker}
    if cfg.model.arch not in trackers:
        raise ValueError(f"no tracker for model.arch '{cfg.model.arch}'")
    return trackers[cfg.model.arch](backend, cfg.track, cfg.model.anchor)

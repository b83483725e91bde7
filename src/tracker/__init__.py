"""Trackers: per-target state and the tracking step over a network back-end."""


def build_tracker(cfg, backend):
    """The tracker of the family ``cfg.model.arch`` names over ``backend`` (see backends.py)."""
    from ..models.registry import get_family
    return get_family(cfg.model.arch).build_tracker(cfg, backend)

"""Trackers: per-target state and the tracking step over a network back-end.

``base.SiameseTracker`` holds what every family does alike (box checks, crops, template once
per target, outputs read by name, state update, box origin); each family's tracker subclasses
it (siamrpn_tracker.py, siammask_tracker.py, siamfc_tracker.py) and its model file's registry
record builds it (``Family.build_tracker``).
"""


def build_tracker(cfg, backend):
    """The tracker of the family ``cfg.model.arch`` names over ``backend`` (see backends.py)."""
    from ..models.registry import get_family
    return get_family(cfg.model.arch).build_tracker(cfg, backend)

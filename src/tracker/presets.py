"""Named tracking-hyperparameter sets of the reference releases (see trackers.md).

SiamMask runs one network with a different hyperparameter set per benchmark
(VOT, VOT-LD, DAVIS; values from ../shared/reference/trackers.md, i.e. the
SiamMask paper and release configs). ``--hp_preset`` on eval.py and
export_mindir.py picks one; explicit ``--track.*`` overrides still win.
``siamrpn_alex_dw_lt`` is the track section of configs/siamrpn_alex_dw_lt.yaml:
pysot's long-term mode and its VOT-LT preset values (see that file).
"""

PRESETS = {
    "siammask_vot": {"penalty_k": 0.04, "window_influence": 0.42, "lr": 0.25, "seg_thr": 0.30},
    "siammask_vot-ld": {"penalty_k": 0.10, "window_influence": 0.41, "lr": 0.32, "seg_thr": 0.15},
    "siammask_davis": {"penalty_k": 0.04, "window_influence": 0.40, "lr": 1.00, "seg_thr": 0.35},
    "siamrpn_alex_dw_vot": {"penalty_k": 0.16, "window_influence": 0.40, "lr": 0.30, "instance_size": 287},
    "siamrpn_alex_dw_lt": {"penalty_k": 0.05, "window_influence": 0.28, "lr": 0.22, "instance_size": 287,
                           "base_size": 0, "long_term": True, "lost_instance_size": 831,
                           "confidence_low": 0.8, "confidence_high": 0.998},
}


def preset_help():
    """The --hp_preset help text of the entry points (the names from PRESETS, so it stays true)."""
    return (f"named tracking hyperparameters: {', '.join(PRESETS)} (src/tracker/presets.py); "
            "--track.* overrides win")


def preset_overrides(name):
    """[(dotted key, value)] for preset ``name``; a clear error for unknown names."""
    if name not in PRESETS:
        raise ValueError(f"unknown --hp_preset '{name}' (choose from {', '.join(sorted(PRESETS))})")
    return [(f"track.{k}", v) for k, v in PRESETS[name].items()]


def cli_overrides(rest, preset=None):
    """The dotted ``--a.b value`` overrides of an entry point's command line, after the
    preset's (so explicit ``--track.*`` flags win)."""
    from ..config import parse_overrides
    overrides = parse_overrides(rest)
    return (preset_overrides(preset) if preset else []) + overrides

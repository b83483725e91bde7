"""Property-based tests (hypothesis) for the config loader.

Whatever value a command-line override or a YAML file gives a key, loading
either builds a Config or raises ConfigError naming the key, never another
exception; values inside the documented ranges load as given, values outside
them are refused; every config that loads reads back equal from the YAML text
a checkpoint stores (to_yaml).
"""
import dataclasses
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from src.config import ConfigError, config_from_text, load_config, parse_overrides, to_yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "configs", "quickstart_siamrpn.yaml")
SIAMFC_CONFIG = os.path.join(ROOT, "configs", "quickstart_siamfc.yaml")
BASE = load_config(CONFIG)
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def leaf_keys(obj, prefix=""):
    """Dotted keys of every field of the config ``obj`` that is not itself a dataclass (tuples
    of sub-datasets and mappings included); sections are typed by the family, so the keys
    are those of ``obj``'s own section classes."""
    keys = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}.{f.name}" if prefix else f.name
        if dataclasses.is_dataclass(value):
            keys += leaf_keys(value, key)
        else:
            keys.append(key)
    return keys


KEYS = leaf_keys(BASE)
SIAMFC_KEYS = leaf_keys(load_config(SIAMFC_CONFIG))

# any YAML-representable value: what an override or a file can hold
SCALARS = (st.none() | st.booleans() | st.integers(min_value=-10 ** 30, max_value=10 ** 30)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)


def get(cfg, dotted):
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


def load_with(key, value, config=CONFIG):
    return load_config(config, [(key, value)])


@SETTINGS
@given(key=st.sampled_from(KEYS), value=VALUES)
def test_any_override_loads_or_names_the_key(key, value):
    check_override(CONFIG, key, value)


@SETTINGS
@given(key=st.sampled_from(SIAMFC_KEYS), value=VALUES)
def test_any_siamfc_override_loads_or_names_the_key(key, value):
    """The same over the SiamFC family's sections (its own keys, value checks and mapping)."""
    check_override(SIAMFC_CONFIG, key, value)


def check_override(config, key, value):
    try:
        cfg = load_with(key, value, config)
    except ConfigError as e:
        message = str(e)
        assert "\n" not in message
        assert key in message, message      # the key itself, or the offending part of it (key[0].name)
        return
    # accepted: the value is what the config holds (ints read as floats where floats are due)
    held = get(cfg, key)
    if isinstance(held, float):
        assert held == float(value) or (math.isnan(held) and math.isnan(value))
    elif not isinstance(held, tuple):
        assert held == value
    assert config_from_text(to_yaml(cfg)) == cfg


@SETTINGS
@given(key=st.sampled_from(KEYS), raw=st.text(max_size=20))
def test_any_command_line_text_loads_or_names_the_key(key, raw):
    """The text after ``--key`` (parsed as YAML, or kept as text) never escapes as another error."""
    try:
        overrides = parse_overrides([f"--{key}", raw])
        cfg = load_config(CONFIG, overrides)
    except ConfigError as e:
        assert key in str(e) or "override" in str(e), str(e)
        return
    assert config_from_text(to_yaml(cfg)) == cfg


# keys with a documented range: (strategy of valid values, strategy of invalid ones)
INT_AT_LEAST_1 = (st.integers(1, 10 ** 6), st.integers(-10 ** 6, 0))
POSITIVE_FLOAT = (st.floats(min_value=1e-12, max_value=1e6),
                  st.floats(max_value=0.0) | st.just(math.nan) | st.just(math.inf))
SHARE = (st.floats(0.0, 1.0), st.floats(min_value=1.000001, max_value=1e9) | st.floats(max_value=-1e-9)
         | st.just(math.nan))
RANGES = {
    "train.batch_size": INT_AT_LEAST_1, "train.epochs": INT_AT_LEAST_1, "train.exemplar_size": (
        st.integers(1, BASE.train.search_size), st.integers(-10 ** 6, 0)),
    "train.output_size": INT_AT_LEAST_1, "train.log_interval": INT_AT_LEAST_1,
    "data.num_workers": (st.integers(0, 64), st.integers(-10 ** 6, -1)),
    "train.lr.start": POSITIVE_FLOAT, "train.lr.end": POSITIVE_FLOAT, "train.grad_clip": POSITIVE_FLOAT,
    "train.loss_scale": POSITIVE_FLOAT, "model.width_mult": POSITIVE_FLOAT,
    "data.neg": SHARE, "data.gray": SHARE, "data.max_bad_image_share": SHARE, "track.window_influence": SHARE,
    "track.lr": SHARE, "data.search_aug.flip": SHARE,
}


@SETTINGS
@given(data=st.data(), key=st.sampled_from(sorted(RANGES)))
def test_values_in_range_load_and_round_trip(data, key):
    value = data.draw(RANGES[key][0])
    cfg = load_with(key, value)
    assert get(cfg, key) == value
    assert config_from_text(to_yaml(cfg)) == cfg


@SETTINGS
@given(data=st.data(), key=st.sampled_from(sorted(RANGES)))
def test_values_out_of_range_are_refused_naming_the_key(data, key):
    value = data.draw(RANGES[key][1])
    with pytest.raises(ConfigError, match=f"{CONFIG}: config key '{key}' must be"):
        load_with(key, value)


@SETTINGS
@given(low=st.floats(0, 1), high=st.floats(0, 1))
def test_thresholds_must_be_ordered(low, high):
    overrides = [("train.thr_low", low), ("train.thr_high", high)]
    if low <= high:
        assert load_config(CONFIG, overrides).train.thr_low == low
    else:
        with pytest.raises(ConfigError, match="'train.thr_low' .* must not exceed 'train.thr_high'"):
            load_config(CONFIG, overrides)


SUB_KEYS = st.sampled_from(["name", "root", "anno", "frame_range", "num_use", "has_mask", "extra"])


@SETTINGS
@given(entries=st.lists(st.dictionaries(SUB_KEYS, VALUES, max_size=4), min_size=1, max_size=3))
def test_sub_dataset_lists_load_or_name_the_entry(entries):
    try:
        cfg = load_with("data.train", entries)
    except ConfigError as e:
        assert "data.train" in str(e), str(e)
        return
    assert len(cfg.data.train) == len(entries)
    for sub in cfg.data.train:
        assert sub.name.strip() and sub.root.strip() and sub.anno.strip()
        assert sub.frame_range >= 1 and (sub.num_use == -1 or sub.num_use >= 1)


@SETTINGS
@given(text=st.text(max_size=200))
def test_any_file_text_loads_or_is_a_config_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("cfg") / "x.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        cfg = load_config(str(path))
    except ConfigError as e:
        assert str(path) in str(e) or "config key" in str(e), str(e)
        return
    assert config_from_text(to_yaml(cfg)) == cfg


@SETTINGS
@given(name=st.text(min_size=1, max_size=12))
def test_any_name_survives_the_checkpoint_text(name):
    """The config a checkpoint embeds reads back equal, whatever the name (e.g. '1e5', 'null', 'yes')."""
    cfg = load_with("name", name)
    assert config_from_text(to_yaml(cfg)).name == name

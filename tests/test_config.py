import os

import pytest

from src.config import Config, ConfigError, load_config, parse_overrides, replace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(ROOT, "configs")


@pytest.mark.parametrize("name", sorted(f for f in os.listdir(CONFIGS) if f.endswith(".yaml")))
def test_every_shipped_config_loads(name):
    cfg = load_config(os.path.join(CONFIGS, name))
    assert isinstance(cfg, Config)


def test_up_and_dw_configs_differ_where_they_should():
    up = load_config(os.path.join(CONFIGS, "siamrpn_alex_up.yaml"))
    dw = load_config(os.path.join(CONFIGS, "siamrpn_alex_dw.yaml"))
    assert (up.model.head, up.track.instance_size) == ("upchannel", 271)
    assert (dw.model.head, dw.track.instance_size) == ("depthwise", 287)
    assert up.train.search_size == dw.train.search_size == 255


def test_overrides_are_typed():
    cfg = load_config(os.path.join(CONFIGS, "siamrpn_alex_dw.yaml"),
                      parse_overrides(["--train.batch_size", "16", "--train.lr.end=1e-5",
                                       "--model.anchor.ratios", "[1, 2]"]))
    assert cfg.train.batch_size == 16 and cfg.train.lr.end == 1e-5
    assert cfg.model.anchor.ratios == (1.0, 2.0) and cfg.model.anchor.num == 2


def test_exponent_floats_without_a_dot(tmp_path):
    """YAML 1.1 (PyYAML's default) reads 5e-05 as a string; configs, mapping overrides and the
    config a checkpoint embeds read it as a number. A mapping override merges into the file's."""
    path = tmp_path / "e.yaml"
    path.write_text("name: e\ntrain:\n  weight_decay: 1e-4\n  lr:\n    end: 5e-05\n")
    cfg = load_config(str(path), parse_overrides(["--train.lr", "{start: 2E-2, warmup_end: +1e-2}"]))
    assert cfg.train.weight_decay == 1e-4 and cfg.train.lr.end == 5e-05
    assert cfg.train.lr.start == 0.02 and cfg.train.lr.warmup_end == 0.01
    from src.config import config_from_text, to_yaml
    assert config_from_text(to_yaml(cfg)) == cfg
    with pytest.raises(ConfigError, match="'train.lr.end' must be a number, got '5e-05x'"):
        load_config(str(path), parse_overrides(["--train.lr.end", "5e-05x"]))
    with pytest.raises(ConfigError, match="unknown config key 'train.lr.stop'"):
        load_config(str(path), parse_overrides(["--train.lr", "{stop: 1}"]))


def test_config_is_immutable():
    cfg = Config()
    with pytest.raises(Exception):
        cfg.train.batch_size = 3
    assert replace(cfg, **{"train.epochs": 2}).train.epochs == 2 and cfg.train.epochs == 50


@pytest.mark.parametrize("args, fragment", [
    (["--train.batchsize", "3"], "unknown config key 'train.batchsize'"),
    (["--train.batch_size", "abc"], "'train.batch_size' must be an integer"),
    (["--train.lr", "3"], "'train.lr' must be a mapping"),
    (["--train.batch_size.x", "3"], "'train.batch_size' has no sub-keys"),
    (["--train.batch_size"], "has no value"),
    (["train.batch_size", "3"], "unexpected argument"),
])
def test_bad_overrides_name_the_key(args, fragment):
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.").replace("(", r"\(")):
        load_config(os.path.join(CONFIGS, "siamrpn_alex_dw.yaml"), parse_overrides(args))


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found: .*nope.yaml"):
        load_config(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  batch_size: [1\n")
    with pytest.raises(ConfigError, match="invalid YAML in .*bad.yaml"):
        load_config(str(bad))
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("train:\n  epochz: 3\n")
    with pytest.raises(ConfigError, match=r"unknown.yaml: unknown config key 'train\.epochz'"):
        load_config(str(unknown))

import os

import pytest

from src.config import Config, ConfigError, load_config, parse_overrides, replace, to_yaml

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


# ----------------------------------------------------------------------------
# sections typed per family (src/models/<family>.py declares them, Family.config_sections)

def test_default_config_is_siamrpn_alexnet():
    from src.models.siamrpn import SiamRPNModelConfig, SiamRPNTrackConfig, SiamRPNTrainConfig
    cfg = Config()
    assert cfg.version == 2 and cfg.model.arch == "siamrpn"
    assert (type(cfg.model), type(cfg.train), type(cfg.track)) == (SiamRPNModelConfig, SiamRPNTrainConfig,
                                                                    SiamRPNTrackConfig)
    # pysot's SiamRPN-AlexNet defaults
    assert (cfg.model.backbone, cfg.model.head, cfg.model.anchor.num) == ("alexnet", "depthwise", 5)
    assert (cfg.train.thr_high, cfg.train.thr_low, cfg.train.pos_num, cfg.train.total_num) == (0.6, 0.3, 16, 64)
    assert (cfg.track.instance_size, cfg.track.penalty_k, cfg.track.window_influence, cfg.track.lr) == \
        (287, 0.16, 0.40, 0.30)
    assert not hasattr(cfg.track, "scale_num") and not hasattr(cfg.model, "refine")
    assert to_yaml(cfg).startswith("version: 2\n")


def test_each_family_builds_its_own_sections():
    from src.models.registry import get_family
    for name in ("quickstart_siamrpn", "quickstart_siammask", "quickstart_siamfc"):
        cfg = load_config(os.path.join(CONFIGS, f"{name}.yaml"))
        sections = get_family(cfg.model.arch).config_sections
        assert all(type(getattr(cfg, s)) is sections[s] for s in ("model", "train", "track"))
    fc = load_config(os.path.join(CONFIGS, "quickstart_siamfc.yaml"))
    assert (fc.track.upsample, fc.track.box_origin, fc.train.r_pos, fc.train.neg_weight) == ("bicubic", 1, 16.0, 1.0)
    assert not hasattr(fc.model, "anchor") and not hasattr(fc.train, "cls_weight")


def test_a_key_of_another_family_names_key_and_arch(tmp_path):
    rpn = os.path.join(CONFIGS, "quickstart_siamrpn.yaml")
    with pytest.raises(ConfigError, match=r"unknown config key 'track\.scale_num' \(model\.arch siamrpn has no "
                                          r"such key; sasiam, siamfc have it\) \(from --track\.scale_num\)$"):
        load_config(rpn, parse_overrides(["--track.scale_num", "5"]))
    path = tmp_path / "fc.yaml"
    path.write_text("version: 2\nmodel: {arch: siamfc}\ntrain: {mask_weight: 3}\n")
    with pytest.raises(ConfigError, match=r"fc\.yaml: unknown config key 'train\.mask_weight' \(model\.arch siamfc "
                                          r"has no such key; siammask has it\)$"):
        load_config(str(path))
    # the arch is read first, overrides included: the file's RPN keys do not fit SiamFC
    with pytest.raises(ConfigError, match=r"unknown config key 'model\.head' \(model\.arch siamfc has no such key"):
        load_config(rpn, parse_overrides(["--model.arch", "siamfc"]))
    with pytest.raises(ConfigError, match=r"config key 'model\.arch' must be one of sasiam, siamfc, siammask, siamrpn, "
                                          r"got 'siamxx'"):
        load_config(rpn, parse_overrides(["--model.arch", "siamxx"]))
    path.write_text("version: 2\nmodel: {arch: siamfc}\ntrain: {r_pos: 8}\ntrack: {scale_num: 5}\n")
    cfg = load_config(str(path))
    assert (cfg.train.r_pos, cfg.track.scale_num, cfg.track.instance_size) == (8.0, 5, 255)


def test_value_checks_live_with_the_section_class():
    from src.config import TrainConfig, check_values
    from src.models.siamfc import SiamFCTrackConfig
    from src.models.siamrpn import SiamRPNTrainConfig
    assert "thr_low" in SiamRPNTrainConfig.RANGES and "thr_low" not in TrainConfig.RANGES
    with pytest.raises(ConfigError, match=r"'train\.pos_num' \(70\) must not exceed 'train\.total_num' \(64\)"):
        replace(Config(), **{"train.pos_num": 70})
    with pytest.raises(ConfigError, match=r"^config key 'track\.exemplar_size' \(300\) must not exceed "
                                          r"'track\.instance_size' \(255\)$"):
        check_values(SiamFCTrackConfig(exemplar_size=300), "track")
    with pytest.raises(ConfigError, match=r"config key 'model\.head' must be one of depthwise, upchannel"):
        replace(Config(), **{"model.head": "dw"})
    with pytest.raises(ConfigError, match=r"config key 'model\.backbone' must be one of resnet50, got 'alexnet'"):
        load_config(os.path.join(CONFIGS, "siammask_base.yaml"), parse_overrides(["--model.backbone", "alexnet"]))


def test_a_hand_built_config_cannot_mix_families():
    from src.models.siamfc import SiamFCTrackConfig
    with pytest.raises(ConfigError, match="config section 'track' is a SiamFCTrackConfig; model.arch siamrpn "
                                          "takes SiamRPNTrackConfig"):
        Config(track=SiamFCTrackConfig())


def test_replace_to_another_arch_takes_its_defaults():
    from src.models.siamfc import SiamFCModelConfig, SiamFCTrackConfig
    fc = replace(Config(), **{"model.arch": "siamfc"})
    assert fc.model == SiamFCModelConfig() and fc.track == SiamFCTrackConfig()
    narrow = replace(Config(), **{"model.width_mult": 0.5, "train.batch_size": 8})
    fc = replace(narrow, **{"model.arch": "siamfc", "track.scale_num": 5})
    # what the config changed is kept where the new family has the key; the rest is the new family's
    assert (fc.model.width_mult, fc.train.batch_size, fc.track.scale_num) == (0.5, 8, 5)
    assert (fc.model.backbone, fc.track.instance_size, fc.train.frozen_layers) == ("alexnet_v1", 255, ())
    back = replace(fc, **{"model.arch": "siamrpn"})
    assert back.model.backbone == "alexnet" and back.train.batch_size == 8


# ----------------------------------------------------------------------------
# mapping fields: train.pretrained {cell prefix: checkpoint}

def test_pretrained_is_a_mapping_with_dotted_overrides(tmp_path):
    from src.config import config_from_text
    base = os.path.join(CONFIGS, "siammask_base.yaml")
    assert load_config(base).train.pretrained == {}
    cfg = load_config(base, parse_overrides(["--train.pretrained.backbone", "r50.ckpt",
                                             "--train.pretrained.mask_head.head", "m.ckpt"]))
    assert cfg.train.pretrained == {"backbone": "r50.ckpt", "mask_head.head": "m.ckpt"}
    assert cfg.to_dict()["train"]["pretrained"] == {"backbone": "r50.ckpt", "mask_head.head": "m.ckpt"}
    assert type(cfg.to_dict()["train"]["pretrained"]) is dict
    assert config_from_text(to_yaml(cfg)) == cfg and hash(cfg) == hash(config_from_text(to_yaml(cfg)))
    with pytest.raises(TypeError):
        cfg.train.pretrained["neck"] = "x.ckpt"        # the frozen config's mapping is read-only
    import pickle
    assert pickle.loads(pickle.dumps(cfg)) == cfg      # loader workers get a copy
    # a whole mapping replaces the file's; {} clears it
    cfg2 = replace(cfg, **{"train.pretrained": {"neck": "n.ckpt"}})
    assert cfg2.train.pretrained == {"neck": "n.ckpt"}
    assert replace(cfg, **{"train.pretrained": {}}).train.pretrained == {}
    for args, fragment in [
            (["--train.pretrained", "r50.ckpt"], r"config key 'train\.pretrained' must be a mapping, got 'r50\.ckpt'"),
            (["--train.pretrained.backbone", "''"], r"config key 'train\.pretrained\.backbone' must not be empty"),
            (["--train.pretrained.backbone", "3"], r"config key 'train\.pretrained\.backbone' must be a string"),
            (["--train.pretrained", "{1: a.ckpt}"], r"config key 'train\.pretrained' has a key 1")]:
        with pytest.raises(ConfigError, match=fragment):
            load_config(base, parse_overrides(args))

"""Config versions: version-1 data (the schema before the per-family sections) keeps loading.

Version 1 had one class per section with every family's keys in it, and wrote all of them
into each config (checkpoints, exports); ``train.pretrained`` was one backbone path. The
artifacts of that code: tests/fixtures/quickstart_siamrpn.ckpt (its embedded config) and
tests/fixtures/export_v1_onnx/ (its JSON's ``config`` dict); see tests/fixtures/README.md.

* the checkpoint's v1 config migrates to a v2 config holding the same values (only the keys
  SiamRPN has no use for are gone) and the network built from it takes every parameter;
* the v1 export's config dict migrates to the same Config;
* a v1 config of another family (SiamFC with the RPN keys v1 wrote) migrates, following the
  arch the overrides choose; a typo is still an unknown key; a newer version is one line;
* to_yaml -> config_from_text is the identity.
"""
import copy
import json
import os

import numpy as np
import pytest
import yaml

from conftest import ROOT
from src.config import (CONFIG_VERSION, V1_KEYS, Config, ConfigError, config_from_dict, config_from_text, load_config,
                        migrate, parse_overrides, to_yaml)

FIXTURES = os.path.join(ROOT, "tests", "fixtures")
CKPT = os.path.join(FIXTURES, "quickstart_siamrpn.ckpt")
V1_EXPORT_JSON = os.path.join(FIXTURES, "export_v1_onnx", "quickstart_siamrpn.json")
CONFIGS = os.path.join(ROOT, "configs")


def flat(tree, prefix=""):
    """{dotted key: value} of the leaves of a plain config tree (lists kept whole)."""
    out = {}
    for key, value in tree.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value:
            out.update(flat(value, dotted))
        else:
            out[dotted] = value
    return out


@pytest.fixture(scope="module")
def checkpoint():
    """(params, v1 config text, migrated cfg, network) of the fixture checkpoint."""
    from src.training.checkpoint import load_checkpoint_checked, load_model_checkpoint
    params = load_checkpoint_checked(CKPT)
    cfg, net = load_model_checkpoint(CKPT)
    return params, params["config"], cfg, net


def v1_export_config():
    with open(V1_EXPORT_JSON, encoding="utf-8") as f:
        desc = json.load(f)
    assert desc["format_version"] == 1 and "version" not in desc["config"]
    return desc["config"]


def test_checkpoint_v1_config_migrates_and_loads_every_parameter(checkpoint):
    params, text, cfg, net = checkpoint
    v1 = yaml.safe_load(text)
    assert "version" not in v1                 # made by the version-1 code
    assert cfg.version == CONFIG_VERSION == 2 and cfg.model.arch == "siamrpn"
    old, new = flat(v1), flat(cfg.to_dict())
    # the SiamMask keys every v1 config carried are the only ones dropped; pretrained '' is {}
    assert sorted(k for k in old if k not in new) == ["model.refine", "track.out_size", "track.seg_thr",
                                                      "train.mask_weight"]
    assert old["train.pretrained"] == "" and cfg.train.pretrained == {}
    for key, value in old.items():
        if key in new and key != "train.pretrained":
            assert new[key] == value, key
    assert (cfg.model.width_mult, cfg.model.feature_channels, cfg.track.instance_size) == (0.25, 64, 287)
    # the network is the one the checkpoint was trained as: every parameter present and loaded
    names = [p.name for p in net.get_parameters()]
    assert names and set(names) <= set(params)
    for p in net.get_parameters():
        np.testing.assert_array_equal(p.asnumpy(), params[p.name].asnumpy())


def test_v1_export_config_migrates_to_the_checkpoints(checkpoint):
    cfg = checkpoint[2]
    data = v1_export_config()
    before = copy.deepcopy(data)
    assert config_from_dict(data, source=V1_EXPORT_JSON) == cfg
    assert data == before                      # migration works on a copy
    # what the v1 export stores: every family's keys, e.g. SiamFC's scale_num in a SiamRPN config
    assert "scale_num" in data["track"] and "response_scale" in data["model"]
    # the literal list of v1 keys is the v1 schema (the last v1 code wrote every key it had)
    written = {k for k in flat({s: data[s] for s in ("model", "train", "track")})}
    assert written == {k for k in V1_KEYS if k not in ("model.anchor", "train.lr")}


def v1_siamfc_data():
    """A SiamFC config as the v1 code wrote it: every v1 key, the RPN and SiamMask ones too."""
    data = copy.deepcopy(v1_export_config())
    data["name"] = "v1_siamfc"
    data["model"].update(arch="siamfc", backbone="alexnet_v1", response_bias=True)
    data["train"].update(search_size=239, output_size=15, frozen_layers=[], unfreeze_layers=[], unfreeze_epoch=0)
    data["track"].update(instance_size=255, window_influence=0.176, scale_num=5)
    return data


def test_v1_siamfc_config_with_rpn_keys_migrates(tmp_path):
    from src.models.siamfc import SiamFCModelConfig, SiamFCTrackConfig, SiamFCTrainConfig
    data = v1_siamfc_data()
    assert {"head", "anchor", "refine"} <= set(data["model"]) and "penalty_k" in data["track"]
    path = tmp_path / "v1_siamfc.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    for cfg in (load_config(str(path)), config_from_text(path.read_text()), config_from_dict(data)):
        assert (type(cfg.model), type(cfg.train), type(cfg.track)) == (SiamFCModelConfig, SiamFCTrainConfig,
                                                                       SiamFCTrackConfig)
        assert cfg.model.response_bias and (cfg.track.scale_num, cfg.track.instance_size) == (5, 255)
        assert (cfg.train.search_size, cfg.train.output_size, cfg.train.batch_size) == (239, 15, 16)
        assert cfg.track.upsample == "bicubic" and cfg.train.r_pos == 16.0      # keys v1 did not have
        assert not hasattr(cfg.model, "anchor") and not hasattr(cfg.track, "penalty_k")
    migrated = migrate(data)
    assert migrated["version"] == 2 and "anchor" not in migrated["model"] and "seg_thr" not in migrated["track"]
    assert migrated["track"]["scale_num"] == 5 and "cls_weight" not in migrated["train"]


def test_v1_migration_follows_the_arch_of_the_overrides(tmp_path):
    """A v1 SiamRPN file run as SiamFC (--model.arch siamfc): its RPN keys are dropped for SiamFC."""
    data = v1_export_config()
    path = tmp_path / "v1_rpn.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    cfg = load_config(str(path), parse_overrides(["--model.arch", "siamfc", "--model.backbone", "alexnet_v1",
                                                  "--train.frozen_layers", "[]", "--train.unfreeze_layers", "[]"]))
    assert cfg.model.arch == "siamfc" and cfg.track.scale_num == 3 and not hasattr(cfg.train, "thr_high")
    # the v2 equivalent keeps the RPN keys and so does not fit SiamFC: one line naming the first
    v2 = tmp_path / "v2_rpn.yaml"
    v2.write_text(to_yaml(load_config(str(path))))
    with pytest.raises(ConfigError, match=r"v2_rpn\.yaml: unknown config key 'model\.head' \(model\.arch siamfc"):
        load_config(str(v2), parse_overrides(["--model.arch", "siamfc"]))


def test_v1_pretrained_path_becomes_the_backbone_entry_and_loads(tmp_path):
    """v1 ``train.pretrained: PATH`` is ``{backbone: PATH}``; the trainer loads each entry."""
    import mindspore as ms
    from src.config import replace
    from src.models import build_model
    from src.training.trainer import load_pretrained
    data = v1_export_config()
    data["model"]["width_mult"] = 0.125
    data["model"]["feature_channels"] = 16
    source = build_model(config_from_dict(data))
    ckpt = str(tmp_path / "backbone.ckpt")
    # a backbone-only checkpoint as convert_pth writes them (names without the prefix)
    ms.save_checkpoint([{"name": p.name[len("backbone."):], "data": p} for p in source.backbone.get_parameters()],
                       ckpt)
    data["train"]["pretrained"] = ckpt
    cfg = config_from_dict(data)
    assert cfg.train.pretrained == {"backbone": ckpt}
    data["train"]["pretrained"] = ""
    assert config_from_dict(data).train.pretrained == {}
    net = build_model(cfg)
    for prefix, path in cfg.train.pretrained.items():
        load_pretrained(net, prefix, path, cfg)
    for mine, theirs in zip(net.backbone.get_parameters(), source.backbone.get_parameters()):
        np.testing.assert_array_equal(mine.asnumpy(), theirs.asnumpy())
    bad = replace(cfg, **{"train.pretrained": {"nek": ckpt}})
    with pytest.raises(ValueError, match=r"^train\.pretrained\.nek: the network has no cell 'nek'$"):
        load_pretrained(net, "nek", ckpt, bad)
    with pytest.raises(ValueError, match=r"^train\.pretrained\.rpn_head: checkpoint .* holds no rpn_head parameters$"):
        load_pretrained(net, "rpn_head", ckpt, cfg)


@pytest.mark.parametrize("key, value", [("train", {"epochz": 3}), ("track", {"scale_nmu": 3}),
                                        ("model", {"anchor": {"strde": 8}})])
def test_a_typo_in_a_v1_config_is_still_an_unknown_key(key, value):
    data = v1_export_config()
    if key == "model":
        data["model"]["anchor"].update(value["anchor"])
        dotted = "model.anchor.strde"
    else:
        data[key].update(value)
        dotted = f"{key}.{next(iter(value))}"
    assert dotted not in V1_KEYS
    with pytest.raises(ConfigError, match=rf"^v1\.json: unknown config key '{dotted}'"):
        config_from_dict(data, source="v1.json")


def test_a_newer_version_is_one_line(tmp_path):
    message = r"config version 3 is newer than this code \(2\); update the code$"
    path = tmp_path / "v3.yaml"
    path.write_text("version: 3\nname: later\nmodel: {arch: siamrpn, new_key: 1}\n")
    with pytest.raises(ConfigError, match=r"^.*v3\.yaml: " + message) as e:
        load_config(str(path))
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match=r"^config inside m\.ckpt: " + message):
        config_from_text(path.read_text(), source="config inside m.ckpt")
    with pytest.raises(ConfigError, match=r"^e\.json: " + message):
        config_from_dict({"version": 3}, source="e.json")
    for bad, fragment in [(0, "must be 1 or 2, got 0"), ("2", "must be an integer, got '2'"),
                          (True, "must be an integer, got True")]:
        with pytest.raises(ConfigError, match=f"config key 'version' {fragment}"):
            config_from_dict({"version": bad})
    with pytest.raises(ConfigError, match=r"config key 'version' must be 2 \(this code's config version\), got 1"):
        load_config(os.path.join(CONFIGS, "quickstart_siamrpn.yaml"), parse_overrides(["--version", "1"]))


def test_migrate_is_pure_and_idempotent():
    data = v1_export_config()
    data["train"]["pretrained"] = "r50.ckpt"
    before = copy.deepcopy(data)
    once = migrate(data)
    assert data == before
    assert once["train"]["pretrained"] == {"backbone": "r50.ckpt"} and list(once)[0] == "version"
    assert migrate(once) == once
    assert config_from_dict(once) == config_from_dict(data)


@pytest.mark.parametrize("name", sorted(f for f in os.listdir(CONFIGS) if f.endswith(".yaml")))
def test_shipped_configs_are_v2_and_round_trip(name):
    path = os.path.join(CONFIGS, name)
    with open(path, encoding="utf-8") as f:
        assert yaml.safe_load(f)["version"] == 2
    cfg = load_config(path)
    text = to_yaml(cfg)
    assert config_from_text(text) == cfg and to_yaml(config_from_text(text)) == text


def test_migrated_configs_round_trip(checkpoint):
    for cfg in (checkpoint[2], config_from_dict(v1_siamfc_data()), Config()):
        text = to_yaml(cfg)
        assert text.startswith("version: 2\n")
        assert config_from_text(text) == cfg and to_yaml(config_from_text(text)) == text

"""Training recipes on prepared data (issue 12): every recipe YAML names the published
data mix (sub-datasets, their folders under --data_path, frame ranges, num_use, masks);
a missing sub-dataset stops train.py in one line naming it; --data.only trains on a
subset (recorded in the checkpoints' config); ModelArts archives of the prepared
folders (one archive, or one per sub-dataset in zip and tar) give a usable data root.

The data are two synthetic crop511 videos per sub-dataset (src/data/synthetic.py
write_crop_split) copied to vid/ and coco/ as `python -m src.data.prepare` lays them
out; training runs the real siamrpn_alex_dw recipe 1/8 wide for one epoch of 4 pairs.
"""
import os
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from src.config import ConfigError, DataConfig, config_from_text, load_config, parse_overrides, to_yaml
from src.data.crop511 import check_sub_datasets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(ROOT, "configs")
ALEX_DW = os.path.join(CONFIGS, "siamrpn_alex_dw.yaml")
TINY = ["--train.epochs", "1", "--train.batch_size", "2", "--data.videos_per_epoch", "4",
        "--model.width_mult", "0.125", "--model.feature_channels", "16", "--data.num_workers", "1",
        "--train.log_interval", "1"]

# name: (folder, frame_range, num_use, has_mask); the index is FOLDER/train.json (COCO: train2017.json)
PYSOT = {"VID": ("vid", 100, 100000, False), "YOUTUBEBB": ("ytb", 3, -1, False),
         "COCO": ("coco", 1, -1, False), "DET": ("det", 1, -1, False)}
SIAMBAN = {"VID": ("vid", 100, 100000, False), "YOUTUBEBB": ("ytb", 3, 200000, False),
           "COCO": ("coco", 1, 100000, False), "DET": ("det", 1, 200000, False),
           "GOT10K": ("got10k", 100, 200000, False), "LASOT": ("lasot", 100, 200000, False)}
SIAMMASK_BASE = {"YTB_VOS": ("ytb_vos", 20, 200000, True), "VID": ("vid", 100, 200000, False),
                 "COCO": ("coco", 1, -1, True), "DET": ("det", 1, 100000, False)}
RECIPES = {
    "siamrpn_alex_dw.yaml": (PYSOT, 600000),
    # the VOT-LT preset: the same network and training, pysot's long-term tracker
    "siamrpn_alex_dw_lt.yaml": (PYSOT, 600000),
    "siamrpn_alex_up.yaml": ({k: PYSOT[k] for k in ("VID", "YOUTUBEBB")}, 600000),
    "siamrpn_alex_dw_got10k.yaml": ({"GOT10K": ("got10k", 100, 200000, False)}, 600000),
    "siamrpn_alex_dw_lasot.yaml": (SIAMBAN, 1000000),
    "siammask_base.yaml": (SIAMMASK_BASE, 600000),
    "siammask_base_huawei.yaml": (SIAMMASK_BASE, 600000),
    "siammask_sharp.yaml": ({"YTB_VOS": ("ytb_vos", 20, 100000, True), "COCO": ("coco", 1, -1, True)}, 200000),
    # siamfc-pytorch: GOT-10k, one pair per sequence per epoch (0 = the sum of num_use)
    "siamfc_alexnet.yaml": ({"GOT10K": ("got10k", 100, -1, False)}, 0),
    # microsoft/SA-Siam (SiamFC-TensorFlow's data): ImageNet VID, max_frame_dist 100, 5.32e4 pairs per epoch
    "sasiam_appearance.yaml": ({"VID": ("vid", 100, -1, False)}, 53200),
    "sasiam_semantic.yaml": ({"VID": ("vid", 100, -1, False)}, 53200),
}


def _index(folder):
    return f"{folder}/train2017.json" if folder == "coco" else f"{folder}/train.json"


def _mix(cfg):
    return {d.name: (d.root, d.anno, d.frame_range, d.num_use, d.has_mask) for d in cfg.data.train}


def _expected(table):
    return {name: (f"{folder}/crop511", _index(folder), fr, num, mask) for name, (folder, fr, num, mask) in table.items()}


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_recipe_names_its_data_mix(recipe):
    from src.data.prepare import SOURCES
    table, pairs = RECIPES[recipe]
    cfg = load_config(os.path.join(CONFIGS, recipe))
    assert _mix(cfg) == _expected(table)
    assert list(_mix(cfg)) == list(table)                    # the published order
    assert cfg.data.videos_per_epoch == pairs
    assert all(folder in SOURCES for folder, *_ in table.values())   # each folder is one prepare --out


def test_every_shipped_recipe_is_checked_here():
    shipped = {f for f in os.listdir(CONFIGS) if f.endswith(".yaml") and not f.startswith("quickstart_")}
    assert shipped == set(RECIPES)


def test_defaults_are_pysots_mix_in_the_prepare_folders():
    assert {d.name: (d.root, d.anno, d.frame_range, d.num_use, d.has_mask) for d in DataConfig().train} == \
        _expected(PYSOT)


# ----------------------------------------------------------------------------
# --data.only

def _only(value, recipe=ALEX_DW):
    return load_config(recipe, parse_overrides(["--data.only", value]))


def test_data_only_selects_by_name_or_folder_in_the_recipes_order():
    cfg = _only("coco,VID")
    assert [d.name for d in cfg.data.train] == ["VID", "COCO"] and cfg.data.only == ("coco", "VID")
    assert [d.name for d in _only("youtubebb, det/").data.train] == ["YOUTUBEBB", "DET"]
    assert [d.name for d in _only("Ytb").data.train] == ["YOUTUBEBB"]
    assert [d.name for d in _only("[got10k, LASOT]", os.path.join(CONFIGS, "siamrpn_alex_dw_lasot.yaml"))
            .data.train] == ["GOT10K", "LASOT"]
    assert len(_only("").data.train) == 4                    # empty: the whole mix
    # the stored config is the effective one and reads back the same (selecting again changes nothing)
    text = to_yaml(cfg)
    assert "ytb/crop511" not in text and config_from_text(text) == cfg


def test_data_only_unknown_name_lists_the_configured_ones():
    with pytest.raises(ConfigError) as e:
        _only("vid,lasot")
    assert str(e.value) == (f"{ALEX_DW}: config key 'data.only' names 'lasot', which is not in data.train "
                            "(configured: VID (vid/), YOUTUBEBB (ytb/), COCO (coco/), DET (det/))")
    with pytest.raises(ConfigError, match="config key 'data.only' must be a list, got int"):
        _only("3")


def test_train_py_refuses_an_unknown_data_only_in_one_line(tmp_path):
    import train
    with pytest.raises(SystemExit) as e:
        train.main(["--config", ALEX_DW, "--data_path", str(tmp_path), "--data.only", "vid,yt_bb"])
    assert str(e.value.code) == (f"train.py: {ALEX_DW}: config key 'data.only' names 'yt_bb', which is not in "
                                 "data.train (configured: VID (vid/), YOUTUBEBB (ytb/), COCO (coco/), DET (det/))")


# ----------------------------------------------------------------------------
# a tiny prepared data folder: vid/ and coco/

@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """DATA/vid/{crop511, train.json} and DATA/coco/{crop511, train2017.json}: two synthetic videos each."""
    from src.data.synthetic import write_crop_split
    base = tmp_path_factory.mktemp("recipes")
    write_crop_split(base / "gen", "train", n_videos=2, n_frames=3, seed=7)
    data = base / "DATA"
    shutil.copytree(base / "gen" / "syn", data / "vid")
    shutil.copytree(base / "gen" / "syn", data / "coco")
    (data / "coco" / "train.json").rename(data / "coco" / "train2017.json")
    return data


def test_missing_sub_datasets_are_named_in_one_line(prepared):
    cfg = load_config(ALEX_DW)
    with pytest.raises(FileNotFoundError) as e:
        check_sub_datasets(cfg.data.train, str(prepared))
    assert str(e.value) == (
        f"data_path {prepared} has no ytb/ (sub-dataset YOUTUBEBB: ytb/crop511, ytb/train.json), no det/ "
        "(sub-dataset DET: det/crop511, det/train.json); prepare each with `python -m src.data.prepare NAME "
        f"--src RAW --out {prepared / 'NAME'}` (NAME: ytb, det) or leave them out with --data.only vid,coco")
    check_sub_datasets(_only("vid,coco").data.train, str(prepared))      # nothing missing


def test_missing_index_of_a_present_folder_is_named(prepared, tmp_path):
    data = tmp_path / "DATA"
    shutil.copytree(prepared, data)
    (data / "coco" / "train2017.json").unlink()
    with pytest.raises(FileNotFoundError) as e:
        check_sub_datasets(_only("vid,coco").data.train, str(data))
    assert str(e.value) == (
        f"data_path {data} has no coco/train2017.json (sub-dataset COCO: coco/crop511, coco/train2017.json); "
        f"prepare it with `python -m src.data.prepare coco --src RAW --out {data / 'coco'}` "
        "or leave it out with --data.only vid")


def test_train_py_stops_before_training_on_a_missing_sub_dataset(prepared, tmp_path):
    import train
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as e:
        train.main(["--config", ALEX_DW, "--data_path", str(prepared), "--output_dir", str(out), *TINY])
    message = str(e.value.code)
    assert message.startswith(f"train.py: data_path {prepared} has no ytb/ (sub-dataset YOUTUBEBB:")
    assert message.endswith("or leave them out with --data.only vid,coco") and "\n" not in message
    assert not any(n.endswith(".ckpt") or n == "metrics.json" for n in os.listdir(out))


def _stored_data(ckpt):
    from src.training.checkpoint import config_of_checkpoint, load_checkpoint_checked
    cfg = config_of_checkpoint(load_checkpoint_checked(str(ckpt)), str(ckpt))
    return [d.name for d in cfg.data.train], cfg.data.only


def test_training_on_a_subset_records_it(prepared, tmp_path):
    import train
    out = tmp_path / "out"
    net = train.main(["--config", ALEX_DW, "--data_path", str(prepared), "--output_dir", str(out),
                      "--data.only", "vid,COCO", *TINY])
    assert net is not None
    assert _stored_data(out / "siamrpn_alex_dw_epoch001.ckpt") == (["VID", "COCO"], ("vid", "COCO"))
    log = (out / "train_rank0.log").read_text()
    assert ("training data (data.only vid,COCO): VID vid/crop511 frame_range 100 num_use 100000; "
            "COCO coco/crop511 frame_range 1 num_use -1") in log
    assert "epoch 1/1 step 2/2" in log


# ----------------------------------------------------------------------------
# ModelArts: archives of the prepared folders

def _zip(path, folder, arc_root):
    with zipfile.ZipFile(path, "w") as z:
        for dirpath, _, files in os.walk(folder):
            for f in files:
                full = os.path.join(dirpath, f)
                z.write(full, os.path.join(arc_root, os.path.relpath(full, folder)))


def _has_subset(root):
    root = Path(root)
    return (root / "vid" / "train.json").is_file() and (root / "coco" / "train2017.json").is_file() \
        and len(os.listdir(root / "coco" / "crop511")) == 2


def test_cloud_archives_of_prepared_folders(prepared, tmp_path):
    from src.cloud import fetch_data
    cfg = _only("vid,coco")
    # one archive holding vid/ and coco/ at its top
    _zip(tmp_path / "data.zip", prepared, "")
    root = fetch_data(str(tmp_path / "data.zip"), str(tmp_path / "c1"), 1, cfg)
    assert root == str(tmp_path / "c1" / "data") and _has_subset(root)
    # one tar holding DATA/vid, DATA/coco
    with tarfile.open(tmp_path / "data.tar.gz", "w:gz") as t:
        t.add(prepared, arcname="DATA")
    root = fetch_data(str(tmp_path / "data.tar.gz"), str(tmp_path / "c2"), 2, cfg)
    assert root == str(tmp_path / "c2" / "data" / "DATA") and _has_subset(root)
    # one archive per sub-dataset, side by side and of either kind: vid.zip holds vid/...,
    # coco.tar only the folder's contents (crop511/, train2017.json: packed inside DATA/coco)
    url = tmp_path / "bucket"
    url.mkdir()
    _zip(url / "vid.zip", prepared / "vid", "vid")
    with tarfile.open(url / "coco.tar", "w") as t:
        for name in os.listdir(prepared / "coco"):
            t.add(prepared / "coco" / name, arcname=name)
    for mode in (1, 2):
        cache = tmp_path / f"c3_{mode}"
        root = fetch_data(str(url), str(cache), mode, cfg)
        assert root == str(cache / "data") and _has_subset(root)
        assert sorted(os.listdir(root)) == ["coco", "vid"]      # no scratch folders left
    check_sub_datasets(cfg.data.train, root)
    # parts of one folder in two archives are merged
    parts = tmp_path / "parts"
    parts.mkdir()
    videos = sorted(os.listdir(prepared / "vid" / "crop511"))
    with tarfile.open(parts / "vid_part1.tar", "w") as t:
        t.add(prepared / "vid" / "crop511" / videos[0], arcname=f"vid/crop511/{videos[0]}")
        t.add(prepared / "vid" / "train.json", arcname="vid/train.json")
    with tarfile.open(parts / "vid_part2.tar", "w") as t:
        t.add(prepared / "vid" / "crop511" / videos[1], arcname=f"vid/crop511/{videos[1]}")
    root = fetch_data(str(parts), str(tmp_path / "c4"), 2, _only("vid"))
    assert sorted(os.listdir(Path(root) / "vid" / "crop511")) == videos
    # an archive of a DATA/ lacking a sub-dataset: DATA/ is still the root, so the message names it there
    with tarfile.open(tmp_path / "partial.tar", "w") as t:
        t.add(prepared / "vid", arcname="DATA/vid")
    root = fetch_data(str(tmp_path / "partial.tar"), str(tmp_path / "c5"), 2, cfg)
    assert root == str(tmp_path / "c5" / "data" / "DATA")
    with pytest.raises(FileNotFoundError, match=f"^data_path {root} has no coco/ "):
        check_sub_datasets(cfg.data.train, root)


def test_cloud_training_from_per_sub_dataset_archives(prepared, tmp_path):
    import train
    url = tmp_path / "bucket"
    url.mkdir()
    for name in ("vid", "coco"):
        _zip(url / f"{name}.zip", prepared / name, name)
    train_url = tmp_path / "train_url"
    net = train.main(["--config", ALEX_DW, "--is_cloudtrain", "True", "--data_url", str(url),
                      "--train_url", str(train_url), "--unzip_mode", "1", "--cache_dir", str(tmp_path / "cache"),
                      "--data.only", "vid,coco", *TINY])
    assert net is not None
    assert _stored_data(train_url / "siamrpn_alex_dw_epoch001.ckpt") == (["VID", "COCO"], ("vid", "coco"))
    # without --data.only the recipe's other sub-datasets are named, with the way out
    with pytest.raises(SystemExit) as e:
        train.main(["--config", ALEX_DW, "--is_cloudtrain", "True", "--data_url", str(url),
                    "--train_url", str(tmp_path / "url2"), "--unzip_mode", "1", "--cache_dir", str(tmp_path / "c2"),
                    *TINY])
    assert str(e.value.code).startswith(f"train.py: data_path {tmp_path / 'c2' / 'data'} has no ytb/")
    assert "train_rank0.log" in os.listdir(tmp_path / "url2")

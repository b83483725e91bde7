"""ImageNet VID / DET readers of ``python -m src.data.prepare`` (src/data/prepare/vid.py, det.py).

The expected indexes are written out by hand from pysot's gen_json.py rules
(see the readers' docstrings), not computed by the code under test.
"""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from raw_fixtures import det as det_fixture
from raw_fixtures import vid as vid_fixture
from src.config import Config, DataConfig, SubDatasetConfig
from src.models.siamrpn import SiamRPNTrainConfig   # the train section of Config()'s family
from src.data.crop511 import SubDataset, TrackingPairs
from src.data.prepare import get_source
from src.data.prepare.core import PrepareError, crop_video
from src.data.prepare.runner import prepare
from raw_fixtures.pysot_crop import pysot_crop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
V0 = "ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000"
V1 = "ILSVRC2015_VID_train_0001/ILSVRC2015_train_00010000"
V2 = "ILSVRC2015_VID_train_0001/ILSVRC2015_train_00010001"

VID_TRAIN = {
    V0: {
        # all six frames; frame 2 touches the left border, frame 5 the right and bottom ones
        "00": {"000000": [10, 12, 40, 44], "000001": [12, 12, 42, 44], "000002": [0, 14, 30, 46],
               "000003": [14, 14, 44, 46], "000004": [16, 14, 46, 46], "000005": [60, 30, 95, 63]},
        # frames 0-1 and 3-4: gen_json.py keeps the last piece only; track 02 (frame 5 alone) is isolated
        "01": {"000003": [56, 10, 86, 32], "000004": [58, 10, 88, 32]},
    },
    V1: {
        # frame 0 has no objects; frame 2's zero-width box is dropped after the split
        "00": {"000001": [10, 10, 30, 40], "000003": [14, 10, 34, 40]},
        "03": {"000001": [40, 20, 70, 50], "000002": [42, 20, 72, 50]},
    },
    # V2: every track seen in one frame only -> not in the index
}
VID_DROPPED = {V0: {"isolated frame": 1, "earlier segment": 2}, V1: {"invalid box": 1},
               V2: {"isolated frame": 2}}
VID_VAL = {"val/ILSVRC2015_val_00000000": {
    "00": {"000000": [30, 20, 60, 50], "000001": [32, 20, 62, 50], "000002": [34, 22, 64, 52]}}}

DET_TRAIN = {
    "ILSVRC2013_train/n00007846_6247": {"00": {"000000": [0, 5, 40, 80]}, "01": {"000000": [50, 10, 90, 50]}},
    # object 1 is a zero-width box: dropped, object 2 keeps its number
    "ILSVRC2013_train/n01443537_16": {"00": {"000000": [10, 10, 40, 40]}, "02": {"000000": [45, 5, 75, 35]}},
    # ILSVRC2014_train_0000/ILSVRC2014_train_00000001 has no objects
}
DET_VAL = {"val/ILSVRC2012_val_00000001": {"00": {"000000": [20, 12, 70, 50]}}}


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw")
    return {"vid": vid_fixture.write(root), "det": det_fixture.write(root)}


@pytest.fixture(scope="module")
def prepared(raw, tmp_path_factory):
    """The runner's output of every dataset / split (one process)."""
    out = tmp_path_factory.mktemp("prepared")
    for name in ("vid", "det"):
        for split in ("train", "val"):
            prepare(get_source(name)(raw[name], split), str(out / name), workers=1, progress=False)
    return out


def index_of(source):
    """{key: tracks} of the videos with tracks, as the runner builds it, plus {key: dropped}."""
    index, dropped = {}, {}
    for key in source.list_videos():
        video = source.load_video(key)
        assert video.key == key
        tracks = {}
        for frame in video.frames:
            for obj in frame.objects:
                tracks.setdefault(f"{obj.track:02d}", {})[f"{frame.frame:06d}"] = obj.box
        if tracks:
            index[key] = tracks
        dropped[key] = dict(video.dropped)
    return index, dropped


def raw_copy(tmp_path, writer):
    return writer.write(tmp_path)


# ---------------------------------------------------------------- VID

def test_vid_keys_tracks_frames_and_drops(raw):
    train = get_source("vid")(raw["vid"], "train")
    assert train.list_videos() == [V0, V1, V2]
    index, dropped = index_of(train)
    assert index == VID_TRAIN
    assert dropped == VID_DROPPED
    val = get_source("vid")(raw["vid"], "val")
    assert val.list_videos() == list(VID_VAL)
    assert index_of(val)[0] == VID_VAL
    assert train.index_name() == "train.json" and val.index_name() == "val.json"


def test_vid_images_are_the_xml_paths_in_data(raw):
    video = get_source("vid")(raw["vid"], "val").load_video("val/ILSVRC2015_val_00000000")
    assert [f.image for f in video.frames] == [
        os.path.join(raw["vid"], "Data", "VID", "val", "ILSVRC2015_val_00000000", f"{n:06d}.JPEG") for n in range(3)]


def test_vid_index_boxes_are_the_xml_boxes(raw):
    for video, tracks in VID_TRAIN.items():
        frames = vid_fixture.TRAIN[video][3]
        for track, boxes in tracks.items():
            for frame, box in boxes.items():
                assert (int(track), box) in frames[int(frame)]


def test_vid_all_segments_keeps_both_pieces(raw):
    index, dropped = index_of(get_source("vid")(raw["vid"], "train", all_segments=True))
    assert index[V0]["01"] == {"000000": [50, 8, 80, 30], "000001": [52, 8, 82, 30],
                               "000003": [56, 10, 86, 32], "000004": [58, 10, 88, 32]}
    assert dropped[V0] == {"isolated frame": 1}


def test_vid_pysot_and_siammask_links_are_not_listed_twice(tmp_path):
    src = raw_copy(tmp_path, vid_fixture)
    for kind in ("Annotations", "Data"):
        train = os.path.join(src, kind, "VID", "train")
        for link, target in (("a", "ILSVRC2015_VID_train_0000"), ("b", "ILSVRC2015_VID_train_0001"),
                             ("e", os.path.join("..", "val")), ("val", os.path.join("..", "val"))):
            os.symlink(target, os.path.join(train, link))
    assert get_source("vid")(src, "train").list_videos() == [V0, V1, V2]


def _write_xmls(folder, frames):
    os.makedirs(folder, exist_ok=True)
    for name, number, objects in frames:
        with open(os.path.join(folder, name + ".xml"), "w") as f:
            f.write(vid_fixture.frame_xml("x", number, 64, 48, objects))


def test_vid_frame_number_from_filename_duplicates_last_wins(tmp_path):
    src = raw_copy(tmp_path, vid_fixture)
    folder = os.path.join(src, "Annotations", "VID", "val", "ILSVRC2015_val_00000009")
    os.makedirs(os.path.join(src, "Data", "VID", "val", "ILSVRC2015_val_00000009"))
    _write_xmls(folder, [
        # file names sort as a, b, c; crops are named by <filename> (par_crop.py)
        ("a", 40, [(0, [1, 1, 10, 10]), (0, [2, 2, 12, 12]), (5, [3, 3, 9, 9]), (5, [4, 4, 9, 9])]),
        ("b", 41, [(0, [3, 3, 13, 13])]),
        ("c", 42, []),
    ])
    video = get_source("vid")(src, "val").load_video("val/ILSVRC2015_val_00000009")
    got = {(f.frame, o.track): o.box for f in video.frames for o in f.objects}
    # track 0: the later of the two boxes of frame 40; track 5: twice in one frame is a
    # two-element piece for gen_json.py (len(seq) counts repeats), so it survives
    assert got == {(40, 0): [2, 2, 12, 12], (41, 0): [3, 3, 13, 13], (40, 5): [4, 4, 9, 9]}
    assert video.frames[0].image.endswith(os.path.join("ILSVRC2015_val_00000009", "a.JPEG"))
    assert dict(video.dropped) == {"duplicate track id": 2}


@pytest.mark.parametrize("damage, words", [
    (lambda t: t[:len(t) // 2], ["malformed XML", "line"]),
    (lambda t: t.replace("<ymin>12</ymin>", "", 1), ["<object> #1", "<ymin>"]),
    (lambda t: t.replace("<xmax>40</xmax>", "<xmax>4o</xmax>", 1), ["<xmax>", "'4o'"]),
    (lambda t: t.replace("<trackid>0</trackid>", "", 1), ["<trackid>"]),
    (lambda t: t.replace("<filename>000000</filename>", "", 1), ["<filename>"]),
])
def test_vid_bad_xml_names_the_file(tmp_path, damage, words):
    src = raw_copy(tmp_path, vid_fixture)
    path = os.path.join(src, "Annotations", "VID", "train", V0, "000000.xml")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(damage(text))
    source = get_source("vid")(src, "train")
    assert source.list_videos() == [V0, V1, V2]      # XML is only parsed per video
    with pytest.raises(PrepareError) as e:
        source.load_video(V0)
    assert path in str(e.value) and "\n" not in str(e.value)
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("missing", [
    os.path.join("Annotations", "VID", "train"), os.path.join("Data", "VID", "train"),
    os.path.join("Data", "VID", "train", V1)])
def test_vid_missing_folder_found_when_listing(tmp_path, missing):
    import shutil
    src = raw_copy(tmp_path, vid_fixture)
    shutil.rmtree(os.path.join(src, missing))
    with pytest.raises(PrepareError) as e:
        get_source("vid")(src, "train").list_videos()
    assert os.path.join(src, missing) in str(e.value)


# ---------------------------------------------------------------- DET

def test_det_keys_tracks_and_drops(raw):
    train = get_source("det")(raw["det"], "train")
    assert train.unit == "image"
    assert train.list_videos() == ["ILSVRC2013_train/n00007846_6247", "ILSVRC2013_train/n01443537_16",
                                   "ILSVRC2014_train_0000/ILSVRC2014_train_00000001"]
    index, dropped = index_of(train)
    assert index == DET_TRAIN
    assert dropped == {"ILSVRC2013_train/n00007846_6247": {}, "ILSVRC2013_train/n01443537_16": {"invalid box": 1},
                       "ILSVRC2014_train_0000/ILSVRC2014_train_00000001": {}}
    video = train.load_video("ILSVRC2013_train/n01443537_16")
    assert video.frames[0].image == os.path.join(raw["det"], "Data", "DET", "train", "ILSVRC2013_train",
                                                 "n01443537", "n01443537_16.JPEG")
    val = get_source("det")(raw["det"], "val")
    assert index_of(val)[0] == DET_VAL


def test_det_index_boxes_are_the_xml_boxes(raw):
    for rel, (_, _, _, boxes) in det_fixture.TRAIN.items():
        key = rel.split("/")[0] + "/" + rel.split("/")[-1]
        for track, box in DET_TRAIN.get(key, {}).items():
            assert boxes[int(track)] == box["000000"]


def test_det_links_ignored_extra_on_request(tmp_path):
    src = raw_copy(tmp_path, det_fixture)
    det_fixture.write_image(src, "train", "ILSVRC2013_train_extra0/ILSVRC2013_train_extra0_00000001",
                            (64, 48, False, [[5, 5, 30, 30]]), seed=3)
    for kind in ("Annotations", "Data"):
        train = os.path.join(src, kind, "DET", "train")
        os.symlink("ILSVRC2013_train", os.path.join(train, "a"))
        os.symlink("ILSVRC2014_train_0000", os.path.join(train, "b"))
        os.symlink(os.path.join("..", "val"), os.path.join(train, "i"))
    keys = get_source("det")(src, "train").list_videos()
    assert keys == ["ILSVRC2013_train/n00007846_6247", "ILSVRC2013_train/n01443537_16",
                    "ILSVRC2014_train_0000/ILSVRC2014_train_00000001"]
    extra = get_source("det")(src, "train", include_extra=True)
    assert "ILSVRC2013_train_extra0/ILSVRC2013_train_extra0_00000001" in extra.list_videos()


def test_det_bad_xml_and_missing_folders(tmp_path):
    import shutil
    src = raw_copy(tmp_path, det_fixture)
    path = os.path.join(src, "Annotations", "DET", "train", "ILSVRC2013_train", "n00007846", "n00007846_6247.xml")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("<bndbox>", "<box>", 1).replace("</bndbox>", "</box>", 1))
    source = get_source("det")(src, "train")
    source.list_videos()
    with pytest.raises(PrepareError, match="no <bndbox>") as e:
        source.load_video("ILSVRC2013_train/n00007846_6247")
    assert path in str(e.value)
    shutil.rmtree(os.path.join(src, "Data", "DET", "train", "ILSVRC2014_train_0000"))
    with pytest.raises(PrepareError) as e:
        source.list_videos()
    assert os.path.join(src, "Data", "DET", "train", "ILSVRC2014_train_0000") in str(e.value)
    shutil.rmtree(os.path.join(src, "Annotations", "DET", "val"))
    with pytest.raises(PrepareError) as e:
        get_source("det")(src, "val").list_videos()
    assert os.path.join(src, "Annotations", "DET", "val") in str(e.value)


# ---------------------------------------------------------------- crops and the loader

@pytest.mark.parametrize("name, split, index", [
    ("vid", "train", VID_TRAIN), ("vid", "val", VID_VAL), ("det", "train", DET_TRAIN), ("det", "val", DET_VAL)])
def test_crops_are_pysots_and_index_is_written(raw, prepared, name, split, index):
    out = prepared / name
    with open(out / f"{split}.json") as f:
        assert json.load(f) == index
    source = get_source(name)(raw[name], split)
    source.list_videos()
    crops = 0
    for key, tracks in index.items():
        images = {f.frame: f.image for f in source.load_video(key).frames}
        for track, boxes in tracks.items():
            for frame, box in boxes.items():
                crop = cv2.imread(str(out / "crop511" / key / f"{frame}.{track}.x.jpg")).astype(float)
                original = cv2.imread(images[int(frame)])          # grayscale files come back as BGR too
                err = np.abs(crop - pysot_crop(original, box)).mean()
                moved = np.abs(crop - pysot_crop(original, [v + 2 for v in box])).mean()
                assert err < 1.5 and moved > 3 * err, (key, track, frame, err, moved)
                crops += 1
        # nothing beyond the index in the video's folder
        assert sorted(os.listdir(out / "crop511" / key)) == sorted(
            f"{fr}.{t}.x.jpg" for t, b in tracks.items() for fr in b)
    assert crops == sum(len(b) for t in index.values() for b in t.values())


def test_border_crop_is_padded_with_the_image_mean(raw, prepared):
    # track 00 of frame 2 touches the left border: the crop's left columns are padding
    crop = cv2.imread(str(prepared / "vid" / "crop511" / V0 / "000002.00.x.jpg")).astype(float)
    original = cv2.imread(os.path.join(raw["vid"], "Data", "VID", "train", V0, "000002.JPEG"))
    np.testing.assert_allclose(crop[200:300, :40].mean(axis=(0, 1)), original.mean(axis=(0, 1)), atol=2)


def test_crop_video_skips_an_unreadable_image(tmp_path):
    src = raw_copy(tmp_path, vid_fixture)
    path = os.path.join(src, "Data", "VID", "train", V1, "000002.JPEG")
    with open(path, "r+b") as f:
        f.truncate(100)
    source = get_source("vid")(src, "train")
    rec = crop_video(source, V1, str(tmp_path / "crop511"))
    assert rec["tracks"] == {"00": VID_TRAIN[V1]["00"], "03": {"000001": [40, 20, 70, 50]}}
    assert len(rec["corrupt"]) == 1 and path in rec["corrupt"][0]


def test_training_loader_reads_the_output(prepared):
    subs = tuple(SubDatasetConfig(name.upper(), f"{name}/crop511", f"{name}/train.json", 100, -1)
                 for name in ("vid", "det"))
    for i, (sub, index) in enumerate(zip(subs, (VID_TRAIN, DET_TRAIN))):
        dataset = SubDataset(sub, str(prepared), 0)
        assert dataset.videos == list(index)
        assert dataset.missing_video_folders() == [] and dataset.unreadable_sample(10) == []
        for video, tracks in index.items():
            assert {t: v["boxes"] for t, v in dataset.labels[video].items()} == tracks
    cfg = Config(data=DataConfig(train=subs, val=(), videos_per_epoch=6, num_workers=1),
                 train=SiamRPNTrainConfig(batch_size=2, seed=3))
    pairs = TrackingPairs(cfg, str(prepared), "train")
    for index in range(len(pairs)):
        sample, unreadable = pairs.sample(index)
        assert unreadable == []
        assert sample[0].shape == (3, 127, 127) and sample[1].shape == (3, 255, 255)


# ---------------------------------------------------------------- CLI

def _cli(*args):
    return subprocess.run([sys.executable, "-m", "src.data.prepare", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_vid_two_workers(raw, tmp_path):
    out = tmp_path / "vid"
    run = _cli("vid", "--src", raw["vid"], "--out", str(out), "--workers", "2", "--quiet")
    assert run.returncode == 0, run.stderr
    with open(out / "train.json") as f:
        assert json.load(f) == VID_TRAIN
    assert "dropped 6 boxes" in run.stdout
    assert len(os.listdir(out / "crop511" / V0)) == 8


def test_cli_det_two_workers(raw, tmp_path):
    out = tmp_path / "det"
    run = _cli("det", "--src", raw["det"], "--out", str(out), "--workers", "2", "--quiet")
    assert run.returncode == 0, run.stderr
    with open(out / "train.json") as f:
        assert json.load(f) == DET_TRAIN
    assert "dropped 1 boxes: invalid box 1" in run.stdout


def test_cli_malformed_xml_is_one_line(tmp_path):
    src = raw_copy(tmp_path, vid_fixture)
    path = os.path.join(src, "Annotations", "VID", "val", "ILSVRC2015_val_00000000", "000001.xml")
    with open(path, "w") as f:
        f.write("<annotation><filename>1</filename>")
    run = _cli("vid", "--src", src, "--split", "val", "--out", str(tmp_path / "out"), "--quiet")
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and path in lines[0] and "Traceback" not in run.stderr


def test_cli_reader_options_reach_the_reader_and_the_journal(raw, tmp_path, capsys):
    from src.data.prepare.__main__ import main
    out = str(tmp_path / "vid")
    assert main(["vid", "--src", raw["vid"], "--out", out, "--workers", "1", "--quiet", "--all_segments"]) == 0
    with open(os.path.join(out, "train.json")) as f:
        assert "000001" in json.load(f)[V0]["01"]     # the earlier segment kept
    capsys.readouterr()
    # the same folder without the option would mix two indexes: refused, naming the option
    assert main(["vid", "--src", raw["vid"], "--out", out, "--workers", "1", "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "options" in err[0] and "all_segments" in err[0] and "--restart" in err[0]
    # an option of another dataset's reader
    assert main(["det", "--src", raw["det"], "--out", str(tmp_path / "det"), "--all_segments"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["prepare: --all_segments is an option of vid, not of det"]
    assert not os.path.exists(tmp_path / "det")

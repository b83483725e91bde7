"""YouTube-VOS, GOT-10k and LaSOT readers of ``python -m src.data.prepare``:
what they keep and drop, the crops against pysot's formula, errors, and the
training loader reading the result."""
import json
import os
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

from raw_fixtures import got10k as got_fx
from raw_fixtures import lasot as lasot_fx
from raw_fixtures import ytb_vos as vos_fx
from src.config import SubDatasetConfig, load_config, replace
from src.data.crop511 import SubDataset, TrackingPairs, mask_path
from src.data.prepare import get_source
from src.data.prepare.core import PrepareError, crop_video
from src.data.prepare import ytb_vos
from raw_fixtures.pysot_crop import pysot_crop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def prepare(source, out):
    """crop_video over the split, the index written as the runner does: {video: tracks}."""
    index, records = {}, {}
    for key in source.list_videos():
        rec = crop_video(source, key, str(out / "crop511"))
        records[key] = rec
        if rec["tracks"]:
            index[rec["video"]] = rec["tracks"]
    (out / source.index_name()).write_text(json.dumps(index))
    return index, records


def assert_crops_match(out, index, image_of):
    """Every crop of ``index`` is pysot's crop of its source image (cv2.imread, mean padding) within JPEG noise."""
    n = 0
    for video, tracks in index.items():
        for track, frames in tracks.items():
            for frame, box in frames.items():
                image = cv2.imread(image_of(video, int(frame)))
                expected = pysot_crop(image, box, tuple(np.mean(image, axis=(0, 1))))
                crop = cv2.imread(str(out / "crop511" / video / f"{frame}.{track}.x.jpg"))
                assert crop.shape == (511, 511, 3)
                diff = np.abs(crop.astype(np.float32) - expected)
                # JPEG noise is ~1.8 grey levels inside the image, a box off by one pixel ~5.6
                inside = pysot_crop(np.ones(image.shape[:2], np.float32), box, 0) > 0.999
                assert diff[inside].mean() < 3.0, (video, track, frame)
                assert diff[~inside].mean() < 1.0, (video, track, frame)     # mean-colour padding
                n += 1
    return n


def loader_reads(out, index_name, has_mask=False):
    """src/data/crop511.SubDataset loads the prepared folder; every image (and mask) it would draw exists."""
    sub = SubDataset(SubDatasetConfig("X", "crop511", index_name, 100, -1, has_mask), str(out), 0)
    rng = np.random.default_rng(0)
    for i in range(sub.num):
        (t_path, t_box), (s_path, s_box) = sub.get_positive_pair(i, rng)
        for path in (t_path, s_path):
            assert os.path.isfile(path)
            if has_mask:
                assert os.path.isfile(mask_path(path))
    return sub


# --- YouTube-VOS --------------------------------------------------------------

@pytest.fixture(scope="module")
def vos(tmp_path_factory):
    root = tmp_path_factory.mktemp("ytb_vos_raw")
    return root, vos_fx.write(str(root))


def test_ytb_vos_boxes_tracks_and_drops(vos):
    root, expected = vos
    source = get_source("ytb_vos")(str(root), "train")
    assert source.has_mask and source.index_name() == "train.json"
    assert source.list_videos() == sorted(expected)
    for key in expected:
        video = source.load_video(key)
        got = {}
        for frame in video.frames:
            assert frame.image == os.path.join(str(root), "train", "JPEGImages", key[6:], f"{frame.frame:05d}.jpg")
            for obj in frame.objects:
                got.setdefault(f"{obj.track:02d}", {})[f"{frame.frame:06d}"] = obj.box
        # [xmin, ymin, xmax + 1, ymax + 1] of each object's pixels; object 1's stray pixel left out
        assert got == expected[key]
        assert dict(video.dropped) == vos_fx.DROPPED[key]
    # object 4 absent in frame 5 and object 2 too small in frame 0: no box there
    first = {f.frame: {o.mask for o in f.objects} for f in source.load_video("train/0a1b2c3d4e").frames}
    assert first == {0: {4, 1}, 5: {1, 2}, 10: {4, 1}}


def test_ytb_vos_tracks_follow_siammask_grey_order(vos):
    """SiamMask reads the PNGs with cv2.imread(png, 0) and numbers the objects by grey level."""
    root, _ = vos
    source = get_source("ytb_vos")(str(root), "train")
    source.list_videos()
    for key, tracks in vos_fx.TRACKS.items():
        grey = {}
        for frame in source.load_video(key).frames:
            g = cv2.imread(frame.mask, cv2.IMREAD_GRAYSCALE)
            ids = np.array(vos_fx.label(key[6:], f"{frame.frame:05d}"))
            for obj in frame.objects:
                assert obj.track == tracks[obj.mask]
                grey[obj.track] = int(np.unique(g[ids == obj.mask])[0])
        assert [grey[t] for t in sorted(grey)] == sorted(grey.values())
    assert vos_fx.TRACKS["train/0a1b2c3d4e"][4] == 0     # not the id order


def test_ytb_vos_crops_masks_and_loader(vos, tmp_path):
    root, expected = vos
    source = get_source("ytb_vos")(str(root), "train")
    index, records = prepare(source, tmp_path)
    assert index == expected
    assert records["train/0a1b2c3d4e"]["dropped"] == {"small": 1, "absent": 1}
    assert not any(r["corrupt"] for r in records.values())
    assert assert_crops_match(tmp_path, index, lambda v, f: str(root / v.replace("train/", "train/JPEGImages/", 1)
                                                              / f"{f:05d}.jpg")) == 8
    for video, tracks in index.items():
        for track, frames in tracks.items():
            obj_id = {t: i for i, t in vos_fx.TRACKS[video].items()}[int(track)]
            for frame, box in frames.items():
                ids = vos_fx.label(video[6:], f"{int(frame):05d}")
                want = (pysot_crop((ids == obj_id).astype(np.float32), box, 0) > 0.2).astype(np.uint8) * 255
                got = cv2.imread(str(tmp_path / "crop511" / video / f"{frame}.{track}.m.png"), cv2.IMREAD_UNCHANGED)
                assert got.shape == (511, 511) and got.dtype == np.uint8
                assert np.mean(got != want) < 1e-3 and got.max() == 255
                # the mask is of this object alone: the other objects' pixels stay 0
                others = pysot_crop(((ids != obj_id) & (ids != 0)).astype(np.float32), box, 0) > 0.8
                assert not got[others].any()
    sub = loader_reads(tmp_path, "train.json", has_mask=True)
    assert sorted(sub.videos) == sorted(expected)
    # SiamMask's training pairs: the masks are read and give weighted mask labels of the object
    cfg = replace(load_config(os.path.join(ROOT, "configs", "quickstart_siammask.yaml")), **{
        "data.train": [{"name": "YTB_VOS", "root": "crop511", "anno": "train.json", "frame_range": 20,
                        "num_use": -1, "has_mask": True}], "data.neg": 0.0, "data.videos_per_epoch": 4})
    pairs = TrackingPairs(cfg, str(tmp_path))
    for i in range(len(pairs)):
        sample, unreadable = pairs.sample(i)
        _, weight, target = sample[-3:]
        assert not unreadable and weight.sum() > 0
        assert {-1, 1} <= set(np.unique(target[weight > 0]).tolist())


def test_ytb_vos_split_is_siammask_first_3000(vos, monkeypatch):
    root, _ = vos
    monkeypatch.setattr(ytb_vos, "TRAIN_VIDEOS", 1)     # meta.json order: 0a1b2c3d4e first
    assert get_source("ytb_vos")(str(root), "train").list_videos() == ["train/0a1b2c3d4e"]
    val = get_source("ytb_vos")(str(root), "val")
    assert val.list_videos() == ["train/f9e8d7c6b5"] and val.index_name() == "val.json"


def test_ytb_vos_errors_name_the_file(tmp_path):
    vos_fx.write(str(tmp_path), videos=["f9e8d7c6b5"])
    meta = tmp_path / "train" / "meta.json"
    good = meta.read_text()
    for text, words in (("{\"videos\": [", "invalid JSON at line 1"),
                        ("{\"videos\": {\"f9e8d7c6b5\": {\"objects\": {\"1\": {\"frames\": 5}}}}}",
                         "video 'f9e8d7c6b5' object '1'"),
                        ("[]", "expected")):
        meta.write_text(text)
        with pytest.raises(PrepareError, match=re.escape(str(meta)) + ".*" + re.escape(words)):
            get_source("ytb_vos")(str(tmp_path), "train").list_videos()
    meta.unlink()
    with pytest.raises(PrepareError, match="meta.json"):
        get_source("ytb_vos")(str(tmp_path), "train").list_videos()
    meta.write_text(good)
    png = tmp_path / "train" / "Annotations" / "f9e8d7c6b5" / "00005.png"
    png.write_bytes(png.read_bytes()[:60])
    # a damaged mask PNG loses its frame only (it is found in a pool worker: the run goes on),
    # and is listed among the record's corrupt files as a damaged image is
    source = get_source("ytb_vos")(str(tmp_path), "train")
    (key,) = source.list_videos()
    video = source.load_video(key)
    assert len(video.corrupt) == 1 and str(png) in video.corrupt[0]
    assert 5 not in [f.frame for f in video.frames] and video.frames
    _, records = prepare(source, tmp_path / "out")
    assert records[key]["corrupt"] == video.corrupt and records[key]["crops"] > 0


# --- GOT-10k ------------------------------------------------------------------

@pytest.fixture(scope="module")
def got(tmp_path_factory):
    root = tmp_path_factory.mktemp("got10k_raw")
    return root, got_fx.write(str(root))


@pytest.mark.parametrize("split", ["train", "val"])
def test_got10k_kept_and_dropped(got, split):
    root, expected = got
    source = get_source("got10k")(str(root), split)
    assert source.list_videos() == list(expected[split]) and source.index_name() == f"{split}.json"
    for key, want in expected[split].items():
        video = source.load_video(key)
        assert video.key == key
        assert {f.frame: f.objects[0].box for f in video.frames} == want["kept"]
        assert all(len(f.objects) == 1 and f.objects[0].track == 0 for f in video.frames)
        assert [os.path.basename(f.image) for f in video.frames] == [f"{i + 1:08d}.jpg" for i in want["kept"]]
        assert dict(video.dropped) == want["dropped"]
    if split == "train":    # every filter met once, the border box kept
        assert expected[split]["train/GOT-10k_Train_000001"]["dropped"] == {
            "absent": 1, "occluded": 1, "invalid": 1, "outside": 1}


def test_got10k_crops_and_loader(got, tmp_path):
    root, expected = got
    index, _ = prepare(get_source("got10k")(str(root), "train"), tmp_path)
    assert index == {k: {"00": {f"{i:06d}": box for i, box in v["kept"].items()}}
                     for k, v in expected["train"].items()}
    n = assert_crops_match(tmp_path, index, lambda v, f: str(root / v / f"{f + 1:08d}.jpg"))
    assert n == 5
    assert loader_reads(tmp_path, "train.json").num == 2


def test_got10k_errors_name_file_and_line(tmp_path):
    got_fx.write(str(tmp_path))
    seq = tmp_path / "train" / "GOT-10k_Train_000002"
    source = get_source("got10k")(str(tmp_path), "train")
    gt = seq / "groundtruth.txt"
    gt.write_text("10,8,30,20\n12,9,30\n14,10,30,20\n")
    with pytest.raises(PrepareError, match=re.escape(f"{gt}:2: expected 4 numbers")):
        source.load_video("train/GOT-10k_Train_000002")
    gt.write_text("10,8,30,20\n12,9,30,20\n14,10,nan,20\n")
    with pytest.raises(PrepareError, match=re.escape(f"{gt}:3:")):
        source.load_video("train/GOT-10k_Train_000002")
    gt.write_text("10,8,30,20\n12,9,30,20\n14,10,30,20\n")
    (seq / "cover.label").write_text("8\n9\n8\n")
    with pytest.raises(PrepareError, match=re.escape(f"{seq / 'cover.label'}:2:")):
        source.load_video("train/GOT-10k_Train_000002")
    (seq / "cover.label").write_text("8\n8\n")
    with pytest.raises(PrepareError, match=re.escape(f"{seq / 'cover.label'}: 2 labels for 3 boxes")):
        source.load_video("train/GOT-10k_Train_000002")
    listing = tmp_path / "train" / "list.txt"
    listing.write_text("GOT-10k_Train_000001\nGOT-10k_Train_000002\nGOT-10k_Train_009999\n")
    with pytest.raises(PrepareError, match=re.escape(f"{listing}:3: sequence folder not found")):
        source.list_videos()
    listing.unlink()
    with pytest.raises(PrepareError, match="list.txt"):
        source.list_videos()
    with pytest.raises(PrepareError, match="no split 'test'"):
        get_source("got10k")(str(tmp_path), "test")


def test_got10k_cli(got, tmp_path):
    """The whole command: python -m src.data.prepare got10k --src ... --out ... --workers 2."""
    if not os.path.isfile(os.path.join(ROOT, "src", "data", "prepare", "runner.py")):
        pytest.skip("the runner is not there yet")
    root, expected = got
    out = tmp_path / "got10k"
    proc = subprocess.run([sys.executable, "-m", "src.data.prepare", "got10k", "--src", str(root),
                           "--out", str(out), "--workers", "2", "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    index = json.loads((out / "train.json").read_text())
    assert index == {k: {"00": {f"{i:06d}": box for i, box in v["kept"].items()}}
                     for k, v in expected["train"].items()}
    assert len(list((out / "crop511" / "train" / "GOT-10k_Train_000001").glob("*.x.jpg"))) == 2


# --- LaSOT --------------------------------------------------------------------

@pytest.fixture(scope="module")
def lasot(tmp_path_factory):
    root = tmp_path_factory.mktemp("lasot_raw")
    return root, lasot_fx.write(str(root))


@pytest.mark.parametrize("split", ["train", "test"])
def test_lasot_official_split_kept_and_dropped(lasot, split):
    root, expected = lasot
    source = get_source("lasot")(str(root), split)
    assert source.list_videos() == list(expected[split]) and source.index_name() == f"{split}.json"
    for key, want in expected[split].items():
        video = source.load_video(key)
        assert {f.frame: f.objects[0].box for f in video.frames} == want["kept"]
        assert [f.image for f in video.frames] == [str(root / key / "img" / f"{i + 1:08d}.jpg")
                                                   for i in want["kept"]]
        assert dict(video.dropped) == want["dropped"]
    if split == "train":
        assert expected[split]["airplane/airplane-2"]["dropped"] == {
            "occluded": 1, "out_of_view": 1, "invalid": 1, "outside": 1}


def test_lasot_official_test_list():
    from src.data.prepare.lasot import TEST_SEQUENCES
    classes = {}
    for name in TEST_SEQUENCES:
        cls, n = name.rsplit("-", 1)
        classes.setdefault(cls, set()).add(int(n))
    assert len(TEST_SEQUENCES) == 280 and len(classes) == 70
    assert all(len(v) == 4 and max(v) <= 20 for v in classes.values())
    assert {"airplane-1", "rubicCube-14", "zebra-17", "volleyball-19"} <= TEST_SEQUENCES


def test_lasot_testing_set_file_replaces_the_list(tmp_path):
    lasot_fx.write(str(tmp_path), testing_set=["cat-5"])
    assert get_source("lasot")(str(tmp_path), "test").list_videos() == ["cat/cat-5"]
    assert get_source("lasot")(str(tmp_path), "train").list_videos() == ["airplane/airplane-1",
                                                                        "airplane/airplane-2"]


def test_lasot_crops_and_loader(lasot, tmp_path):
    root, expected = lasot
    index, _ = prepare(get_source("lasot")(str(root), "train"), tmp_path)
    assert index == {k: {"00": {f"{i:06d}": box for i, box in v["kept"].items()}}
                     for k, v in expected["train"].items()}
    assert assert_crops_match(tmp_path, index, lambda v, f: str(root / v / "img" / f"{f + 1:08d}.jpg")) == 5
    assert loader_reads(tmp_path, "train.json").num == 2


def test_lasot_errors_name_file_and_line(tmp_path):
    lasot_fx.write(str(tmp_path))
    seq = tmp_path / "cat" / "cat-5"
    source = get_source("lasot")(str(tmp_path), "train")
    (seq / "out_of_view.txt").write_text("0,x,0")
    with pytest.raises(PrepareError, match=re.escape(f"{seq / 'out_of_view.txt'}:1: expected one of 0, 1, got 'x'")):
        source.load_video("cat/cat-5")
    (seq / "out_of_view.txt").write_text("0,0")
    with pytest.raises(PrepareError, match="out_of_view.txt: 2 labels for 3 boxes"):
        source.load_video("cat/cat-5")
    (seq / "out_of_view.txt").write_text("0,0,0")
    (seq / "groundtruth.txt").write_text("10,8,30,20\n11,9,30,20\n12;10;30;20\n")
    with pytest.raises(PrepareError, match=re.escape(f"{seq / 'groundtruth.txt'}:3: expected 4 numbers")):
        source.load_video("cat/cat-5")
    (seq / "groundtruth.txt").unlink()
    with pytest.raises(PrepareError, match=re.escape(f"annotation file not found: {seq / 'groundtruth.txt'}")):
        source.list_videos()
    with pytest.raises(PrepareError, match="no split 'val'"):
        get_source("lasot")(str(tmp_path), "val")

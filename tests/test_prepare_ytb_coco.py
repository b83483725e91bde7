"""YouTube-BB and COCO readers of ``python -m src.data.prepare`` (src/data/prepare/ytb.py, coco.py).

The raw datasets are written by tests/raw_fixtures in their real on-disk
formats; the crops are checked against pysot's par_crop.py formula, written
out here on its own, and the masks against a direct crop of the annotation.
"""
import gzip
import json
import math
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from raw_fixtures import coco as coco_fixture
from raw_fixtures import ytb as ytb_fixture
from src.config import SubDatasetConfig, load_config, replace
from src.data.crop511 import SubDataset, TrackingPairs, mask_path
from src.data.prepare import get_source
from src.data.prepare.core import PrepareError, crop_video
from src.data.prepare.ytb import frame_size
from raw_fixtures.pysot_crop import pysot_crop, siammask_mask_crop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def assert_jpeg_close(crop_path, expected):
    crop = cv2.imread(crop_path)
    assert crop.shape == expected.shape == (511, 511, 3)
    diff = np.abs(crop.astype(np.float32) - expected.astype(np.float32))
    assert diff.mean() < 1.5, (crop_path, diff.mean())
    assert np.percentile(diff, 99) < 10, (crop_path, np.percentile(diff, 99))


def prepare(source, out):
    """Crop every video as the runner does; (index, records) with the runner's index layout."""
    records = [crop_video(source, key, os.path.join(out, "crop511")) for key in source.list_videos()]
    index = {r["video"]: r["tracks"] for r in records if r["tracks"]}
    with open(os.path.join(out, source.index_name()), "w", encoding="utf-8") as f:
        json.dump(index, f)
    return index, records


def dropped_total(records):
    total = {}
    for r in records:
        for reason, n in r["dropped"].items():
            total[reason] = total.get(reason, 0) + n
    return total


def assert_index_close(index, expected):
    assert {v: {t: sorted(f) for t, f in tracks.items()} for v, tracks in index.items()} == \
        {v: {t: sorted(f) for t, f in tracks.items()} for v, tracks in expected.items() if tracks}
    for video, tracks in expected.items():
        for track, frames in tracks.items():
            for frame, box in frames.items():
                np.testing.assert_allclose(index[video][track][frame], box, rtol=0, atol=1e-9)


@pytest.fixture(scope="module")
def ytb(tmp_path_factory):
    root = tmp_path_factory.mktemp("ytb")
    info = ytb_fixture.write(str(root / "raw"))
    source = get_source("ytb")(info["root"], "train")
    index, records = prepare(source, str(root / "data" / "ytb"))
    return {**info, "source": source, "out": str(root / "data" / "ytb"), "data": str(root / "data"),
            "prepared": index, "records": records}


@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    root = tmp_path_factory.mktemp("coco")
    info = coco_fixture.write(str(root / "raw"))
    source = get_source("coco")(info["root"], "train")
    index, records = prepare(source, str(root / "data" / "coco"))
    return {**info, "source": source, "out": str(root / "data" / "coco"), "data": str(root / "data"),
            "prepared": index, "records": records}


# --- YouTube-BB -------------------------------------------------------------

def test_ytb_videos_tracks_frames_are_pysots(ytb):
    assert ytb["source"].list_videos() == ["yt_bb_detection_train/0/AAB6lO-XiKE",
                                           "yt_bb_detection_train/22/AAB6lO-XiKE",
                                           "yt_bb_detection_train/3/b_Z9-Qx1y2w"]
    assert ytb["source"].index_name() == "train.json"
    # frames are seconds, tracks the object ids, boxes the fractions times the frame size
    assert sorted(ytb["prepared"]["yt_bb_detection_train/0/AAB6lO-XiKE"]["01"]) == ["000000", "000001", "000003"]
    assert ytb["prepared"]["yt_bb_detection_train/0/AAB6lO-XiKE"]["01"]["000003"] == [112.0, 45.0, 160.0, 90.0]
    # 7000 and 7500 ms are both second 7: the later line wins, as pysot's crop file and index entry
    np.testing.assert_allclose(ytb["prepared"]["yt_bb_detection_train/22/AAB6lO-XiKE"]["00"]["000007"],
                               [40.0, 31.5, 88.0, 76.5])
    assert_index_close(ytb["prepared"], ytb["index"])
    assert dropped_total(ytb["records"]) == ytb["dropped"] == {
        "absent": 1, "missing frame": 1, "invalid box": 2, "negative coordinate": 1, "same second": 1}
    assert all(not r["corrupt"] for r in ytb["records"])


def test_ytb_crops_are_pysots_crops(ytb):
    crop_root = os.path.join(ytb["out"], "crop511")
    for video, tracks in ytb["index"].items():
        names = sorted(os.listdir(os.path.join(crop_root, video)))
        assert names == sorted(f"{frame}.{track}.x.jpg" for track, frames in tracks.items() for frame in frames)
        for track, frames in tracks.items():
            for frame, box in frames.items():
                image = cv2.imread(ytb["images"][(video, track, frame)])
                assert_jpeg_close(os.path.join(crop_root, video, f"{frame}.{track}.x.jpg"), pysot_crop(image, box))


def test_ytb_header_line_gzip_and_val_split(tmp_path):
    info = ytb_fixture.write(str(tmp_path / "val"), split="val", header=True)
    with open(info["csv"], "rb") as f, gzip.open(info["csv"] + ".gz", "wb") as g:
        g.write(f.read())
    os.remove(info["csv"])
    source = get_source("ytb")(info["root"], "val")
    assert source.index_name() == "val.json"
    assert source.list_videos() == sorted(info["index"])
    assert all(k.startswith("yt_bb_detection_validation/") for k in source.list_videos())
    video = source.load_video("yt_bb_detection_validation/3/b_Z9-Qx1y2w")
    assert [(f.frame, f.objects[0].track) for f in video.frames] == [(12, 0), (14, 0)]


@pytest.mark.parametrize("line, words", [
    ("AAB6lO-XiKE,9000,0,person,0,present,0.1,0.4,0.2", "expected 10 comma-separated fields"),
    ("AAB6lO-XiKE,9s,0,person,0,present,0.1,0.4,0.2,0.9", "must be integers"),
    ("AAB6lO-XiKE,9000,0,person,0,maybe,0.1,0.4,0.2,0.9", "object_presence"),
    ("AAB6lO-XiKE,9000,0,person,0,present,0.1,abc,0.2,0.9", "must be numbers"),
    ("AAB6lO-XiKE,9000,0,person,0,present,0.1,nan,0.2,0.9", "must be numbers"),
])
def test_ytb_malformed_line_names_file_and_line(tmp_path, line, words):
    info = ytb_fixture.write(str(tmp_path))
    with open(info["csv"], encoding="utf-8") as f:
        lines = f.read().splitlines()
    lines.insert(3, line)
    with open(info["csv"], "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with pytest.raises(PrepareError) as err:
        get_source("ytb")(info["root"], "train").list_videos()
    assert f"{info['csv']}:4:" in str(err.value) and words in str(err.value)


def test_ytb_missing_csv_or_frame_folder(tmp_path):
    with pytest.raises(PrepareError, match="yt_bb_detection_train.csv"):
        get_source("ytb")(str(tmp_path), "train").list_videos()
    info = ytb_fixture.write(str(tmp_path / "raw"))
    shutil.rmtree(os.path.join(info["root"], "yt_bb_detection_train"))
    with pytest.raises(PrepareError, match="frame folder not found"):
        get_source("ytb")(info["root"], "train").list_videos()


def test_ytb_unreadable_frames_are_listed_corrupt(tmp_path):
    info = ytb_fixture.write(str(tmp_path / "raw"))
    key = "yt_bb_detection_train/3/b_Z9-Qx1y2w"
    truncated, garbage = info["images"][(key, "00", "000012")], info["images"][(key, "00", "000014")]
    with open(truncated, "rb") as f:
        data = f.read()
    with open(truncated, "wb") as f:
        f.write(data[:len(data) // 2])      # the header (size) is readable, the picture is not
    with open(garbage, "wb") as f:
        f.write(b"not a jpeg at all")
    record = crop_video(get_source("ytb")(info["root"], "train"), key, str(tmp_path / "crop511"))
    assert record["tracks"] == {} and record["crops"] == 0
    assert len(record["corrupt"]) == 2
    assert any(truncated in m for m in record["corrupt"]) and any(garbage in m for m in record["corrupt"])


def test_frame_size_follows_cv2_exif_orientation(tmp_path):
    path = str(tmp_path / "rotated.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6    # rotate 90 degrees: cv2.imread returns it upright
    Image.fromarray(np.zeros((20, 40, 3), np.uint8)).save(path, "JPEG", exif=exif.tobytes())
    height, width = cv2.imread(path).shape[:2]
    assert frame_size(path) == (width, height) == (20, 40)


# --- COCO ---------------------------------------------------------------------

def test_coco_images_and_tracks_are_pysots(coco):
    source = coco["source"]
    assert source.index_name() == "train2017.json" and source.unit == "image" and source.has_mask
    # image 30 has no annotation: not a video; image 42 has only a zero-height box: listed, no track
    assert source.list_videos() == ["train2017/000000000009", "train2017/000000000025", "train2017/000000000042"]
    # positions in the image's annotations (file order, interleaved with image 25's), crowd kept,
    # the zero-width box's number 02 unused
    assert sorted(coco["prepared"]["train2017/000000000009"]) == ["00", "01", "03"]
    assert coco["prepared"]["train2017/000000000009"]["03"] == {"000000": [110, 70, 160, 120]}
    assert "train2017/000000000042" not in coco["prepared"]
    assert_index_close(coco["prepared"], coco["index"])
    assert dropped_total(coco["records"]) == coco["dropped"] == {"invalid box": 2}
    assert all(not r["corrupt"] for r in coco["records"])


def test_coco_val_split_names(tmp_path):
    info = coco_fixture.write(str(tmp_path), split="val")
    source = get_source("coco")(info["root"], "val")
    assert source.index_name() == "val2017.json"
    assert source.list_videos() == sorted(info["index"])
    assert source.load_video("val2017/000000000025").frames[0].image == os.path.join(
        info["root"], "val2017", "000000000025.jpg")


def test_coco_crops_are_pysots_crops(coco):
    crop_root = os.path.join(coco["out"], "crop511")
    for video, tracks in coco["index"].items():
        image = cv2.imread(coco["images"][video])     # 3 channels also for the grayscale JPEG, as pysot
        for track, frames in tracks.items():
            assert_jpeg_close(os.path.join(crop_root, video, f"000000.{track}.x.jpg"),
                              pysot_crop(image, frames["000000"]))


def test_coco_masks_are_siammasks_mask_crops(coco):
    crop_root = os.path.join(coco["out"], "crop511")
    checked = 0
    for (video, track), truth in coco["masks"].items():
        box = coco["index"][video][track]["000000"]
        mask = cv2.imread(os.path.join(crop_root, video, f"000000.{track}.m.png"), cv2.IMREAD_UNCHANGED)
        assert mask.shape == (511, 511) and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
        if truth is None:   # the triangle: pycocotools' raster differs from cv2.fillPoly on the edges
            height, width = cv2.imread(coco["images"][video]).shape[:2]
            filled = np.zeros((height, width), np.uint8)
            points = np.array(coco["polygons"][(video, track)][0], np.float64).reshape(-1, 2)
            cv2.fillPoly(filled, [np.round(points).astype(np.int32)], 1)
            expected = siammask_mask_crop(filled, box, 0.5) > 0
            iou = np.logical_and(expected, mask > 0).sum() / np.logical_or(expected, mask > 0).sum()
            assert iou > 0.9, (video, track, iou)
            continue
        expected = siammask_mask_crop(truth, box, 0.5)
        assert np.count_nonzero(mask != expected) <= 0.002 * np.count_nonzero(expected), (video, track)
        # the threshold is SiamMask COCO's 0.5: core's default 0.2 grows the mask by ~1.5 crop pixels
        loose = siammask_mask_crop(truth, box, 0.2)
        assert np.count_nonzero(mask != loose) > 10 * max(1, np.count_nonzero(mask != expected)), (video, track)
        checked += 1
    assert checked == 4     # two rectangles, the two-part polygon, the crowd RLE (with its hole)


def _rewrite_json(info, change):
    with open(info["json"], encoding="utf-8") as f:
        data = json.load(f)
    change(data)
    with open(info["json"], "w", encoding="utf-8") as f:
        json.dump(data, f)


@pytest.mark.parametrize("change, words", [
    (lambda d: d["annotations"][2].pop("bbox"), "annotations[2]: missing key 'bbox'"),
    (lambda d: d["annotations"][4].update(bbox=[1, 2, 3]), "annotations[4]: 'bbox' must be"),
    (lambda d: d["annotations"][1].update(segmentation="polygon"), "annotations[1]: 'segmentation'"),
    (lambda d: d["images"][1].pop("height"), "images[1]: missing key 'height'"),
    (lambda d: d["images"][0].update(file_name=7), "images[0]: bad 'file_name'"),
    (lambda d: d.pop("annotations"), "no 'annotations' list"),
])
def test_coco_malformed_json_names_file_and_entry(tmp_path, change, words):
    info = coco_fixture.write(str(tmp_path))
    _rewrite_json(info, change)
    with pytest.raises(PrepareError) as err:
        get_source("coco")(info["root"], "train").list_videos()
    assert str(err.value).startswith(info["json"]) and words in str(err.value)


def test_coco_unparsable_or_missing_json(tmp_path):
    with pytest.raises(PrepareError, match="instances_train2017.json"):
        get_source("coco")(str(tmp_path), "train").list_videos()
    info = coco_fixture.write(str(tmp_path / "raw"))
    with open(info["json"], "r+", encoding="utf-8") as f:
        f.truncate(len(f.read()) // 2)
    with pytest.raises(PrepareError) as err:
        get_source("coco")(info["root"], "train").list_videos()
    assert str(err.value).startswith(f"{info['json']}: invalid JSON")
    with open(info["json"], "w", encoding="utf-8") as f:
        f.write("[]")
    with pytest.raises(PrepareError, match="expected a JSON object"):
        get_source("coco")(info["root"], "train").list_videos()


def test_coco_mask_of_another_size_is_listed_corrupt(tmp_path):
    info = coco_fixture.write(str(tmp_path / "raw"))
    _rewrite_json(info, lambda d: d["images"][1].update(height=70))    # image 25 is 96x64
    record = crop_video(get_source("coco")(info["root"], "train"), "train2017/000000000025", str(tmp_path / "c"))
    assert record["tracks"] == {} and len(record["corrupt"]) == 2
    assert "000000000025.jpg: image is 96x64 but" in record["corrupt"][0]
    assert not os.path.exists(tmp_path / "c" / "train2017" / "000000000025" / "000000.00.x.jpg")


# --- the training loader reads the prepared folders ----------------------------

def test_training_loader_reads_prepared_ytb_and_coco(ytb, coco):
    data = os.path.dirname(ytb["out"])
    shutil.copytree(coco["out"], os.path.join(data, "coco"), dirs_exist_ok=True)
    subs = [SubDatasetConfig("YOUTUBEBB", "ytb/crop511", "ytb/train.json", 3, -1, False),
            SubDatasetConfig("COCO", "coco/crop511", "coco/train2017.json", 1, -1, True)]
    ytb_sub, coco_sub = SubDataset(subs[0], data, 0), SubDataset(subs[1], data, 3)
    assert sorted(ytb_sub.videos) == sorted(ytb["prepared"]) and ytb_sub.num_images == 10
    assert sorted(coco_sub.videos) == sorted(coco["prepared"]) and coco_sub.num_images == 5
    assert ytb_sub.missing_video_folders() == [] == coco_sub.missing_video_folders()
    rng = np.random.default_rng(0)
    for sub in (ytb_sub, coco_sub):
        for index in range(sub.num):
            for path, box in sub.get_positive_pair(index, rng):
                assert cv2.imread(path).shape == (511, 511, 3) and len(box) == 4
                if sub.has_mask:
                    assert cv2.imread(mask_path(path), cv2.IMREAD_GRAYSCALE).shape == (511, 511)
    cfg = replace(load_config(os.path.join(ROOT, "configs", "quickstart_siammask.yaml")), **{
        "data.train": [{"name": s.name, "root": s.root, "anno": s.anno, "frame_range": s.frame_range,
                        "num_use": -1, "has_mask": s.has_mask} for s in subs],
        "data.neg": 0.0, "data.videos_per_epoch": 12})
    pairs = TrackingPairs(cfg, data, "train")
    with_mask = 0
    for i in range(len(pairs)):
        sample, bad = pairs.sample(i)
        assert bad == []
        mask_weight = sample[6]
        dataset, _ = pairs._find_dataset(int(pairs.epoch_pick(0)[i]))
        if dataset.name == "YOUTUBEBB":
            assert mask_weight.sum() == 0
        else:
            with_mask += mask_weight.sum() > 0
    assert with_mask > 0    # COCO pairs carry their masks


def test_cli_prepares_coco(tmp_path):
    if not os.path.exists(os.path.join(ROOT, "src", "data", "prepare", "runner.py")):
        pytest.skip("no runner yet")
    info = coco_fixture.write(str(tmp_path / "raw"))
    out = tmp_path / "coco"
    result = subprocess.run([sys.executable, "-m", "src.data.prepare", "coco", "--src", info["root"],
                             "--out", str(out), "--workers", "2", "--quiet"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    with open(out / "train2017.json", encoding="utf-8") as f:
        index = json.load(f)
    assert_index_close(index, info["index"])
    assert sorted(os.listdir(out / "crop511" / "train2017" / "000000000009")) == [
        f"000000.{t}.{kind}" for t in ("00", "01", "03") for kind in ("m.png", "x.jpg")]
    _rewrite_json(info, lambda d: d["annotations"][0].pop("image_id"))
    bad = subprocess.run([sys.executable, "-m", "src.data.prepare", "coco", "--src", info["root"],
                          "--out", str(tmp_path / "bad"), "--workers", "2", "--quiet"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "instances_train2017.json: annotations[0]: missing key 'image_id'" in bad.stderr

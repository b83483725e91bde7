"""Training data path: augmentation geometry, crop511 pair sampling, MindSpore pipeline."""
import src  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before mindspore is imported)

import json
import logging
import os
import re

import cv2
import numpy as np
import pytest

from src.config import AugConfig, Config, DataConfig, SubDatasetConfig, replace
from src.models.siamrpn import SiamRPNTrainConfig   # the train section of Config()'s family
from src.data import pipeline
from src.data.augmentation import Augmentation
from src.data.crop511 import TrackingPairs
from src.data.pipeline import create_train_dataset, create_val_dataset, set_epoch

# ----------------------------------------------------------------------------
# a tiny crop511 dataset: 511x511 crops with a bright target at the centre

VIDEOS = {"v0": (6, 1), "v1": (5, 2), "v2": (4, 1), "v3": (1, 1)}  # name: (frames, tracks)


def _write_split(root, split):
    rng = np.random.default_rng(len(split))
    index = {}
    for video, (frames, tracks) in VIDEOS.items():
        os.makedirs(root / split / "crop511" / video)
        index[video] = {}
        for track in range(tracks):
            boxes = {}
            for frame in range(frames):
                w, h = 30 + 4 * frame, 40 - 2 * track
                boxes[f"{frame:06d}"] = [100.0, 50.0, 100.0 + w, 50.0 + h]
                p = (w + h) / 2
                scale = 127 / np.sqrt((w + p) * (h + p))
                image = rng.integers(20, 60, (511, 511, 3), dtype=np.uint8)
                cv2.rectangle(image, (int(255 - w * scale / 2), int(255 - h * scale / 2)),
                              (int(255 + w * scale / 2), int(255 + h * scale / 2)),
                              (60 * track + 100, 220, 250), -1)
                path = root / split / "crop511" / video / f"{frame:06d}.{track:02d}.x.jpg"
                cv2.imwrite(str(path), image)
            index[video][f"{track:02d}"] = boxes
    # entries pysot drops: a zero-size box and a track without valid boxes
    index["v0"]["00"]["000099"] = [10, 10, 10, 30]
    index["empty"] = {"00": {"000000": [5, 5, 4, 9]}}
    (root / split / f"{split}.json").write_text(json.dumps(index))


def make_dataset(root):
    for split in ("train", "val"):
        _write_split(root, split)
    return root


def make_cfg(**data):
    fields = dict(
        train=(SubDatasetConfig("T", "train/crop511", "train/train.json", 2, -1),),
        val=(SubDatasetConfig("V", "val/crop511", "val/val.json", 2, -1),),
        videos_per_epoch=16, val_pairs=8, neg=0.25, gray=0.2, num_workers=2)
    fields.update(data)
    return Config(data=DataConfig(**fields), train=SiamRPNTrainConfig(batch_size=4, seed=7))


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("crop511"))


def epochs(dataset, num_epochs):
    it = dataset.create_tuple_iterator(num_epochs=num_epochs, output_numpy=True)
    return [[tuple(col.copy() for col in batch) for batch in it] for _ in range(num_epochs)]


def assert_same(a, b):
    assert len(a) == len(b)
    for batch_a, batch_b in zip(a, b):
        for col_a, col_b in zip(batch_a, batch_b):
            np.testing.assert_array_equal(col_a, col_b)


# ----------------------------------------------------------------------------
# augmentation geometry

@pytest.fixture(scope="module")
def target_image():
    image = np.full((511, 511, 3), 30, dtype=np.uint8)
    image[240:271, 230:281] = 230                      # target pixels x 230..280, y 240..270
    return image, np.array([230.0, 240.0, 280.0, 270.0])


def bright_box(crop):
    ys, xs = np.nonzero(crop[..., 0] > 130)
    return np.array([xs.min(), ys.min(), xs.max(), ys.max()], dtype=float)


def test_centre_crop_puts_box_where_expected(target_image):
    image, bbox = target_image
    crop, out = Augmentation(AugConfig(0, 0, 0, 0, 0))(image, bbox, 255, False, np.random.default_rng(0))
    assert crop.shape == (255, 255, 3) and crop.dtype == np.uint8
    # crop window: centre 255, side 254 -> crop pixel 0 is image pixel 128
    np.testing.assert_array_equal(out, bbox - 128)
    np.testing.assert_array_equal(bright_box(crop), bbox - 128)
    crop127, out127 = Augmentation(AugConfig(0, 0, 0, 0, 0))(image, bbox, 127, False,
                                                              np.random.default_rng(0))
    np.testing.assert_array_equal(out127, bbox - 192)


def test_shift_moves_box_with_content(target_image):
    image, bbox = target_image
    aug = Augmentation(AugConfig(40, 0, 0, 0, 0))
    shifts = []
    for seed in range(6):
        crop, out = aug(image, bbox, 255, False, np.random.default_rng(seed))
        shift = (bbox - 128) - out
        assert shift[0] == pytest.approx(shift[2]) and shift[1] == pytest.approx(shift[3])
        assert np.abs(shift).max() <= 40
        np.testing.assert_allclose(bright_box(crop), out, atol=1.0)
        shifts.append(shift[:2])
    assert np.abs(shifts).max() > 5


def test_scale_and_shift_keep_box_on_content(target_image):
    image, bbox = target_image
    aug = Augmentation(AugConfig(30, 0.2, 0, 0, 0))
    for seed in range(6):
        crop, out = aug(image, bbox, 255, False, np.random.default_rng(seed))
        np.testing.assert_allclose(bright_box(crop), out, atol=1.5)


def test_flip_mirrors_box(target_image):
    image, bbox = target_image
    crop, out = Augmentation(AugConfig(0, 0, 0, 1.0, 0))(image, bbox, 255, False,
                                                          np.random.default_rng(0))
    x1, y1, x2, y2 = bbox - 128
    np.testing.assert_array_equal(out, [254 - x2, y1, 254 - x1, y2])
    np.testing.assert_array_equal(bright_box(crop), out)


def test_color_gray_and_blur(target_image):
    image, bbox = target_image
    image = image.copy()
    image[..., 1] = 90                                  # make the channels differ
    plain, _ = Augmentation(AugConfig(0, 0, 0, 0, 0))(image, bbox, 127, False, np.random.default_rng(0))
    color, _ = Augmentation(AugConfig(0, 0, 0, 0, 1.0))(image, bbox, 127, False, np.random.default_rng(0))
    assert color.dtype == np.float32
    offset = plain.astype(np.float32) - color           # one constant offset per channel
    np.testing.assert_allclose(offset, np.broadcast_to(offset[0, 0], offset.shape), atol=1e-4)
    assert np.abs(offset[0, 0]).max() > 0
    gray, _ = Augmentation(AugConfig(0, 0, 0, 0, 0))(image, bbox, 127, True, np.random.default_rng(0))
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    blurred, out = Augmentation(AugConfig(0, 0, 1.0, 0, 0))(image, bbox, 127, False,
                                                            np.random.default_rng(0))
    assert blurred.shape == plain.shape and not np.array_equal(blurred, plain)
    np.testing.assert_array_equal(out, bbox - 192)


# ----------------------------------------------------------------------------
# pair source

def test_source_pairs(data_root):
    pairs = TrackingPairs(make_cfg(), str(data_root))
    assert len(pairs) == 16
    assert [d.videos for d in pairs.datasets] == [["v0", "v1", "v2", "v3"]]  # 'empty' dropped
    assert "000099" not in pairs.datasets[0].labels["v0"]["00"]["boxes"]
    template, search, cls, loc, weight = pairs[3]
    assert template.shape == (3, 127, 127) and search.shape == (3, 255, 255)
    assert template.dtype == search.dtype == np.float32
    assert cls.shape == weight.shape == (5, 17, 17) and loc.shape == (4, 5, 17, 17)
    assert cls.dtype == np.int32 and loc.dtype == weight.dtype == np.float32
    # every video is used equally often per epoch (pysot pick lists)
    assert sorted(np.bincount(pairs.epoch_pick(0))) == [4, 4, 4, 4]
    # index = epoch * len + i; samples are pure functions of (seed, epoch, i)
    again = TrackingPairs(make_cfg(), str(data_root))
    for a, b in zip(pairs[16 + 3], again[16 + 3]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(pairs[3][1], pairs[16 + 3][1])


def test_val_pairs_are_fixed_geometry_only_crops(data_root):
    """Validation pairs: no colour/blur, never negative, the same every pass, and
    the search target shifted as in training (so a centre prior cannot score)."""
    from src.models.anchors import training_anchors
    cfg = make_cfg()
    pairs = TrackingPairs(cfg, str(data_root), split="val")
    assert len(pairs) == 8
    _, centers = training_anchors(8, cfg.model.anchor.ratios, cfg.model.anchor.scales, 127, 17)
    offsets = []
    for i in range(len(pairs)):
        template, search, cls, loc, _ = pairs[i]
        for a, b in zip(pairs[i], (template, search, cls, loc)):
            np.testing.assert_array_equal(a, b)
        assert (cls == 1).any()                         # never a negative pair
        # the target is the bright rectangle: centred in the template, at the labelled spot in the search
        assert template[1, 63, 63] > 200
        cx = loc[0, 0, 0, 0] * centers[2, 0, 0, 0] + centers[0, 0, 0, 0]
        cy = loc[1, 0, 0, 0] * centers[3, 0, 0, 0] + centers[1, 0, 0, 0]
        assert search[1, int(round(cy)), int(round(cx))] > 200
        offsets.append(abs(cx - 127) + abs(cy - 127))
    assert max(offsets) > 8


def test_check_training_data_refuses_before_any_loader(tmp_path):
    """check_training_data (train.py runs it before building the model): wrong index
    structure, a crop folder without the index's videos, too many unreadable images."""
    from src.data.pipeline import check_training_data
    root = make_dataset(tmp_path / "d")
    check_training_data(make_cfg(), str(root))
    index = root / "train" / "train.json"
    good = index.read_text()
    for text, fragment in (("[1, 2]", "must map video names to tracks, got a JSON list"),
                           ('{"v0": [1]}', "video 'v0' must map track ids to frames, got list"),
                           ('{"v0": {"00": {"000000": [1, 2, 3]}}}', "frame '000000': a box is [x1, y1, x2, y2]"),
                           ("{not json", "train.json: invalid JSON at line 1")):
        index.write_text(text)
        with pytest.raises(ValueError, match=re.escape(fragment)):
            check_training_data(make_cfg(), str(root))
    index.write_text(good)
    crops = root / "train" / "crop511"
    (crops / "v3").rename(root / "v3")                    # 1 of 4 videos without a folder: above 1 %
    with pytest.raises(FileNotFoundError, match=re.escape(f"T: 1 of the 4 videos of {index} have no folder")):
        check_training_data(make_cfg(), str(root))
    check_training_data(make_cfg(max_bad_image_share=0.5), str(root))   # allowed: counted when met
    (root / "v3").rename(crops / "v3")
    for video in ("v0", "v1", "v2", "v3"):
        (crops / video).rename(root / video)
    with pytest.raises(FileNotFoundError, match=r"T: none of the 4 videos .* check data\.train\[0\]\.root"):
        check_training_data(make_cfg(), str(root))
    for video in ("v0", "v1", "v2", "v3"):
        (root / video).rename(crops / video)
    first = crops / "v0" / "000000.00.x.jpg"               # read by the spot check
    first.write_bytes(first.read_bytes()[:100])
    with pytest.raises(ValueError, match=re.escape(f"T: at least 1 of its 21 images are unreadable (4.8% > "
                                                   f"data.max_bad_image_share 0.01), e.g. {first}")):
        check_training_data(make_cfg(), str(root))
    check_training_data(make_cfg(max_bad_image_share=0.05), str(root))
    with pytest.raises(ValueError, match="train: 4 pairs per rank is fewer than batch_size 8"):
        check_training_data(replace(make_cfg(videos_per_epoch=8, max_bad_image_share=0.05),
                                    **{"train.batch_size": 8}), str(root), group_size=2)


@pytest.mark.parametrize("broken", ["data", "anno", "crop"])
def test_missing_paths_name_the_path(tmp_path, broken):
    root = make_dataset(tmp_path / "d")
    missing = {"data": tmp_path / "nowhere", "anno": root / "train" / "train.json",
               "crop": root / "train" / "crop511"}[broken]
    if broken == "anno":
        missing.unlink()
    elif broken == "crop":
        missing.rename(root / "train" / "moved")
    data_path = missing if broken == "data" else root
    # a sub-dataset's part is named relative to the data path it is missing from
    expected = str(missing) if broken == "data" else \
        f"data_path {root} has no {missing.relative_to(root)}{'/' if broken == 'crop' else ''} (sub-dataset T:"
    with pytest.raises(FileNotFoundError, match=re.escape(expected)):
        create_train_dataset(make_cfg(), str(data_path))


def test_unreadable_image_is_replaced(tmp_path, caplog):
    root = make_dataset(tmp_path / "d")
    lost = root / "train" / "crop511" / "v3" / "000000.00.x.jpg"  # v3's only frame
    lost.unlink()
    pairs = TrackingPairs(make_cfg(neg=0.0), str(root))
    with caplog.at_level(logging.WARNING, logger="src.data"):
        samples = [pairs[i] for i in range(len(pairs))]
    assert pairs.bad_images >= 4                        # v3 is picked 4 times per epoch
    warnings = [r for r in caplog.records if str(lost) in r.getMessage()]
    assert len(warnings) == 1                           # once per file
    assert all(s[0].shape == (3, 127, 127) and (s[2] == 1).any() for s in samples)
    # the replacement is deterministic
    fresh = TrackingPairs(make_cfg(neg=0.0), str(root))
    bad = next(i for i in range(len(pairs)) if pairs.epoch_pick(0)[i] == 3)
    np.testing.assert_array_equal(fresh[bad][1], samples[bad][1])
    # and the multi-process loader keeps going, counting the replacements in the main process
    dataset = create_train_dataset(make_cfg(neg=0.0), str(root), num_workers=2)
    assert pipeline.generator_node(dataset).python_multiprocessing
    batches = epochs(dataset, 2)
    assert [len(b) for b in batches] == [4, 4]
    assert [b[0].shape for b in batches[0][0:1]] == [(4, 3, 127, 127)]   # the report columns are dropped
    # the same count as drawing the samples here, in this process (replacements may hit v3 again)
    expected = [sum(len(pairs.sample(e * len(pairs) + i)[1]) for i in range(len(pairs))) for e in (0, 1)]
    assert min(expected) >= 8                             # v3 picked 4 times, both images missing
    assert [dataset.unreadable.epoch_counts(e)["T"] for e in (0, 1)] == expected
    assert dataset.unreadable.files("T") == [str(lost)]


def test_truncated_jpeg_is_counted_and_too_many_stop(tmp_path):
    """A JPEG cut short (cv2 would decode it with grey rows) is unreadable; above
    data.max_bad_image_share of a sub-dataset's images the counter's check stops."""
    root = make_dataset(tmp_path / "d")
    cut = root / "train" / "crop511" / "v1" / "000002.01.x.jpg"
    cut.write_bytes(cut.read_bytes()[:-600])
    assert cv2.imread(str(cut)) is not None                # the silent half-decoding this guards against
    dataset = create_train_dataset(make_cfg(neg=0.0), str(root), num_workers=1)
    epochs(dataset, 3)
    counter = dataset.unreadable
    assert counter.files("T") == [str(cut)]
    assert sum(counter.epoch_counts(e)["T"] for e in range(3)) >= 1
    assert counter.num_images == {"T": 6 + 5 * 2 + 4 + 1}
    counter.check(0.1)                                     # 1 of 21 images: below 10 %
    with pytest.raises(ValueError, match=re.escape(f"T: at least 1 of its 21 images are unreadable (4.8% > "
                                                   f"data.max_bad_image_share 0.01), e.g. {cut}")):
        counter.check(0.01)


# ----------------------------------------------------------------------------
# MindSpore pipeline

def test_train_pipeline_batches_reproducible(data_root):
    cfg = make_cfg()
    two = create_train_dataset(cfg, str(data_root), num_workers=2)
    assert pipeline.generator_node(two).python_multiprocessing      # /dev/shm is large enough here
    run = epochs(two, 2)
    first = run[0][0]
    assert [c.shape for c in first] == [(4, 3, 127, 127), (4, 3, 255, 255), (4, 5, 17, 17),
                                        (4, 4, 5, 17, 17), (4, 5, 17, 17)]
    assert [c.dtype for c in first] == [np.float32, np.float32, np.int32, np.float32, np.float32]
    assert len(run[0]) == 4
    # same seed, one worker, no processes: the same batches
    assert_same(epochs(create_train_dataset(cfg, str(data_root), num_workers=1), 1)[0], run[0])
    # the epoch advances within an iterator, and set_epoch picks an epoch for a new one
    assert not np.array_equal(run[0][0][1], run[1][0][1])
    set_epoch(two, 1)
    assert_same(epochs(two, 1)[0], run[1])
    one = create_train_dataset(cfg, str(data_root), num_workers=1, epoch=1, num_batches=3)
    assert_same(epochs(one, 1)[0], run[1][:3])
    with pytest.raises(ValueError, match="num_batches=5"):
        create_train_dataset(cfg, str(data_root), num_workers=1, num_batches=5)


def test_sharding_splits_epoch(data_root):
    cfg = make_cfg()
    full = TrackingPairs(cfg, str(data_root))
    shard = epochs(create_train_dataset(cfg, str(data_root), rank=1, group_size=2,
                                        num_workers=1), 1)[0]
    assert len(shard) == 2                              # 16 pairs / 2 ranks / batch 4
    np.testing.assert_array_equal(shard[0][1][0], full[1][1])
    np.testing.assert_array_equal(shard[0][1][1], full[3][1])


def test_val_pipeline_is_fixed(data_root):
    val = create_val_dataset(make_cfg(), str(data_root), num_workers=1)
    a, b = epochs(val, 2)
    assert len(a) == 2
    assert_same(a, b)
    assert create_val_dataset(make_cfg(val=()), str(data_root)) is None


def test_small_shared_memory_falls_back_to_threads(data_root, monkeypatch, caplog):
    monkeypatch.setattr(pipeline, "_free_shared_memory", lambda: 64 * 2 ** 20)
    with caplog.at_level(logging.WARNING, logger="src.data"):
        dataset = create_train_dataset(make_cfg(), str(data_root), num_workers=2)
    assert not pipeline.generator_node(dataset).python_multiprocessing
    assert any("/dev/shm" in r.getMessage() for r in caplog.records)

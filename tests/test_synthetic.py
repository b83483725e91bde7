"""Tests of the synthetic dataset generator (src/data/synthetic.py), on tiny sizes."""
import hashlib
import json
import math

import cv2
import numpy as np
import pytest

from src.data import synthetic
from src.data.crop import warp_crop

SMALL = dict(train_videos=3, train_frames=8, val_videos=2, test_videos=2, test_frames=12)


def _tree_digest(root):
    """{relative path: sha256} of every file under root."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("syn") / "seed0"
    synthetic.generate(out, seed=0, **SMALL)
    return out


def test_same_seed_is_byte_identical_and_other_seed_differs(dataset, tmp_path):
    synthetic.generate(tmp_path / "again", seed=0, **SMALL)
    synthetic.generate(tmp_path / "other", seed=1, **SMALL)
    reference = _tree_digest(dataset)
    assert reference == _tree_digest(tmp_path / "again")
    other = _tree_digest(tmp_path / "other")
    assert other.keys() == reference.keys()
    images = [k for k in reference if k.endswith(".jpg")]
    assert all(other[k] != reference[k] for k in images)


def test_layout_and_no_leftover_tmp(dataset):
    assert sorted(p.name for p in dataset.iterdir()) == ["test", "train", "val"]
    for split, n_videos in (("train", 3), ("val", 2)):
        index = json.loads((dataset / split / "syn" / f"{split}.json").read_text())
        assert list(index) == [f"syn_{split}_{v:04d}" for v in range(n_videos)]
        for video, tracks in index.items():
            assert list(tracks) == (["00", "01"] if video.endswith("1") else ["00"])
            for track, frames in tracks.items():
                assert list(frames) == [f"{t:06d}" for t in range(8)]
                for frame, box in frames.items():
                    x1, y1, x2, y2 = box
                    assert 0 <= x1 < x2 < 320 and 0 <= y1 < y2 < 240
                    base = dataset / split / "syn" / "crop511" / video / f"{frame}.{track}"
                    image = cv2.imread(f"{base}.x.jpg", cv2.IMREAD_UNCHANGED)
                    mask = cv2.imread(f"{base}.m.png", cv2.IMREAD_UNCHANGED)
                    assert image.shape == (511, 511, 3) and mask.shape == (511, 511)
                    assert set(np.unique(mask)) <= {0, 255}


def _expected_crop_box(box):
    """Target box inside the 511 crop: centred on 255, scaled by 127 / s_z = 255 / s_x."""
    w, h = box[2] - box[0], box[3] - box[1]
    p = (w + h) / 2
    scale = 127 / math.sqrt((w + p) * (h + p))
    return np.array([255 - w * scale / 2, 255 - h * scale / 2,
                     255 + w * scale / 2, 255 + h * scale / 2])


def test_masks_agree_with_index_boxes(dataset):
    matched, total = 0, 0
    for split in ("train", "val"):
        index = json.loads((dataset / split / "syn" / f"{split}.json").read_text())
        for video, tracks in index.items():
            for track, frames in tracks.items():
                for frame, box in frames.items():
                    path = dataset / split / "syn" / "crop511" / video / f"{frame}.{track}.m.png"
                    ys, xs = np.nonzero(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
                    total += 1
                    if xs.size == 0:  # fully occluded
                        continue
                    # pixel i covers [i - 0.5, i + 0.5] in OpenCV's convention
                    found = np.array([xs.min() - 0.5, ys.min() - 0.5, xs.max() + 0.5, ys.max() + 0.5])
                    expected = _expected_crop_box(box)
                    # occlusion only removes pixels: the visible mask stays inside the box
                    assert np.all(found[:2] >= expected[:2] - 3) and np.all(found[2:] <= expected[2:] + 3)
                    if np.all(np.abs(found - expected) <= 3):
                        matched += 1
                        # the box (not the mask centroid: polygons are asymmetric) is centred
                        assert np.allclose((found[:2] + found[2:]) / 2, 255, atol=2)
    assert matched >= 0.7 * total


def test_warp_crop_maps_corners_to_crop_corners():
    image = np.zeros((100, 100), np.uint8)
    image[20, 30] = image[60, 70] = 255
    crop = warp_crop(image, [30, 20, 70, 60], 41, interpolation=cv2.INTER_NEAREST)
    assert crop[0, 0] == 255 and crop[40, 40] == 255 and crop.sum() == 2 * 255


def test_vot_and_otb_test_sets(dataset):
    vot, otb = dataset / "test" / "VOTSYN", dataset / "test" / "OTBSYN"
    names = (vot / "list.txt").read_text().split()
    assert names == ["syn_test_0000", "syn_test_0001"]
    assert sorted(p.name for p in vot.iterdir() if p.is_dir()) == names
    vot_meta = json.loads((vot / "VOTSYN.json").read_text())
    otb_meta = json.loads((otb / "OTBSYN.json").read_text())
    assert list(vot_meta) == names and list(otb_meta) == names
    for name in names:
        frames = sorted((vot / name / "color").glob("*.jpg"))
        assert [f.name for f in frames] == [f"{t:08d}.jpg" for t in range(1, 13)]
        lines = (vot / name / "groundtruth.txt").read_text().splitlines()
        assert len(lines) == len(frames)
        polys = [[float(v) for v in line.split(",")] for line in lines]
        assert all(len(p) == 8 for p in polys)
        meta = vot_meta[name]
        assert meta["video_dir"] == name and meta["gt_rect"] == polys
        assert all((vot / img).is_file() for img in meta["img_names"])
        for tag in ("camera_motion", "illum_change", "motion_change", "size_change", "occlusion"):
            assert len(meta[tag]) == len(frames) and set(meta[tag]) <= {0, 1}
        xs, ys = polys[0][0::2], polys[0][1::2]
        assert np.allclose(meta["init_rect"], [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)],
                           atol=1e-3)

        rects = [[float(v) for v in line.split(",")]
                 for line in (otb / name / "groundtruth_rect.txt").read_text().splitlines()]
        assert len(rects) == len(frames) and all(len(r) == 4 and r[2] > 0 and r[3] > 0 for r in rects)
        assert otb_meta[name]["gt_rect"] == rects and otb_meta[name]["init_rect"] == rects[0]
        for t, frame in enumerate(frames, start=1):
            assert (otb / name / "img" / f"{t:04d}.jpg").read_bytes() == frame.read_bytes()
        # the axis-aligned box lies inside the rotated rectangle's extent
        for poly, (x, y, w, h) in zip(polys, rects):
            assert min(poly[0::2]) <= x + 1e-3 and x + w <= max(poly[0::2]) + 1e-3
            assert min(poly[1::2]) <= y + 1e-3 and y + h <= max(poly[1::2]) + 1e-3


def test_davis_test_set(dataset):
    """DAVISSYN: DAVIS 2016 layout over the same frames, 0/255 masks of the visible target."""
    davis, vot, otb = dataset / "test" / "DAVISSYN", dataset / "test" / "VOTSYN", dataset / "test" / "OTBSYN"
    assert sorted(p.name for p in davis.iterdir()) == ["Annotations", "ImageSets", "JPEGImages"]
    names = (davis / "ImageSets" / "2016" / "val.txt").read_text().split()
    assert names == (vot / "list.txt").read_text().split()
    assert sorted(p.name for p in (davis / "JPEGImages" / "480p").iterdir()) == names
    assert sorted(p.name for p in (davis / "Annotations" / "480p").iterdir()) == names
    for name in names:
        frames = sorted((davis / "JPEGImages" / "480p" / name).iterdir())
        masks = sorted((davis / "Annotations" / "480p" / name).iterdir())
        assert [f.name for f in frames] == [f"{t:05d}.jpg" for t in range(12)]
        assert [m.name for m in masks] == [f"{t:05d}.png" for t in range(12)]
        rects = [[float(v) for v in line.split(",")]
                 for line in (otb / name / "groundtruth_rect.txt").read_text().splitlines()]
        for t, (frame, mask_path, (x, y, w, h)) in enumerate(zip(frames, masks, rects), start=1):
            assert frame.read_bytes() == (vot / name / "color" / f"{t:08d}.jpg").read_bytes()
            mask = cv2.imread(str(mask_path), cv2.IMREAD_UNCHANGED)
            assert mask.shape == (240, 320) and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
            ys, xs = np.nonzero(mask)
            if t == 1:
                assert xs.size > 0               # the tracker starts from the first mask
            if xs.size:  # the visible mask lies inside the whole shape's box (pixel centres)
                assert x - 1 <= xs.min() and xs.max() <= x + w + 1
                assert y - 1 <= ys.min() and ys.max() <= y + h + 1


def test_existing_output_needs_overwrite(tmp_path, capsys):
    tiny = dict(train_videos=1, train_frames=2, val_videos=1, test_videos=1, test_frames=2)
    synthetic.generate(tmp_path, **tiny)
    before = _tree_digest(tmp_path)
    with pytest.raises(FileExistsError):
        synthetic.generate(tmp_path, **tiny)
    args = ["--out", str(tmp_path), "--train_videos", "1", "--train_frames", "2",
            "--val_videos", "1", "--test_videos", "1", "--test_frames", "2"]
    with pytest.raises(SystemExit) as exc:
        synthetic.main(args)
    assert "already exists" in str(exc.value) and "--overwrite" in str(exc.value)
    assert _tree_digest(tmp_path) == before
    synthetic.main(args + ["--seed", "1", "--overwrite"])
    after = _tree_digest(tmp_path)
    assert after.keys() == before.keys() and after != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test", "train", "val"]


def test_failed_part_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken(root, *args, **kwargs):
        (root / "VOTSYN").mkdir()
        raise RuntimeError("interrupted")

    monkeypatch.setattr(synthetic, "write_test_part", broken)
    with pytest.raises(RuntimeError):
        synthetic.generate(tmp_path, train_videos=1, train_frames=2, val_videos=1,
                           test_videos=1, test_frames=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train", "val"]


def test_long_term_set_adds_votltsyn_and_leaves_the_rest_unchanged(dataset, tmp_path):
    """--lt_videos adds test/VOTLTSYN only: every other file keeps its bytes; NaN rows mark
    the stretch where the target is out of view or fully covered, and it comes back."""
    synthetic.generate(tmp_path / "lt", seed=0, lt_videos=2, lt_frames=24, **SMALL)
    with_lt = _tree_digest(tmp_path / "lt")
    lt_files = {k for k in with_lt if k.startswith("test/VOTLTSYN/")}
    assert {k: v for k, v in with_lt.items() if k not in lt_files} == _tree_digest(dataset)
    root = tmp_path / "lt" / "test" / "VOTLTSYN"
    names = (root / "list.txt").read_text().split()
    meta = json.loads((root / "VOTLTSYN.json").read_text())      # NaN literals, as pysot's JSON
    assert names == ["syn_lt_0000", "syn_lt_0001"] and list(meta) == names
    for name in names:
        frames = sorted((root / name / "color").glob("*.jpg"))
        assert [f.name for f in frames] == [f"{t:08d}.jpg" for t in range(1, 25)]
        rows = [[float(v) for v in line.split(",")]
                for line in (root / name / "groundtruth.txt").read_text().splitlines()]
        absent = [bool(np.isnan(r).all()) for r in rows]
        assert all(np.isnan(r).all() or np.isfinite(r).all() for r in rows)
        assert not absent[0] and not absent[-1] and any(absent)
        # one stretch: visible, absent, visible again
        changes = [t for t in range(1, len(absent)) if absent[t] != absent[t - 1]]
        assert len(changes) == 2
        for r, a in zip(rows, absent):
            if not a:
                x, y, w, h = r
                assert w >= 1 and h >= 1 and 0 <= x and x + w <= 319 and 0 <= y and y + h <= 239
        gt = meta[name]["gt_rect"]
        assert len(gt) == len(rows) and meta[name]["init_rect"] == rows[0]
        assert all((np.isnan(g).all() if a else g == r) for g, r, a in zip(gt, rows, absent))
        assert all((root / img).is_file() for img in meta[name]["img_names"])


def test_long_term_cli_flag_defaults_to_none(tmp_path):
    args = ["--out", str(tmp_path / "a"), "--train_videos", "1", "--train_frames", "2",
            "--val_videos", "0", "--test_videos", "1", "--test_frames", "2"]
    synthetic.main(args)
    assert sorted(p.name for p in (tmp_path / "a" / "test").iterdir()) == ["DAVISSYN", "OTBSYN", "VOTSYN"]
    synthetic.main(args[:1] + [str(tmp_path / "b")] + args[2:] + ["--lt_videos", "1", "--lt_frames", "8"])
    assert (tmp_path / "b" / "test" / "VOTLTSYN" / "syn_lt_0000" / "groundtruth.txt").is_file()
    with pytest.raises(SystemExit) as exc:
        synthetic.main(args[:1] + [str(tmp_path / "c")] + args[2:] + ["--lt_videos", "1", "--lt_frames", "4"])
    assert "--lt_frames" in str(exc.value)

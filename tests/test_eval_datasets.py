"""Dataset loaders (VOT / OTB / GOT-10k / LaSOT layouts, validation errors) and result-file IO."""
import json
import os
import re

import cv2
import numpy as np
import pytest

from src.evaluation import results as rs
from src.evaluation.datasets import DatasetError, dataset_kind, load_dataset

POLY = [10.5, 20, 40, 22, 38, 50, 9, 48]


def _frame(path, size=(64, 48), gray=False):
    w, h = size
    img = np.full((h, w) if gray else (h, w, 3), 90, np.uint8)
    assert cv2.imwrite(path, img)


def _write_vot_seq(root, name, n=6, values=8, layout="color", gray=False, size=(64, 48), tags=None):
    seq_dir = os.path.join(root, name)
    frame_dir = os.path.join(seq_dir, "color") if layout == "color" else seq_dir
    os.makedirs(frame_dir, exist_ok=True)
    for t in range(n):
        _frame(os.path.join(frame_dir, f"{t + 1:08d}.jpg"), size, gray)
    region = POLY if values == 8 else [10, 20, 30, 28]
    with open(os.path.join(seq_dir, "groundtruth.txt"), "w") as f:
        f.write("".join(",".join(str(v + t) for v in region) + "\n" for t in range(n)))
    for tag, lines in (tags or {}).items():
        with open(os.path.join(seq_dir, f"{tag}.tag"), "w") as f:
            f.write("".join(f"{v}\n" for v in lines))
    with open(os.path.join(root, "list.txt"), "a") as f:
        f.write(name + "\n")
    return seq_dir


# ----------------------------------------------------------------- VOT layouts
def test_vot_raw_color_layout_polygons_and_tags(tmp_path):
    root = str(tmp_path / "VOT2018")
    _write_vot_seq(root, "ants", n=6, tags={"occlusion": [0, 1, 1], "camera_motion": [1] * 6})
    ds = load_dataset("VOT2018", root)
    video = ds["ants"]
    assert ds.kind == "vot" and len(ds) == 1 and len(video) == 6
    assert video.gt.shape == (6, 8) and video.gt[1, 0] == POLY[0] + 1
    assert video.init_rect == [9.0, 20.0, 31.0, 30.0]                   # min-max box of frame 1
    assert video.tags["occlusion"].tolist() == [0, 1, 1, 0, 0, 0]      # trailing zeros restored
    assert video.tags["all"].tolist() == [1] * 6
    assert video.tags["illum_change"].tolist() == [0] * 6              # no tag file
    assert video.tags["empty"].tolist() == [0] * 6
    assert all(os.path.isabs(p) for p in video.img_names)
    assert (video.width, video.height) == (64, 48)
    frames = list(video.frames())
    assert len(frames) == 6 and frames[0].shape == (48, 64, 3) and frames[0].dtype == np.uint8


def test_vot_raw_flat_layout_rects_grayscale(tmp_path):
    root = str(tmp_path / "VOTSYN")
    _write_vot_seq(root, "gray", n=4, values=4, layout="flat", gray=True, size=(50, 30))
    video = load_dataset("VOTSYN", root)["gray"]
    assert video.gt.shape == (4, 4) and video.init_rect == [10, 20, 30, 28]
    img = video.read_frame(2)
    assert img.shape == (30, 50, 3) and (img[..., 0] == img[..., 2]).all()
    assert video.image_size == (50, 30)


def test_vot_real_bag_sequence_matches_pysot_json(golden_dir, tmp_path):
    """The unmodified VOT bag folder (flat frames, short .tag files) loads like pysot's JSON."""
    root = tmp_path / "VOT2016"
    root.mkdir()
    os.symlink(os.path.join(golden_dir, "data", "bag"), root / "bag")
    (root / "list.txt").write_text("bag\n")
    raw = load_dataset("VOT2016", str(root))["bag"]
    with open(os.path.join(golden_dir, "vot_toolkit", "testing_dataset", "VOT2016", "VOT2016.json")) as f:
        meta = json.load(f)["bag"]
    assert len(raw) == 196 and raw.image_size == (480, 360)
    np.testing.assert_array_equal(raw.gt, meta["gt_rect"])
    for tag in ("camera_motion", "illum_change", "motion_change", "size_change", "occlusion"):
        assert raw.tags[tag].tolist() == meta[tag], tag
    assert raw.init_rect == pytest.approx(meta["init_rect"])


def test_pysot_json_layout_needs_only_the_first_frame(golden_dir):
    root = os.path.join(golden_dir, "vot_toolkit", "testing_dataset", "VOT2016")
    ds = load_dataset("VOT2016", root)
    assert [v.name for v in ds] == ["bag", "syn01", "syn02", "syn03", "syn04", "syn05", "syn06"]
    video = ds["syn03"]
    assert len(video) == 347 and video.gt.shape == (347, 8)
    assert video.img_names[0] == os.path.abspath(os.path.join(root, "syn03", "color", "00000001.jpg"))
    assert (video.width, video.height) == (480, 360)
    assert ds.tags[:2] == ["all", "camera_motion"]
    with pytest.raises(DatasetError, match=r"syn03: missing frame file .*00000002\.jpg \(frame 2\)"):
        video.read_frame(1)
    with pytest.raises(DatasetError, match="00000002.jpg"):
        video.check_files()


def test_json_layout_with_explicit_sizes_reads_no_frame(tmp_path):
    meta = {"s": {"video_dir": "s", "init_rect": [1, 2, 3, 4], "img_names": ["s/img/0001.jpg", "s/img/0002.jpg"],
                  "gt_rect": [[1, 2, 3, 4], [1, 2, 3, 4]], "attr": ["IV"]}}
    (tmp_path / "OTB100.json").write_text(json.dumps(meta))
    video = load_dataset("OTB100", str(tmp_path), image_sizes={"s": (320, 240)})["s"]
    assert (video.width, video.height) == (320, 240) and video.attrs == ["IV"]
    # without the size the sequence must be on disk; present but without frames, reading the size fails
    with pytest.raises(DatasetError, match=r"OTB100: none of the 1 sequences listed in .*OTB100\.json is on disk"):
        load_dataset("OTB100", str(tmp_path))
    (tmp_path / "s").mkdir()
    with pytest.raises(DatasetError, match=r"s: missing frame file .*s/img/0001\.jpg \(frame 1\)"):
        load_dataset("OTB100", str(tmp_path))["s"].width
    with pytest.raises(DatasetError, match=r"s: missing frame file .*s/img/0001\.jpg \(frame 1 of 2\)"):
        load_dataset("OTB100", str(tmp_path), check_frames=True)


# ------------------------------------------------------------ other layouts
@pytest.mark.parametrize("sep", [",", " ", "\t"])
def test_otb_raw_layout_separators(tmp_path, sep):
    seq = tmp_path / "Basketball"
    (seq / "img").mkdir(parents=True)
    for t in range(3):
        _frame(str(seq / "img" / f"{t + 1:04d}.jpg"))
    (seq / "groundtruth_rect.txt").write_text("".join(sep.join(["198", "214", "34", str(81 + t)]) + "\n"
                                                      for t in range(3)))
    ds = load_dataset("OTB2015", str(tmp_path))
    assert ds.kind == "otb" and ds["Basketball"].gt[2].tolist() == [198, 214, 34, 83]


def test_lasot_raw_layout(tmp_path):
    seq = tmp_path / "airplane" / "airplane-1"
    (seq / "img").mkdir(parents=True)
    for t in range(4):
        _frame(str(seq / "img" / f"{t + 1:08d}.jpg"))
    (seq / "groundtruth.txt").write_text("".join(f"1,2,{10 + t},20\n" for t in range(4)))
    (seq / "full_occlusion.txt").write_text("0,0,1,0")
    (seq / "out_of_view.txt").write_text("0,0,0,1")
    video = load_dataset("LaSOT", str(tmp_path))["airplane-1"]
    assert video.visible.tolist() == [True, True, False, False]


def test_dataset_names():
    assert [dataset_kind(n) for n in ("VOT2016", "VOT2019", "VOTSYN", "OTB100", "OTB50", "OTBSYN",
                                      "GOT10k-val", "GOT10k-test", "LaSOT")] == \
        ["vot"] * 3 + ["otb"] * 3 + ["got10k"] * 2 + ["lasot"]
    with pytest.raises(DatasetError, match="unknown dataset name 'UAV123'"):
        dataset_kind("UAV123")


# ---------------------------------------------------------------- bad inputs
def test_error_frame_count_mismatch(tmp_path):
    root = str(tmp_path)
    seq_dir = _write_vot_seq(root, "seqA", n=5)
    _frame(os.path.join(seq_dir, "color", "00000006.jpg"))          # one frame too many
    with pytest.raises(DatasetError) as e:
        load_dataset("VOT2018", root)
    msg = str(e.value)
    assert msg.startswith("seqA: 6 frames in") and os.path.join(seq_dir, "groundtruth.txt") in msg
    assert "5 ground-truth lines" in msg and "\n" not in msg


def test_error_missing_frame(tmp_path):
    root = str(tmp_path)
    seq_dir = _write_vot_seq(root, "seqB", n=5)
    os.remove(os.path.join(seq_dir, "color", "00000003.jpg"))
    with pytest.raises(DatasetError, match=r"seqB: missing frame file .*color/00000003\.jpg"):
        load_dataset("VOT2018", root)
    # a missing last frame is named too
    os.rename(os.path.join(seq_dir, "color", "00000005.jpg"), os.path.join(seq_dir, "color", "00000003.jpg"))
    with pytest.raises(DatasetError, match=r"seqB: missing frame file .*00000005\.jpg \(4 frames for 5 lines"):
        load_dataset("VOT2018", root)


def test_error_unreadable_image_at_read_time(tmp_path):
    root = str(tmp_path)
    seq_dir = _write_vot_seq(root, "seqC", n=4)
    bad = os.path.join(seq_dir, "color", "00000003.jpg")
    with open(bad, "wb") as f:
        f.write(b"not a jpeg")
    video = load_dataset("VOT2018", root)["seqC"]       # loading does not decode frames
    frames = video.frames()
    next(frames), next(frames)
    with pytest.raises(DatasetError, match=rf"seqC: corrupt image {re.escape(bad)}: .* \(frame 3\)$"):
        next(frames)


@pytest.mark.parametrize("line, pattern", [
    ("1,2,3", r"groundtruth\.txt:3: expected 8 values, got 3"),
    ("1,2,x,4,5,6,7,8", r"groundtruth\.txt:3: non-numeric value in '1,2,x,4,5,6,7,8'"),
    ("", r"groundtruth\.txt:3: expected 8 values, got 0"),
])
def test_error_malformed_groundtruth_line(tmp_path, line, pattern):
    root = str(tmp_path)
    seq_dir = _write_vot_seq(root, "seqD", n=5)
    path = os.path.join(seq_dir, "groundtruth.txt")
    lines = open(path).read().splitlines()
    lines[2] = line
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=rf"^seqD: {re.escape(os.path.dirname(path))}/{pattern}"):
        load_dataset("VOT2018", root)


def test_error_bad_first_line_count_and_tags(tmp_path):
    root = str(tmp_path)
    seq_dir = _write_vot_seq(root, "seqE", n=3, tags={"occlusion": [0, 1, 0, 1]})
    with pytest.raises(DatasetError, match=r"seqE: .*occlusion\.tag has 4 lines for 3 frames"):
        load_dataset("VOT2018", root)
    with open(os.path.join(seq_dir, "occlusion.tag"), "w") as f:
        f.write("0\nyes\n")
    with pytest.raises(DatasetError, match=r"occlusion\.tag:2: expected an integer label, got 'yes'"):
        load_dataset("VOT2018", root)
    with open(os.path.join(seq_dir, "groundtruth.txt"), "w") as f:
        f.write("1,2,3,4,5\n")
    with pytest.raises(DatasetError, match=r"groundtruth\.txt:1: expected 4 or 8 values, got 5"):
        load_dataset("VOT2018", root)


def test_error_json_inconsistent(tmp_path):
    meta = {"s": {"video_dir": "s", "init_rect": [1, 2, 3, 4], "img_names": ["s/1.jpg"],
                  "gt_rect": [[1, 2, 3, 4], [1, 2, 3, 4]]}}
    (tmp_path / "OTB100.json").write_text(json.dumps(meta))
    (tmp_path / "s").mkdir()
    with pytest.raises(DatasetError, match=r"s: .*OTB100\.json: 1 img_names but 2 gt_rect entries"):
        load_dataset("OTB100", str(tmp_path))
    meta["s"]["gt_rect"] = [[1, 2, "3", 4]]
    (tmp_path / "OTB100.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match=r"gt_rect\[0\]: non-numeric"):
        load_dataset("OTB100", str(tmp_path))


def test_error_missing_list_and_root(tmp_path):
    with pytest.raises(DatasetError, match="missing sequence list"):
        load_dataset("VOT2018", str(tmp_path))
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset("VOT2018", str(tmp_path / "nope"))


# ------------------------------------------------------------------- results
def test_vot_result_format_and_roundtrip(tmp_path):
    path = rs.vot_result_path(str(tmp_path), "T", "seq")
    assert path.endswith(os.path.join("T", "baseline", "seq", "seq_001.txt"))
    entries = [1, [10.123456, 0.3, 5, 7.00005], list(np.float64(POLY)), 2, 0, np.int64(0)]
    rs.write_vot_result(path, entries)
    text = open(path).read()
    # C-float "%.4f": 7.00005 is 7.0000500679 as float32, 10.123456 -> 10.1234560013
    assert text == ("1\n10.1235,0.3000,5.0000,7.0001\n"
                    "10.5000,20.0000,40.0000,22.0000,38.0000,50.0000,9.0000,48.0000\n2\n0\n0\n")
    assert rs.read_vot_result(path)[:2] == [[1.0], [10.1235, 0.3, 5.0, 7.0001]]
    assert rs.is_complete(path, 6) and not rs.is_complete(path, 7)
    with open(os.path.join(os.path.dirname(path), "seq_time.txt"), "w") as f:
        f.write("0.1\n")
    assert rs.vot_result_files(str(tmp_path), "T", "seq") == [path]


def test_ope_and_got10k_result_format(tmp_path):
    path = rs.ope_result_path(str(tmp_path), "T", "Basketball")
    rs.write_ope_result(path, [[1.5, 2, np.float64(3.25), 4], (0.1, 0.2, 0.3, 0.4)])
    assert open(path).read() == "1.5,2,3.25,4\n0.1,0.2,0.3,0.4\n"
    np.testing.assert_array_equal(rs.read_ope_result(path), [[1.5, 2, 3.25, 4], [0.1, 0.2, 0.3, 0.4]])
    rs.write_got10k_result(str(tmp_path), "T", "GOT-10k_Val_000001", [[1, 2, 3, 4]], [0.0123456789])
    assert open(rs.got10k_time_path(str(tmp_path), "T", "GOT-10k_Val_000001")).read() == "0.012346\n"
    assert rs.got10k_result_files(str(tmp_path), "T", "GOT-10k_Val_000001") == \
        [rs.got10k_result_path(str(tmp_path), "T", "GOT-10k_Val_000001")]


def test_atomic_write_keeps_old_file_on_interruption(tmp_path, monkeypatch):
    path = rs.ope_result_path(str(tmp_path), "T", "seq")
    rs.write_ope_result(path, [[1, 2, 3, 4]] * 3)
    before = open(path).read()

    def crash(_fd):
        raise KeyboardInterrupt("interrupted while writing")
    monkeypatch.setattr(rs.os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        rs.write_ope_result(path, [[9, 9, 9, 9]] * 5)
    assert open(path).read() == before                       # old complete file untouched
    assert os.listdir(os.path.dirname(path)) == ["seq.txt"]  # no temp file left behind
    with pytest.raises(KeyboardInterrupt):
        rs.write_vot_result(rs.vot_result_path(str(tmp_path), "T", "new"), [1, 0])
    assert not os.path.exists(rs.vot_result_path(str(tmp_path), "T", "new"))
    assert os.listdir(os.path.join(str(tmp_path), "T", "baseline", "new")) == []


def test_is_complete(tmp_path):
    path = str(tmp_path / "r.txt")
    assert not rs.is_complete(path, 3)
    for text, ok in [("1\n2\n3\n", True), ("1\n2\n3", False), ("1\n2\n", False), ("1\n\n3\n", False),
                     ("1\n2\n3\n4\n", False)]:
        with open(path, "w") as f:
            f.write(text)
        assert rs.is_complete(path, 3) is ok, text


def test_result_read_errors(tmp_path):
    path = str(tmp_path / "r.txt")
    with open(path, "w") as f:
        f.write("1\n1,2,x,4\n")
    with pytest.raises(rs.ResultsError, match=rf"{re.escape(path)}:2: non-numeric"):
        rs.read_vot_result(path)
    with open(path, "w") as f:
        f.write("1\n1,2,3\n")
    with pytest.raises(rs.ResultsError, match=rf"{re.escape(path)}:2: expected a code, 4 values or a polygon"):
        rs.read_vot_result(path)
    with pytest.raises(rs.ResultsError, match=rf"{re.escape(path)}:1: expected 4 values, got 1"):
        rs.read_ope_result(path)
    with pytest.raises(rs.ResultsError, match="missing result file"):
        rs.read_ope_result(str(tmp_path / "none.txt"))

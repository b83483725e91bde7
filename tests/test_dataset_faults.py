"""Fault injection for evaluation datasets: every bad dataset a user could produce is refused by
``load_dataset`` with one line naming the sequence, file and line (or JSON key), before any model
is loaded; recoverable oddities (absent targets, partial downloads) are counted in ``Dataset.notes``.

Most cases run in-process (fast); a few run eval.py as a user would, to show the refusal comes
before the model (a nonexistent checkpoint is given too) and that a corrupt frame stops an
evaluation naming the frame file.
"""
import json
import logging
import math
import os
import re

import cv2
import numpy as np
import pytest

from conftest import ROOT, assert_one_line_error, run_script
from src.evaluation.datasets import DatasetError, load_dataset, region_problem, usable_regions
from src.evaluation.results import VOT_FAILURE, VOT_INIT, VOT_SKIPPED
from src.evaluation.runner import run_one_pass, run_supervised

POLY = [10.5, 12, 40, 14, 38, 40, 9, 38]
RECT = [10, 12, 20, 18]


def _jpeg(path, size=(64, 48)):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, np.full((size[1], size[0], 3), 90, np.uint8))


def _lines(rows):
    return "".join(",".join(str(v) for v in r) + "\n" for r in rows)


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _sequences(root, seqs, frame, gt_name, list_name=None, seq_dir=os.path.join):
    """Raw layout: seqs = {name: rows}, one frame per row at ``seq_dir(root, seq)/frame % t``
    (t from 1), ground truth in ``gt_name``; ``list_name``: also a list of the sequences."""
    root = str(root)
    os.makedirs(root, exist_ok=True)
    for seq, rows in seqs.items():
        for t in range(len(rows)):
            _jpeg(os.path.join(seq_dir(root, seq), frame % (t + 1)))
        _write(os.path.join(seq_dir(root, seq), gt_name), _lines(rows))
    if list_name:
        _write(os.path.join(root, list_name), "".join(f"{s}\n" for s in seqs))
    return root


def _vot(root, seqs):
    return _sequences(root, seqs, "color/%08d.jpg", "groundtruth.txt", "list.txt")


def _otb(root, seqs, list_txt=False):
    return _sequences(root, seqs, "img/%04d.jpg", "groundtruth_rect.txt", "list.txt" if list_txt else None)


def _got10k(root, seqs, cover=None):
    root = _sequences(root, seqs, "%08d.jpg", "groundtruth.txt", "list.txt")
    for seq in seqs if cover is not None else ():
        _write(os.path.join(root, seq, "cover.label"), "".join(f"{c}\n" for c in cover))
    return root


def _lasot(root, seqs, nested=True):
    return _sequences(root, seqs, "img/%08d.jpg", "groundtruth.txt", seq_dir=lambda r, s: os.path.join(
        r, s.rsplit("-", 1)[0], s) if nested else os.path.join(r, s))


def _json(root, name, seqs, frames=True, **extra):
    """pysot JSON layout: seqs = {name: rows}; frames written unless frames=False (folder only)."""
    root = str(root)
    meta = {}
    for seq, rows in seqs.items():
        names = [f"{seq}/color/{t + 1:08d}.jpg" for t in range(len(rows))]
        os.makedirs(os.path.join(root, seq), exist_ok=True)
        if frames:
            for n in names:
                _jpeg(os.path.join(root, n))
        meta[seq] = {"video_dir": seq, "img_names": names, "gt_rect": rows, **extra.get(seq, {})}
    with open(os.path.join(root, f"{name}.json"), "w") as f:
        json.dump(meta, f)
    return root


def _error(name, root, **kwargs):
    with pytest.raises(DatasetError) as e:
        load_dataset(name, str(root), **kwargs)
    message = str(e.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------- first-frame boxes
@pytest.mark.parametrize("first, problem", [
    ([5, 5, 5, 5, 5, 5, 5, 5], r"first-frame polygon \[5, 5, 5, 5, 5, 5, 5, 5\] is a degenerate polygon \(zero area\)"),
    ([0, 0, 10, 0, 20, 0, 10, 0], r"is a degenerate polygon \(zero area\)"),                 # collinear
    ([1, 2, float("nan"), 4, 5, 6, 7, 8], r"first-frame polygon \[1, 2, nan, 4, 5, 6, 7, 8\] has a non-finite"),
    ([10, 12, 1, 18], r"first-frame box \[10, 12, 1, 18\] gives a VOT polygon of zero area .*no area when w or h is 1\)"),
    ([10, 12, 0, 0], r"first-frame box \[10, 12, 0, 0\] has a zero or negative width or height"),
    ([10, 12, -4, 8], r"has a zero or negative width or height"),
    ([10, 12, float("inf"), 8], r"first-frame box \[10, 12, inf, 8\] has a non-finite value"),
])
def test_vot_first_frame_box_unusable(tmp_path, first, problem):
    rest = [POLY] * 3 if len(first) == 8 else [RECT] * 3
    root = _vot(tmp_path / "VOT2018", {"ants": [first] + rest})
    gt = re.escape(os.path.join(root, "ants", "groundtruth.txt"))
    message = _error("VOT2018", root)
    assert re.match(rf"^ants: {gt}:1: first-frame ", message) and re.search(problem, message), message
    assert message.endswith("; a tracker cannot be initialised from it")


@pytest.mark.parametrize("first, problem", [
    (["nan", "nan", "nan", "nan"], "has a non-finite value"),
    ([0, 0, 0, 0], "has a zero or negative width or height"),
    ([3, 4, 20, -1], "has a zero or negative width or height"),
])
def test_otb_lasot_got10k_first_frame_box_unusable(tmp_path, first, problem):
    rows = [first] + [RECT] * 2
    cases = [("OTB100", _otb(tmp_path / "otb", {"Car": rows}), "Car", "Car/groundtruth_rect.txt"),
             ("LaSOT", _lasot(tmp_path / "lasot", {"cat-1": rows}), "cat-1", "cat/cat-1/groundtruth.txt"),
             ("GOT10k-val", _got10k(tmp_path / "got", {"GOT-10k_Val_000001": rows}), "GOT-10k_Val_000001",
              "GOT-10k_Val_000001/groundtruth.txt")]
    for name, root, seq, gt in cases:
        message = _error(name, root)
        assert message.startswith(f"{seq}: {os.path.join(root, gt)}:1: first-frame box") and problem in message, message


def test_json_first_frame_polygon_names_gt_rect_index(tmp_path):
    root = _json(tmp_path, "VOT2018", {"bag": [[7] * 8, POLY, POLY]})
    message = _error("VOT2018", root)
    assert message.startswith(f"bag: {os.path.join(root, 'VOT2018.json')}: gt_rect[0]: first-frame polygon "
                              f"[7, 7, 7, 7, 7, 7, 7, 7] is a degenerate polygon (zero area)"), message


# ------------------------------------------------------- malformed ground truth
@pytest.mark.parametrize("text, where, what", [
    ("1,2,3,4\n1,2,3\n", 2, "expected 4 values, got 3 in '1,2,3'"),
    ("1,2,3,4,5\n", 1, "expected 4 values, got 5"),
    ("1,2,3,4\n\n1,2,3,4\n", 2, "expected 4 values, got 0"),
    ("1,2,3,4\n1,2,3,four\n", 2, "non-numeric value in '1,2,3,four'"),
])
def test_otb_groundtruth_lines(tmp_path, text, where, what):
    root = _otb(tmp_path, {"Car": [RECT] * text.count("\n")})
    gt = os.path.join(root, "Car", "groundtruth_rect.txt")
    with open(gt, "w") as f:
        f.write(text)
    assert _error("OTB100", root).startswith(f"Car: {gt}:{where}: {what}")


def test_empty_and_binary_groundtruth_files(tmp_path):
    root = _vot(tmp_path, {"ants": [POLY] * 2})
    gt = os.path.join(root, "ants", "groundtruth.txt")
    open(gt, "w").close()
    assert _error("VOT2018", root) == f"ants: {gt} is empty"
    with open(gt, "wb") as f:
        f.write(b"1,2,3,4\n\xff\xfe\x00garbage\n")
    assert _error("VOT2018", root) == f"ants: {gt} is not a text file (byte 8 is not UTF-8)"
    os.remove(gt)
    assert _error("VOT2018", root) == f"ants: missing file {gt}"


def test_tag_files(tmp_path):
    root = _vot(tmp_path, {"ants": [POLY] * 3})
    tag = os.path.join(root, "ants", "occlusion.tag")
    for text, message in [("0\n1\n0\n1\n", f"ants: {tag} has 4 lines for 3 frames"),
                          ("0\ninf\n", f"ants: {tag}:2: expected an integer label, got 'inf'"),
                          ("0\nnan\n", f"ants: {tag}:2: expected an integer label, got 'nan'"),
                          ("0.5\n", f"ants: {tag}:1: expected an integer label, got '0.5'")]:
        with open(tag, "w") as f:
            f.write(text)
        assert _error("VOT2018", root) == message


def test_lasot_label_files(tmp_path):
    root = _lasot(tmp_path, {"cat-1": [RECT] * 3})
    path = os.path.join(root, "cat", "cat-1", "full_occlusion.txt")
    with open(path, "w") as f:
        f.write("0,nan,0")
    assert _error("LaSOT", root) == f"cat-1: {path}: value 2: expected an integer label, got 'nan'"
    with open(path, "w") as f:
        f.write("0,0")
    assert _error("LaSOT", root) == f"cat-1: {path} has 2 values for 3 frames"


@pytest.mark.parametrize("gt_rect, pattern", [
    ("not a list", r"gt_rect must be a non-empty list of boxes"),
    ([], r"gt_rect must be a non-empty list of boxes"),
    ([[1, 2, 3, 4], [1, 2, "3", 4]], r"gt_rect\[1\]: non-numeric value in \[1, 2, '3', 4\]"),
    ([[1, 2, 3, 4], [1, 2, None, 4]], r"gt_rect\[1\]: non-numeric value"),
    ([[1, 2, 3, 4], [True, 2, 3, 4]], r"gt_rect\[1\]: non-numeric value"),
    ([[1, 2, 3, 4], [1, 2, 3]], r"gt_rect\[1\]: expected 4 values, got 3"),
    ([[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8]], r"gt_rect\[0\]: expected 4 values, got 8"),
    ([[1, 2, 3, 4], 7], r"gt_rect\[1\]: non-numeric value in 7"),
])
def test_json_bad_gt_rect(tmp_path, gt_rect, pattern):
    root = _json(tmp_path, "OTB100", {"Car": [RECT, RECT]})
    path = os.path.join(root, "OTB100.json")
    meta = json.load(open(path))
    meta["Car"]["gt_rect"] = gt_rect
    json.dump(meta, open(path, "w"))
    assert re.match(rf"^Car: {re.escape(path)}: {pattern}", _error("OTB100", root))


@pytest.mark.parametrize("content, pattern", [
    ("{not json", r"^OTB100: .*OTB100\.json: invalid JSON at line 1"),
    ("[1, 2]", r"^OTB100: .*OTB100\.json: expected an object of sequences, got list"),
    ('{"Car": 3}', r"^Car: .*OTB100\.json: expected an object with img_names and gt_rect, got int"),
    ('{"Car": {"img_names": "Car/1.jpg", "gt_rect": [[1, 2, 3, 4]]}}', r"^Car: .*img_names must be a list"),
    ('{}', r"^OTB100: .*OTB100\.json lists no sequences$"),
])
def test_json_structure(tmp_path, content, pattern):
    (tmp_path / "OTB100.json").write_text(content)
    (tmp_path / "Car").mkdir()
    assert re.match(pattern, _error("OTB100", tmp_path))


def test_json_fields_beside_gt_rect(tmp_path):
    root = _json(tmp_path, "VOT2018", {"bag": [POLY] * 3}, bag={"occlusion": [0, 1, 0, 1]})
    assert re.match(r"^bag: .*VOT2018\.json: occlusion has 4 values for 3 frames$", _error("VOT2018", root))
    root = _json(tmp_path / "b", "VOT2018", {"bag": [POLY] * 3}, bag={"occlusion": [0, "x"]})
    assert re.match(r"^bag: .*VOT2018\.json: occlusion\[1\]: expected an integer label, got 'x'$",
                    _error("VOT2018", root))
    root = _json(tmp_path / "c", "LaSOT", {"cat-1": [RECT] * 3}, **{"cat-1": {"absent": [1, 1]}})
    assert re.match(r"^cat-1: .*LaSOT\.json: absent has 2 values for 3 frames$", _error("LaSOT", root))
    root = _json(tmp_path / "d", "OTB100", {"Car": [RECT] * 2}, Car={"init_rect": [1, 2, "a"]})
    assert re.match(r"^Car: .*OTB100\.json: init_rect must be 4 numbers", _error("OTB100", root))


# ------------------------------------------------------------- frame files
def test_missing_frame_in_the_middle(tmp_path):
    root = _otb(tmp_path / "otb", {"Car": [RECT] * 5})
    os.remove(os.path.join(root, "Car", "img", "0003.jpg"))
    assert _error("OTB100", root).startswith(f"Car: missing frame file {os.path.join(root, 'Car', 'img', '0003.jpg')} "
                                             f"(4 frames for 5 lines")
    root = _json(tmp_path / "json", "OTB100", {"Car": [RECT] * 5})
    frame = os.path.join(root, "Car", "color", "00000004.jpg")
    os.remove(frame)
    assert len(load_dataset("OTB100", root)) == 1          # scoring needs no frame but the first
    assert _error("OTB100", root, check_frames=True) == f"Car: missing frame file {frame} (frame 4 of 5)"


def test_truncated_jpeg_is_named_when_read(tmp_path):
    root = _vot(tmp_path, {"ants": [POLY] * 4})
    frame = os.path.join(root, "ants", "color", "00000003.jpg")
    data = open(frame, "rb").read()
    with open(frame, "wb") as f:
        f.write(data[:len(data) // 2])                    # cv2.imread alone decodes this with grey rows
    video = load_dataset("VOT2018", root)["ants"]          # frames are not decoded when loading
    assert video.read_frame(1).shape == (48, 64, 3)
    with pytest.raises(DatasetError) as e:
        video.read_frame(2)
    assert str(e.value) == (f"ants: corrupt image {frame}: truncated or corrupt (no end-of-image marker; "
                            f"the decoder stops early) (frame 3)")


# ------------------------------------------------------------ empty datasets
def _davis_empty(root):
    (root / "ImageSets" / "2017").mkdir(parents=True)
    (root / "ImageSets" / "2017" / "val.txt").write_text("\n")
    return root


@pytest.mark.parametrize("name, make, pattern", [
    ("VOT2018", lambda r: (r / "list.txt").write_text(""), r"^VOT2018: .*list\.txt lists no sequences$"),
    ("VOT2018", lambda r: None, r"^VOT2018: missing sequence list .*list\.txt$"),
    ("VOT2018", lambda r: (r / "VOT2018.json").write_text("{}"), r"^VOT2018: .*VOT2018\.json lists no sequences$"),
    ("OTB100", lambda r: None, r"^OTB100: .* \(no JSON, list\.txt or \*/groundtruth_rect\.txt\) lists no sequences$"),
    ("OTB100", lambda r: (r / "list.txt").write_text("\n\n"), r"^OTB100: .*list\.txt lists no sequences$"),
    ("GOT10k-val", lambda r: (r / "list.txt").write_text(""), r"^GOT10k-val: .*list\.txt lists no sequences$"),
    ("GOT10k-test", lambda r: None, r"^GOT10k-test: missing sequence list .*list\.txt$"),
    ("LaSOT", lambda r: None, r"^LaSOT: .*\(no LaSOT\.json, testing_set\.txt or \[<class>/\]<seq>/groundtruth\.txt\) "
                              r"lists no sequences$"),
    ("LaSOT", lambda r: (r / "testing_set.txt").write_text(""), r"^LaSOT: .*testing_set\.txt lists no sequences$"),
    ("LaSOT", lambda r: (r / "LaSOT.json").write_text("{}"), r"^LaSOT: .*LaSOT\.json lists no sequences$"),
    ("DAVIS2017", _davis_empty, r"^DAVIS2017: .*ImageSets/2017/val\.txt lists no sequences$"),
])
def test_empty_dataset_every_kind(tmp_path, name, make, pattern):
    root = tmp_path / name
    root.mkdir()
    make(root)
    assert re.match(pattern, _error(name, root)), _error(name, root)


def test_list_names_a_sequence_twice(tmp_path):
    root = _vot(tmp_path, {"ants": [POLY] * 2})
    with open(os.path.join(root, "list.txt"), "a") as f:
        f.write("ants\n")
    assert re.match(r"^VOT2018: .*list\.txt lists sequence ants twice$", _error("VOT2018", root))


# ------------------------------------------------- partial downloads, layouts
def test_json_listing_missing_sequences_is_partial_download(tmp_path, caplog):
    root = _json(tmp_path, "VOT2018", {"ants": [POLY] * 2, "bag": [POLY] * 2, "car": [POLY] * 2})
    for seq in ("bag", "car"):
        for dirpath, dirs, files in os.walk(os.path.join(root, seq), topdown=False):
            for n in files:
                os.remove(os.path.join(dirpath, n))
            os.rmdir(dirpath)
    with caplog.at_level(logging.WARNING, logger="src.evaluation"):
        ds = load_dataset("VOT2018", root)
    assert [v.name for v in ds] == ["ants"]
    assert ds.notes["missing_sequences"] == ["bag", "car"] and ds.notes["listed_sequences"] == 3
    assert "VOT2018: 2 of 3 listed sequences are not on disk and are left out, scores cover the other 1 " \
        "(eval.py --require_all_sequences refuses instead): bag, car" in caplog.text
    json.dumps(ds.notes)                                     # goes into eval.json
    assert _error("VOT2018", root, missing="error") == (
        f"VOT2018: sequence bag listed in {os.path.join(root, 'VOT2018.json')} is not on disk "
        f"(2 of 3 listed sequences are missing)")
    with pytest.raises(ValueError, match="missing='skip': expected one of warn, error"):
        load_dataset("VOT2018", root, missing="skip")


def test_list_txt_missing_sequences_every_raw_kind(tmp_path):
    cases = [("VOT2018", _vot(tmp_path / "vot", {"ants": [POLY] * 2}), "list.txt"),
             ("OTB100", _otb(tmp_path / "otb", {"Car": [RECT] * 2}, list_txt=True), "list.txt"),
             ("GOT10k-val", _got10k(tmp_path / "got", {"GOT-10k_Val_000001": [RECT] * 2}), "list.txt"),
             ("LaSOT", _lasot(tmp_path / "lasot", {"cat-1": [RECT] * 2}), "testing_set.txt")]
    for name, root, list_name in cases:
        present = sorted(load_dataset(name, root).videos)
        with open(os.path.join(root, list_name), "w") as f:
            f.write("".join(f"{s}\n" for s in present + ["ghost-1"]))
        ds = load_dataset(name, root)
        assert sorted(ds.videos) == present and ds.notes["missing_sequences"] == ["ghost-1"], name
        assert _error(name, root, missing="error").startswith(f"{name}: sequence ghost-1 listed in "
                                                              f"{os.path.join(root, list_name)} is not on disk")
        with open(os.path.join(root, list_name), "w") as f:
            f.write("ghost-1\nghost-2\n")
        assert _error(name, root).startswith(f"{name}: none of the 2 sequences listed in "
                                             f"{os.path.join(root, list_name)} is on disk (first: ghost-1)")


def test_davis_list_missing_sequences(tmp_path):
    from src.evaluation.results import encode_mask_png
    root = tmp_path / "DAVIS2017"
    label = np.zeros((48, 64), np.uint8)
    label[10:30, 10:30] = 1
    for t in range(2):
        _jpeg(str(root / "JPEGImages" / "480p" / "cows" / f"{t:05d}.jpg"))
        (root / "Annotations" / "480p" / "cows").mkdir(parents=True, exist_ok=True)
        (root / "Annotations" / "480p" / "cows" / f"{t:05d}.png").write_bytes(encode_mask_png(label, True))
    (root / "ImageSets" / "2017").mkdir(parents=True)
    (root / "ImageSets" / "2017" / "val.txt").write_text("cows\nghost\n")
    ds = load_dataset("DAVIS2017", str(root))
    assert list(ds.videos) == ["cows"] and ds.notes["missing_sequences"] == ["ghost"]
    assert ds.notes["gt_source"] == {"kind": "annotations", "files": "Annotations/480p/<seq>/*.png"}
    assert _error("DAVIS2017", root, missing="error").startswith("DAVIS2017: sequence ghost listed in ")


def test_present_sequence_with_missing_files_is_an_error(tmp_path):
    root = _vot(tmp_path, {"ants": [POLY] * 2, "bag": [POLY] * 2})
    os.remove(os.path.join(root, "bag", "groundtruth.txt"))
    assert _error("VOT2018", root) == f"bag: missing file {os.path.join(root, 'bag', 'groundtruth.txt')}"


@pytest.mark.parametrize("listed", [True, False])
def test_lasot_without_class_folders(tmp_path, listed):
    root = _lasot(tmp_path, {"cat-1": [RECT] * 3, "dog-2": [RECT] * 2}, nested=False)
    _lasot(tmp_path, {"bird-3": [RECT] * 2})                  # mixed: one sequence in its class folder
    if listed:
        (tmp_path / "testing_set.txt").write_text("cat-1\ndog-2\nbird-3\n")
    ds = load_dataset("LaSOT", root)
    assert sorted(ds.videos) == ["bird-3", "cat-1", "dog-2"] and len(ds["cat-1"]) == 3
    assert ds["cat-1"].img_names[0] == os.path.join(root, "cat-1", "img", "00000001.jpg")
    assert ds["bird-3"].img_names[0] == os.path.join(root, "bird", "bird-3", "img", "00000001.jpg")


# --------------------------------------------------------- mid-sequence boxes
def test_mid_sequence_boxes_that_form_no_box_are_counted(tmp_path, caplog):
    rows = [RECT, [0, 0, 0, 0], ["nan"] * 4, RECT, [1, 2, -3, 4], RECT]
    root = _otb(tmp_path, {"Car": rows, "Dog": [RECT] * 2})
    with caplog.at_level(logging.WARNING, logger="src.evaluation"):
        ds = load_dataset("OTB100", root)
    assert ds.notes["unusable_gt_frames"] == {"Car": 3}
    assert "OTB100: 3 frames in 1 sequences have ground truth that forms no box" in caplog.text
    assert "Car (3); scored as pysot scores absent targets" in caplog.text
    # scored as pysot does: such frames never count as a success and always as a precision hit
    from src.evaluation.ope_metrics import ope_sequence_curves
    curves = ope_sequence_curves(ds["Car"].gt, np.array([RECT] * 6, float))
    assert curves["success"][0] == pytest.approx(3 / 6) and curves["precision"][0] == pytest.approx(1.0)


def test_got10k_non_finite_box_on_a_scored_frame(tmp_path):
    rows = [RECT, RECT, ["nan"] * 4, RECT]
    root = _got10k(tmp_path / "a", {"s1": rows}, cover=[8, 8, 0, 8])       # not scored (cover 0)
    assert load_dataset("GOT10k-val", root).notes["unusable_gt_frames"] == {"s1": 1}
    root = _got10k(tmp_path / "b", {"s1": rows}, cover=[8, 8, 3, 8])
    assert _error("GOT10k-val", root) == (f"s1: {os.path.join(root, 's1', 'groundtruth.txt')}:3: non-finite "
                                          f"ground truth on a scored frame (cover > 0; 1 such frames): "
                                          f"GOT-10k's AO would be NaN")


def test_vot_mid_sequence_polygons_counted(tmp_path):
    root = _vot(tmp_path, {"ants": [POLY, [3] * 8, POLY, ["nan"] * 8]})
    assert load_dataset("VOT2018", root).notes["unusable_gt_frames"] == {"ants": 2}


class _FixedTracker:
    """Returns a fixed region far from the ground truth from frame ``fail_at`` on (a failure there)."""

    def __init__(self, fail_at):
        self.fail_at, self.inits, self.frame = set(fail_at), [], 0

    def init(self, image, box):
        assert all(math.isfinite(v) for v in box) and box[2] > 0 and box[3] > 0
        self.inits.append(box)

    def track(self, image):
        self.frame += 1
        return [0, 0, 1, 1], 1.0

    def region(self):
        return [0, 0, 2, 2] if self.frame in self.fail_at else POLY


def test_supervised_reinit_waits_for_a_usable_ground_truth(tmp_path):
    """Failure at frame 4 -> re-init due at frame 9, whose ground truth (and frame 10's) is empty:
    the tracker starts again at frame 11, frames 5-10 are written as skipped."""
    rows = [POLY] * 14
    rows[8], rows[9] = [0] * 8, ["nan"] * 8
    video = load_dataset("VOT2018", _vot(tmp_path, {"ants": rows}))["ants"]
    tracker = _FixedTracker(fail_at={3})
    entries, times, failures = run_supervised(tracker, video)
    codes = [e if isinstance(e, int) else "box" for e in entries]
    assert codes == [VOT_INIT, "box", "box", VOT_FAILURE] + [VOT_SKIPPED] * 6 + [VOT_INIT, "box", "box", "box"]
    assert failures == 1 and len(tracker.inits) == 2 and len(times) == 14


def test_supervised_tracked_frame_without_box_is_a_failure(tmp_path):
    """pysot: a tracked frame whose ground truth forms no box has zero overlap, i.e. a failure."""
    rows = [POLY] * 10
    rows[2] = [4] * 8
    video = load_dataset("VOT2018", _vot(tmp_path, {"ants": rows}))["ants"]
    entries, _, failures = run_supervised(_FixedTracker(fail_at=set()), video)
    assert entries[2] == VOT_FAILURE and entries[7] == VOT_INIT and failures == 1


def test_runner_refuses_a_hand_made_video_with_an_unusable_first_box(tmp_path):
    from src.evaluation.datasets import Video
    _jpeg(str(tmp_path / "1.jpg"))
    video = Video("v", [str(tmp_path / "1.jpg")], [[1, 2, 0, 4]], gt_file="gt.txt")
    with pytest.raises(DatasetError, match=r"^v: gt\.txt:1: first-frame box \[1, 2, 0, 4\] has a zero"):
        run_one_pass(_FixedTracker(set()), video)
    with pytest.raises(DatasetError, match=r"^v: gt\.txt:1: first-frame box"):
        run_supervised(_FixedTracker(set()), video)


def test_region_checks_agree(tmp_path):
    rows = np.array([RECT, [1, 2, 0, 3], [1, 2, 1, 3], [np.nan, 1, 2, 3], [1, 2, np.inf, 3]], float)
    assert usable_regions(rows).tolist() == [region_problem(r) is None for r in rows] == \
        [True, False, True, False, False]
    assert usable_regions(rows, supervised=True).tolist() == [True, False, False, False, False]


# ---------------------------------------------------------- JSON vs text GT
def test_json_and_text_ground_truth_both_present(tmp_path, caplog):
    root = _json(tmp_path, "VOT2018", {"ants": [POLY] * 2, "bag": [POLY] * 2})
    with open(os.path.join(root, "ants", "groundtruth.txt"), "w") as f:
        f.write(_lines([POLY] * 2))
    with open(os.path.join(root, "bag", "groundtruth.txt"), "w") as f:
        f.write(_lines([POLY, [v + 1 for v in POLY]]))                 # edited after the JSON was made
    with caplog.at_level(logging.WARNING, logger="src.evaluation"):
        ds = load_dataset("VOT2018", root)
    assert ds.notes["gt_source"] == {"kind": "json", "path": os.path.join(root, "VOT2018.json"),
                                     "text_files_beside": 2, "text_file_name": "groundtruth.txt",
                                     "text_files_differing": ["bag"]}
    assert (f"VOT2018: ground truth read from {os.path.join(root, 'VOT2018.json')} (pysot JSON), not from the "
            f"groundtruth.txt files of 2 sequences beside it (1 of them differ from it: bag)") in caplog.text
    assert load_dataset("VOT2018", _vot(tmp_path / "raw", {"a": [POLY]})).notes["gt_source"] == \
        {"kind": "text", "files": "<seq>/groundtruth.txt"}


def test_lasot_json_beside_class_folders(tmp_path):
    """pysot's LaSOT.json names frames <class>/<seq>/img/...; the raw groundtruth.txt beside them is found."""
    root = _lasot(tmp_path, {"cat-1": [RECT] * 2})
    names = [f"cat/cat-1/img/{t + 1:08d}.jpg" for t in range(2)]
    (tmp_path / "LaSOT.json").write_text(json.dumps({"cat-1": {"video_dir": "cat-1", "img_names": names,
                                                               "gt_rect": [RECT] * 2, "absent": [1, 1]}}))
    ds = load_dataset("LaSOT", root)
    assert ds["cat-1"].visible.tolist() == [True, True] and ds.notes["missing_sequences"] == []
    assert ds.notes["gt_source"]["text_files_beside"] == 1 and ds.notes["gt_source"]["text_files_differing"] == []


# ------------------------------------------------------------ through eval.py
@pytest.mark.slow
def test_eval_refuses_bad_dataset_before_loading_a_model(tmp_path):
    root = _vot(tmp_path / "VOT2018", {"ants": [POLY] * 3, "bag": [[5] * 8] + [POLY] * 2})
    proc = run_script("eval.py", "--ckpt", tmp_path / "no_such.ckpt", "--dataset_path", root,
                      "--dataset_name", "VOT2018", "--results_dir", tmp_path / "results",
                      "--filename", tmp_path / "eval.json", timeout=300)
    assert_one_line_error(proc, f"bag: {os.path.join(root, 'bag', 'groundtruth.txt')}:1: first-frame polygon",
                          "degenerate polygon (zero area)", prefix="eval.py: ")
    assert not (tmp_path / "eval.json").exists() and not (tmp_path / "results").exists()


@pytest.mark.slow
def test_eval_refuses_empty_lasot(tmp_path):
    (tmp_path / "LaSOT").mkdir()
    proc = run_script("eval.py", "--ckpt", tmp_path / "no_such.ckpt", "--dataset_path", tmp_path / "LaSOT",
                      "--dataset_name", "LaSOT", "--results_dir", tmp_path / "results",
                      "--filename", tmp_path / "eval.json", timeout=300)
    assert_one_line_error(proc, "LaSOT: ", "lists no sequences", prefix="eval.py: ")


@pytest.mark.slow
def test_eval_stops_naming_a_corrupt_frame(tmp_path):
    """One-pass protocol (every frame is read): the truncated frame 3 stops the run, naming it."""
    ckpt = os.path.join(ROOT, "tests", "fixtures", "quickstart_siamrpn.ckpt")
    if not os.path.isfile(ckpt):
        pytest.skip(f"{ckpt} not found")
    root = _otb(tmp_path / "OTB100", {"Car": [RECT] * 4})
    frame = os.path.join(root, "Car", "img", "0003.jpg")
    data = open(frame, "rb").read()
    with open(frame, "wb") as f:
        f.write(data[:len(data) - 40])
    proc = run_script("eval.py", "--ckpt", ckpt, "--dataset_path", root, "--dataset_name", "OTB100",
                      "--results_dir", tmp_path / "results", "--filename", tmp_path / "eval.json",
                      "--plots", "false", timeout=600)
    assert_one_line_error(proc, f"Car: corrupt image {frame}: truncated or corrupt", "(frame 3)",
                          prefix="eval.py: ")
    assert not (tmp_path / "eval.json").exists()
    assert not any(n.endswith(".txt") for _, _, files in os.walk(tmp_path / "results") for n in files)

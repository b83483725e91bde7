"""Video object segmentation: DAVIS J/F metrics, the DAVIS loader, mask results and eval.py end to end."""
import json
import math
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import synthetic_test_sets

from src.evaluation import results, vos_metrics
from src.evaluation.datasets import DatasetError, dataset_kind, load_dataset
from src.evaluation.evaluate import run_vos, run_vos_dataset, score, summarise

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------ helpers
def _square(top, left, side=40, shape=(100, 100)):
    m = np.zeros(shape, bool)
    m[top:top + side, left:left + side] = True
    return m


def _official_f_measure(foreground_mask, gt_mask, bound_th=0.008):
    """davis2017-evaluation ``f_measure`` / ``_seg2bmap`` transcribed loop for loop
    (skimage's disk built in numpy), the reference for the vectorised version."""
    def seg2bmap(seg):
        seg = seg.astype(bool)
        e, s, se = np.zeros_like(seg), np.zeros_like(seg), np.zeros_like(seg)
        e[:, :-1] = seg[:, 1:]
        s[:-1, :] = seg[1:, :]
        se[:-1, :-1] = seg[1:, 1:]
        b = seg ^ e | seg ^ s | seg ^ se
        b[-1, :] = seg[-1, :] ^ e[-1, :]
        b[:, -1] = seg[:, -1] ^ s[:, -1]
        b[-1, -1] = 0
        return b

    bound_pix = bound_th if bound_th >= 1 else np.ceil(bound_th * np.linalg.norm(foreground_mask.shape))
    r = int(bound_pix)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    disk = (xx ** 2 + yy ** 2 <= bound_pix ** 2).astype(np.uint8)
    fg_boundary, gt_boundary = seg2bmap(foreground_mask), seg2bmap(gt_mask)
    fg_dil = cv2.dilate(fg_boundary.astype(np.uint8), disk)
    gt_dil = cv2.dilate(gt_boundary.astype(np.uint8), disk)
    gt_match, fg_match = gt_boundary * fg_dil, fg_boundary * gt_dil
    n_fg, n_gt = np.sum(fg_boundary), np.sum(gt_boundary)
    if n_fg == 0 and n_gt > 0:
        precision, recall = 1, 0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0, 1
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1, 1
    else:
        precision, recall = np.sum(fg_match) / float(n_fg), np.sum(gt_match) / float(n_gt)
    return 0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _blobs(rng, n, shape):
    """Random smooth blobs (thresholded noise), some empty."""
    out = []
    for i in range(n):
        if i % 7 == 3:
            out.append(np.zeros(shape, bool))
            continue
        noise = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 6)
        out.append(noise > np.quantile(noise, rng.uniform(0.6, 0.95)))
    return np.stack(out)


def _write_davis(root, sequences, year="2017", palette=True, list_name=None):
    """A DAVIS tree: sequences = {name: (frames (N, H, W, 3) uint8, labels (N, H, W) uint8)}."""
    for seq, (frames, labels) in sequences.items():
        fdir, adir = root / "JPEGImages" / "480p" / seq, root / "Annotations" / "480p" / seq
        fdir.mkdir(parents=True)
        adir.mkdir(parents=True)
        for t, (frame, label) in enumerate(zip(frames, labels)):
            cv2.imwrite(str(fdir / f"{t:05d}.jpg"), frame)
            (adir / f"{t:05d}.png").write_bytes(results.encode_mask_png(label, palette))
    listing = "".join(f"{s}\n" for s in sequences)
    if list_name:
        (root / list_name).write_text(listing)
    else:
        (root / "ImageSets" / year).mkdir(parents=True)
        (root / "ImageSets" / year / "val.txt").write_text(listing)
    return root


def _two_object_sequence(n=6, shape=(60, 80)):
    """Object 1 moving right, object 2 moving down, a void border strip."""
    frames = np.full((n,) + shape + (3,), 90, np.uint8)
    labels = np.zeros((n,) + shape, np.uint8)
    for t in range(n):
        labels[t, 10:30, 5 + 3 * t:25 + 3 * t] = 1
        labels[t, 5 + 2 * t:20 + 2 * t, 50:70] = 2
        labels[t, :, -2:] = 255
    return frames, labels


# ------------------------------------------------------------------ metrics
def test_identical_disjoint_and_empty_masks():
    a = _square(10, 10)
    assert vos_metrics.region_similarity(a, a) == 1.0 and vos_metrics.contour_accuracy(a, a) == 1.0
    b = _square(55, 55)
    assert vos_metrics.region_similarity(a, b) == 0.0 and vos_metrics.contour_accuracy(a, b) == 0.0
    empty = np.zeros_like(a)
    # DAVIS: both empty J 1, F 1 (P = R = 1); one empty J 0, F 0 (P 1 R 0 or P 0 R 1)
    assert vos_metrics.region_similarity(empty, empty) == 1.0
    assert vos_metrics.contour_accuracy(empty, empty) == 1.0
    assert vos_metrics.region_similarity(a, empty) == 0.0 and vos_metrics.contour_accuracy(a, empty) == 0.0
    assert vos_metrics.region_similarity(empty, a) == 0.0 and vos_metrics.contour_accuracy(empty, a) == 0.0
    p, r, f = vos_metrics.boundary_prf(np.stack([a, empty]), np.stack([empty, a]))
    assert p.tolist() == [1.0, 0.0] and r.tolist() == [0.0, 1.0] and f.tolist() == [0.0, 0.0]


def test_shifted_square_has_known_j_and_f():
    """40x40 square in 100x100: bound_pix = ceil(0.008 * 141.4) = 2. seg2bmap's boundary
    is 4 * 40 pixels; shifted by d <= 2 every boundary pixel matches (F = 1); shifted
    by 3, 2n - 4 = 76 of 160 pixels on each side are further than 2 px: F = 84 / 160."""
    assert vos_metrics.bound_pixels((100, 100)) == 2
    assert vos_metrics.bound_pixels((480, 854)) == 8          # DAVIS 480p
    gt = _square(20, 20)
    assert vos_metrics.seg2bmap(gt)[0].sum() == 160
    for d, j, f in ((1, 39 / 41, 1.0), (2, 38 / 42, 1.0), (3, 37 / 43, 84 / 160)):
        pred = _square(20, 20 + d)
        assert vos_metrics.region_similarity(gt, pred) == pytest.approx(j, abs=1e-12)
        assert vos_metrics.contour_accuracy(gt, pred) == pytest.approx(f, abs=1e-12)
        # the same shift vertically, and with the roles swapped
        assert vos_metrics.contour_accuracy(_square(20 + d, 20), gt) == pytest.approx(f, abs=1e-12)
    # an explicit pixel tolerance (bound_th >= 1) is used as is
    assert vos_metrics.contour_accuracy(gt, _square(20, 23), bound_th=3) == 1.0


def test_seg2bmap_disk_and_void():
    seg = np.zeros((4, 5), bool)
    seg[1:3, 1:3] = True
    expected = np.array([[1, 1, 1, 0, 0],
                         [1, 0, 1, 0, 0],
                         [1, 1, 1, 0, 0],
                         [0, 0, 0, 0, 0]], bool)
    assert (vos_metrics.seg2bmap(seg)[0] == expected).all()
    assert vos_metrics.disk(1).tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    assert vos_metrics.disk(2).sum() == 13 and vos_metrics.disk(8).sum() == 197   # skimage disk sizes
    a, b = _square(10, 10, 20), _square(10, 20, 20)
    void = np.zeros_like(a)
    void[:, 20:30] = True          # the overlap is void: nothing in common is left
    assert vos_metrics.region_similarity(a, b) == pytest.approx(200 / 600)
    assert vos_metrics.region_similarity(a, b, void) == pytest.approx(0 / 400)
    void[:] = True
    assert vos_metrics.region_similarity(a, b, void) == 1.0


def test_vectorised_metrics_match_the_official_per_frame_code():
    rng = np.random.default_rng(0)
    gt, pred = _blobs(rng, 20, (48, 64)), _blobs(rng, 20, (48, 64))
    pred[5] = gt[5]
    pred[9] = np.roll(gt[9], 2, axis=0)
    f = vos_metrics.contour_accuracy(gt, pred)
    ref = [_official_f_measure(p, g) for g, p in zip(gt, pred)]
    np.testing.assert_allclose(f, ref, rtol=0, atol=1e-12)
    j = vos_metrics.region_similarity(gt, pred)
    for g, p, value in zip(gt, pred, j):
        union = (g | p).sum()
        assert value == (1.0 if union == 0 else (g & p).sum() / union)
    assert f[5] == 1.0 and j[5] == 1.0


def test_statistics_follow_db_statistics():
    # len 8: ids = round(linspace(1, 8, 5)) - 1 = [0, 2, 4, 5, 7]; bins [0:3] ... [5:8]
    m, o, d = vos_metrics.statistics([1, 1, 1, 1, 0, 0, 0, 0])
    assert (m, o, d) == (0.5, 0.5, 1.0)
    # len 6: ids [0, 1, 3, 4, 5] (3.5 rounds up): first bin x[0:2], last bin x[4:6]
    x = np.array([0.9, 0.7, 0.6, 0.5, 0.3, 0.1])
    m, o, d = vos_metrics.statistics(x)
    assert m == pytest.approx(x.mean()) and o == pytest.approx(3 / 6)
    assert d == pytest.approx(0.8 - 0.2)
    # recall counts strictly above 0.5; NaNs are ignored by the means
    assert vos_metrics.statistics([0.5, 0.51, np.nan])[:2] == (pytest.approx(0.505), pytest.approx(1 / 3))
    assert all(math.isnan(v) for v in vos_metrics.statistics([]))
    per_object = {"a": vos_metrics.object_scores(np.stack([_square(5, 5)] * 4), np.stack([_square(5, 5)] * 4)),
                  "b": vos_metrics.object_scores(np.stack([_square(5, 5)] * 4), np.zeros((4, 100, 100), bool))}
    assert per_object["a"]["J-Mean"] == 1.0 and per_object["b"]["F-Recall"] == 0.0
    s = vos_metrics.summary(per_object)
    assert s["J-Mean"] == 0.5 and s["F-Mean"] == 0.5 and s["J&F-Mean"] == 0.5 and s["J-Decay"] == 0.0


# ------------------------------------------------------------------- loader
@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("vos")
    synthetic_test_sets(root, seed=3, videos=2, frames=8)
    return root


def test_dataset_names():
    assert [dataset_kind(n) for n in ("DAVIS2016", "DAVIS2017", "DAVISSYN", "davis2017-test-dev")] == ["davis"] * 4


def test_davis_loader_on_synthetic_davissyn(workspace):
    dataset = load_dataset("DAVISSYN", str(workspace / "data" / "test" / "DAVISSYN"))
    assert dataset.kind == "davis" and [v.name for v in dataset] == ["syn_test_0000", "syn_test_0001"]
    for video in dataset:
        assert len(video) == 8 and video.image_size == (320, 240) and video.fully_annotated
        assert not video.multi_object and video.object_ids == [1] and video.target_name(1) == video.name
        assert video.frame_stem(7) == "00007"
        first = video.read_label(0)
        assert first.dtype == np.uint8 and set(np.unique(first)) == {0, 1}
        x, y, w, h = video.init_boxes[1]
        ys, xs = np.nonzero(first)
        assert (x, y, w, h) == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
        assert video.read_frame(3).shape == (240, 320, 3)


def test_davis2017_multi_object_palette(tmp_path):
    frames, labels = _two_object_sequence()
    root = _write_davis(tmp_path / "D17", {"two": (frames, labels)})
    video = load_dataset("DAVIS2017", str(root))["two"]
    assert video.multi_object and video.object_ids == [1, 2] and video.target_name(2) == "two_2"
    label = video.read_label(2)
    assert set(np.unique(label)) == {0, 1, 2}          # void 255 -> background
    assert video.init_boxes == {1: [5.0, 10.0, 20.0, 20.0], 2: [50.0, 5.0, 20.0, 15.0]}
    masks = video.object_masks(1)
    assert masks[1].sum() == 400 and masks[2].sum() == 300
    # the same tree without the year is recognised from its ids; DAVIS2016 merges the objects
    os.rename(root / "ImageSets" / "2017", root / "ImageSets" / "2016")
    assert load_dataset("DAVISX", str(root))["two"].multi_object
    merged = load_dataset("DAVIS2016", str(root))["two"]
    assert not merged.multi_object and merged.object_ids == [1]
    assert merged.read_label(2).sum() == 400 + 300 + 2 * 60      # every non-zero pixel, void included


def test_davis2016_original_frame_pair_list(tmp_path):
    frames, labels = _two_object_sequence(4)
    root = _write_davis(tmp_path / "D16", {"bear": (frames, (labels == 1).astype(np.uint8) * 255)},
                        palette=False, list_name="unused.txt")
    (root / "ImageSets" / "480p").mkdir(parents=True)
    (root / "ImageSets" / "480p" / "val.txt").write_text("".join(
        f"/JPEGImages/480p/bear/{t:05d}.jpg /Annotations/480p/bear/{t:05d}.png\n" for t in range(4)))
    dataset = load_dataset("DAVIS2016", str(root))
    assert [v.name for v in dataset] == ["bear"] and not dataset["bear"].multi_object


def test_davis_test_dev_runs_but_cannot_be_scored(tmp_path):
    frames, labels = _two_object_sequence(4)
    root = _write_davis(tmp_path / "TD", {"two": (frames, labels[:1])}, year="2017")
    for t in range(1, 4):
        cv2.imwrite(str(root / "JPEGImages" / "480p" / "two" / f"{t:05d}.jpg"), frames[t])
    with pytest.raises(DatasetError, match=r"two: missing annotation file .*00001\.png \(frame 2 of 4\)"):
        load_dataset("DAVIS2017", str(root))
    os.rename(root / "ImageSets" / "2017" / "val.txt", root / "ImageSets" / "2017" / "test-dev.txt")
    video = load_dataset("DAVIS2017-test-dev", str(root))["two"]
    assert not video.fully_annotated and video.object_ids == [1, 2]
    with pytest.raises(ValueError, match="only the first frame is annotated"):
        vos_metrics.sequence_scores(video, str(tmp_path / "nothing"))


def _copy_davissyn(workspace, tmp_path):
    import shutil
    dst = tmp_path / "DAVISSYN"
    shutil.copytree(workspace / "data" / "test" / "DAVISSYN", dst)
    return dst


def test_davis_bad_inputs_name_the_problem(workspace, tmp_path):
    root = _copy_davissyn(workspace, tmp_path)
    annos = root / "Annotations" / "480p" / "syn_test_0001"
    frames = root / "JPEGImages" / "480p" / "syn_test_0001"
    # missing annotation
    png = (annos / "00004.png").read_bytes()
    os.remove(annos / "00004.png")
    with pytest.raises(DatasetError, match=r"syn_test_0001: missing annotation file .*00004\.png"):
        load_dataset("DAVISSYN", str(root))
    # annotation of another size than the frames
    (annos / "00004.png").write_bytes(results.encode_mask_png(np.zeros((240, 300), np.uint8)))
    with pytest.raises(DatasetError, match=r"syn_test_0001: annotation .*00004\.png is 300x240 but frame 1 "
                                           r"\(.*00000\.jpg\) is 320x240"):
        load_dataset("DAVISSYN", str(root))
    (annos / "00004.png").write_bytes(png)
    # a frame without annotation partner: the frame is missing
    jpg = (frames / "00003.jpg").read_bytes()
    os.remove(frames / "00003.jpg")
    with pytest.raises(DatasetError, match=r"syn_test_0001: missing frame file .*00003\.jpg"):
        load_dataset("DAVISSYN", str(root))
    (frames / "00003.jpg").write_bytes(jpg)
    # unreadable annotation, colour annotation, empty first frame
    (annos / "00002.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=r"syn_test_0001: unreadable annotation .*00002\.png \(frame 3\)"):
        load_dataset("DAVISSYN", str(root))
    colour = np.zeros((240, 320, 3), np.uint8)
    colour[..., 2] = 128
    cv2.imwrite(str(annos / "00002.png"), colour)
    load_dataset("DAVISSYN", str(root))          # not the first frame: read (and rejected) when scored
    with pytest.raises(DatasetError, match=r"syn_test_0001: .*00002\.png: a RGB colour image"):
        load_dataset("DAVISSYN", str(root))["syn_test_0001"].read_label(2)
    first = (annos / "00000.png").read_bytes()
    (annos / "00000.png").write_bytes(results.encode_mask_png(np.zeros((240, 320), np.uint8)))
    with pytest.raises(DatasetError, match=r"syn_test_0001: no object in the first-frame annotation .*00000\.png"):
        load_dataset("DAVISSYN", str(root))
    (annos / "00000.png").write_bytes(first)
    # missing annotation folder, sequence lists
    os.rename(annos, tmp_path / "moved")
    with pytest.raises(DatasetError, match=r"syn_test_0001: missing annotation directory .*syn_test_0001"):
        load_dataset("DAVISSYN", str(root))
    os.rename(tmp_path / "moved", annos)
    with pytest.raises(DatasetError, match=r"DAVIS2017: missing sequence list .*ImageSets/2017/val\.txt"):
        load_dataset("DAVIS2017", str(root))
    (root / "ImageSets" / "2017").mkdir()
    (root / "ImageSets" / "2017" / "val.txt").write_text("syn_test_0000\n")
    with pytest.raises(DatasetError, match="several sequence lists"):
        load_dataset("DAVISSYN", str(root))
    assert len(load_dataset("DAVIS2017", str(root))) == 1


# ------------------------------------------------------- results and runner
class _OracleTracker:
    """Returns the ground-truth mask (optionally shifted) of the object it was started on."""

    def __init__(self, video, shift=0, score=0.9):
        self.video, self.shift, self.score = video, shift, score
        self.last_mask = None

    def init(self, image, box):
        x, y, w, h = box
        self.obj = next(k for k, b in self.video.init_boxes.items() if b == [x - 0.5, y - 0.5, w, h])
        self.t = 0

    def track(self, image):
        self.t += 1
        self.last_mask = np.roll(self.video.object_masks(self.t)[self.obj], self.shift, axis=1).astype(np.uint8)
        return [0, 0, 1, 1], self.score


class _BoxOnlyTracker:
    def init(self, image, box):
        pass

    def track(self, image):
        return [0, 0, 1, 1], 1.0


def test_run_write_and_score_multi_object(tmp_path):
    frames, labels = _two_object_sequence()
    dataset = load_dataset("DAVIS2017", str(_write_davis(tmp_path / "D17", {"two": (frames, labels)})))
    video = dataset["two"]
    out = tmp_path / "results"
    fps, counts = run_vos_dataset(lambda: _OracleTracker(video), dataset, str(out), "oracle")
    assert counts == {"run": 1, "resumed": 0}
    seq_dir = out / "oracle" / "two"
    assert sorted(os.listdir(seq_dir)) == [f"{t:05d}.png" for t in range(6)] + ["two_time.txt"]
    with Image.open(seq_dir / "00003.png") as im:
        assert im.mode == "P" and im.getpalette()[3:9] == [128, 0, 0, 0, 128, 0]
        assert (np.array(im) == np.where(labels[3] == 255, 0, labels[3])).all()
    scores = score(dataset, "vos", str(out), ["oracle"])["oracle"]
    assert list(scores["per_video"]) == ["two_1", "two_2"] and scores["num_objects"] == 2
    assert all(scores[m] == 1.0 for m in ("J-Mean", "F-Mean", "J&F-Mean", "J-Recall", "F-Recall"))
    assert scores["per_video"]["two_1"]["frames"] == 4            # first and last frame not scored
    per_video, all_videos = summarise("vos", scores, fps)
    assert set(all_videos) >= set(vos_metrics.MEASURES) and per_video["two_2"]["fps"] == fps["two"]
    table = vos_metrics.format_vos_table({"oracle": scores}, "DAVIS2017")
    assert "Global results on DAVIS2017" in table and "two_1" in table and " 1.000" in table

    # overlapping masks: the object tracked with the higher score keeps the pixels
    trackers = iter([_OracleTracker(video, shift=30, score=0.2), _OracleTracker(video, score=0.8)])
    fused, _ = run_vos(lambda: next(trackers), video)
    shifted = np.roll(labels[2] == 1, 30, axis=1)
    assert ((fused[2] == 2) == (labels[2] == 2)).all()
    assert ((fused[2] == 1) == (shifted & (labels[2] != 2))).all()
    with pytest.raises(ValueError, match="_BoxOnlyTracker produces no masks"):
        run_vos(_BoxOnlyTracker, video)


def test_vos_results_are_written_atomically_and_checked(tmp_path, monkeypatch):
    seq_dir = str(tmp_path / "trk" / "seq")
    stems = ["00000", "00001", "00002"]
    masks = [np.zeros((4, 6), np.uint8)] * 2 + [np.full((4, 6), 255, np.uint8)]
    results.write_vos_result(seq_dir, "seq", stems, masks, [0.1, 0.2, 0.3])
    assert results.is_complete_vos(seq_dir, "seq", stems)
    assert results.read_vos_mask(os.path.join(seq_dir, "00002.png"), (6, 4)).min() == 255
    before = {n: open(os.path.join(seq_dir, n), "rb").read() for n in os.listdir(seq_dir)}

    calls = []

    def failing(labels, palette=False):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return b"png"

    monkeypatch.setattr(results, "encode_mask_png", failing)
    with pytest.raises(KeyboardInterrupt):
        results.write_vos_result(seq_dir, "seq", stems, masks, [0.1, 0.2, 0.3])
    assert sorted(os.listdir(tmp_path / "trk")) == ["seq"]            # no temp folder left
    assert {n: open(os.path.join(seq_dir, n), "rb").read() for n in os.listdir(seq_dir)} == before
    monkeypatch.undo()

    os.remove(os.path.join(seq_dir, "00001.png"))
    assert not results.is_complete_vos(seq_dir, "seq", stems)
    with pytest.raises(results.ResultsError, match=r"missing result mask .*00001\.png"):
        results.read_vos_mask(os.path.join(seq_dir, "00001.png"))
    with pytest.raises(results.ResultsError, match=r"00002\.png: mask is 6x4, the frame is 8x4"):
        results.read_vos_mask(os.path.join(seq_dir, "00002.png"), (8, 4))
    with pytest.raises(results.ResultsError, match=r"00002\.png: object id 255 is not an object"):
        results.read_vos_mask(os.path.join(seq_dir, "00002.png"), (6, 4), object_ids=[1, 2])


# --------------------------------------------------------------- eval.py
def run_eval(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "eval.py"), *args], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)


def eval_main(*args):
    """eval.py's main in this process: no interpreter and MindSpore start-up (seconds per run); a
    refusal is a SystemExit carrying its one line (and fails a test that expects success)."""
    import importlib
    importlib.import_module("eval").main([str(a) for a in args])


@pytest.fixture(scope="module")
def checkpoints(workspace):
    import mindspore as ms

    from src.config import load_config, replace, to_yaml
    from src.models import build_model
    from src.training.checkpoint import save_checkpoint_atomic
    ms.set_seed(1)
    paths = {}
    for name, config, changes in (
            ("siammask", "siammask_sharp.yaml", {"name": "sm_tiny"}),
            ("siamrpn", "siamrpn_alex_dw.yaml", {"name": "rpn_tiny", "model.width_mult": 0.125,
                                                 "model.feature_channels": 16})):
        cfg = replace(load_config(os.path.join(ROOT, "configs", config)), **changes)
        paths[name] = str(workspace / f"{name}.ckpt")
        save_checkpoint_atomic(build_model(cfg), paths[name], append_dict={"epoch": 1, "config": to_yaml(cfg)})
    return paths


def test_eval_vos_run_resume_and_score_only(workspace, checkpoints):
    data = str(workspace / "data" / "test" / "DAVISSYN")
    out = workspace / "davis"
    # SiamMask's DAVIS hyperparameters as overrides
    args = ["--ckpt", checkpoints["siammask"], "--dataset_path", data, "--dataset_name", "DAVISSYN",
            "--results_dir", str(out / "results"), "--filename", str(out / "eval.json"),
            "--track.penalty_k", "0.04", "--track.window_influence", "0.4", "--track.lr", "1.0",
            "--track.seg_thr", "0.35"]
    proc = run_eval(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Global results on DAVISSYN" in proc.stdout and "J&F-Mean" in proc.stdout
    record = json.loads((out / "eval.json").read_text())
    assert record["dataset"] == "DAVISSYN" and record["config"] == "sm_tiny"
    assert record["protocol"].startswith("DAVIS semi-supervised")
    assert record["hyperparameters"]["seg_thr"] == 0.35 and record["hyperparameters"]["lr"] == 1.0
    assert set(record["per_video"]) == {"syn_test_0000", "syn_test_0001"}
    for v in record["per_video"].values():
        assert v["frames"] == 6 and v["fps"] > 0
        for m in vos_metrics.MEASURES:
            assert isinstance(v[m], float)
        assert 0 <= v["J-Mean"] <= 1 and 0 <= v["F-Recall"] <= 1
    all_videos = record["all_videos"]
    assert set(all_videos) >= {"J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"}
    assert all_videos["J&F-Mean"] == pytest.approx((all_videos["J-Mean"] + all_videos["F-Mean"]) / 2)
    seq_dir = out / "results" / "DAVISSYN" / "sm_tiny" / "syn_test_0000"
    pngs = sorted(p.name for p in seq_dir.glob("*.png"))
    assert pngs == [f"{t:05d}.png" for t in range(8)]
    gt0 = cv2.imread(os.path.join(data, "Annotations", "480p", "syn_test_0000", "00000.png"), cv2.IMREAD_UNCHANGED)
    for name in pngs:
        mask = cv2.imread(str(seq_dir / name), cv2.IMREAD_UNCHANGED)
        assert mask.shape == (240, 320) and set(np.unique(mask)) <= {0, 255}
    assert (cv2.imread(str(seq_dir / "00000.png"), cv2.IMREAD_UNCHANGED) == gt0).all()   # the given mask
    assert not [p for p in (out / "results" / "DAVISSYN" / "sm_tiny").iterdir() if p.name.startswith(".")]

    # a second run finds complete sequence folders and only re-scores (eval.py's main in this process)
    mtimes = {p.name: p.stat().st_mtime_ns for p in seq_dir.iterdir()}
    eval_main(*args)
    assert {p.name: p.stat().st_mtime_ns for p in seq_dir.iterdir()} == mtimes
    again = json.loads((out / "eval.json").read_text())
    assert again["all_videos"] == all_videos and again["per_video"] == record["per_video"]

    eval_main("--score_only", "--results_dir", str(out / "results"), "--dataset_path", data,
              "--dataset_name", "DAVISSYN", "--filename", str(out / "scores.json"))
    scores = json.loads((out / "scores.json").read_text())["trackers"]["sm_tiny"]
    assert scores["all_videos"] == all_videos and scores["per_video"] == record["per_video"]


def test_eval_vos_needs_a_mask_tracker(workspace, checkpoints, tmp_path):
    # eval.py's main in this process: the SystemExit's message is the one stderr line a user sees
    with pytest.raises(SystemExit) as e:
        eval_main("--ckpt", checkpoints["siamrpn"], "--dataset_path", workspace / "data" / "test" / "DAVISSYN",
                  "--dataset_name", "DAVISSYN", "--results_dir", tmp_path / "r", "--filename", tmp_path / "e.json")
    message = e.value.code
    assert isinstance(message, str) and "\n" not in message, message
    assert message.startswith("eval.py: model.arch siamrpn produces no masks;") and "siammask" in message
    assert not (tmp_path / "r").exists() and not (tmp_path / "e.json").exists()

"""Several targets in one batched network call (src/tracker/multi.py, backends.track_batch).

Every batched run is compared with N independent single-target trackers on the same frames and
the same back-end: the batch holds the same convolutions as N one-target calls, so the boxes
agree to float rounding (1e-4 px). SiamRPN: the trained quick-start fixture; the other families:
random networks (only the agreement matters, and that the boxes move).
"""
import os

import cv2
import numpy as np
import pytest

from src.config import load_config, replace
from src.models import build_model
from src.tracker import build_tracker
from src.tracker.backends import MindSporeBackend, ONNXBackend, load_tracker_model
from src.tracker.multi import MultiTargetTracker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOXES = [[30, 40, 30, 30], [90, 50, 40, 30], [60, 10, 20, 20]]


QUICKSTART_CKPT = os.path.join(ROOT, "tests", "fixtures", "quickstart_siamrpn.ckpt")
_NETWORKS = {}


def _network(name):
    """(cfg, Cell back-end), built once per module run: "siamrpn" the trained quick-start
    fixture (scores that move between frames), the others random networks of a config."""
    if name not in _NETWORKS:
        if name == "siamrpn":
            cfg, backend, _ = load_tracker_model("mindspore", QUICKSTART_CKPT)
        else:
            import mindspore as ms
            cfg = load_config(os.path.join(ROOT, "configs", f"{name}.yaml"))
            ms.set_seed(0)                  # the same random weights every run
            backend = MindSporeBackend(build_model(cfg))
        _NETWORKS[name] = cfg, backend
    return _NETWORKS[name]


def _frames(n, h=120, w=160, seed=0):
    """Frames with a bright square drifting right (BOXES[0] at the start), on blurred noise."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        f = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (0, 0), 2)
        f[40:70, 30 + 3 * i:60 + 3 * i] = 230
        frames.append(f)
    return frames


def _single(cfg, backend, image, box):
    t = build_tracker(cfg, backend)
    t.box_origin = 0                    # MultiTargetTracker's default (the project's 0-indexed boxes)
    t.init(image, box)
    return t


def _assert_same(multi, results, singles, frame_results):
    """The batched results equal the single trackers' on this frame ({id: (tracker, (box, score))})."""
    assert sorted(results) == sorted(singles)
    for target_id, (box, score, lost) in results.items():
        ref_box, ref_score = frame_results[target_id]
        np.testing.assert_allclose(box, ref_box, atol=1e-4, rtol=0, err_msg=f"target {target_id}")
        assert score == pytest.approx(ref_score, abs=1e-5)
        assert lost is singles[target_id].lost
        ours, ref = multi.tracker(target_id), singles[target_id]
        if getattr(ref, "last_mask", None) is not None:         # SiamMask: the same mask, up to a few
            assert np.mean(ours.last_mask != ref.last_mask) < 1e-3   # pixels at the threshold
            assert ref.last_mask.any()


def _run_against_singles(name, n_frames=4):
    cfg, backend = _network(name)
    frames = _frames(n_frames)
    multi = MultiTargetTracker(cfg, backend)
    singles = {multi.add(frames[0], b): _single(cfg, backend, frames[0], b) for b in BOXES[:2]}
    assert list(singles) == [1, 2]
    moved = False
    for f in frames[1:]:
        results = multi.track(f)
        _assert_same(multi, results, singles, {i: t.track(f) for i, t in singles.items()})
        moved |= any(abs(r[0][0] - b[0]) > 1e-3 for r, b in zip(results.values(), BOXES))
    assert moved          # the comparison covers moving boxes, not only the init state


@pytest.mark.parametrize("name", ["siamrpn", "quickstart_siamfc"])
def test_batched_boxes_equal_independent_trackers(name):
    _run_against_singles(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["quickstart_siammask", "siammask_sharp", "quickstart_sasiam"])
def test_batched_boxes_equal_independent_trackers_resnet_and_sasiam(name):
    """SiamMask with the coarse mask head and with refine (ResNet-50: seconds a frame), SA-Siam."""
    _run_against_singles(name, n_frames=3)


def test_lost_is_each_targets_own_lost_state():
    """A threshold no score reaches (1: a foreground probability below it): every target is lost
    after lost_frames frames, one added later only lost_frames frames after its own start."""
    cfg, backend = _network("siamrpn")
    cfg = replace(cfg, **{"track.lost_threshold": 1.0, "track.lost_frames": 2})
    frames = _frames(5)
    multi = MultiTargetTracker(cfg, backend)
    multi.add(frames[0], BOXES[0])
    lost = [multi.track(frames[1])[1][2], multi.track(frames[2])[1][2]]
    multi.add(frames[2], BOXES[1])
    results = multi.track(frames[3])
    assert all(score < 1.0 for _, score, _ in results.values())
    assert lost == [False, True] and results[1][2] is True and results[2][2] is False
    assert multi.track(frames[4])[2][2] is True


def test_long_term_targets_search_at_their_own_size():
    """SiamRPN's long-term mode: a target in its re-detection state crops a larger search region;
    the frame's targets go through one call per crop size and still equal independent trackers."""
    cfg, backend = _network("siamrpn")
    cfg = replace(cfg, **{"track.long_term": True, "track.lost_instance_size": 351})
    frames = _frames(4)
    multi = MultiTargetTracker(cfg, backend)
    singles = {multi.add(frames[0], b): _single(cfg, backend, frames[0], b) for b in BOXES}
    for t in (multi.tracker(2), singles[2]):
        t.longterm_state = True                  # target 2 starts in the re-detection state
    sizes = sorted({t.search_size for t in singles.values()})
    assert sizes == [cfg.track.instance_size, 351]
    calls = []
    track_batch = backend.track_batch
    try:
        backend.track_batch = lambda xs, ks: calls.append(xs[0].shape[-1]) or track_batch(xs, ks)
        results = multi.track(frames[1])
    finally:
        del backend.track_batch
    assert sorted(calls) == sizes               # one call per crop size
    _assert_same(multi, results, singles, {i: t.track(frames[1]) for i, t in singles.items()})
    for f in frames[2:]:
        _assert_same(multi, multi.track(f), singles, {i: t.track(f) for i, t in singles.items()})


def test_track_batch_outputs_are_the_single_target_outputs():
    cfg, backend = _network("siamrpn")
    frame = _frames(1)[0]
    trackers = [_single(cfg, backend, frame, b) for b in BOXES]
    xs = [t._search_input(frame)[0] for t in trackers]
    batched = backend.track_batch(xs, [t.kernels for t in trackers])
    assert list(batched) == ["cls", "loc"]
    for i, (t, x) in enumerate(zip(trackers, xs)):
        for name, a in backend.track(x, t.kernels).items():
            assert batched[name].shape == (len(xs),) + a.shape
            # float rounding of a larger batch, on the scale of the map
            np.testing.assert_allclose(batched[name][i], a, rtol=0, atol=1e-5 * np.abs(a).max())


def test_add_and_remove_mid_sequence():
    cfg, backend = _network("siamrpn")
    frames = _frames(6)
    multi = MultiTargetTracker(cfg, backend)
    singles = {multi.add(frames[0], b): _single(cfg, backend, frames[0], b) for b in BOXES[:2]}
    for k, f in enumerate(frames[1:], 1):
        if k == 2:                       # a third target starts on frame 2 (its init frame)
            singles[multi.add(f, BOXES[2])] = _single(cfg, backend, f, BOXES[2])
            continue
        if k == 4:
            multi.remove(1)
            del singles[1]
        results = multi.track(f)
        _assert_same(multi, results, singles, {i: t.track(f) for i, t in singles.items()})
    assert sorted(results) == [2, 3] and len(multi) == 2 and 1 not in multi


def test_a_bad_box_fails_its_add_only():
    cfg, backend = _network("siamrpn")
    frames = _frames(3)
    multi = MultiTargetTracker(cfg, backend)
    singles = {multi.add(frames[0], BOXES[0]): _single(cfg, backend, frames[0], BOXES[0])}
    results = multi.track(frames[1])
    _assert_same(multi, results, singles, {i: t.track(frames[1]) for i, t in singles.items()})
    with pytest.raises(ValueError, match=r"lies outside the 160x120 image"):
        multi.add(frames[1], [500, 10, 20, 20])
    with pytest.raises(ValueError, match="zero or negative area"):
        multi.add(frames[1], [10, 10, 0, 20])
    assert list(multi.targets) == [1]
    results = multi.track(frames[2])
    _assert_same(multi, results, singles, {i: t.track(frames[2]) for i, t in singles.items()})
    assert multi.add(frames[2], BOXES[1]) == 2       # failed adds used no id


def test_unknown_id_is_one_line_naming_it():
    cfg, backend = _network("siamrpn")
    multi = MultiTargetTracker(cfg, backend)
    with pytest.raises(KeyError) as e:
        multi.remove(7)
    assert str(e.value) == "no target with id 7 (tracked ids: none)"
    multi.add(_frames(1)[0], BOXES[0])
    multi.remove(1)
    with pytest.raises(KeyError, match=r"^no target with id 1 \(tracked ids: none\)$"):
        multi.remove(1)
    assert multi.track(_frames(1)[0]) == {}


def test_exported_graphs_refuse_several_targets_in_one_line():
    backend = ONNXBackend.__new__(ONNXBackend)        # the check comes before any graph runs
    backend.folder = "exports/x"
    x = np.zeros((1, 3, 8, 8), np.float32)
    with pytest.raises(ValueError) as e:
        backend.track_batch([x, x], [("k",), ("k",)])
    assert "exports/x" in str(e.value) and "--backend mindspore" in str(e.value)
    assert "\n" not in str(e.value)
    # one target runs as track() does, with the target axis in front
    backend.track = lambda x, kernels: {"cls": x[:, :1] + len(kernels)}
    out = backend.track_batch([x], [("k",)])
    assert list(out) == ["cls"] and out["cls"].shape == (1, 1, 1, 8, 8) and out["cls"].max() == 1


@pytest.mark.slow
def test_demo_tracks_every_init_box_as_its_own_target(tmp_path):
    """Two --init_box: target_<k>/boxes.txt is what a one-target demo run gives for box k."""
    import importlib

    from conftest import synthetic_test_sets
    demo = importlib.import_module("demo")
    ckpt = os.path.join(ROOT, "tests", "fixtures", "quickstart_siamrpn.ckpt")
    synthetic_test_sets(tmp_path, seed=3, videos=1, frames=8)
    frames = str(tmp_path / "data" / "test" / "OTBSYN" / "syn_test_0000" / "img")
    gt = np.loadtxt(tmp_path / "data" / "test" / "OTBSYN" / "syn_test_0000" / "groundtruth_rect.txt", delimiter=",")
    boxes = [",".join(str(v) for v in gt[0]), "10,12,30,30"]
    common = ["--ckpt", ckpt, "--video", frames, "--output_dir", str(tmp_path / "out")]
    several = demo.main([*common, "--init_box", boxes[0], "--init_box", boxes[1], "--name", "both"])
    assert sorted(os.listdir(several)) == ["both.mp4", "target_1", "target_2"]
    capture, n = cv2.VideoCapture(os.path.join(several, "both.mp4")), 0
    while capture.read()[0]:
        n += 1
    assert n == 8
    for k, box in enumerate(boxes, 1):
        one = demo.main([*common, "--init_box", box, "--name", f"one_{k}", "--save_video", "false"])
        assert os.listdir(one) == ["boxes.txt"]
        ours = np.loadtxt(os.path.join(several, f"target_{k}", "boxes.txt"), delimiter=",")
        ref = np.loadtxt(os.path.join(one, "boxes.txt"), delimiter=",")
        assert ours.shape == (8, 4)
        np.testing.assert_allclose(ours, ref, atol=2e-4, rtol=0)     # 4 decimals written
    assert not ours[1:].tolist() == [ours[0].tolist()] * 7           # the target moved
    # on exports: tests/test_multi_target_export.py


def test_demo_reads_repeated_init_boxes():
    import importlib
    demo = importlib.import_module("demo")
    args, _ = demo.parse_args(["--video", "v", "--init_box", "-20,-10,50,50", "--init_box", "1,2,3,4"])
    assert args.init_boxes == ["-20,-10,50,50", "1,2,3,4"] and args.init_box == "-20,-10,50,50"
    args, _ = demo.parse_args(["--video", "v"])
    assert args.init_boxes is None and args.init_box is None


def test_demo_draws_every_target_in_its_colour():
    import importlib
    demo = importlib.import_module("demo")
    image = np.zeros((60, 120, 3), np.uint8)
    mask = np.zeros((60, 120), np.uint8)
    mask[30:40, 50:60] = 1
    polygon = [50, 30, 60, 30, 60, 40, 50, 40]
    out = demo.draw_targets(image, [(1, [5, 20, 20, 20], None, None, False),
                                    (2, [50, 30, 10, 10], polygon, mask, False),
                                    (3, [90, 5, 10, 10], None, None, True)])
    assert (out[20, 10] == demo.BOX_COLOUR).all()                  # target 1's box edge
    assert (out[30, 55] == demo.TARGET_COLOURS[0]).all()            # target 2's polygon
    assert out[35, 55, 2] > 0 and not out[35, 55, :2].any()         # its mask tint (red)
    assert (out[5, 95] == demo.LOST_COLOUR).all()                   # a lost target
    assert (out[27, 50] == demo.TARGET_COLOURS[0]).all()            # target 2's label, above it
    assert (out[11:28, 50:64].astype(int).sum(axis=2) < 100).any()  # with its id in black
    assert not image.any()                                           # the frame itself is untouched


def test_track_batch_refuses_mismatched_inputs():
    cfg, backend = _network("siamrpn")
    frame = _frames(1)[0]
    t = _single(cfg, backend, frame, BOXES[0])
    x = t._search_input(frame)[0]
    with pytest.raises(ValueError, match=r"one kernel tuple per search input.*2 inputs.*\[2\]"):
        backend.track_batch([x, x], [t.kernels])
    with pytest.raises(ValueError, match="search inputs of one shape"):
        backend.track_batch([x, x[:, :, :-1]], [t.kernels, t.kernels])


@pytest.mark.slow
def test_siammask_refine_runs_once_per_frame_for_all_targets():
    """SiamMask sharp: one search call AND one refine call per frame for all targets (refine_batch),
    the boxes, scores and masks still those of independent trackers."""
    cfg, backend = _network("siammask_sharp")
    frames = _frames(3)
    multi = MultiTargetTracker(cfg, backend)
    singles = {multi.add(frames[0], b): _single(cfg, backend, frames[0], b) for b in BOXES}
    calls = []
    refine_batch = backend.refine_batch
    try:
        backend.refine_batch = lambda *p: calls.append(len(p[0])) or refine_batch(*p)
        for f in frames[1:]:
            results = multi.track(f)
            _assert_same(multi, results, singles, {i: t.track(f) for i, t in singles.items()})
    finally:
        del backend.refine_batch
    assert calls == [len(BOXES)] * (len(frames) - 1)


def test_exported_refine_batch_is_refine_per_target():
    """Exported refine graphs have batch 1: refine_batch runs each target's row through refine
    and stacks the logits in target order."""
    from src.tracker.backends import _ExportedBackend

    class OneRowRefine(_ExportedBackend):
        def __init__(self):                   # no graphs to load: refine stands for the batch-1 graph
            self.rows = []

        def refine(self, p0, p1, p2, p3):
            assert len(p0) == 1 and all(len(p) == 1 for p in (p1, p2, p3))
            self.rows.append(float(p0[0, 0, 0, 0]))
            return p0.reshape(1, -1)[:, :4] + p3.reshape(1, -1)[:, :1]

    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(3, c, s, s)).astype(np.float32) for c, s in ((2, 3), (2, 2), (2, 2), (2, 1))]
    backend = OneRowRefine()
    logits = backend.refine_batch(*inputs)
    assert backend.rows == [float(v) for v in inputs[0][:, 0, 0, 0]]
    np.testing.assert_allclose(logits, inputs[0].reshape(3, -1)[:, :4] + inputs[3].reshape(3, -1)[:, :1])

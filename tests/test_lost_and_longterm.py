"""Per-frame confidence, the lost-target state (src/tracker/base.py) and SiamRPN's long-term mode.

Fake back-ends answer with the scores a test chooses, as the real ones do: a dict by output name.
"""
import os

import cv2
import numpy as np
import pytest
from scipy.special import expit, logit

from src.config import Config, load_config, replace
from src.tracker.sasiam_tracker import SASiamTracker
from src.tracker.siamfc_tracker import SiamFCTracker
from src.tracker.siamrpn_tracker import SiamRPNTracker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOX = [60, 50, 30, 24]


def _frames(n, h=120, w=160, seed=0):
    rng = np.random.default_rng(seed)
    return [cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (0, 0), 2) for _ in range(n)]


class ScoreBackend:
    """SiamRPN stand-in whose chosen anchor has the foreground probability the test asks for.

    ``scores``: one probability per ``track`` call. The map's side follows the crop's
    (pysot's score_size), every anchor but one (anchor ``anchor`` at cell ``cell``, relative to
    the map's centre) has probability ~1e-13 and every box delta is 0, so that anchor is chosen
    and the target moves to its centre."""

    def __init__(self, scores, anchors=5, stride=8, exemplar=127, cell=(0, 0), anchor=2):
        self.scores, self.anchors, self.stride, self.exemplar = list(scores), anchors, stride, exemplar
        self.cell, self.anchor = cell, anchor
        self.sizes = []          # the search crop's side on every call

    def template(self, z):
        return ("k_cls", "k_loc")

    def track(self, x, kernels):
        size = x.shape[-1]
        self.sizes.append(size)
        side = (size - self.exemplar) // self.stride + 1
        cls = np.zeros((1, 2 * self.anchors, side, side), np.float32)
        cls[0, self.anchors:] = -30.0                       # foreground logit minus background logit
        cy, cx = side // 2 + self.cell[0], side // 2 + self.cell[1]
        cls[0, self.anchors + self.anchor, cy, cx] = logit(self.scores.pop(0))
        return {"cls": cls, "loc": np.zeros((1, 4 * self.anchors, side, side), np.float32)}


def _rpn(scores, cfg=None, **track):
    cfg = replace(cfg or Config(), **{f"track.{k}": v for k, v in track.items()})
    return SiamRPNTracker(ScoreBackend(scores), cfg.track, cfg.model.anchor)


# ----------------------------------------------------------------------------- confidence, lost

def test_confidence_is_the_returned_score_and_lost_needs_lost_frames_low_frames():
    high, low = 0.9, 0.2
    scores = [high, low, low, high, low, low, low, low, high]
    tracker = _rpn(list(scores), lost_threshold=0.5, lost_frames=3)
    frames = _frames(len(scores) + 1)
    tracker.init(frames[0], BOX)
    assert tracker.confidence is None and tracker.lost is False
    lost = []
    for frame, wanted in zip(frames[1:], scores):
        _, score = tracker.track(frame)
        assert tracker.confidence == score                  # the very value track() returned
        assert score == pytest.approx(wanted, rel=1e-5)     # the chosen anchor's foreground probability
        lost.append(tracker.lost)
    # two low frames are not enough; the third in a row is; one high frame clears it
    assert lost == [False, False, False, False, False, False, True, True, False]


def test_the_threshold_is_strict_and_one_frame_can_suffice():
    tracker = _rpn([0.5, 0.49], lost_threshold=0.5, lost_frames=1)
    frames = _frames(3)
    tracker.init(frames[0], BOX)
    tracker.track(frames[1])
    at_threshold = tracker.lost
    tracker.track(frames[2])
    assert (at_threshold, tracker.lost) == (False, True)


def test_init_resets_confidence_and_lost():
    tracker = _rpn([0.1, 0.1, 0.95], lost_frames=2)
    frames = _frames(3)
    tracker.init(frames[0], BOX)
    tracker.track(frames[1])
    tracker.track(frames[2])
    assert tracker.lost and tracker.low_frames == 2
    tracker.init(frames[0], BOX)                        # a new target
    assert (tracker.confidence, tracker.lost, tracker.low_frames) == (None, False, 0)
    tracker.track(frames[1])
    assert not tracker.lost and tracker.confidence == pytest.approx(0.95, rel=1e-5)


class ResponseBackend:
    """SiamFC / SA-Siam stand-in: a response peaked at the centre whose peak logit is chosen per call."""

    def __init__(self, peaks, scales=3):
        yy, xx = np.mgrid[0:17, 0:17]
        self.blob = np.exp(-((yy - 8) ** 2 + (xx - 8) ** 2) / 4.0).astype(np.float32)
        self.peaks, self.scales = list(peaks), scales

    def template(self, z):
        return ("kernel",)

    def run(self, graph, inputs):                       # SA-Siam's two-exemplar template graph
        assert graph == "template"
        return {"kernel0": "k_a", "kernel1": "k_s"}

    def track(self, x, kernels):
        # the peak logit over a flat -8 floor (the peak stays at the centre whatever its value)
        response = np.float32(-8.0) + (self.peaks.pop(0) + 8.0) * self.blob
        return {"response": np.stack([response] * self.scales)[:, None]}


@pytest.mark.parametrize("family", ["siamfc", "sasiam"])
def test_response_families_report_the_sigmoid_of_the_peak_and_go_lost(family):
    peaks = [4.0, -3.0, -3.0, -3.0, 4.0]
    if family == "siamfc":
        cfg = load_config(os.path.join(ROOT, "configs", "siamfc_alexnet.yaml"), [("track.lost_frames", 2)])
        tracker, box_origin = SiamFCTracker(ResponseBackend(peaks), cfg.track), 1
    else:
        cfg = load_config(os.path.join(ROOT, "configs", "quickstart_sasiam.yaml"), [("track.lost_frames", 2)])
        tracker, box_origin = SASiamTracker(ResponseBackend(peaks), cfg.track, total_stride=8), 0
    tracker.box_origin = box_origin
    frames = _frames(len(peaks) + 1)
    tracker.init(frames[0], BOX)
    lost, confidences = [], []
    for frame in frames[1:]:
        _, score = tracker.track(frame)
        assert tracker.confidence == score
        confidences.append(score)
        lost.append(tracker.lost)
    # the centre scale's upsampled peak is the raw peak (the map is symmetric about its centre)
    np.testing.assert_allclose(confidences, expit(np.array(peaks)), rtol=0.02)
    assert lost == [False, False, True, True, False]
    tracker.init(frames[0], BOX)                        # SA-Siam's init is its own: the reset still happens
    assert (tracker.confidence, tracker.lost) == (None, False)


def test_lost_keys_are_checked_and_default_for_every_family():
    for arch in ("siamrpn", "siammask", "siamfc", "sasiam"):
        track = replace(Config(), **{"model.arch": arch}).track
        assert (track.lost_threshold, track.lost_frames) == (0.5, 5)
    from src.config import ConfigError
    with pytest.raises(ConfigError, match=r"'track.lost_frames' must be >= 1, got 0"):
        replace(Config(), **{"track.lost_frames": 0})
    with pytest.raises(ConfigError, match=r"'track.lost_threshold' must be in \[0, 1\], got 1.5"):
        replace(Config(), **{"track.lost_threshold": 1.5})


# ----------------------------------------------------------------------------- long-term mode

class CandidateBackend(ScoreBackend):
    """ScoreBackend with several candidate positions per call: each entry of ``scores`` is
    {(dy, dx) cell offset from the map's centre: foreground probability} for anchor ``anchor``."""

    def track(self, x, kernels):
        size = x.shape[-1]
        self.sizes.append(size)
        side = (size - self.exemplar) // self.stride + 1
        cls = np.zeros((1, 2 * self.anchors, side, side), np.float32)
        cls[0, self.anchors:] = -30.0
        for (dy, dx), p in self.scores.pop(0).items():
            cls[0, self.anchors + self.anchor, side // 2 + dy, side // 2 + dx] = logit(p)
        return {"cls": cls, "loc": np.zeros((1, 4 * self.anchors, side, side), np.float32)}


def _lt(scores, backend=CandidateBackend, **track):
    from src.tracker.siamrpn_lt_tracker import SiamRPNLTTracker
    values = {"long_term": True, "confidence_low": 0.5, "confidence_high": 0.95, **track}
    cfg = replace(Config(), **{f"track.{k}": v for k, v in values.items()})
    return SiamRPNLTTracker(backend(scores), cfg.track, cfg.model.anchor)


def test_long_term_switches_size_below_low_and_back_above_high():
    centre = (0, 0)
    scores = [{centre: p} for p in (0.9, 0.3, 0.6, 0.99, 0.6, 0.4, 0.97)]
    tracker = _lt(scores)
    frames = _frames(len(scores) + 1)
    tracker.init(frames[0], BOX)
    states = []
    for frame in frames[1:]:
        tracker.track(frame)
        states.append(tracker.longterm_state)
    # 0.3 < low: the next crop is the lost size; 0.6 (between) keeps it; 0.99 > high ends it;
    # 0.6 in the normal state keeps the normal size (hysteresis), 0.4 switches again
    assert tracker.backend.sizes == [287, 287, 831, 831, 287, 287, 831]
    assert states == [False, True, True, False, False, True, False]
    tracker.init(frames[0], BOX)                         # a new target starts in the normal state
    assert tracker.longterm_state is False and tracker.search_size == 287


def test_below_low_the_target_stays_and_above_it_moves_by_the_anchor():
    from src.crop_geometry import context_size
    scores = [{(3, 0): 0.3}, {(0, 5): 0.6}]             # a low score 3 cells down, then 5 cells right
    tracker = _lt(scores)
    frames = _frames(3)
    tracker.init(frames[0], BOX)
    start, size = tracker.center_pos.copy(), tracker.size.copy()
    tracker.track(frames[1])
    np.testing.assert_array_equal(tracker.center_pos, start)   # pysot: below CONFIDENCE_LOW no move
    np.testing.assert_array_equal(tracker.size, size)
    tracker.track(frames[2])                                    # in the 831 crop (89x89 map)
    scale_z = 127 / context_size(*size)
    np.testing.assert_allclose(tracker.center_pos, start + [5 * 8 / scale_z, 0], rtol=1e-9)
    # the plain tracker moves on a low score
    plain = _rpn([0.3], cfg=Config())
    plain.backend = ScoreBackend([0.3], cell=(3, 0))
    plain.init(frames[0], BOX)
    plain.track(frames[1])
    assert plain.center_pos[1] == pytest.approx(start[1] + 3 * 8 / scale_z)


def test_the_lost_search_barely_weighs_the_window():
    from src.crop_geometry import context_size
    # a far, slightly better candidate loses to the centre under the normal window (0.40) and
    # wins in the lost state (0.001): the tracker jumps there
    far, near = (0, 8), (0, 0)
    scores = [{near: 0.2}, {near: 0.9, far: 0.99}, {near: 0.3}, {near: 0.9, far: 0.99}]
    tracker = _lt(scores, confidence_high=0.999)
    frames = _frames(5)
    tracker.init(frames[0], BOX)
    tracker.track(frames[1])                             # -> lost state
    before, scale_z = tracker.center_pos.copy(), 127 / context_size(*tracker.size)
    tracker.track(frames[2])                             # lost search: the far candidate wins
    np.testing.assert_allclose(tracker.center_pos, before + [8 * 8 / scale_z, 0], rtol=1e-9)
    plain = _lt([{near: 0.9, far: 0.99}], confidence_high=0.999)
    plain.init(frames[0], BOX)
    plain.track(frames[1])                               # normal search: the centre wins
    np.testing.assert_allclose(plain.center_pos, [BOX[0] + (BOX[2] - 1) / 2, BOX[1] + (BOX[3] - 1) / 2])


def _pysot_anchors(stride, ratios, scales, score_size):
    """pysot's Anchors.generate_anchors and SiamRPNTracker.generate_anchor, transcribed."""
    rows, size = [], stride * stride
    for r in ratios:
        ws = int(np.sqrt(size * 1. / r))
        hs = int(ws * r)
        for s in scales:
            w, h = ws * s, hs * s
            rows.append([-w * 0.5, -h * 0.5, w * 0.5, h * 0.5])
    anchor = np.array(rows, np.float32)
    x1, y1, x2, y2 = anchor[:, 0], anchor[:, 1], anchor[:, 2], anchor[:, 3]
    anchor = np.stack([(x1 + x2) * 0.5, (y1 + y2) * 0.5, x2 - x1, y2 - y1], 1)
    anchor_num = anchor.shape[0]
    anchor = np.tile(anchor, score_size * score_size).reshape((-1, 4))
    ori = - (score_size // 2) * stride
    xx, yy = np.meshgrid([ori + stride * dx for dx in range(score_size)],
                         [ori + stride * dy for dy in range(score_size)])
    xx, yy = np.tile(xx.flatten(), (anchor_num, 1)).flatten(), np.tile(yy.flatten(), (anchor_num, 1)).flatten()
    anchor[:, 0], anchor[:, 1] = xx.astype(np.float32), yy.astype(np.float32)
    return anchor


@pytest.mark.parametrize("instance, base, lost, side", [(287, 0, 831, 89), (255, 8, 831, 97)])
def test_lost_grid_is_pysots(instance, base, lost, side):
    """AlexNet's geometry (287, base 0) and pysot's ResNet-50 LT preset's (255, base 8)."""
    tracker = _lt([], instance_size=instance, base_size=base, lost_instance_size=lost)
    a = Config().model.anchor
    size, anchors, window = tracker.grid(lost)
    assert size == (lost - 127) // a.stride + 1 + base == side
    np.testing.assert_allclose(anchors, _pysot_anchors(a.stride, a.ratios, a.scales, side))
    hanning = np.hanning(side)
    np.testing.assert_allclose(window, np.tile(np.outer(hanning, hanning).flatten(), a.num))
    assert tracker.grid(lost)[1] is anchors                  # built once per size
    assert tracker.grid(instance)[0] == tracker.score_size


def test_state_unclipped_box_clipped_as_pysot_long_term():
    w = 160                                               # _frames' width
    box = [130, 50, 25, 24]
    tracker = _lt([{(0, 8): 0.9}])
    frames = _frames(2)
    tracker.init(frames[0], box)
    reported, _ = tracker.track(frames[1])
    cx = tracker.center_pos[0]
    assert cx > w                                         # the state left the image...
    assert reported[0] + reported[2] / 2 == pytest.approx(w)   # ...the box reported did not
    plain = _rpn([0.9], cfg=Config())
    plain.backend = ScoreBackend([0.9], cell=(0, 8))
    plain.init(frames[0], box)
    plain.track(frames[1])
    assert plain.center_pos[0] == w                      # the normal tracker clips its state


def test_long_term_is_built_from_the_config_and_refused_where_it_cannot_run():
    from src.tracker import build_tracker
    from src.tracker.backends import load_tracker_model
    from src.tracker.siamrpn_lt_tracker import SiamRPNLTTracker
    cfg = replace(Config(), **{"track.long_term": True})
    assert type(build_tracker(cfg, ScoreBackend([]))) is SiamRPNLTTracker
    assert type(build_tracker(Config(), ScoreBackend([]))) is SiamRPNTracker
    with pytest.raises(ValueError, match=r"^track\.long_term: SiamMaskTracker has no long-term mode"):
        build_tracker(replace(Config(), **{"model.arch": "siammask", "track.long_term": True}), ScoreBackend([]))
    export = os.path.join(ROOT, "tests", "fixtures", "export_v1_onnx")
    cfg, backend, _ = load_tracker_model("onnx", export, overrides=[("track.long_term", True)])
    with pytest.raises(ValueError, match=r"^track\.long_term needs --backend mindspore .*fixed 287x287 crop.*"
                                         r"831x831 \(track\.lost_instance_size\)$") as e:
        build_tracker(cfg, backend)
    assert "\n" not in str(e.value) and export in str(e.value)
    from src.config import ConfigError
    with pytest.raises(ConfigError, match=r"'track.confidence_low' \(0.9\) must not exceed 'track.confidence_high'"):
        replace(Config(), **{"track.confidence_low": 0.9, "track.confidence_high": 0.8})
    with pytest.raises(ConfigError, match=r"'track.instance_size' \(287\) must not exceed 'track.lost_instance_size'"):
        replace(Config(), **{"track.lost_instance_size": 255})


def test_lt_preset_config_is_alex_dw_with_pysots_long_term_track_values():
    from src.config import differences
    from src.tracker.presets import PRESETS, preset_overrides
    base = load_config(os.path.join(ROOT, "configs", "siamrpn_alex_dw.yaml"))
    lt = load_config(os.path.join(ROOT, "configs", "siamrpn_alex_dw_lt.yaml"))
    changed = {k for k, _, _ in differences(base.to_dict(), lt.to_dict())}
    # (confidence_high and lost_instance_size: pysot's defaults, which the preset keeps)
    assert changed == {"name"} | {f"track.{k}" for k in ("penalty_k", "window_influence", "lr", "long_term",
                                                          "confidence_low")}
    # pysot experiments/siamrpn_r50_l234_dwxcorr_lt and pysot/core/config.py
    t = lt.track
    assert (t.penalty_k, t.window_influence, t.lr, t.confidence_low, t.confidence_high, t.lost_instance_size) == \
        (0.05, 0.28, 0.22, 0.8, 0.998, 831)
    assert load_config(os.path.join(ROOT, "configs", "siamrpn_alex_dw.yaml"),
                       preset_overrides("siamrpn_alex_dw_lt")).track == t
    assert set(PRESETS["siamrpn_alex_dw_lt"]) <= set(vars(t))


# ----------------------------------------------------------------------------- end to end

CKPT = os.path.join(ROOT, "tests", "fixtures", "quickstart_siamrpn.ckpt")
AWAY, BACK, FRAMES = 6, 11, 20     # the target is gone on frames AWAY..BACK-1


def _leaving_target_sequence(seed=1, jump=110.0):
    """(frames, boxes): a synthetic VOTSYN-style scene (src/data/synthetic.py sample_scene) with
    its target alone on a blurred background; the target vanishes on frames AWAY..BACK-1 and
    comes back ``jump`` px further towards the frame's middle, outside the normal search region
    around where it left. (The quick-start model, 1/4 width and 8 epochs, scores the generator's
    cluttered background up to 0.85 over an 831 crop; the blur keeps the test about the tracker.)"""
    import dataclasses
    from src.data.synthetic import FRAME_SIZE, render_frame, sample_scene
    scene = sample_scene(np.random.default_rng([0, 2, seed]), FRAMES, FRAME_SIZE, n_targets=1, n_occluders=0)
    target = scene.objects[scene.targets[0]]
    scene = dataclasses.replace(scene, objects=[target], targets=[0],
                                background=cv2.GaussianBlur(scene.background, (0, 0), 6))
    target.centres = target.centres.copy()
    target.centres[BACK:, 0] += jump * np.sign(FRAME_SIZE[0] / 2 - target.centres[BACK, 0])
    empty = dataclasses.replace(scene, objects=[], targets=[])
    frames = [render_frame(empty if AWAY <= t < BACK else scene, t)[0] for t in range(FRAMES)]
    boxes = [[x1, y1, x2 - x1, y2 - y1] for x1, y1, x2, y2 in (target.box(t) for t in range(FRAMES))]
    return frames, boxes


def _iou(a, b):
    w = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return w * h / (a[2] * a[3] + b[2] * b[3] - w * h)


@pytest.mark.slow
def test_trained_tracker_goes_lost_while_the_target_is_away_and_long_term_finds_it_again():
    from src.crop_geometry import context_size
    from src.tracker import build_tracker
    from src.tracker.backends import load_tracker_model
    frames, boxes = _leaving_target_sequence()
    # thresholds for the quick-start model, whose scores on its target are 0.6-0.98
    cfg, backend, _ = load_tracker_model("mindspore", CKPT, overrides=[
        ("track.lost_frames", 2), ("track.confidence_low", 0.5), ("track.confidence_high", 0.7)])
    for long_term in (False, True):
        tracker = build_tracker(replace(cfg, **{"track.long_term": long_term}), backend)
        tracker.init(frames[0], boxes[0])
        lost, ious, searches = [], [], []
        for t in range(1, FRAMES):
            if t == BACK:
                # where it comes back lies outside the normal search crop around the tracker
                half = context_size(*tracker.size, cfg.track.context_amount) * cfg.track.instance_size / 127 / 2
                centre = np.array(boxes[t][:2]) + np.array(boxes[t][2:]) / 2
                outside = np.max(np.abs(centre - tracker.center_pos)) > half
            searches.append(getattr(tracker, "search_size", cfg.track.instance_size))
            box, _ = tracker.track(frames[t])
            lost.append(tracker.lost)
            ious.append(_iou(box, boxes[t]))
        lost, ious = dict(zip(range(1, FRAMES), lost)), dict(zip(range(1, FRAMES), ious))
        assert not any(lost[t] for t in range(1, AWAY)), long_term
        assert all(lost[t] for t in range(AWAY + 1, BACK)), long_term    # from the 2nd frame away on
        if long_term:
            assert outside
            assert searches[AWAY] == cfg.track.lost_instance_size           # frame AWAY + 1 searched wide
            back_on = [t for t in range(BACK, FRAMES) if ious[t] > 0.5]
            assert back_on and back_on[0] <= BACK + 2, ious                  # found within 3 frames
            assert not lost[back_on[0]]


def test_export_refuses_a_long_term_config_in_one_line(tmp_path):
    from src.export import ExportError, export_graphs
    cfg = load_config(os.path.join(ROOT, "configs", "siamrpn_alex_dw_lt.yaml"))
    with pytest.raises(ExportError, match=r"^config 'siamrpn_alex_dw_lt': track\.long_term is true, but exported "
                                          r"graphs track in the normal mode only"):
        export_graphs(cfg, None, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def _generator_long_term_sequence(index, n_frames):
    """(frames, ground truth with None while absent) of VOTLTSYN sequence ``index`` as
    src/data/synthetic.py write_lt_part draws it (seed 0), without its distractors and JPEG."""
    from src.data.synthetic import FRAME_SIZE, LT_EVENTS, _long_term_scene, _lt_box, _video_rng, render_frame
    scene = _long_term_scene(_video_rng(0, "test_lt", index), n_frames, FRAME_SIZE, LT_EVENTS[index % 2],
                             distractors=False)
    target = scene.objects[scene.targets[0]]
    frames, truth = [], []
    for t in range(n_frames):
        frame, (visible,), _ = render_frame(scene, t)
        frames.append(frame)
        truth.append(_lt_box(target, t, visible, FRAME_SIZE))
    return frames, truth


@pytest.mark.slow
def test_generator_long_term_sequence_lost_while_away_and_recovered_after_it_returns():
    """VOTLTSYN-style sequence 2 (out of view, 80 frames: absent on frames 38..59), distractors off.

    Why this setup: with the generator's distractors (most are near copies of the target) the
    quick-start model scores a look-alike 0.8-0.97 while the target is away, as high as the
    target itself (6 x 150 VOTLTSYN: lost fired in 2/6 sequences, absent-frame confidence
    medians 0.79, 0.95, 0.96, 0.26, 0.02, 0.73), so no threshold on this confidence separates
    "away" from "there". Without distractors, 2 of the first 4 sequences still do not show it
    (an occluder scored 0.5-0.84 as an object; 831-px clutter at 0.83): this test pins the one
    that does, sequence 2, as a regression check of the lost / long-term machinery on the
    generator's own absence profile; it does not claim the small model does this in general."""
    from src.tracker import build_tracker
    from src.tracker.backends import load_tracker_model
    n_frames = 80
    frames, truth = _generator_long_term_sequence(2, n_frames)
    absent = [t for t in range(n_frames) if truth[t] is None]
    away, back = absent[0], absent[-1] + 1
    assert absent == list(range(away, back)) and back - away >= 10, absent
    cfg, backend, _ = load_tracker_model("mindspore", CKPT)
    k = max(1, n_frames // 10)      # _absence_profile's ramp: the target slides back in over these frames
    for long_term in (False, True):
        tracker = build_tracker(replace(cfg, **{"track.long_term": long_term}), backend)
        tracker.init(frames[0], truth[0])
        rows = {}
        for t in range(1, n_frames):
            box, score = tracker.track(frames[t])
            rows[t] = (score, tracker.lost, None if truth[t] is None else _iou(box, truth[t]))
        # lost from the lost_frames-th absent frame on, on most of them
        flagged = [rows[t][1] for t in range(away + cfg.track.lost_frames - 1, back)]
        assert sum(flagged) >= 0.8 * len(flagged), (long_term, rows)
        # the confidence drops while the target is away, in both modes
        before = np.median([rows[t][0] for t in range(1, away)])
        during = np.median([rows[t][0] for t in range(away, back)])
        assert during < cfg.track.lost_threshold < before, (long_term, before, during)
        if long_term:
            # re-detected (not lost, IoU > 0.5) within k frames of its return
            found = [t for t in range(back, min(back + k, n_frames)) if not rows[t][1] and rows[t][2] > 0.5]
            assert found, rows

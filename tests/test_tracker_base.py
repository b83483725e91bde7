"""The SiameseTracker base (src/tracker/base.py) and the box origin eval.py / demo.py / got10k use.

No network: fake back-ends return the search graph's outputs as the real ones do, a dict by
output name. The SiamFC runs check that eval.py's runner and the got10k adapter drive SiamFC
(whose reference, and track-section default, is 1-indexed) with the 0-indexed boxes they pass:
every crop equals that of a tracker built with box_origin 0, and differs from the 1-indexed one.
"""
import os

import cv2
import numpy as np
import pytest

from src.config import Config, load_config, replace
from src.evaluation.datasets import Video, supervised_region
from src.evaluation.geometry import init_rect_from_region
from src.evaluation.runner import BOX_ORIGIN, run_one_pass, run_supervised
from src.tracker.base import SiameseTracker, check_init_box
from src.tracker.siamfc_tracker import SiamFCTracker
from src.tracker.siammask_tracker import SiamMaskTracker
from src.tracker.siamrpn_tracker import SiamRPNTracker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _siamfc_track():
    """The SiamFC family's track section, as configs/siamfc_alexnet.yaml builds it."""
    return load_config(os.path.join(ROOT, "configs", "siamfc_alexnet.yaml")).track


def _frames(n=5, h=120, w=160, seed=0):
    rng = np.random.default_rng(seed)
    return [cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (0, 0), 2) for _ in range(n)]


class AnchorBackend:
    """SiamRPN stand-in: records the crops, answers with fixed cls / loc maps (plus ``extra``
    outputs, in the key order given), counts the template runs."""

    def __init__(self, n, loc=None, order=("cls", "loc"), extra=()):
        self.n, self.order, self.extra = n, order, extra
        self.loc = np.zeros((1, 4 * n), np.float32) if loc is None else loc
        self.templates, self.z, self.x = 0, None, []

    def template(self, z):
        self.templates += 1
        self.z = z
        return ("k_cls", "k_loc")

    def track(self, x, kernels):
        assert kernels == ("k_cls", "k_loc")
        self.x.append(x)
        cls = np.zeros((1, 2 * self.n), np.float32)
        cls[0, self.n:] = np.linspace(0, 1, self.n, dtype=np.float32)   # fg logits: a unique best
        outputs = {"cls": cls, "loc": self.loc}
        return {name: outputs.get(name, np.zeros(3, np.float32)) for name in (*self.order, *self.extra)}


class ResponseBackend:
    """SiamFC stand-in: records the crops, answers with a response peaked one cell below the
    centre, so the target moves down every frame (slowly enough to keep overlapping the ground truth)."""

    def __init__(self, scales=3, peak=(9, 8)):
        yy, xx = np.mgrid[0:17, 0:17]
        blob = np.exp(-((yy - peak[0]) ** 2 + (xx - peak[1]) ** 2) / 4.0).astype(np.float32)
        self.response = np.stack([blob] * scales)[:, None]
        self.z, self.x = None, []

    def template(self, z):
        self.z = z
        return ("kernel",)

    def track(self, x, kernels):
        self.x.append(x)
        return {"response": self.response}


def _rpn(backend_factory=AnchorBackend, **kw):
    cfg = Config()
    tracker = SiamRPNTracker(None, cfg.track, cfg.model.anchor)
    tracker.backend = backend_factory(len(tracker.anchors), **kw)
    return tracker


# ----------------------------------------------------------------------------- base behaviour

def test_outputs_are_read_by_name_not_position():
    frames = _frames(3)
    boxes = []
    for order, extra in ((("cls", "loc"), ()), (("loc", "cls"), ("mask", "corr_feature"))):
        tracker = _rpn(order=order, extra=extra)
        tracker.init(frames[0], [50, 40, 30, 25])
        boxes.append([tracker.track(f) for f in frames[1:]])
    assert boxes[0] == boxes[1]


def test_a_tuple_or_a_missing_output_is_a_clear_error():
    frame = _frames(1)[0]
    tracker = _rpn(order=("cls",))
    tracker.init(frame, [50, 40, 30, 25])
    with pytest.raises(ValueError, match=r"lack \['loc'\].*reads \['cls', 'loc'\]"):
        tracker.track(frame)

    class TupleBackend(ResponseBackend):
        def track(self, x, kernels):
            return (self.response,)
    tracker = SiamFCTracker(TupleBackend(), _siamfc_track())
    tracker.init(frame, [50, 40, 30, 25])
    with pytest.raises(TypeError, match="by name from a dict"):
        tracker.track(frame)


def test_template_once_per_target_and_state_per_tracker():
    frames = _frames(4)
    tracker = _rpn()
    other = SiamRPNTracker(tracker.backend, tracker.cfg, Config().model.anchor)
    tracker.init(frames[0], [50, 40, 30, 25])
    other.init(frames[0], [10, 10, 20, 40])
    for f in frames[1:]:
        tracker.track(f)
    assert tracker.backend.templates == 2 and len(tracker.backend.x) == 3
    np.testing.assert_allclose(other.center_pos, [10 + 19 / 2, 10 + 39 / 2])   # untouched by the other
    tracker.init(frames[0], [60, 40, 30, 25])                                  # a new target: a new template
    assert tracker.backend.templates == 3
    with pytest.raises(RuntimeError, match="before init"):
        _rpn().track(frames[0])


def test_grayscale_frames_crop_as_three_equal_channels():
    gray = _frames(1)[0][:, :, 1].copy()
    for make in (_rpn, lambda: SiamFCTracker(ResponseBackend(), _siamfc_track())):
        a, b = make(), make()
        a.init(gray, [50, 40, 30, 25])
        b.init(np.repeat(gray[:, :, None], 3, axis=2), [50, 40, 30, 25])
        np.testing.assert_array_equal(a.backend.z, b.backend.z)
        a.track(gray)
        b.track(np.repeat(gray[:, :, None], 3, axis=2))
        np.testing.assert_array_equal(a.backend.x[0], b.backend.x[0])


def test_pysot_update_clips_centre_and_size():
    """A prediction far right of a 160x120 frame: the centre stops at the border, the size at
    [10, image side] (pysot's _bbox_clip), for the anchor families."""
    frame = _frames(1)[0]
    probe = _rpn()
    loc = np.zeros((1, 4 * probe.backend.n), np.float32)
    loc[0, :probe.backend.n] = 40.0                       # dx of 40 anchor widths
    tracker = _rpn(loc=loc)
    tracker.init(frame, [50, 40, 12, 11])
    box, _ = tracker.track(frame)
    assert tracker.center_pos[0] == 160 and 0 <= tracker.center_pos[1] <= 120
    assert 10 <= tracker.size[0] <= 160 and 10 <= tracker.size[1] <= 120
    assert box == [160 - tracker.size[0] / 2, tracker.center_pos[1] - tracker.size[1] / 2, *tracker.size]


def test_init_box_checks_follow_the_box_origin():
    shape = (48, 64, 3)
    with pytest.raises(ValueError, match="outside the 64x48 image"):
        check_init_box([64, 5, 10, 10], shape)            # 0-indexed: column 64 is past the frame
    check_init_box([64, 5, 10, 10], shape, box_origin=1)  # 1-indexed: column 64 is the last one
    with pytest.raises(ValueError, match="outside"):
        check_init_box([-9, 5, 10, 10], shape, box_origin=1)
    check_init_box([-9, 5, 10, 10], shape)


def test_families_honour_or_refuse_a_box_origin():
    cfg = Config()
    with pytest.raises(ValueError, match="SiamRPNTracker reads and writes boxes with box_origin 0, not 1"):
        SiamRPNTracker(None, cfg.track, cfg.model.anchor, box_origin=1)
    mask_cfg = replace(cfg, **{"model.arch": "siammask"})
    tracker = SiamMaskTracker(None, mask_cfg.track, mask_cfg.model.anchor, refine=False)
    assert tracker.output_names == ("cls", "loc", "mask")
    with pytest.raises(ValueError, match="box_origin 0, not 1"):
        tracker.box_origin = 1
    tracker.box_origin = 0
    track = _siamfc_track()
    assert track.box_origin == 1                          # the reference's default
    assert SiamFCTracker(None, track).box_origin == 1
    assert SiamFCTracker(None, track, box_origin=0).box_origin == 0
    for bad in (2, -1, True):
        with pytest.raises(ValueError, match="box_origin 0 or 1"):
            SiamFCTracker(None, track, box_origin=bad)
    assert isinstance(tracker, SiameseTracker) and issubclass(SiamFCTracker, SiameseTracker)


# ----------------------------------------------------------------------------- box origin in eval / got10k

@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    """A 6-frame sequence on disk with 4-value ground truth (PNG: exact pixels)."""
    folder = tmp_path_factory.mktemp("seq")
    names = []
    for i, frame in enumerate(_frames(6, seed=3)):
        names.append(str(folder / f"{i + 1:08d}.png"))
        cv2.imwrite(names[-1], frame)
    gt = np.array([[50.0 + 2 * i, 40.0 + i, 30.0, 24.0] for i in range(6)])
    return Video("seq", names, gt)


def _manual_run(tracker, video, region=None):
    """The tracker driven by hand from eval.py's init box (of ``region``, default the first
    ground-truth row), without the runner."""
    tracker.init(video.read_frame(0), init_rect_from_region(video.gt[0] if region is None else region))
    return [tracker.track(video.read_frame(i))[0] for i in range(1, len(video))]


def test_siamfc_eval_runs_with_the_boxes_origin(sequence):
    """run_one_pass / run_supervised on a SiamFC tracker built from the track section (box_origin 1):
    the crops and boxes of a box_origin-0 tracker, not those of the 1-indexed one."""
    assert BOX_ORIGIN == 0
    track = _siamfc_track()
    zero, one = SiamFCTracker(ResponseBackend(), track, box_origin=0), SiamFCTracker(ResponseBackend(), track)
    zero_boxes, _ = _manual_run(zero, sequence), _manual_run(one, sequence)
    assert not np.array_equal(zero.backend.z, one.backend.z)     # the origin moves the crops: a real test

    evaluated = SiamFCTracker(ResponseBackend(), track)
    boxes, _ = run_one_pass(evaluated, sequence)
    assert evaluated.box_origin == 0
    np.testing.assert_array_equal(evaluated.backend.z, zero.backend.z)
    assert len(evaluated.backend.x) == len(zero.backend.x) == len(sequence) - 1
    for got, want in zip(evaluated.backend.x, zero.backend.x, strict=True):
        np.testing.assert_array_equal(got, want)
    assert boxes[1:] == zero_boxes
    assert np.abs(np.subtract(boxes[-1][:2], boxes[1][:2])).max() > 1   # the target moved

    # VOT: the runner initialises from the polygon pysot scores against (supervised_region)
    zero = SiamFCTracker(ResponseBackend(), track, box_origin=0)
    zero_boxes = _manual_run(zero, sequence, supervised_region(sequence.gt[0]))
    supervised = SiamFCTracker(ResponseBackend(), track)
    entries, _, failures = run_supervised(supervised, sequence)
    assert failures == 0 and entries[1:] == zero_boxes
    np.testing.assert_array_equal(supervised.backend.z, zero.backend.z)
    for got, want in zip(supervised.backend.x, zero.backend.x, strict=True):
        np.testing.assert_array_equal(got, want)


def test_got10k_adapter_runs_siamfc_with_its_boxes_origin(sequence):
    pytest.importorskip("got10k")
    from PIL import Image
    from src.tracker.got10k_adapter import Got10kTracker
    track = _siamfc_track()
    zero = SiamFCTracker(ResponseBackend(), track, box_origin=0)
    want = _manual_run(zero, sequence)
    adapter = Got10kTracker(SiamFCTracker(ResponseBackend(), track), name="fc")
    frames = [Image.fromarray(sequence.read_frame(i)[:, :, ::-1].copy()) for i in range(len(sequence))]
    adapter.init(frames[0], sequence.gt[0])
    got = [adapter.update(f) for f in frames[1:]]
    np.testing.assert_array_equal(adapter.tracker.backend.z, zero.backend.z)
    np.testing.assert_allclose(got, want, rtol=0, atol=0)

"""The C++ application's SA-Siam post-processing (siamfc_tool with an SA-Siam description) against
src/tracker/sasiam_tracker.py, without a network:

* ``bicubic_tf_align_corners`` (TF 1's resize_images BICUBIC, align_corners=True) equals
  tf_resize_bicubic on random maps of several magnitudes, within float32 rounding of the map;
* the update (scales, window, peak, the 8-cell displacement clip, the scale clip) picks the same
  scale and peak as SASiamTracker.update_from_responses in every step, with the same box and
  centre within float32 rounding, on responses whose peaks sit at the map's edges so the
  displacement clip acts, and with scale_clip [0.9, 5] so the scale clip acts.

Still missing (issue 14): the end-to-end run of an SA-Siam ONNX export through run_infer_310.sh
against eval.py --backend onnx.
"""
import json

import numpy as np
import pytest

from test_infer_cpp import cpp_build  # noqa: F401 (fixture)
from test_infer_cpp_siamfc import _desc, _numbers, _tool

pytestmark = [pytest.mark.cpp, pytest.mark.slow]


def _sasiam_config(**track):
    import os

    from src.config import load_config, replace
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cfg = load_config(os.path.join(root, "configs", "sasiam_semantic.yaml"))
    return replace(cfg, **{f"track.{k}": v for k, v in track.items()}) if track else cfg


def test_tf_bicubic_upsampling_matches_python(cpp_build, tmp_path):
    from src.tracker.sasiam_tracker import tf_resize_bicubic
    desc = _desc(_sasiam_config(), tmp_path / "d.json")
    assert json.loads(desc.read_text())["decoder"]["displacement_clip"] == 8.0
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((3, 17, 17)) * 10 ** rng.uniform(-3, 3)
                + rng.uniform(-5, 5)).astype(np.float32) for _ in range(6)]
    out = _tool(cpp_build, desc, ["upsample " + _numbers(b) for b in batches])
    for raw, line in zip(batches, out):
        got = np.array(line.split(), np.float32).reshape(3, 272, 272)
        want = tf_resize_bicubic(raw, 272)
        scale = np.abs(want).max()
        assert np.abs(got - want).max() <= 16 * np.finfo(np.float32).eps * scale
        # and it is not OpenCV's bicubic (another kernel, another corner convention)
        import cv2
        other = np.stack([cv2.resize(u, (272, 272), interpolation=cv2.INTER_CUBIC) for u in raw])
        assert np.abs(got - other).max() > 1e-4 * np.abs(raw).max()


@pytest.mark.parametrize("scale_clip", [(0.2, 5.0), (0.9, 5.0)])
def test_update_with_clips_matches_python(cpp_build, tmp_path, scale_clip):
    from src.tracker.sasiam_tracker import SASiamTracker
    cfg = _sasiam_config(scale_clip=list(scale_clip))
    desc = _desc(cfg, tmp_path / "d.json")
    tracker = SASiamTracker(None, cfg.track)
    tracker.box_origin = 0
    init = [100.0, 80.0, 40.0, 30.0]
    tracker.init_state(init)
    rng = np.random.default_rng(1)
    responses = []
    for _ in range(20):
        r = rng.standard_normal((3, 17, 17)).astype(np.float32)
        # a clear peak on an edge row of one scale: the displacement clip acts
        r[rng.integers(0, 3), rng.choice([0, 16]), rng.integers(0, 17)] += 8
        responses.append(r)
    out = _tool(cpp_build, desc, [f"init {_numbers(np.array(init))}"] + [f"update {_numbers(r)}" for r in responses])
    clipped = 0
    for r, line in zip(responses, out[1:]):
        tracker.update_from_responses(r)
        v = line.split()
        assert int(v[0]) == tracker.last_scale_id
        assert (int(v[1]), int(v[2])) == tuple(int(p) for p in tracker.last_peak)
        np.testing.assert_allclose(np.float32(v[3:7]), tracker.box, rtol=1e-5, atol=1e-3)
        np.testing.assert_allclose(np.float32(v[7:9]), tracker.center, rtol=1e-5, atol=1e-3)
        clipped += min(tracker.last_peak) <= 1 or max(tracker.last_peak) >= 270
    assert clipped > 0

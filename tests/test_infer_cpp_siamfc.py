"""The C++ application's SiamFC tracker (export decoder kind ``response_map``) against the Python one.

* the response upsampling (cv::resize INTER_CUBIC of the system's OpenCV, or INTER_LINEAR) equals
  cv2.resize of opencv-python within float32 rounding on random maps, and is really bicubic;
* the post-processing without a network (siamfc_tool: scale factors, Hann window, locate_peak,
  state update) equals src/tracker/siamfc_tracker.py exactly: the same window and final map to the
  bit on the same upsampled maps, and on the reference's raw responses (tracker_bag_responses.npz)
  the same scale, peak, state and box in every frame of the golden runs (and the bilinear and
  scale_clip variants), as ../shared/golden/siamfc/tracker_bag.json says;
* end to end, the golden weights converted by ``convert_pth --arch siamfc`` and exported to ONNX:
  scripts/run_infer_310.sh (OpenVINO) and eval.py --backend onnx (onnxruntime) on 60 frames of the
  VOT bag sequence give the same codes and boxes within 0.5 px, allowing only the documented
  one-pixel near-ties of the upsampled peak (see tests/tie_margins.py);
* bad SiamFC descriptions (unknown decoder kind, inconsistent shapes) stop with one line.

Marked cpp and slow (the build, the export and the runs take minutes).
"""
import importlib
import json
import os

import cv2
import numpy as np
import pytest

from tie_margins import compare_allowing_ties, record_margins
from test_infer_cpp import _eval_py, _result_lines, _run, _run_infer, cpp_build  # noqa: F401 (fixture)

pytestmark = [pytest.mark.cpp, pytest.mark.slow]

BAG_FRAMES = 60


def _tool(build, desc, lines, box_origin=0):
    proc = _run([str(build / "siamfc_tool"), str(desc), str(box_origin)], input="\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert len(out) == len(lines)
    return out


def _numbers(values):
    """Numbers for siamfc_tool's stdin, exactly: float32 with 9 significant digits, others repr."""
    values = np.asarray(values)
    if values.dtype == np.float32:
        return " ".join(f"{v:.9g}" for v in values.ravel().tolist())
    return " ".join(repr(float(v)) for v in values.ravel())


def _config(**track):
    """The SiamFC config (configs/siamfc_alexnet.yaml: the reference's tracking values), changed."""
    from src.config import load_config, replace as replace_keys
    cfg = load_config(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs",
                                   "siamfc_alexnet.yaml"))
    return replace_keys(cfg, **{f"track.{k}": v for k, v in track.items()}) if track else cfg


def _desc(cfg, path):
    """The description siamfc_tool reads: the decoder, input convention and track section an
    export of ``cfg`` writes (src/export.py; no graphs)."""
    from src.models.registry import get_family
    family = get_family(cfg.model.arch)
    path.write_text(json.dumps({
        "format_version": 2, "decoder": family.decoder(cfg), "track": cfg.to_dict()["track"],
        "input": {"layout": "NCHW", "color": family.input_color(cfg), "range": [0, 255], "dtype": "float32",
                  "crop_rounding": family.crop_rounding}}))
    return path


def _python_tracker(cfg, box_origin):
    from src.models.siamfc import TOTAL_STRIDE
    from src.tracker.siamfc_tracker import SiamFCTracker
    return SiamFCTracker(None, cfg.track, total_stride=TOTAL_STRIDE, box_origin=box_origin)


def _golden(golden_dir):
    fc = os.path.join(golden_dir, "siamfc")
    with open(os.path.join(fc, "tracker_bag.json")) as f:
        return json.load(f), np.load(os.path.join(fc, "tracker_bag_responses.npz"))


# ----------------------------------------------------------------- post-processing, no network


@pytest.mark.parametrize("upsample", ["bicubic", "bilinear"])
def test_upsampling_matches_opencv_python(cpp_build, tmp_path, upsample):
    """The C++ upsampled maps against cv2.resize (opencv-python, what the Python tracker calls) on
    random maps of several sizes, factors and magnitudes. The two OpenCV builds (the system's
    libopencv, opencv-python's own) may vectorise the float32 sums, and compute the float32
    coefficients of factors that are no power of two, differently: equal within a few float32 ulps
    of the map's magnitude (measured: up to 2.3 ulps for SiamFC's 17 x 16, 7.6 for 9 x 5), not to
    the bit, against differences of more than 1e-3 between the interpolations."""
    rng = np.random.default_rng(0)
    interpolation = {"bicubic": cv2.INTER_CUBIC, "bilinear": cv2.INTER_LINEAR}[upsample]
    worst = 0.0
    for response_size, response_up in ((17, 16), (15, 16), (17, 8), (9, 5)):
        desc = json.loads(_desc(_config(upsample=upsample, response_up=response_up), tmp_path / "d.json").read_text())
        desc["decoder"]["response_size"] = response_size       # the tool reads no graphs to check it against
        (tmp_path / "d.json").write_text(json.dumps(desc))
        batches = [(rng.standard_normal((3, response_size, response_size)) * rng.uniform(1e-3, 1e3, (3, 1, 1))
                    + rng.uniform(-10, 10, (3, 1, 1))).astype(np.float32) for _ in range(6)]
        out = _tool(cpp_build, tmp_path / "d.json", ["upsample " + _numbers(b) for b in batches])
        up = response_size * response_up
        for raw, line in zip(batches, out):
            got = np.array(line.split(), np.float32).reshape(3, up, up)
            want = np.stack([cv2.resize(u, (up, up), interpolation=interpolation) for u in raw])
            for g, w, u in zip(got, want, raw):
                scale = np.abs(w).max()
                worst = max(worst, float(np.abs(g - w).max() / scale))
                # the other interpolation is far off: the mode really is the one asked for
                other = cv2.resize(u, (up, up), interpolation=cv2.INTER_LINEAR + cv2.INTER_CUBIC - interpolation)
                assert np.abs(g - other).max() > 1e-3 * np.abs(u).max()
    print(f"{upsample}: C++ (the system's OpenCV) vs cv2 {cv2.__version__}: max difference "
          f"{worst / np.finfo(np.float32).eps:.1f} float32 ulps of max|map|")
    assert worst <= 16 * np.finfo(np.float32).eps, worst


def test_window_scales_and_peak_equal_python(cpp_build, golden_dir, tmp_path):
    """On the same upsampled maps the C++ locate_peak is the Python one to the bit: the scale
    factors, the normalised Hann window (numpy's pairwise sums), the penalised, normalised and
    windowed final map, the scale and the peak."""
    from src.tracker.siamfc_tracker import hann_window, locate_peak
    bag, responses = _golden(golden_dir)
    cfg = _config()
    desc = _desc(cfg, tmp_path / "d.json")
    # every 4th frame of both golden runs (each locate line carries 3 x 272 x 272 numbers)
    raw = list(responses["responses_raw"][::4]) + list(responses["responses_raw_scale_penalty_1"][::4])
    up = cfg.track.response_up * raw[0].shape[-1]
    maps = [np.stack([cv2.resize(u, (up, up), interpolation=cv2.INTER_CUBIC) for u in r]) for r in raw]
    out = _tool(cpp_build, desc, ["scales", "window"] + ["locate " + _numbers(m) for m in maps])
    assert np.array_equal(np.array(out[0].split(), float), _python_tracker(cfg, 0).scale_factors)
    assert np.array_equal(np.array(out[1].split(), float), hann_window(up).ravel())
    for r, line in zip(raw, out[2:]):
        v = line.split()
        scale_id, peak, final, _ = locate_peak(r, cfg.track)
        assert (int(v[0]), [int(v[1]), int(v[2])]) == (scale_id, list(peak))
        assert np.array_equal(np.array(v[3:], float), final.ravel())


RUNS = {   # name: (responses in tracker_bag_responses.npz, track changes, golden run in tracker_bag.json)
    "default": ("responses_raw", {}, "default"),
    "scale_penalty_1.0": ("responses_raw_scale_penalty_1", {"scale_penalty": 1.0}, "scale_penalty_1.0"),
    "bilinear": ("responses_raw", {"upsample": "bilinear"}, None),
    "scale_clip": ("responses_raw_scale_penalty_1", {"scale_penalty": 1.0, "scale_clip": [0.8, 5.0]}, None),
}


@pytest.mark.parametrize("run", sorted(RUNS))
def test_post_processing_reproduces_python_and_reference(cpp_build, golden_dir, tmp_path, run):
    """The reference's raw responses of every tracked frame through the C++ post-processing (its own
    upsampling), with the reference's 1-indexed boxes: the Python tracker's scale, peak, float32
    state and box exactly in every frame, and for the golden runs the reference's decisions and
    boxes (float32 precision)."""
    bag, responses = _golden(golden_dir)
    key, changes, golden_run = RUNS[run]
    cfg = _config(**changes)
    init = bag["runs"]["default"][0]["init_box_ltwh_1idx"]
    out = _tool(cpp_build, _desc(cfg, tmp_path / "d.json"),
                [f"init {_numbers(init)}"] + [f"update {_numbers(r)}" for r in responses[key]], box_origin=1)
    tracker = _python_tracker(cfg, 1)
    tracker.init_state(init)
    frames = bag["runs"][golden_run][1:] if golden_run else [None] * len(responses[key])
    scale_ids = set()
    for i, (raw, line, frame) in enumerate(zip(responses[key], out[1:], frames)):
        v = line.split()
        tracker.update_from_responses(raw)
        where = f"{run} update {i + 1}"
        assert int(v[0]) == tracker.last_scale_id and [int(v[1]), int(v[2])] == list(tracker.last_peak), where
        assert np.array_equal(np.float32(v[3:7]), tracker.box), where
        assert np.array_equal(np.float32(v[7:9]), tracker.center), where
        assert np.array_equal(np.float32(v[9:11]), tracker.target_sz), where
        assert (float(v[11]), float(v[12])) == (float(tracker.x_sz), float(tracker.z_sz)), where
        if frame is not None:
            assert int(v[0]) == frame["scale_id"] and [int(v[1]), int(v[2])] == frame["peak_rc_272"], where
            np.testing.assert_allclose(np.float32(v[3:7]), frame["box_ltwh_1idx"], rtol=1e-6, err_msg=where)
        scale_ids.add(int(v[0]))
    if run == "scale_clip":        # the clip bounded the shrinking size: the path ran
        assert np.isclose(float(out[-1].split()[9]), 0.8 * init[3], rtol=1e-5)
    assert scale_ids == ({1} if run in ("default", "bilinear") else {0})


# --------------------------------------------------------------------- end to end, golden weights


@pytest.fixture(scope="module")
def bag_runs(cpp_build, golden_dir, tmp_path_factory):
    """The golden SiamFC weights (convert_pth --arch siamfc) exported to ONNX, and the first
    BAG_FRAMES frames of the VOT bag sequence run through run_infer_310.sh (C++) and eval.py
    --backend onnx (Python, its final-map margins recorded per tracked frame)."""
    from src.tools.convert_pth import convert
    root = tmp_path_factory.mktemp("infer_siamfc")
    ckpt = str(root / "siamfc.ckpt")
    _, missing = convert("siamfc", os.path.join(golden_dir, "siamfc", "model.pth.xz"), ckpt)
    assert not missing
    export = root / "export"
    importlib.import_module("export_mindir").main(["--ckpt", ckpt, "--file_format", "ONNX",
                                                   "--output_dir", str(export)])
    data = bag_sequence(golden_dir, root / "VOTBAG", BAG_FRAMES)
    eao = ("5", str(BAG_FRAMES))
    cpp, stdout = _run_infer(cpp_build, export, data, "VOTBAG", root / "cpp", eao)
    py, margins = eval_onnx_recording_margins(data, root / "onnx", eao, export)
    return {"root": root, "export": export, "data": data, "cpp": cpp, "py": py, "margins": margins,
            "stdout": stdout}


def bag_sequence(golden_dir, data, frames):
    """A VOT-layout folder ``data`` holding the first ``frames`` frames of the golden bag sequence."""
    (data / "bag" / "color").mkdir(parents=True)
    for i in range(1, frames + 1):
        os.symlink(os.path.join(golden_dir, "data", "bag", f"{i:08d}.jpg"), data / "bag" / "color" / f"{i:08d}.jpg")
    with open(os.path.join(golden_dir, "data", "bag", "groundtruth.txt")) as f:
        (data / "bag" / "groundtruth.txt").write_text("".join(f.readlines()[:frames]))
    (data / "list.txt").write_text("bag\n")
    return data


def eval_onnx_recording_margins(data, out, eao, export):
    """(eval.json, margins) of eval.py --backend onnx on VOTBAG ``data``, with the relative margin
    of the final map recorded for every tracked frame of ``bag`` (tie_margins.record_margins)."""
    with record_margins() as margins:
        py = _eval_py(data, "VOTBAG", out, eao, "--backend", "onnx", "--model_dir", str(export))
    return py, margins["bag"]


def test_cpp_matches_python_tracker_on_bag(bag_runs):
    from test_infer_cpp import _compare
    root, cpp, py = bag_runs["root"], bag_runs["cpp"], bag_runs["py"]
    desc = json.loads(next(bag_runs["export"].glob("*.json")).read_text())
    assert desc["decoder"]["kind"] == "response_map" and desc["graphs"]["search"]["inputs"][0]["shape"][0] == 3
    assert set(cpp) == set(py) and cpp["backend"] == "ascend310_infer (cpu)"
    a, b = _result_lines(root / "cpp" / "results")["bag"], _result_lines(root / "onnx" / "results")["bag"]
    assert len(a) == len(b) == BAG_FRAMES and a[0] == "1"
    worst, tie = compare_allowing_ties(a, b, bag_runs["margins"])
    print(f"SiamFC C++ vs Python (onnx) on {BAG_FRAMES} bag frames: max box difference {worst:.1e} px, "
          f"near-tie divergence at frame {tie}, smallest final-map margin {min(bag_runs['margins']):.1e}, "
          f"failures {cpp['per_video']['bag']['num_failures']}, C++ {cpp['per_video']['bag']['fps']:.1f} fps")
    if tie is None:      # no near-tie: the whole record is the same
        assert _compare(cpp, py, root / "cpp" / "results", root / "onnx" / "results") <= 0.5
    assert sum("," in x for x in a) > BAG_FRAMES // 2        # it tracks: long runs of boxes to compare


def test_cpp_benchmarks_siamfc(bag_runs, cpp_build):
    proc = _run([str(cpp_build / "main"), f"--model_path={bag_runs['export']}",
                 f"--manifest={bag_runs['root'] / 'cpp' / 'manifest_VOTBAG.json'}", "--benchmark_frames=10"])
    assert proc.returncode == 0, proc.stderr
    bench = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"SiamFC C++ benchmark: {bench}")
    assert bench["frames"] == 10 and bench["fps"] > 0 and 0 < bench["median_network_ms"] <= bench["median_track_ms"]


def test_bad_siamfc_descriptions_are_one_line_errors(bag_runs, cpp_build, tmp_path):
    export = bag_runs["export"]
    json_path = next(export.glob("*.json"))
    manifest = bag_runs["root"] / "cpp" / "manifest_VOTBAG.json"

    def variant(name, edit):
        folder = tmp_path / name
        folder.mkdir()
        for f in export.iterdir():
            if f.suffix == ".onnx":
                os.symlink(f, folder / f.name)
        d = json.loads(json_path.read_text())
        edit(d)
        (folder / json_path.name).write_text(json.dumps(d))
        return folder

    def put(key, value):
        def edit(d):
            *path, last = key.split(".")
            node = d
            for p in path:
                node = node[p] if not isinstance(node, list) else node[int(p)]
            if value is None:
                del node[last]
            else:
                node[last] = value
        return edit

    cases = [
        ("decoder.kind", "heatmap", "decoder.kind 'heatmap' has no tracker in this application "
                                    "(it runs anchors and response_map); update ascend310_infer"),
        ("decoder", None, "missing key 'decoder'"),
        ("decoder.upsample", "nearest",
         "decoder.upsample 'nearest' (expected bicubic, bilinear or bicubic_tf_align_corners)"),
        ("decoder.response_size", 15, "decoder.response_size 15 does not match track sizes (17 expected)"),
        ("graphs.search.inputs.0.shape", [1, 3, 255, 255], "graphs.search.inputs.0 (x) has shape [1, 3, 255, 255], "
                                                            "expected [3, 3, 255, 255] (decoder.scale_num crops"),
        ("graphs.search.outputs.0.name", "score", "graphs.search.outputs has no 'response'"),
        ("graphs.search.outputs.0.shape", [3, 1, 15, 15], "(response) has shape [3, 1, 15, 15], expected [3, 1, 17, 17]"),
        ("input.crop_rounding", "round_half_up", "the response_map tracker crops as siamfc-pytorch does"),
        ("input.color", "YUV", "input.color is 'YUV', this application feeds BGR or RGB"),
        ("track.scale_clip", [2.0, 1.0], "track.scale_clip should be [] or [low, high] with 0 < low <= high"),
        ("track.scale_lr", None, "missing key 'track.scale_lr'"),
    ]
    for i, (key, value, message) in enumerate(cases):
        folder = variant(f"case{i}", put(key, value))
        proc = _run([str(cpp_build / "main"), f"--model_path={folder}", f"--manifest={manifest}",
                     f"--results_dir={tmp_path / 'results'}"])
        assert proc.returncode != 0, key
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"main: {folder / json_path.name}: ") and message in lines[0], \
            (key, message, proc.stderr)

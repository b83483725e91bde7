"""The C++ application (ascend310_infer, CPU back-end) against the Python tracker.

* build.sh builds it (once per session) and names a missing dependency in one line; the
  Ascend back-end, which needs the Ascend toolkit, compiles against the MindSpore API's declarations;
* its VOT geometry (rasterised overlap, init box) equals src/evaluation's bit for bit;
* scripts/run_infer_310.sh (export -> preprocess -> build -> infer -> postprocess) on
  synthetic VOT with the quick-start SiamRPN (a model that tracks) writes an eval.json
  with eval.py's keys, and the same failures, A/R/EAO (1e-3) and per-frame boxes as
  the Python tracker on the same ONNX graphs (onnxruntime) and on the MindSpore Cell;
* SiamMask (golden weights; mask from the refine module, or from the mask head without
  it; rotated boxes) does the same on two synthetic sequences and the first 40 frames of
  the real VOT bag sequence;
* ground truth that forms no box (NaN, zero area) where the protocol lands: the same codes
  (re-initialisation at the next usable frame) and boxes as eval.py;
* bad exports, manifests and flags stop with one line naming the file and the key.

cmake, g++, OpenCV, gflags, nlohmann-json and OpenVINO are project requirements (.ci/run
installs them): when the build fails the tests fail with build.sh's message.
"""
import importlib
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import GOLDEN, ROOT, synthetic_test_sets

BUILD_SH = os.path.join(ROOT, "ascend310_infer", "build.sh")
RUN_INFER = os.path.join(ROOT, "scripts", "run_infer_310.sh")
QUICKSTART_CKPT = os.path.join(ROOT, "tests", "fixtures", "quickstart_siamrpn.ckpt")
TIMEOUT = 1800


def _run(cmd, **kwargs):
    env = {**os.environ, "PYTHON": sys.executable, **kwargs.pop("env", {})}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT, env=env, **kwargs)


@pytest.fixture(scope="session")
def cpp_build(tmp_path_factory):
    """BUILD_DIR with main, vot_overlap and siamfc_tool, built by build.sh cpu. One folder per
    session: test_infer_cpp_siamfc.py imports this fixture, and its build is then incremental."""
    build_dir = tmp_path_factory.getbasetemp() / "ascend310_infer_build"
    build_dir.mkdir(exist_ok=True)
    proc = _run(["bash", BUILD_SH, "cpu", str(build_dir)])
    if proc.returncode != 0:
        pytest.fail(f"ascend310_infer did not build: {(proc.stderr or proc.stdout).strip()[-3000:]}")
    return build_dir


def _eval_py(data, dataset_name, out, eao_range, *args):
    """eval.py's eval.json. Its ``main`` runs in this process: the Python side of each comparison,
    not eval.py's process boundary, is under test here, and each start-up of the interpreter and
    MindSpore costs seconds (a refusal raises SystemExit and fails the test)."""
    importlib.import_module("eval").main([*map(str, args), "--dataset_path", str(data), "--dataset_name", dataset_name,
                                          "--eao_range", *eao_range, "--results_dir", str(out / "results"),
                                          "--filename", str(out / "eval.json"), "--plots", "false"])
    return json.loads((out / "eval.json").read_text())


def _run_infer(build_dir, model, data, dataset_name, out, eao_range):
    proc = _run(["bash", RUN_INFER, str(model), str(data), dataset_name, "0", "cpu", str(out / "eval.json"),
                 "--eao_range", *eao_range, "--plots", "false"], env={"INFER_BUILD_DIR": str(build_dir)})
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-2000:])
    return json.loads((out / "eval.json").read_text()), proc.stdout


def _result_lines(results_root):
    """{sequence: result-file lines} under <results>/<dataset>/<tracker>/baseline/."""
    found = {}
    for dirpath, _, files in os.walk(results_root):
        for f in files:
            if f.endswith("_001.txt"):
                found[f[:-8]] = open(os.path.join(dirpath, f)).read().splitlines()
    return found


def _compare(cpp, py, cpp_results, py_results):
    """Same failures per sequence, A/R/EAO within 1e-3, same codes per frame; returns the max region diff."""
    assert cpp["per_video"].keys() == py["per_video"].keys()
    for seq, v in cpp["per_video"].items():
        assert v["num_failures"] == py["per_video"][seq]["num_failures"], seq
    for key in ("accuracy", "robustness", "eao"):
        got, want = cpp["all_videos"][key], py["all_videos"][key]
        assert got is not None and want is not None and abs(got - want) <= 1e-3, (key, got, want)
    a, b = _result_lines(cpp_results), _result_lines(py_results)
    assert a.keys() == b.keys() == cpp["per_video"].keys()
    max_diff, regions = 0.0, 0
    for seq in a:
        assert len(a[seq]) == len(b[seq]) == cpp["per_video"][seq]["length"]
        for i, (x, y) in enumerate(zip(a[seq], b[seq])):
            if "," not in x or "," not in y:
                assert x == y, (seq, i + 1, x, y)        # the same 1 / 2 / 0 codes on the same frames
                continue
            u, v = np.array(x.split(","), float), np.array(y.split(","), float)
            assert u.shape == v.shape, (seq, i + 1)
            max_diff = max(max_diff, float(np.abs(u - v).max()))
            regions += 1
    assert regions > 0
    return max_diff


# ---------------------------------------------------------------------------- build


def test_build_script_names_what_is_missing(tmp_path):
    cases = [
        (["ascend"], {"ASCEND_HOME": str(tmp_path / "no_ascend"), "MS_PATH": str(tmp_path / "no_ms")},
         ["the ascend back-end needs the Ascend toolkit (CANN)", "MindSpore C++ inference library"]),
        (["cpu"], {"OpenVINO_DIR": str(tmp_path / "no_openvino")},
         ["OpenVINO C++ runtime not found: pip install openvino"]),
        (["gpu"], {}, ["unknown back-end 'gpu'"]),
    ]
    for args, env, messages in cases:
        proc = _run(["bash", BUILD_SH, *args, str(tmp_path / "build")], env=env)
        assert proc.returncode != 0
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("build.sh: "), proc.stderr
        for m in messages:
            assert m in lines[0], lines[0]


def test_ascend_backend_compiles_against_the_mindspore_api():
    """The Ascend back-end cannot be built here (no toolkit); check it against the API's declarations."""
    stub = os.path.join(ROOT, "tests", "fixtures", "mindspore_api_stub")
    for flags in ([], ["-DMS_ASCEND310_DEVICE_INFO"]):
        proc = _run([os.environ.get("CXX", "g++"), "-std=c++17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
                     *flags, "-I", stub, "-I", os.path.join(ROOT, "ascend310_infer"),
                     os.path.join(ROOT, "ascend310_infer", "src", "backend_mindspore.cc")])
        assert proc.returncode == 0, proc.stderr[-3000:]


def test_vot_geometry_equals_python(cpp_build):
    """Overlaps (failure test, accuracy) and init boxes of the C++ port, bit for bit.

    Exact equality is sound because both sides perform the same IEEE operations in the same
    order on every CPU: region.py's overlap is element-wise numpy arithmetic (each +, -, *, /
    correctly rounded, no reductions over floats: the pixel counts are integers) and the C++
    port does the same scalar operations; geometry.poly_to_aabb_same_area uses float64 scalars
    only (no BLAS: np.linalg.norm's FMA-or-not kernel once made the init box differ in its last
    bit on AMD vs Intel); the C++ is built with -ffp-contract=off (no fused multiply-adds)."""
    from src.evaluation.geometry import init_rect_from_region
    from src.evaluation.region import vot_overlap
    rng = np.random.default_rng(0)

    def region(w, h):
        if rng.random() < 0.4:
            return [rng.uniform(-40, w), rng.uniform(-40, h), rng.uniform(0, 120), rng.uniform(0, 120)]
        cx, cy, a, b, t = rng.uniform(-20, w + 20), rng.uniform(-20, h + 20), *rng.uniform(1, 100, 2), rng.uniform(0, 3)
        pts = []
        for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            x, y = sx * a / 2, sy * b / 2
            pts += [cx + x * np.cos(t) - y * np.sin(t), cy + x * np.sin(t) + y * np.cos(t)]
        return [round(p) + 0.5 * rng.integers(0, 2) for p in pts] if rng.random() < 0.3 else pts

    cases = []
    for _ in range(1500):
        w, h = int(rng.integers(40, 500)), int(rng.integers(40, 500))
        cases.append((region(w, h), region(w, h), (w, h)))
    cases += [([10, 10, 0, 0], [10, 10, 5, 5], (100, 100)), ([0, 0, 1e9, 1e9], [3, 3, 4, 4], (20, 20)),
              ([float("nan")] * 8, [1, 1, 5, 1, 5, 5, 1, 5], (50, 50))]
    golden = os.path.join(GOLDEN, "vot_toolkit", "region_overlap_cases.json")
    if os.path.isfile(golden):      # pysot's own test vectors (also unbounded ones)
        with open(golden) as f:
            cases += [(c["a"], c["b"], c["bounds_wh"] and tuple(c["bounds_wh"])) for c in json.load(f)]
    fmt = lambda r: f"{len(r)} " + " ".join(repr(float(v)) for v in r)   # noqa: E731
    lines = [(f"overlap {wh[0]} {wh[1]} " if wh else "overlap_unbounded ") + f"{fmt(a)} {fmt(b)}"
             for a, b, wh in cases]
    polygons = [b for _, b, _ in cases if len(b) == 8 and np.isfinite(b).all()]
    lines += ["init " + " ".join(repr(float(v)) for v in p) for p in polygons]
    proc = subprocess.run([str(cpp_build / "vot_overlap")], input="\n".join(lines) + "\n", capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert len(out) == len(cases) + len(polygons)
    for (a, b, wh), line in zip(cases, out):
        want, got = vot_overlap(a, b, wh), float(line)
        assert got == want or (np.isnan(got) and np.isnan(want)), (a, b, wh, got, want)
    for p, line in zip(polygons, out[len(cases):]):
        assert [float(v) for v in line.split()] == [float(v) for v in init_rect_from_region(p)], p


# ------------------------------------------------------------------------- SiamRPN


@pytest.fixture(scope="module")
def siamrpn_runs(cpp_build, tmp_path_factory):
    """The quick-start SiamRPN on synthetic VOT: run_infer_310.sh from the checkpoint, and eval.py on the
    same ONNX export (onnxruntime) and on the checkpoint (MindSpore)."""
    root = tmp_path_factory.mktemp("infer_siamrpn")
    synthetic_test_sets(root, seed=5, videos=3, frames=40)
    data, eao = root / "data" / "test" / "VOTSYN", ("5", "40")
    cpp, stdout = _run_infer(cpp_build, QUICKSTART_CKPT, data, "VOTSYN", root / "cpp", eao)
    export = root / "cpp" / "export_ONNX"
    onnx = _eval_py(data, "VOTSYN", root / "onnx", eao, "--backend", "onnx", "--model_dir", str(export))
    mindspore = _eval_py(data, "VOTSYN", root / "mindspore", eao, "--ckpt", QUICKSTART_CKPT)
    return {"root": root, "data": data, "export": export, "stdout": stdout,
            "records": {"cpp": cpp, "onnx": onnx, "mindspore": mindspore}}


def test_run_infer_310_writes_eval_py_record_and_result_files(siamrpn_runs):
    root, records = siamrpn_runs["root"], siamrpn_runs["records"]
    cpp, onnx = records["cpp"], records["onnx"]
    assert set(cpp) == set(onnx)                               # eval.py's keys
    assert cpp["backend"] == "ascend310_infer (cpu)" and cpp["config"] == "quickstart_siamrpn"
    assert cpp["hyperparameters"] == onnx["hyperparameters"] and cpp["model"] == onnx["model"]
    assert set(cpp["all_videos"]) == set(onnx["all_videos"]) and cpp["all_videos"]["mean_fps"] > 0
    for v in cpp["per_video"].values():
        assert v["length"] == 40 and v["fps"] > 0
    seq_dir = root / "cpp" / "results" / "VOTSYN" / "quickstart_siamrpn" / "baseline" / "syn_test_0000"
    lines = (seq_dir / "syn_test_0000_001.txt").read_text().splitlines()
    assert lines[0] == "1" and len(lines) == 40
    assert all(re.fullmatch(r"-?\d+\.\d{4}(,-?\d+\.\d{4}){3}", x) for x in lines if "," in x)
    times = (seq_dir / "syn_test_0000_time.txt").read_text().splitlines()
    assert len(times) == 40 and all(re.fullmatch(r"\d+\.\d{6}", t) for t in times)
    assert (root / "cpp" / "manifest_VOTSYN.json").is_file() and "openvino-cpu" in siamrpn_runs["stdout"]
    # eval.py's provenance: the export's graph hashes, the results folder's manifest, what ran
    assert cpp["sequences"] == {"run": 3, "resumed": 0}
    assert cpp["exported_graphs_sha256"] == onnx["exported_graphs_sha256"]
    assert cpp["provenance"]["ground_truth_sha256"] == onnx["provenance"]["ground_truth_sha256"]


def test_results_of_another_export_are_refused(siamrpn_runs, cpp_build, tmp_path):
    """The application resumes finished sequences, so run_infer_310.sh checks the results folder's
    manifest first: another export into the same folder stops in one line and changes nothing."""
    export, root = siamrpn_runs["export"], siamrpn_runs["root"]
    other = tmp_path / "other"
    other.mkdir()
    desc = json.loads((export / "quickstart_siamrpn.json").read_text())
    desc["track"]["penalty_k"] = 0.3                 # other tracking hyperparameters, same graphs
    desc["config"]["track"]["penalty_k"] = 0.3
    for g in desc["graphs"].values():
        os.symlink(export / g["file"], other / g["file"])
    (other / "quickstart_siamrpn.json").write_text(json.dumps(desc))
    result = root / "cpp" / "results" / "VOTSYN" / "quickstart_siamrpn" / "baseline" / "syn_test_0000" / \
        "syn_test_0000_001.txt"
    before = (result.stat().st_mtime_ns, (root / "cpp" / "eval.json").read_text())
    proc = _run(["bash", RUN_INFER, str(other), str(siamrpn_runs["data"]), "VOTSYN", "0", "cpu",
                 str(root / "cpp" / "eval.json"), "--eao_range", "5", "40", "--plots", "false"],
                env={"INFER_BUILD_DIR": str(cpp_build)})
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("postprocess.py: ") and "quickstart_siamrpn was made" in last, proc.stderr[-1500:]
    assert "use another --tracker_name, or --overwrite" in last and "== infer" not in proc.stdout
    assert (result.stat().st_mtime_ns, (root / "cpp" / "eval.json").read_text()) == before


def test_siamrpn_cpp_matches_python_tracker(siamrpn_runs):
    records, root = siamrpn_runs["records"], siamrpn_runs["root"]
    cpp_results = root / "cpp" / "results"
    assert records["cpp"]["all_videos"]["accuracy"] > 0.3     # it tracks: long runs of boxes to compare
    diffs = {ref: _compare(records["cpp"], records[ref], cpp_results, root / ref / "results")
             for ref in ("onnx", "mindspore")}
    print(f"SiamRPN C++ vs Python: max box difference {diffs} px")
    # boxes are written with 4 decimals; different runtimes move the last digit at most
    assert max(diffs.values()) < 0.01, diffs


def test_format1_export_runs_and_matches_python(siamrpn_runs, cpp_build, tmp_path):
    """An export made by the format-1 code (tests/fixtures/export_v1_onnx: no decoder, the anchors in
    its top-level score_size / anchor / refine keys) runs in the C++ app as the anchors decoder, with
    eval.py's results on it (read_export upgrades it in memory) and the results of this code's
    (format-2) export of the same checkpoint."""
    fixture = os.path.join(ROOT, "tests", "fixtures", "export_v1_onnx")
    desc = json.loads(open(os.path.join(fixture, "quickstart_siamrpn.json")).read())
    assert desc["format_version"] == 1 and "decoder" not in desc and "score_size" in desc
    data, eao = siamrpn_runs["data"], ("5", "40")
    cpp, _ = _run_infer(cpp_build, fixture, data, "VOTSYN", tmp_path / "cpp", eao)
    py = _eval_py(data, "VOTSYN", tmp_path / "onnx", eao, "--backend", "onnx", "--model_dir", fixture)
    diff = _compare(cpp, py, tmp_path / "cpp" / "results", tmp_path / "onnx" / "results")
    assert diff < 0.01, diff
    assert cpp["all_videos"]["accuracy"] > 0.3
    # the same weights through both export formats: the same graphs' numbers, the same decoder
    assert _result_lines(tmp_path / "cpp" / "results") == _result_lines(siamrpn_runs["root"] / "cpp" / "results")


def test_cpp_resumes_and_benchmarks(siamrpn_runs, cpp_build):
    root = siamrpn_runs["root"]
    main = str(cpp_build / "main")
    args = [f"--model_path={siamrpn_runs['export']}", f"--manifest={root / 'cpp' / 'manifest_VOTSYN.json'}"]
    result = (root / "cpp" / "results" / "VOTSYN" / "quickstart_siamrpn" / "baseline" / "syn_test_0001" /
              "syn_test_0001_001.txt")
    mtime = result.stat().st_mtime_ns
    proc = _run([main, *args, f"--results_dir={root / 'cpp' / 'results'}"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("complete, skipped") == 3 and result.stat().st_mtime_ns == mtime
    proc = _run([main, *args, "--benchmark_frames=5"])
    assert proc.returncode == 0, proc.stderr
    bench = json.loads(proc.stdout.strip().splitlines()[-1])
    assert bench["backend"] == "openvino-cpu" and bench["frames"] == 15 and bench["fps"] > 0


def test_bf16_is_an_explicit_recorded_choice(siamrpn_runs, cpp_build, tmp_path):
    """--precision_mode bf16 (PRECISION_MODE for run_infer_310.sh): OpenVINO's bf16 kernels where the CPU
    has them, recorded in eval.json; results close to, not equal to, the f32 ones. Without native bf16,
    a one-line refusal."""
    import openvino as ov
    data, export = siamrpn_runs["data"], siamrpn_runs["export"]
    proc = _run(["bash", RUN_INFER, str(export), str(data), "VOTSYN", "0", "cpu", str(tmp_path / "eval.json"),
                 "--eao_range", "5", "40", "--plots", "false"],
                env={"INFER_BUILD_DIR": str(cpp_build), "PRECISION_MODE": "bf16"})
    if "BF16" not in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        assert proc.returncode != 0 and "this CPU has no native bf16" in proc.stdout + proc.stderr
        return
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-2000:])
    bf16, f32 = json.loads((tmp_path / "eval.json").read_text()), siamrpn_runs["records"]["cpp"]
    assert bf16["backend"] == "ascend310_infer (cpu, bf16)"
    bf16_lines = _result_lines(tmp_path / "results")
    f32_lines = _result_lines(siamrpn_runs["root"] / "cpp" / "results")
    assert bf16_lines.keys() == f32_lines.keys()
    assert any(bf16_lines[s] != f32_lines[s] for s in f32_lines), "bf16 gave f32's exact boxes: not bf16?"
    print(f"bf16 vs f32: accuracy {bf16['all_videos']['accuracy']:.3f} / {f32['all_videos']['accuracy']:.3f}, "
          f"failures {sum(v['num_failures'] for v in bf16['per_video'].values())} / "
          f"{sum(v['num_failures'] for v in f32['per_video'].values())}")
    assert bf16["all_videos"]["accuracy"] > 0.3     # it still tracks, as the f32 run is required to


def _unusable_gt_set(root):
    """One synthetic VOT sequence (40 frames) whose ground truth forms no box where the protocol
    lands on it: a NaN polygon on tracked frames 11 and 34 (a failure each: NaN overlap), then
    unusable polygons where re-initialisation would land 5 frames later (16-18: zero area, NaN,
    collinear; 39-40: zero area, so re-initialisation runs past the end). Returns (data, {frame: row})."""
    synthetic_test_sets(root, seed=5, videos=1, frames=40)
    data = root / "data" / "test" / "VOTSYN"
    (data / "VOTSYN.json").unlink()        # groundtruth.txt is then the ground truth eval.py reads
    gt_file = data / "syn_test_0000" / "groundtruth.txt"
    lines = gt_file.read_text().splitlines()
    nan, point, line = ",".join(["nan"] * 8), ",".join(["50"] * 8), "10,10,20,20,30,30,40,40"
    edits = {11: nan, 16: point, 17: nan, 18: line, 34: nan, 39: point, 40: point}   # 1-based frames
    for frame, row in edits.items():
        lines[frame - 1] = row
    gt_file.write_text("\n".join(lines) + "\n")
    return data, edits


def test_unusable_ground_truth_reinit_matches_python(siamrpn_runs, cpp_build, tmp_path):
    """runner.run_supervised's rule for ground truth that forms no box (datasets.usable_regions):
    re-initialisation moves on to the next usable frame, writing 0 for the frames passed over, and a
    tracked frame is scored against such ground truth (a failure). preprocess.py passes the usable
    flags (and NaN as a string: JSON has none) to the C++ app, which gives eval.py's codes and boxes."""
    from src.evaluation.datasets import usable_regions
    data, edits = _unusable_gt_set(tmp_path)
    eao, export = ("5", "40"), siamrpn_runs["export"]
    cpp, _ = _run_infer(cpp_build, export, data, "VOTSYN", tmp_path / "cpp", eao)
    py = _eval_py(data, "VOTSYN", tmp_path / "onnx", eao, "--backend", "onnx", "--model_dir", str(export))
    # the manifest carries the one definition of "usable" and the non-finite values as they are
    seq = json.loads((tmp_path / "cpp" / "manifest_VOTSYN.json").read_text())["sequences"][0]
    assert [i + 1 for i, u in enumerate(seq["usable"]) if not u] == sorted(edits)
    assert seq["groundtruth"][10] == ["NaN"] * 8 and seq["groundtruth"][15] == [50.0] * 8
    gt = np.loadtxt(data / "syn_test_0000" / "groundtruth.txt", delimiter=",")
    assert list(usable_regions(gt, supervised=True)) == seq["usable"]
    assert py["dataset_notes"]["unusable_gt_frames"] == cpp["dataset_notes"]["unusable_gt_frames"] == \
        {"syn_test_0000": len(edits)}
    diff = _compare(cpp, py, tmp_path / "cpp" / "results", tmp_path / "onnx" / "results")
    assert diff < 0.01, diff
    # the test exercised the rule: in eval.py's result file, the NaN frames 11 and 34 are failures,
    # re-initialisation passed over the unusable frames 16-18 to frame 19 and over 39-40 to the end
    lines = _result_lines(tmp_path / "onnx" / "results")["syn_test_0000"]
    codes = {i + 1: x for i, x in enumerate(lines) if "," not in x}
    assert codes == {1: "1", 11: "2", **{f: "0" for f in range(12, 19)}, 19: "1",
                     34: "2", **{f: "0" for f in range(35, 41)}}, codes
    assert py["per_video"]["syn_test_0000"]["num_failures"] == 2


def _constant_graph(path, spec, values):
    """An ONNX graph with the JSON's inputs and outputs whose outputs are the given constants
    (the inputs enter as 0 * mean, so no runtime prunes them)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    nodes, zero = [], None
    for i, io in enumerate(spec["inputs"]):
        nodes.append(helper.make_node("ReduceMean", [io["name"]], [f"mean{i}"], keepdims=1))
        nodes.append(helper.make_node("Mul", [f"mean{i}", "zero"], [f"zero{i}"]))
        zero = f"zero{i}" if zero is None else (nodes.append(helper.make_node("Add", [zero, f"zero{i}"], [f"sum{i}"]))
                                                  or f"sum{i}")
    inits = [numpy_helper.from_array(np.zeros(1, np.float32), "zero")]
    for io in spec["outputs"]:
        inits.append(numpy_helper.from_array(values[io["name"]].astype(np.float32), f"const_{io['name']}"))
        nodes.append(helper.make_node("Add", [f"const_{io['name']}", zero], [io["name"]]))
    graph = helper.make_graph(
        nodes, "constant", [helper.make_tensor_value_info(io["name"], TensorProto.FLOAT, io["shape"])
                            for io in spec["inputs"]],
        [helper.make_tensor_value_info(io["name"], TensorProto.FLOAT, io["shape"]) for io in spec["outputs"]],
        inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def test_diverged_network_stays_put_like_python(siamrpn_runs, cpp_build, tmp_path):
    """A network whose every box overflows (log-size deltas of 1e4): no anchor is usable, so the C++
    and the Python tracker both keep the target where it was, frame after frame (no NaN, no crash)."""
    export = siamrpn_runs["export"]
    desc = json.loads((export / "quickstart_siamrpn.json").read_text())
    folder = tmp_path / "diverged"
    folder.mkdir()
    for name, graph in desc["graphs"].items():
        values = {io["name"]: np.zeros(io["shape"]) for io in graph["outputs"]}
        if name == "search":
            loc = values["loc"]
            loc[:, loc.shape[1] // 2:] = 1e4           # channels [dw, dh] of every anchor
        _constant_graph(str(folder / graph["file"]), graph, values)
        graph["bytes"] = (folder / graph["file"]).stat().st_size    # the description of these graphs
    (folder / "quickstart_siamrpn.json").write_text(json.dumps(desc))
    proc = _run([str(cpp_build / "main"), f"--model_path={folder}",
                 f"--manifest={siamrpn_runs['root'] / 'cpp' / 'manifest_VOTSYN.json'}",
                 f"--results_dir={tmp_path / 'cpp' / 'results'}"])
    assert proc.returncode == 0, proc.stderr
    data = siamrpn_runs["data"]
    py = _eval_py(data, "VOTSYN", tmp_path / "onnx", ("5", "40"), "--backend", "onnx", "--model_dir", str(folder))
    cpp_lines = _result_lines(tmp_path / "cpp" / "results")
    # Exact equality of the result files is sound here: no network output reaches a box (every
    # anchor is rejected), so each box is the init box (same operations, see
    # test_vot_geometry_equals_python) moved through the same scalar clip/centre arithmetic on
    # both sides, and the failure codes come from the bit-identical overlap.
    assert cpp_lines == _result_lines(tmp_path / "onnx" / "results")
    for seq, lines in cpp_lines.items():
        boxes = [line for line in lines if "," in line]
        assert boxes and "nan" not in " ".join(lines).lower()
        # between (re-)initialisations the box never moves
        runs = "\n".join(lines).split("\n1\n")
        assert all(len(set(x for x in run.split("\n") if "," in x)) <= 1 for run in runs), seq
    assert py["per_video"].keys() == cpp_lines.keys()


def test_bad_inputs_are_one_line_errors(siamrpn_runs, cpp_build, tmp_path):
    export, root = siamrpn_runs["export"], siamrpn_runs["root"]
    desc = json.loads((export / "quickstart_siamrpn.json").read_text())
    manifest = json.loads((root / "cpp" / "manifest_VOTSYN.json").read_text())

    def variant(name, edit, files=True):
        folder = tmp_path / name
        folder.mkdir()
        if files:
            for f in export.iterdir():
                if f.suffix == ".onnx":
                    os.symlink(f, folder / f.name)
        d = json.loads(json.dumps(desc))
        edit(d)
        (folder / "model.json").write_text(json.dumps(d))
        return folder / "model.json"

    def no_penalty(d):
        del d["track"]["penalty_k"]

    def mindir(d):
        d["file_format"] = "MINDIR"

    def renamed_output(d):
        d["graphs"]["search"]["outputs"][0]["name"] = "scores"

    def renamed_kernel(d):          # consistent in the JSON, absent from the graphs
        d["graphs"]["template"]["outputs"][0]["name"] = d["graphs"]["search"]["inputs"][1]["name"] = "k0"

    def unknown_decoder(d):
        d["decoder"]["kind"] = "heatmap"

    def newer_format(d):
        d["format_version"] = 3

    def wrong_shape(d):
        d["graphs"]["search"]["outputs"][1]["shape"] = [1, 16, 21, 21]

    def wrong_size(d):
        d["track"]["instance_size"] = 255

    bad_manifest = json.loads(json.dumps(manifest))
    missing_frame = bad_manifest["sequences"][1]["frames"][3] = str(tmp_path / "gone.jpg")
    (tmp_path / "bad_manifest.json").write_text(json.dumps(bad_manifest))
    short = json.loads(json.dumps(manifest))
    short["sequences"][0]["groundtruth"][2] = [1, 2, 3]
    (tmp_path / "short.json").write_text(json.dumps(short))
    manifest_variants = {}
    for name, edit in {"old_version": lambda m: m.update(version=1),
                       "no_usable": lambda m: m["sequences"][0].pop("usable"),
                       "usable_not_bool": lambda m: m["sequences"][2]["usable"].__setitem__(4, 1),
                       "first_unusable": lambda m: m["sequences"][1]["usable"].__setitem__(0, False),
                       "bad_value": lambda m: m["sequences"][0]["groundtruth"][5].__setitem__(2, "nan")}.items():
        variant_manifest = json.loads(json.dumps(manifest))
        edit(variant_manifest)
        manifest_variants[name] = tmp_path / f"{name}.json"
        manifest_variants[name].write_text(json.dumps(variant_manifest))
    good_manifest = str(root / "cpp" / "manifest_VOTSYN.json")

    def truncated(name, recorded_size):
        """The export with its search graph cut short (an interrupted copy); with or without the
        sizes export_mindir.py records in the JSON."""
        folder = tmp_path / name
        folder.mkdir()
        d = json.loads(json.dumps(desc))
        for g in d["graphs"].values():
            data = (export / g["file"]).read_bytes()
            (folder / g["file"]).write_bytes(data[: len(data) // 2] if g is d["graphs"]["search"] else data)
            if not recorded_size:
                del g["bytes"]
        (folder / "model.json").write_text(json.dumps(d))
        return folder / "model.json", folder / d["graphs"]["search"]["file"]

    cut, cut_graph = truncated("truncated", True)
    size = (export / desc["graphs"]["search"]["file"]).stat().st_size
    old_cut, old_cut_graph = truncated("truncated_unsized", False)
    m = variant("no_penalty", no_penalty)
    cases = [
        ([f"--model_path={cut}", f"--manifest={good_manifest}"],
         f"{cut_graph}: {size // 2} bytes, the export wrote {size} ({cut}): truncated or replaced"),
        ([f"--model_path={old_cut}", f"--manifest={good_manifest}"],
         f"{old_cut_graph}: OpenVINO cannot read this search graph: "),
        ([f"--model_path={m}", f"--manifest={good_manifest}"], f"{m}: missing key 'track.penalty_k'"),
        ([f"--model_path={variant('nofiles', lambda d: None, files=False)}", f"--manifest={good_manifest}"],
         "template graph file quickstart_siamrpn_template.onnx is missing"),
        ([f"--model_path={variant('mindir', mindir)}", f"--manifest={good_manifest}"],
         "holds MINDIR graphs; this build (openvino-cpu) runs ONNX or OPENVINO exports"),
        ([f"--model_path={variant('renamed', renamed_output)}", f"--manifest={good_manifest}"],
         "graphs.search.outputs has no 'cls' (it lists scores, loc; the decoder reads it)"),
        ([f"--model_path={variant('renamed_kernel', renamed_kernel)}", f"--manifest={good_manifest}"],
         "the search graph has no input named 'k0' (listed in the JSON)"),
        ([f"--model_path={variant('unknown_decoder', unknown_decoder)}", f"--manifest={good_manifest}"],
         "decoder.kind 'heatmap' has no tracker in this application (it runs anchors and response_map)"),
        ([f"--model_path={variant('newer_format', newer_format)}", f"--manifest={good_manifest}"],
         "format_version 3, this application reads 1 and 2; update ascend310_infer"),
        ([f"--model_path={variant('shape', wrong_shape)}", f"--manifest={good_manifest}"],
         "(loc) has shape [1, 16, 21, 21], expected [1, 20, 21, 21]"),
        ([f"--model_path={variant('size', wrong_size)}", f"--manifest={good_manifest}"],
         "score_size 21 does not match track sizes"),
        ([f"--model_path={export}", f"--manifest={tmp_path / 'bad_manifest.json'}"],
         f"syn_test_0001: missing frame file {missing_frame} (frame 4)"),
        ([f"--model_path={export}", f"--manifest={tmp_path / 'short.json'}"],
         "sequence syn_test_0000 ground truth of frame 3 should be 8 numbers"),
        ([f"--model_path={export}", f"--manifest={manifest_variants['old_version']}"],
         f"{manifest_variants['old_version']}: not a version 2 siam-infer-manifest"),
        ([f"--model_path={export}", f"--manifest={manifest_variants['no_usable']}"], "(sequences.0): missing key 'usable'"),
        ([f"--model_path={export}", f"--manifest={manifest_variants['usable_not_bool']}"],
         "sequence syn_test_0002 'usable' of frame 5 should be true or false"),
        ([f"--model_path={export}", f"--manifest={manifest_variants['first_unusable']}"],
         "sequence syn_test_0001 ground truth of frame 1 forms no box"),
        ([f"--model_path={export}", f"--manifest={manifest_variants['bad_value']}"],
         "sequence syn_test_0000 ground truth of frame 6 should be 8 numbers"),
        ([f"--model_path={export}", f"--manifest={tmp_path / 'none.json'}"],
         f"file not found: {tmp_path / 'none.json'}"),
        ([f"--model_path={tmp_path / 'nowhere'}", f"--manifest={good_manifest}"],
         "exported model description not found"),
        ([f"--model_path={export}"], "--manifest is required"),
        ([f"--model_path={export}", f"--manifest={good_manifest}", "--precision_mode=fp16"],
         "--precision_mode for the cpu build must be f32 or bf16, got 'fp16'"),
    ]
    for args, message in cases:
        proc = _run([str(cpp_build / "main"), *args, f"--results_dir={tmp_path / 'results'}"])
        assert proc.returncode != 0, args
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("main: ") and message in lines[0], (message, proc.stderr)
    proc = _run(["bash", RUN_INFER, str(export), str(tmp_path / "nodata"), "VOTSYN", "0"])
    assert proc.returncode != 0 and "dataset path not found" in proc.stderr


# ------------------------------------------------------------------------ SiamMask


def _mixed_vot_set(root, golden_dir, bag_frames=40):
    """VOT layout with two synthetic sequences and the first frames of the real VOT bag sequence."""
    synthetic_test_sets(root, seed=5, videos=2, frames=30, sub="syn")
    data = root / "VOTMIX"
    data.mkdir()
    syn = root / "syn" / "test" / "VOTSYN"
    names = sorted(p.name for p in syn.iterdir() if p.is_dir())
    for name in names:
        os.symlink(syn / name, data / name)
    bag = data / "bag" / "color"
    bag.mkdir(parents=True)
    for i in range(1, bag_frames + 1):
        os.symlink(os.path.join(golden_dir, "data", "bag", f"{i:08d}.jpg"), bag / f"{i:08d}.jpg")
    with open(os.path.join(golden_dir, "data", "bag", "groundtruth.txt")) as f:
        (data / "bag" / "groundtruth.txt").write_text("".join(f.readlines()[:bag_frames]))
    (data / "list.txt").write_text("\n".join(names + ["bag"]) + "\n")
    return data


@pytest.fixture(scope="module")
def siammask_setup(golden_dir, tmp_path_factory):
    """(folder, mixed VOT set, SiamMask sharp checkpoint with the golden weights)."""
    from src.tools.convert_pth import convert
    root = tmp_path_factory.mktemp("infer_siammask")
    data = _mixed_vot_set(root, golden_dir)
    ckpt = str(root / "siammask.ckpt")
    convert("siammask_sharp", os.path.join(golden_dir, "siammask_sharp", "model.pth.xz"), ckpt)
    return root, data, ckpt


@pytest.mark.parametrize("refine", [True, False], ids=["refine", "mask_head"])
def test_siammask_cpp_matches_python_tracker(siammask_setup, cpp_build, refine):
    """SiamMask (mask from the refine module, or the 63x63 mask head resized; rotated boxes) from the
    C++ app and from eval.py on the same ONNX graphs."""
    root, data, ckpt = siammask_setup
    out = root / ("refine" if refine else "mask_head")
    export = out / "export"
    # export_mindir.py's main in this process (the CLI as a user runs it: tests/test_export.py)
    importlib.import_module("export_mindir").main(["--ckpt", ckpt, "--file_format", "ONNX", "--output_dir", str(export),
                                                   *([] if refine else ["--model.refine", "false"])])
    assert ("refine" in json.loads(next(export.glob("*.json")).read_text())["graphs"]) == refine
    eao = ("5", "40")
    cpp, _ = _run_infer(cpp_build, export, data, "VOTMIX", out / "cpp", eao)
    onnx = _eval_py(data, "VOTMIX", out / "onnx", eao, "--backend", "onnx", "--model_dir", str(export))
    diff = _compare(cpp, onnx, out / "cpp" / "results", out / "onnx" / "results")
    print(f"SiamMask ({'refine' if refine else 'mask head'}) C++ vs Python (onnx): max polygon difference "
          f"{diff} px, failures {[v['num_failures'] for v in cpp['per_video'].values()]}")
    lines = _result_lines(out / "cpp" / "results")["bag"]
    polygons = [x for x in lines if "," in x]
    assert polygons and all(len(x.split(",")) == 8 for x in polygons)
    assert diff < 0.01, diff

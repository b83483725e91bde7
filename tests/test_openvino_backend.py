"""The OpenVINO back-end (``--backend openvino``: export_mindir.py's ONNX graphs through
OpenVINO's CPU runtime, in process; src/tracker/backends.py ``OpenVINOBackend``).

* every graph gives onnxruntime's outputs and the Cell's within the tolerance the other
  exported back-ends are held to (test_export.py: 1e-4 relative), including the batched search
  graph of an export with ``targets`` > 1 (test_multi_target_export.py);
* it runs in f32 unless bf16 is asked for, which a CPU without native bf16 refuses in one line,
  and the record names the precision as the C++ app's does ("openvino (bf16)");
* broken exports (corrupt graph, graphs that are not the JSON's, MINDIR graphs, no openvino
  package) are one-line errors naming the file;
* (slow) every family tracks on it as on onnxruntime (boxes within 1e-3 px, SiamMask's masks),
  one and several targets, and eval.py / demo.py run end to end with --backend openvino.

Two runtimes round differently, so nothing here compares floats bit for bit.
"""
import json
import os
import shutil
import sys

import numpy as np
import pytest

from conftest import ROOT, assert_one_line_error, run_script, synthetic_test_sets
from src.config import Config, load_config, replace
from src.export import export_graphs, read_export, sample_io
from src.models import build_model
from src.tracker import backends as B
from src.tracker.backends import load_exported, load_tracker_model

TINY = {"name": "tiny", "model.width_mult": 0.125, "model.feature_channels": 16, "track.instance_size": 255}


def _rel_diff(a, b):
    b = np.asarray(b, np.float64)
    return float(np.abs(np.asarray(a, np.float64) - b).max() / max(np.abs(b).max(), 1e-12))


def _numpy(x):
    return x.asnumpy() if hasattr(x, "asnumpy") else np.asarray(x)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(cfg, net, export folder) of a tiny random SiamRPN exported to ONNX with --targets 2 (~3 s)."""
    import mindspore as ms
    ms.set_seed(7)
    cfg = replace(Config(), **TINY)
    net = build_model(cfg)
    folder = str(tmp_path_factory.mktemp("ov_tiny") / "export")
    export_graphs(cfg, net, folder, "ONNX", targets=2)
    return cfg, net, folder


def _copy(tiny, tmp_path, name="copy"):
    folder = tmp_path / name
    shutil.copytree(tiny[2], folder)
    for f in folder.iterdir():
        os.chmod(f, 0o644)          # MindSpore writes its files read-only
    return folder


def _edit_json(folder, edit):
    path = next(p for p in folder.iterdir() if p.suffix == ".json")
    desc = json.loads(path.read_text())
    edit(desc)
    path.write_text(json.dumps(desc))


# ---------------------------------------------------------------------------- the graphs

def test_graphs_give_onnxruntimes_and_the_cells_outputs(tiny):
    cfg, net, folder = tiny
    _, ov = load_exported(folder, "openvino")
    _, ort = load_exported(folder, "onnx")
    io = sample_io(cfg, net)               # the Cell's outputs on the same inputs
    z, x = io["template"][2][0], io["search"][2][0]
    kernels = ov.template(z)
    for got, ort_k, cell in zip(kernels, ort.template(z), io["template"][4]):
        assert _rel_diff(got, _numpy(ort_k)) <= 1e-4 and _rel_diff(got, cell) <= 1e-4
    outputs = ov.track(x, kernels)
    assert list(outputs) == io["search"].output_names            # the JSON's names, in its order
    reference = ort.track(x, ort.template(z))
    for name, cell in zip(io["search"].output_names, io["search"][4]):
        assert outputs[name].shape == cell.shape and outputs[name].dtype == np.float32, name
        assert _rel_diff(outputs[name], reference[name]) <= 1e-4, name
        assert _rel_diff(outputs[name], cell) <= 1e-4, name
    # run: any graph by name; an unknown one is one line
    ran = ov.run("search", [x, *kernels])
    for name in ran:
        assert _rel_diff(ran[name], outputs[name]) <= 1e-6, name
    with pytest.raises(RuntimeError, match=r"has no refine graph"):
        ov.refine(x, x, x, x)
    # the outputs are the caller's: the next call of the same graph leaves them as they were
    kept = {n: a.copy() for n, a in outputs.items()}
    ov.track(np.zeros_like(x), kernels)
    for name, a in outputs.items():
        np.testing.assert_array_equal(a, kept[name])


def test_track_batch_runs_the_batched_graph_as_onnxruntime(tiny):
    """Two targets through the search_batch graph (--targets 2), one through the one-target
    graph; each target's outputs are its own track() outputs on onnxruntime."""
    cfg, net, folder = tiny
    _, ov = load_exported(folder, "openvino")
    _, ort = load_exported(folder, "onnx")
    assert ov.targets == 2
    rng = np.random.default_rng(1)
    zs = [rng.uniform(0, 255, (1, 3, 127, 127)).astype(np.float32) for _ in range(2)]
    xs = [rng.uniform(0, 255, (1, 3, 255, 255)).astype(np.float32) for _ in range(2)]
    ran = []
    run = ov.run
    ov.run = lambda graph, inputs: ran.append(graph) or run(graph, inputs)
    kernels = [ov.template(z) for z in zs]
    for n, graph in ((2, "search_batch"), (1, "search")):
        ran.clear()
        batch = ov.track_batch(xs[:n], kernels[:n])
        assert ran == [graph]
        for t in range(n):
            want = ort.track(xs[t], ort.template(zs[t]))
            for name, a in want.items():
                assert batch[name].shape == (n, *a.shape), name
                assert _rel_diff(batch[name][t], a) <= 1e-4, (name, t)
    with pytest.raises(ValueError, match=r"at most 2 targets per search call .*got 3.*--targets 3"):
        ov.track_batch(xs + xs[:1], kernels + kernels[:1])


def test_format_1_export_runs_and_long_term_is_refused():
    """The format-1 ONNX fixture (exports of every format version load, read_export) runs as on
    onnxruntime; its fixed search crop cannot run track.long_term's larger one (one line)."""
    from src.tracker import build_tracker
    export = os.path.join(ROOT, "tests", "fixtures", "export_v1_onnx")
    desc, ov = load_exported(export, "openvino")
    _, ort = load_exported(export, "onnx")
    rng = np.random.default_rng(3)
    z, x = (rng.uniform(0, 255, desc["graphs"][g]["inputs"][0]["shape"]).astype(np.float32)
            for g in ("template", "search"))
    got, want = ov.track(x, ov.template(z)), ort.track(x, ort.template(z))
    for name in want:
        assert _rel_diff(got[name], want[name]) <= 1e-4, name
    cfg, backend, _ = load_tracker_model("openvino", export, overrides=[("track.long_term", True)])
    with pytest.raises(ValueError, match=r"^track\.long_term needs --backend mindspore .*fixed 287x287 crop"):
        build_tracker(cfg, backend)


# ---------------------------------------------------------------------------- precision

def test_f32_is_pinned_and_recorded(tiny):
    cfg, backend, record = load_tracker_model("openvino", tiny[2])
    assert backend.precision == "f32"
    for graph, request in backend.graphs.items():
        compiled = request.get_compiled_model()
        # pinned, not left to the plugin: it would pick bf16 by itself on CPUs that have it
        assert str(compiled.get_property("INFERENCE_PRECISION_HINT")) == "<Type: 'float32'>", graph
        assert str(compiled.get_property("PERFORMANCE_HINT")).rsplit(".", 1)[-1] == "LATENCY", graph
        assert compiled.get_property("ENABLE_CPU_PINNING") is False, graph
    assert record["backend"] == "openvino" and record["precision"] == "float32"
    assert record["exported_model"] == os.path.abspath(tiny[2]) and record["openvino"]
    # explicit f32 is the same run as the default
    assert load_tracker_model("openvino", tiny[2], precision="f32")[2] == record


def _has_bf16():
    import openvino as ov
    with B._isa_cap_lifted():
        return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def test_bf16_runs_where_native_and_is_refused_elsewhere(tiny):
    if _has_bf16():
        _, backend, record = load_tracker_model("openvino", tiny[2], precision="bf16")
        compiled = backend.graphs["search"].get_compiled_model()
        assert str(compiled.get_property("INFERENCE_PRECISION_HINT")) == "<Type: 'bfloat16'>"
        assert record["backend"] == "openvino (bf16)" and record["precision"] == "bfloat16"
    else:
        with pytest.raises(ValueError) as e:
            load_tracker_model("openvino", tiny[2], precision="bf16")
        text = str(e.value)
        assert text.startswith("--precision_mode bf16: this CPU has no native bf16 (OpenVINO CPU capabilities: ")
        assert text.endswith("); use f32") and "FP32" in text and "\n" not in text


def test_precision_mode_is_openvinos_only(tiny):
    for backend in ("onnx", "mindir", "mindspore"):
        with pytest.raises(ValueError, match=rf"^--precision_mode bf16 needs --backend openvino .*; --backend "
                                             rf"{backend} runs f32$"):
            load_tracker_model(backend, tiny[2], precision="bf16")
    with pytest.raises(ValueError, match=r"^--precision_mode must be f32 or bf16, got 'fp16'$"):
        load_tracker_model("openvino", tiny[2], precision="fp16")
    B.check_precision_mode("onnx", "f32")                # f32 is what every back-end runs


def test_bf16_record_keeps_results_of_the_two_precisions_apart(tiny):
    """eval.py records bf16 as back-end "openvino (bf16)" in precision bfloat16 (the C++ app's
    "ascend310_infer (cpu, bf16)"), so resuming f32 results with bf16 is refused."""
    from src.evaluation import manifest
    assert B.backend_record("openvino", None) == B.backend_record("openvino", "f32") == ("openvino", None)
    assert B.backend_record("openvino", "bf16") == ("openvino (bf16)", "bfloat16")
    assert B.backend_record("onnx", None) == ("onnx", None)
    f32 = manifest.model_identity(*B.backend_record("openvino", "f32")[:1], tiny[2])
    bf16 = manifest.model_identity(*B.backend_record("openvino", "bf16")[:1], tiny[2],
                                   B.backend_record("openvino", "bf16")[1])
    assert f32["precision"] == "float32" and bf16["precision"] == "bfloat16"
    assert f32["export"] == bf16["export"]
    assert manifest._model_difference(f32, bf16) == "with --backend openvino, this run uses --backend openvino (bf16)"


def test_onnx_sessions_do_not_spin(tiny):
    """onnxruntime's intra-op threads do not spin-wait between calls (ONNX_SESSION_CONFIG: the
    tracker's Python step needs the cores), on every graph of the export."""
    _, ort = load_exported(tiny[2], "onnx")
    for graph, session in ort.graphs.items():
        assert session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"


# ---------------------------------------------------------------------------- environment

def test_mindspores_isa_cap_is_lifted_only_while_openvino_compiles(tiny, monkeypatch):
    """OpenVINO's oneDNN reads ONEDNN_MAX_CPU_ISA once, when its CPU plugin first starts: the
    AVX2 cap src/__init__.py sets for MindSpore is out of the environment then and back after;
    a value the user chose is left in force."""
    import openvino
    seen, fail = [], []
    core = openvino.Core

    def spy():
        seen.append(os.environ.get("ONEDNN_MAX_CPU_ISA"))
        if fail:
            raise RuntimeError("no CPU plugin")
        return core()
    monkeypatch.setattr(openvino, "Core", spy)
    for value, during in (("AVX2", None), ("AVX512_CORE", "AVX512_CORE")):
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", value)
        seen.clear()
        load_exported(tiny[2], "openvino")
        assert seen == [during] and os.environ["ONEDNN_MAX_CPU_ISA"] == value
    # and put back when OpenVINO fails
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    fail.append(True)
    with pytest.raises(RuntimeError, match="no CPU plugin"):
        load_exported(tiny[2], "openvino")
    assert seen[-1] is None and os.environ["ONEDNN_MAX_CPU_ISA"] == "AVX2"


def test_no_openvino_package_is_one_line(tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)          # import openvino raises ImportError
    with pytest.raises(ValueError, match=r"^--backend openvino needs the openvino package: pip install -r "
                                         r"requirements.txt$"):
        load_exported(tiny[2], "openvino")


# ---------------------------------------------------------------------------- broken exports

def test_broken_exports_are_one_line_naming_the_file(tiny, tmp_path):
    desc, _ = read_export(tiny[2])
    search = desc["graphs"]["search"]["file"]

    def refused(folder, *fragments):
        with pytest.raises((ValueError, FileNotFoundError)) as e:
            load_exported(str(folder), "openvino")
        text = str(e.value)
        assert "\n" not in text, text
        for fragment in fragments:
            assert str(fragment) in text, (fragment, text)
        return text

    # same size, other bytes: OpenVINO's parser refuses it (the size check cannot)
    garbage = _copy(tiny, tmp_path, "garbage")
    (garbage / search).write_bytes(b"\xff" * (garbage / search).stat().st_size)
    text = refused(garbage, f"{garbage / search}: not a readable ONNX graph, truncated or corrupt (",
                   "); re-export it with export_mindir.py")
    assert "Exception from" not in text             # OpenVINO's source locations are left out
    # a JSON that does not describe the graph file: an input it lacks, a name or shape it does not have
    for name, edit, fragments in (
            ("extra_input", lambda d: d["graphs"]["search"]["inputs"].append({"name": "kernel9", "shape": [1],
                                                                               "dtype": "float32"}),
             ["the search graph has 3 inputs (x, kernel0, kernel1), the JSON lists 4"]),
            ("renamed", lambda d: d["graphs"]["search"]["outputs"][0].update(name="score"),
             ["the search graph has no output named 'score' (listed in the JSON)"]),
            ("reshaped", lambda d: d["graphs"]["template"]["inputs"][0].update(shape=[1, 3, 128, 128]),
             ["input z of the template graph has shape [1,3,127,127], the JSON says [1, 3, 128, 128]"])):
        folder = _copy(tiny, tmp_path, name)
        _edit_json(folder, edit)
        refused(folder, str(folder), *fragments, "re-export it with export_mindir.py")
    # MINDIR graphs are MindSpore's; OpenVINO runs the ONNX export
    mindir = _copy(tiny, tmp_path, "mindir")
    _edit_json(mindir, lambda d: d.update(file_format="MINDIR"))
    refused(mindir, f"{mindir} holds MINDIR graphs; --backend openvino runs ONNX or OPENVINO "
                    f"(export_mindir.py --file_format ONNX)")
    refused(tmp_path / "nowhere", "nowhere")
    with pytest.raises(ValueError, match=r"unknown exported-graph back-end 'tensorrt'"):
        load_exported(tiny[2], "tensorrt")


def test_entry_points_refuse_bad_precision_before_loading(tmp_path):
    """--precision_mode with another back-end is one line, before any dataset, video or model is
    read (their paths do not exist: reading them first would give another message)."""
    import importlib
    missing = str(tmp_path / "missing")
    with pytest.raises(SystemExit, match=r"^eval.py: --precision_mode bf16 needs --backend openvino .*; --backend "
                                         r"onnx runs f32$"):
        importlib.import_module("eval").main(["--backend", "onnx", "--model_dir", missing, "--precision_mode",
                                              "bf16", "--dataset_path", missing, "--dataset_name", "VOT2018"])
    with pytest.raises(SystemExit, match=r"^demo.py: --precision_mode bf16 needs --backend openvino .*; --backend "
                                         r"mindspore runs f32$"):
        importlib.import_module("demo").main(["--ckpt", missing, "--precision_mode", "bf16", "--video", missing])


# ---------------------------------------------------------------------------- families (slow)

def _frames(n):
    from test_multi_target import _frames as frames
    return frames(n)


def _track(cfg, backend, frames, boxes):
    """Per frame after the first: {target: (box, score)} of one tracker per box (one box) or of
    MultiTargetTracker (several: track_batch / refine_batch), plus masks where the tracker has them."""
    from src.tracker import build_tracker
    from src.tracker.multi import MultiTargetTracker
    out = []
    if len(boxes) == 1:
        tracker = build_tracker(cfg, backend)
        tracker.init(frames[0], boxes[0])
        for f in frames[1:]:
            box, score = tracker.track(f)
            out.append({1: (np.asarray(box), score, getattr(tracker, "last_mask", None))})
        return out
    multi = MultiTargetTracker(cfg, backend)
    for b in boxes:
        multi.add(frames[0], b)
    for f in frames[1:]:
        out.append({t: (np.asarray(box), score, getattr(multi.tracker(t), "last_mask", None))
                    for t, (box, score, _) in multi.track(f).items()})
    return out


FAMILIES = ["quickstart_siamrpn_ckpt", "quickstart_siamfc", "quickstart_sasiam", "siammask_sharp"]


@pytest.fixture(scope="module")
def family_exports(tmp_path_factory):
    """{name: (cfg, ONNX export folder with --targets 2)}, made on first use: the trained SiamRPN
    quick-start fixture (boxes that move) and random networks of the other families' configs."""
    made = {}

    def get(name):
        if name not in made:
            import mindspore as ms
            folder = str(tmp_path_factory.mktemp(name) / "onnx")
            if name == "quickstart_siamrpn_ckpt":
                from src.export import export_checkpoint
                from test_multi_target import QUICKSTART_CKPT
                export_checkpoint(QUICKSTART_CKPT, folder, "ONNX", targets=2)
                cfg = load_tracker_model("onnx", folder)[0]
            else:
                cfg = load_config(os.path.join(ROOT, "configs", f"{name}.yaml"))
                ms.set_seed(0)
                export_graphs(cfg, build_model(cfg), folder, "ONNX", targets=2)
            made[name] = cfg, folder
        return made[name]
    return get


@pytest.mark.slow
@pytest.mark.parametrize("name", FAMILIES)
def test_every_family_tracks_on_openvino_as_on_onnxruntime(family_exports, name):
    """One target (track, and SiamMask's refine) and two targets (track_batch on the search_batch
    graph, refine_batch): boxes within 1e-3 px and scores within 1e-4 of onnxruntime's; SiamMask's
    masks equal but for pixels whose probability sits at the threshold (none measured)."""
    from test_multi_target import BOXES
    cfg, folder = family_exports(name)
    frames = _frames(4)
    for boxes in (BOXES[:1], BOXES[:2]):
        got = _track(cfg, load_tracker_model("openvino", folder)[1], frames, boxes)
        want = _track(cfg, load_tracker_model("onnx", folder)[1], frames, boxes)
        for k, (g, w) in enumerate(zip(got, want), 1):
            assert sorted(g) == sorted(w) == list(range(1, len(boxes) + 1))
            for t in w:
                np.testing.assert_allclose(g[t][0], w[t][0], atol=1e-3, rtol=0, err_msg=f"{name} frame {k} {t}")
                assert g[t][1] == pytest.approx(w[t][1], abs=1e-4), (name, k, t)
                if w[t][2] is not None:
                    assert g[t][2].shape == w[t][2].shape
                    assert np.mean(g[t][2] != w[t][2]) <= 1e-3, (name, k, t)
    if name == "quickstart_siamrpn_ckpt":        # the comparison covers moving boxes
        assert any(abs(g[1][0][0] - BOXES[0][0]) > 1e-2 for g in got)


@pytest.mark.slow
def test_siammask_refine_graph_gives_onnxruntimes_logits(family_exports):
    cfg, folder = family_exports("siammask_sharp")
    desc, ov = load_exported(folder, "openvino")
    _, ort = load_exported(folder, "onnx")
    rng = np.random.default_rng(2)
    inputs = [rng.standard_normal(i["shape"]).astype(np.float32) for i in desc["graphs"]["refine"]["inputs"]]
    want = ort.refine(*inputs)
    assert _rel_diff(ov.refine(*inputs), want) <= 1e-4
    stacked = [np.concatenate([p, p[:, ::-1].copy()]) for p in inputs]          # two targets' rows
    batch = ov.refine_batch(*stacked)
    assert batch.shape == (2, *want.shape[1:]) and _rel_diff(batch[0], want[0]) <= 1e-4
    assert _rel_diff(batch[1], ort.refine(*(p[1:] for p in stacked))) <= 1e-4


# ---------------------------------------------------------------------------- entry points (slow)

@pytest.mark.slow
def test_eval_and_demo_run_on_openvino_as_on_onnx(family_exports, tmp_path):
    """eval.py --backend openvino (as a user runs it) on synthetic VOT: the failures and A/R/EAO of
    --backend onnx (within 1e-3), eval.json and the manifest naming back-end and precision; resuming
    those results with another back-end is refused; demo.py writes onnx's boxes."""
    import importlib

    from test_export import _assert_same_vot_results
    _, folder = family_exports("quickstart_siamrpn_ckpt")
    synthetic_test_sets(tmp_path, seed=5, videos=2, frames=20)
    data = str(tmp_path / "data" / "test" / "VOTSYN")

    def argv(backend, tag):
        return ["--backend", backend, "--model_dir", folder, "--dataset_path", data, "--dataset_name", "VOTSYN",
                "--eao_range", "5", "20", "--results_dir", str(tmp_path / tag), "--filename",
                str(tmp_path / tag / "eval.json"), "--plots", "false", "--tracker_name", "t"]
    proc = run_script("eval.py", *argv("openvino", "ov"), timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    importlib.import_module("eval").main(argv("onnx", "onnx"))
    records = {tag: json.loads((tmp_path / tag / "eval.json").read_text()) for tag in ("ov", "onnx")}
    ov = records["ov"]
    assert ov["backend"] == "openvino" and ov["precision"] == "float32" and ov["openvino"]
    assert ov["provenance"]["model"]["backend"] == "openvino"
    assert ov["provenance"]["model"]["precision"] == "float32"
    assert ov["exported_graphs_sha256"] == records["onnx"]["exported_graphs_sha256"]
    assert ov["all_videos"]["accuracy"] > 0.3           # it tracks: long stretches of predicted boxes
    _assert_same_vot_results({"mindspore": records["onnx"], "openvino": ov})
    stored = json.loads((tmp_path / "ov" / "VOTSYN" / "t" / "manifest.json").read_text())
    assert stored["model"]["backend"] == "openvino" and stored["model"]["precision"] == "float32"
    # results of one back-end are not resumed by another
    proc = run_script("eval.py", *argv("onnx", "ov"), timeout=600)
    assert_one_line_error(proc, "with --backend openvino, this run uses --backend onnx", prefix="eval.py: ")
    if not _has_bf16():
        proc = run_script("eval.py", *argv("openvino", "bf16"), "--precision_mode", "bf16", timeout=600)
        assert_one_line_error(proc, "--precision_mode bf16: this CPU has no native bf16", prefix="eval.py: ")
        assert not os.path.exists(tmp_path / "bf16")    # refused before anything was written
    demo = importlib.import_module("demo")
    video = os.path.join(data, sorted(d for d in os.listdir(data) if d.startswith("syn"))[0], "color")
    common = ["--model_dir", folder, "--video", video, "--output_dir", str(tmp_path / "demo"),
              "--save_video", "false"]
    boxes = {b: np.loadtxt(os.path.join(demo.main(["--backend", b, "--name", b, *common]), "boxes.txt"),
                           delimiter=",") for b in ("openvino", "onnx")}
    assert boxes["openvino"].shape == boxes["onnx"].shape and len(boxes["onnx"]) > 10
    np.testing.assert_allclose(boxes["openvino"], boxes["onnx"], atol=1e-3, rtol=0)

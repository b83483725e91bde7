"""OpenVINO IR exports (``export_mindir.py --file_format OPENVINO``: each graph as an .xml
topology and its .bin weights, src/export.py ``_onnx_to_openvino_ir``).

* the export holds the two files per graph (no ONNX left, nothing half-written), the JSON
  records both with their sizes, the weights stay float32;
* ``--backend openvino`` runs it with the outputs of the same network's ONNX export (the IR is
  what OpenVINO's ONNX front end makes of it) and of the Cell, within the exported back-ends'
  1e-4 relative tolerance, batched search graph included;
* eval.json's provenance hashes the weights file too;
* back-ends that cannot run IR, and a missing, truncated or corrupt weights file, are one-line
  errors naming the file;
* (slow, cpp) the C++ app's CPU build tracks the IR export as it tracks the ONNX export.

Two runtimes round differently, so nothing here compares floats bit for bit.
"""
import json
import os
import shutil

import numpy as np
import pytest

from conftest import run_script, synthetic_test_sets
from src.config import Config, replace
from src.export import export_graphs, read_export, sample_io
from src.models import build_model
from src.tracker.backends import load_exported
from test_infer_cpp import _compare, _run_infer, cpp_build  # noqa: F401 (fixture)
from test_openvino_backend import TINY, _numpy, _rel_diff


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """(cfg, net, IR folder, ONNX folder) of one tiny random SiamRPN exported both ways, --targets 2."""
    import mindspore as ms
    ms.set_seed(7)
    cfg = replace(Config(), **TINY)
    net = build_model(cfg)
    root = tmp_path_factory.mktemp("ov_ir")
    export_graphs(cfg, net, str(root / "ir"), "OPENVINO", targets=2)
    export_graphs(cfg, net, str(root / "onnx"), "ONNX", targets=2)
    return cfg, net, str(root / "ir"), str(root / "onnx")


def _copy(folder, tmp_path, name):
    out = tmp_path / name
    shutil.copytree(folder, out)
    for f in out.iterdir():
        os.chmod(f, 0o644)
    return out


def test_export_writes_topology_and_float32_weights_per_graph(exports):
    import openvino as ov
    _, _, folder, _ = exports
    desc, _ = read_export(folder)
    assert desc["file_format"] == "OPENVINO" and set(desc["graphs"]) == {"template", "search", "search_batch"}
    expected = {"tiny.json"}
    for graph, g in desc["graphs"].items():
        assert g["file"] == f"tiny_{graph}.xml" and g["weights"]["file"] == f"tiny_{graph}.bin"
        for entry in (g, g["weights"]):
            assert os.path.getsize(os.path.join(folder, entry["file"])) == entry["bytes"] > 0
        expected |= {g["file"], g["weights"]["file"]}
        model = ov.Core().read_model(os.path.join(folder, g["file"]))
        types = {op.get_output_element_type(0).get_type_name() for op in model.get_ops()
                 if op.get_type_name() == "Constant"}
        assert "f16" not in types and "f32" in types, (graph, types)     # compress_to_fp16=False
    assert set(os.listdir(folder)) == expected            # no ONNX file, no .export- temp folder


def test_ir_gives_the_onnx_exports_and_the_cells_outputs(exports):
    cfg, net, ir_folder, onnx_folder = exports
    _, ir = load_exported(ir_folder, "openvino")
    _, onnx = load_exported(onnx_folder, "openvino")
    io = sample_io(cfg, net)
    z, x = io["template"].inputs[0], io["search"].inputs[0]
    kernels = ir.template(z)
    for got, other, cell in zip(kernels, onnx.template(z), io["template"].outputs):
        assert _rel_diff(got, _numpy(other)) <= 1e-4 and _rel_diff(got, cell) <= 1e-4
    outputs, reference = ir.track(x, kernels), onnx.track(x, onnx.template(z))
    assert list(outputs) == io["search"].output_names
    for name, cell in zip(io["search"].output_names, io["search"].outputs):
        assert _rel_diff(outputs[name], reference[name]) <= 1e-4 and _rel_diff(outputs[name], cell) <= 1e-4, name
    # two targets in one call of the search_batch graph, as the ONNX export runs them
    rng = np.random.default_rng(1)
    zs = [rng.uniform(0, 255, (1, 3, 127, 127)).astype(np.float32) for _ in range(2)]
    xs = [rng.uniform(0, 255, (1, 3, 255, 255)).astype(np.float32) for _ in range(2)]
    got = ir.track_batch(xs, [ir.template(z) for z in zs])
    want = onnx.track_batch(xs, [onnx.template(z) for z in zs])
    for name in want:
        assert got[name].shape == want[name].shape and _rel_diff(got[name], want[name]) <= 1e-4, name


def test_provenance_hashes_the_weights_file(exports, tmp_path):
    from src.evaluation.manifest import file_sha256, model_identity, record_fields
    folder = exports[2]
    identity = model_identity("openvino", folder)
    desc, _ = read_export(folder)
    for graph, g in desc["graphs"].items():
        assert identity["export"]["graphs"][graph]["weights"] == {
            "file": g["weights"]["file"], "sha256": file_sha256(os.path.join(folder, g["weights"]["file"]))}
    manifest = {"model": identity, "dataset": {"ground_truth_sha256": "0" * 64}, "code_version": "test"}
    hashes = record_fields(manifest, str(tmp_path))["exported_graphs_sha256"]
    assert set(hashes) == {"template", "template.weights", "search", "search.weights", "search_batch",
                           "search_batch.weights"}
    # other weights of the same size are another network: another hash
    changed = _copy(folder, tmp_path, "changed")
    w = changed / desc["graphs"]["search"]["weights"]["file"]
    data = bytearray(w.read_bytes())
    data[len(data) // 2] ^= 0xFF
    w.write_bytes(bytes(data))
    assert model_identity("openvino", str(changed))["export"]["graphs"]["search"]["weights"]["sha256"] != \
        identity["export"]["graphs"]["search"]["weights"]["sha256"]


def test_other_backends_and_broken_weights_are_one_line(exports, tmp_path):
    folder = exports[2]
    desc, _ = read_export(folder)
    weights = desc["graphs"]["search"]["weights"]["file"]

    def refused(path, backend, *fragments):
        with pytest.raises((ValueError, FileNotFoundError)) as e:
            load_exported(str(path), backend)
        text = str(e.value)
        assert "\n" not in text, text
        for fragment in fragments:
            assert str(fragment) in text, (fragment, text)

    for backend, runs in (("onnx", "ONNX"), ("mindir", "MINDIR")):
        refused(folder, backend, f"{folder} holds OPENVINO graphs; --backend {backend} runs {runs} "
                                 f"(export_mindir.py --file_format {runs})")
    missing = _copy(folder, tmp_path, "missing")
    os.remove(missing / weights)
    refused(missing, "openvino", f"search weights file {weights} is missing")
    truncated = _copy(folder, tmp_path, "truncated")
    (truncated / weights).write_bytes((truncated / weights).read_bytes()[:-4])
    refused(truncated, "openvino", f"{truncated / weights}: {desc['graphs']['search']['weights']['bytes'] - 4} bytes, "
                                   f"the export wrote {desc['graphs']['search']['weights']['bytes']}", "truncated")


def test_export_mindir_cli_writes_ir(tmp_path):
    from test_multi_target import QUICKSTART_CKPT
    proc = run_script("export_mindir.py", "--ckpt", QUICKSTART_CKPT, "--file_format", "OPENVINO",
                      "--output_dir", str(tmp_path / "ir"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    desc, _ = read_export(str(tmp_path / "ir"))
    assert desc["file_format"] == "OPENVINO"
    assert all(os.path.isfile(tmp_path / "ir" / g["weights"]["file"]) for g in desc["graphs"].values())


@pytest.mark.slow
@pytest.mark.cpp
def test_cpp_app_tracks_the_ir_export_as_the_onnx_export(cpp_build, tmp_path):
    """run_infer_310.sh on the quick-start checkpoint's IR and ONNX exports of one network:
    the same failures and result lines to 0.01 px (both are OpenVINO; the IR skips the ONNX
    front end at load), and the record hashes the IR's weights."""
    from src.export import export_checkpoint
    from test_multi_target import QUICKSTART_CKPT
    synthetic_test_sets(tmp_path, seed=5, videos=2, frames=30)
    data, eao = tmp_path / "data" / "test" / "VOTSYN", ("5", "30")
    runs = {}
    for fmt in ("OPENVINO", "ONNX"):
        export = tmp_path / f"export_{fmt}"
        export_checkpoint(QUICKSTART_CKPT, str(export), fmt)
        runs[fmt], _ = _run_infer(cpp_build, export, data, "VOTSYN", tmp_path / fmt, eao)
    assert runs["OPENVINO"]["all_videos"]["accuracy"] > 0.3
    assert "search.weights" in runs["OPENVINO"]["exported_graphs_sha256"]
    diff = _compare(runs["OPENVINO"], runs["ONNX"], tmp_path / "OPENVINO" / "results", tmp_path / "ONNX" / "results")
    assert diff < 0.01, diff

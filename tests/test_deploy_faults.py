"""Fault injection on deployment inputs: what a user copies between machines (exported graphs,
rank tables) or types (demo boxes) arrives broken, and every entry point refuses it in one line
naming the file, with nothing partial left behind.

Exported graphs are truncated (an interrupted copy) or overwritten with other bytes; the export
JSON records each graph's size, and older exports without sizes are refused by the runtime loader.
"""
import json
import os
import shutil

import pytest

from conftest import ROOT, assert_one_line_error, run_script, synthetic_test_sets

QUICKSTART_CKPT = os.path.join(ROOT, "tests", "fixtures", "quickstart_siamrpn.ckpt")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(root, VOT data, {format: export folder}) of the quick-start SiamRPN."""
    from src.export import export_checkpoint
    root = tmp_path_factory.mktemp("deploy_faults")
    synthetic_test_sets(root, seed=2, videos=1, frames=6)
    exports = {}
    for fmt in ("MINDIR", "ONNX"):
        exports[fmt] = root / fmt
        export_checkpoint(QUICKSTART_CKPT, str(exports[fmt]), fmt)
    return root, root / "data" / "test" / "VOTSYN", exports


def _broken_copy(export, folder, how):
    """A copy of ``export`` whose search graph is damaged; returns (folder, damaged file)."""
    shutil.copytree(export, folder)
    desc_path = next(folder.glob("*.json"))
    desc = json.loads(desc_path.read_text())
    graph = folder / desc["graphs"]["search"]["file"]
    os.chmod(graph, 0o644)
    data = graph.read_bytes()
    if how == "truncated":
        graph.write_bytes(data[: len(data) * 2 // 3])
    elif how == "unsized":           # truncated, in an export written before sizes were recorded
        graph.write_bytes(data[: len(data) * 2 // 3])
        for g in desc["graphs"].values():
            g.pop("bytes", None)
        desc_path.write_text(json.dumps(desc))
    else:                            # same size, other bytes
        graph.write_bytes(b"\xff" * len(data))
    return folder, graph


def refused_in_process(script, *args):
    """``script``'s main in this process (no interpreter and MindSpore start-up: seconds per case)
    refuses with what a user would see as the one stderr line; returns it as a finished process would."""
    import importlib
    import subprocess
    with pytest.raises(SystemExit) as e:
        importlib.import_module(script[:-3]).main([str(a) for a in args])
    line = e.value.code
    assert isinstance(line, str) and "\n" not in line, line
    return subprocess.CompletedProcess(script, 1, "", line + "\n")


def run_entry_point(script, *args, as_process):
    return run_script(script, *args, timeout=300) if as_process else refused_in_process(script, *args)


EXPECTED = {"truncated": "bytes, the export wrote", "unsized": "graph, truncated or corrupt",
            "garbage": "graph, truncated or corrupt"}


# every format x damage pair is checked on load_exported in test_export.py; here, that each kind of
# message reaches the eval.py user in one line (one case per entry point as a real process, the
# others through its main in this process)
@pytest.mark.parametrize("fmt, how, as_process", [("ONNX", "truncated", True), ("MINDIR", "unsized", False),
                                                  ("MINDIR", "garbage", False)])
def test_eval_refuses_a_damaged_graph(setup, tmp_path, fmt, how, as_process):
    root, data, exports = setup
    folder, graph = _broken_copy(exports[fmt], tmp_path / "export", how)
    out = tmp_path / "run"
    proc = run_entry_point("eval.py", "--backend", fmt.lower(), "--model_dir", folder, "--dataset_path", data,
                           "--dataset_name", "VOTSYN", "--eao_range", "1", "6", "--results_dir", out / "results",
                           "--filename", out / "eval.json", "--plots", "false", as_process=as_process)
    assert_one_line_error(proc, str(graph), EXPECTED[how], prefix="eval.py: ")
    assert not (out / "eval.json").exists()
    assert not [f for _, _, files in os.walk(out) for f in files if f.endswith(".txt")]


def _edited_copy(export, folder, edit):
    """A copy of ``export`` whose JSON ``edit(desc)`` changed; returns the JSON's path."""
    shutil.copytree(export, folder)
    desc_path = next(folder.glob("*.json"))
    desc = json.loads(desc_path.read_text())
    edit(desc)
    desc_path.write_text(json.dumps(desc))
    return desc_path


# the export JSON (format 2) as a user may receive it: from newer code, or edited by hand
@pytest.mark.parametrize("edit, expected", [
    (lambda d: d.update(format_version=3), "format_version 3 is newer than this code (this code reads 1 and 2); "
                                           "update the code"),
    (lambda d: d.pop("decoder"), "missing key 'decoder'"),
])
def test_eval_refuses_an_export_description_it_cannot_read(setup, tmp_path, edit, expected):
    root, data, exports = setup
    desc_path = _edited_copy(exports["ONNX"], tmp_path / "export", edit)
    out = tmp_path / "run"
    proc = refused_in_process("eval.py", "--backend", "onnx", "--model_dir", desc_path.parent, "--dataset_path",
                              data, "--dataset_name", "VOTSYN", "--eao_range", "1", "6", "--results_dir",
                              out / "results", "--filename", out / "eval.json", "--plots", "false")
    assert_one_line_error(proc, str(desc_path), expected, prefix="eval.py: ")
    assert not out.exists()


@pytest.mark.parametrize("fmt, as_process", [("MINDIR", False), ("ONNX", True)])
def test_demo_refuses_a_damaged_graph(setup, tmp_path, fmt, as_process):
    root, data, exports = setup
    folder, graph = _broken_copy(exports[fmt], tmp_path / "export", "truncated")
    proc = run_entry_point("demo.py", "--backend", fmt.lower(), "--model_dir", folder, "--video",
                           data / "syn_test_0000" / "color", "--init_box", "10,10,20,20", "--output_dir",
                           tmp_path / "out", "--save_video", "false", as_process=as_process)
    assert_one_line_error(proc, str(graph), EXPECTED["truncated"], prefix="demo.py: ")
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")


def test_undamaged_export_still_runs(setup, tmp_path):
    """The same commands on the intact exports succeed (the refusals above are about the damage)."""
    root, data, exports = setup
    import importlib     # demo.py's main in this process (a refusal raises SystemExit and fails the test)
    importlib.import_module("demo").main(["--backend", "onnx", "--model_dir", str(exports["ONNX"]), "--video",
                                          str(data / "syn_test_0000" / "color"), "--init_box", "10,10,20,20",
                                          "--output_dir", str(tmp_path / "out"), "--save_video", "false"])
    assert len((tmp_path / "out" / "syn_test_0000" / "boxes.txt").read_text().splitlines()) == 6


def test_rank_table_with_a_host_name_for_a_device_ip(tmp_path):
    """The launcher validates the table (src/distributed/rank_table.py) before starting anything."""
    import subprocess
    table = {"version": "1.0", "server_count": "1", "status": "completed",
             "server_list": [{"server_id": "10.0.0.1", "host_nic_ip": "reserve",
                              "device": [{"device_id": "0", "device_ip": "192.168.1.100", "rank_id": "0"},
                                         {"device_id": "1", "device_ip": "npu1", "rank_id": "1"}]}]}
    path = tmp_path / "rank_table_2p.json"
    path.write_text(json.dumps(table))
    (tmp_path / "data").mkdir()
    proc = subprocess.run(["bash", os.path.join(ROOT, "scripts", "run_distribute_train.sh"), str(path),
                           str(tmp_path / "data"), "configs/quickstart_siamrpn.yaml", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "DRY_RUN": "1"})
    assert_one_line_error(proc, f"rank table {path}: server_list[0].device[1].device_ip must be an IPv4 address",
                          "got 'npu1'")
    assert not (tmp_path / "out").exists()

"""Several targets per network call on exported graphs (export_mindir.py --targets N).

The export's ``search_batch`` graph is the search graph traced on N targets; MultiTargetTracker
on it must give the boxes it gives on the checkpoint (the Cell back-end). Two runtimes
(onnxruntime / MindSpore's exported graph vs the Cell) round differently, so the boxes agree to
1e-3 px, not bit for bit. The trained SiamRPN quick-start fixture, so that the boxes move.
"""
import json
import os

import numpy as np
import pytest

from src.export import export_checkpoint, read_export
from src.tracker.backends import load_tracker_model
from src.tracker.multi import MultiTargetTracker
from test_multi_target import BOXES, QUICKSTART_CKPT, _frames

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """{format: export folder} of the quick-start SiamRPN with --targets 3 (ONNX through
    export_mindir.py's command line, in this process)."""
    import export_mindir
    root = tmp_path_factory.mktemp("multi_export")
    out = {fmt: str(root / fmt) for fmt in ("ONNX", "MINDIR")}
    export_mindir.main(["--ckpt", QUICKSTART_CKPT, "--file_format", "ONNX", "--output_dir", out["ONNX"],
                        "--targets", "3"])
    export_checkpoint(QUICKSTART_CKPT, out["MINDIR"], "MINDIR", targets=3)
    return out


def _boxes(backend_name, source, boxes, frames):
    """MultiTargetTracker's results on frames[1:], and the graphs the exported back-end ran."""
    cfg, backend, _ = load_tracker_model(backend_name, source)
    ran = []
    if backend_name != "mindspore":
        run = backend.run
        backend.run = lambda graph, inputs: ran.append(graph) or run(graph, inputs)
    multi = MultiTargetTracker(cfg, backend)
    for b in boxes:
        multi.add(frames[0], b)
    return [multi.track(f) for f in frames[1:]], ran


@pytest.mark.parametrize("fmt", ["ONNX", "MINDIR"])
def test_batched_export_tracks_like_the_checkpoint(exports, fmt):
    desc, _ = read_export(exports[fmt])
    assert desc["targets"] == 3
    search, batch = desc["graphs"]["search"], desc["graphs"]["search_batch"]
    assert search["inputs"][0]["shape"][0] == 1
    for one, three in zip(search["inputs"] + search["outputs"], batch["inputs"] + batch["outputs"]):
        assert three["shape"] == [3 * one["shape"][0]] + one["shape"][1:], one["name"]
    frames = _frames(4)
    # as many targets as exported; fewer (padded to 3); one (the one-target graph)
    for boxes, graph in ((BOXES, "search_batch"), (BOXES[:2], "search_batch"), (BOXES[:1], "search")):
        ref, _ = _boxes("mindspore", QUICKSTART_CKPT, boxes, frames)
        got, ran = _boxes(fmt.lower(), exports[fmt], boxes, frames)
        assert ran == [graph] * (len(frames) - 1)      # one call a frame
        for k, (g, r) in enumerate(zip(got, ref), 1):
            assert sorted(g) == sorted(r) == list(range(1, len(boxes) + 1))
            for i in r:
                np.testing.assert_allclose(g[i][0], r[i][0], atol=1e-3, rtol=0, err_msg=f"frame {k} target {i}")
                assert g[i][1] == pytest.approx(r[i][1], abs=1e-4)
                assert g[i][2] is r[i][2]
        # the comparison covers moving boxes, not only the init state
        assert any(abs(g[1][0][0] - boxes[0][0]) > 1e-2 for g in got)


@pytest.mark.parametrize("fmt", ["ONNX"])
def test_more_targets_than_exported_is_one_line(exports, fmt):
    cfg, backend, _ = load_tracker_model(fmt.lower(), exports[fmt])
    frames = _frames(2)
    multi = MultiTargetTracker(cfg, backend)
    for b in BOXES + [[100, 80, 20, 20]]:
        multi.add(frames[0], b)
    with pytest.raises(ValueError) as e:
        multi.track(frames[1])
    message = str(e.value)
    assert "\n" not in message and exports[fmt] in message
    assert "at most 3 targets" in message and "got 4" in message and "export_mindir.py --targets 4" in message


def test_targets_1_writes_the_one_target_export_and_old_exports_read_as_one(exports, tmp_path):
    """--targets 1 (the default) writes no search_batch graph and records targets 1; an export
    written before the key existed reads as one target per call."""
    from src.tracker.backends import load_exported
    out = str(tmp_path / "one")
    path = export_checkpoint(QUICKSTART_CKPT, out, "ONNX")
    desc, _ = read_export(path)
    assert desc["targets"] == 1 and set(desc["graphs"]) == {"template", "search"}
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    del raw["targets"]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(raw, f)
    _, backend = load_exported(out, "onnx")
    assert backend.targets == 1
    with pytest.raises(ValueError, match=r"at most 1 target per search call .*got 2.*--targets 2"):
        x = np.zeros((1, 3, 255, 255), np.float32)
        backend.track_batch([x, x], [(), ()])
    # a JSON that claims a batch its graphs do not have is refused on loading, in one line
    for value, message in [(2, r"has targets 2 but no search_batch graph; re-export it with export_mindir.py "
                                r"--targets 2$"),
                           ("2", r"key 'targets' is '2', not an integer >= 1")]:
        raw["targets"] = value
        with open(path, "w", encoding="utf-8") as f:
            json.dump(raw, f)
        with pytest.raises(ValueError, match=message) as e:
            load_exported(out, "onnx")
        assert out in str(e.value) and "\n" not in str(e.value)


def test_bad_targets_is_one_line_before_the_checkpoint_is_read(tmp_path):
    import export_mindir
    with pytest.raises(SystemExit, match=r"^export_mindir.py: --targets 0: .*integer >= 1$"):
        export_mindir.main(["--ckpt", str(tmp_path / "missing.ckpt"), "--targets", "0",
                            "--output_dir", str(tmp_path / "out")])


def test_siamfc_batched_export_takes_every_targets_scales(tmp_path):
    """SiamFC's search batch is its scales: the batched graph takes targets * scale_num crops
    (scale-major, backends._batch_layout) and still tracks like the Cell. A random network: only
    the agreement matters, and that the boxes move."""
    import mindspore as ms

    from src.config import load_config
    from src.export import export_graphs
    from src.models import build_model
    from src.tracker.backends import MindSporeBackend, load_exported
    from test_multi_target import ROOT
    cfg = load_config(os.path.join(ROOT, "configs", "quickstart_siamfc.yaml"))
    ms.set_seed(0)
    net = build_model(cfg)
    folder = str(tmp_path / "fc")
    export_graphs(cfg, net, folder, "ONNX", targets=2)
    desc, exported = load_exported(folder, "onnx")
    s = cfg.track.scale_num
    assert desc["graphs"]["search_batch"]["inputs"][0]["shape"][0] == 2 * s
    assert desc["graphs"]["search_batch"]["outputs"][0]["shape"][0] == 2 * s
    frames = _frames(4)
    results = []
    for backend in (MindSporeBackend(net, cfg), exported):
        multi = MultiTargetTracker(cfg, backend)
        for b in BOXES[:2]:
            multi.add(frames[0], b)
        results.append([multi.track(f) for f in frames[1:]])
    for g, r in zip(*results):
        for i in (1, 2):
            np.testing.assert_allclose(g[i][0], r[i][0], atol=1e-3, rtol=0, err_msg=f"target {i}")
    assert any(abs(r[1][0][0] - BOXES[0][0]) > 1e-2 for r in results[0])


def test_demo_runs_several_boxes_on_a_batched_export_and_refuses_more(exports, tmp_path):
    """demo.py with two --init_box on the --targets 3 ONNX export gives the checkpoint's boxes (to
    the 4 decimals it writes, within 1e-3 px); four boxes are refused before anything is written."""
    import importlib

    from conftest import synthetic_test_sets
    demo = importlib.import_module("demo")
    synthetic_test_sets(tmp_path, seed=3, videos=1, frames=6)
    frames = str(tmp_path / "data" / "test" / "OTBSYN" / "syn_test_0000" / "img")
    gt = np.loadtxt(tmp_path / "data" / "test" / "OTBSYN" / "syn_test_0000" / "groundtruth_rect.txt",
                    delimiter=",")
    boxes = [",".join(str(v) for v in gt[0]), "10,12,30,30"]
    given = [a for b in boxes for a in ("--init_box", b)]
    common = ["--video", frames, "--output_dir", str(tmp_path / "out"), "--save_video", "false", *given]
    onnx = demo.main(["--backend", "onnx", "--model_dir", exports["ONNX"], "--name", "onnx", *common])
    cell = demo.main(["--ckpt", QUICKSTART_CKPT, "--name", "cell", *common])
    for k in (1, 2):
        ours = np.loadtxt(os.path.join(onnx, f"target_{k}", "boxes.txt"), delimiter=",")
        ref = np.loadtxt(os.path.join(cell, f"target_{k}", "boxes.txt"), delimiter=",")
        assert ours.shape == (6, 4)
        np.testing.assert_allclose(ours, ref, atol=1e-3, rtol=0)
    with pytest.raises(SystemExit, match=r"^demo.py: 4 --init_box, but the export in .* takes at most 3 targets per "
                                         r"search call: re-export with export_mindir.py --targets 4"):
        demo.main(["--backend", "onnx", "--model_dir", exports["ONNX"], "--video", frames, *given, *given,
                   "--output_dir", str(tmp_path / "refused")])
    assert not os.path.exists(tmp_path / "refused")

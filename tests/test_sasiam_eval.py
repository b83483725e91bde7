"""SA-Siam through the entry points: eval.py on the VOT, OTB, GOT-10k and LaSOT layouts, the
model.appearance_weight override (appearance alone / semantic alone from one checkpoint),
export_mindir.py to MINDIR and ONNX, ``eval.py --backend mindir|onnx`` and demo.py.

One tiny random SA-Siam (both branches at width 0.125, 16-channel fusion) is shared by the
module: random weights are enough to compare back-ends and layouts, which run the same
arithmetic. A second checkpoint holds the same appearance branch beside another random semantic
one, so a run that really tracks with the appearance branch alone gives the same boxes on both.
The GOT-10k and LaSOT sets are the synthetic OTB sequences rewritten in those layouts (the same
frames and boxes), so the three one-pass protocols must give the same boxes.

Slow: entry points in this process (eval.py, export_mindir.py, demo.py), two exports.
"""
import importlib
import json
import os
import shutil

import mindspore as ms
import numpy as np
import pytest

from conftest import ROOT, synthetic_test_sets
from tie_margins import compare_allowing_ties, record_margins
from src.config import load_config, replace, to_yaml
from src.evaluation import results as rs
from src.evaluation.manifest import flatten
from src.models import build_model
from src.training.checkpoint import save_checkpoint_atomic

pytestmark = pytest.mark.slow

FRAMES = 12      # VOT's accuracy skips 10 frames after each initialisation
FORMATS = ("MINDIR", "ONNX")
DATASETS = ("VOTSYN", "OTBSYN", "GOT10k-val", "LaSOT")
EAO_RANGE = ("3", str(FRAMES))


def _one_pass_layouts(otb, root):
    """The OTB sequences as GOT-10k val (``<seq>/%08d.jpg``, groundtruth.txt, list.txt) and LaSOT
    (``<class>/<class>-<n>/img/%08d.jpg``, groundtruth.txt): {layout: (folder, {otb name: name})}."""
    names = sorted(d for d in os.listdir(otb) if os.path.isdir(otb / d))
    got, lasot = root / "GOT10k-val", root / "LaSOT"
    renamed = {"GOT10k-val": {n: f"GOT-10k_Val_{i + 1:06d}" for i, n in enumerate(names)},
               "LaSOT": {n: f"syn-{i + 1}" for i, n in enumerate(names)}}
    for name in names:
        frames = sorted(os.listdir(otb / name / "img"))
        gt = (otb / name / "groundtruth_rect.txt").read_text()    # the same text: the same boxes
        for dst in (got / renamed["GOT10k-val"][name], lasot / "syn" / renamed["LaSOT"][name] / "img"):
            dst.mkdir(parents=True)
            for i, f in enumerate(frames):
                os.link(otb / name / "img" / f, dst / f"{i + 1:08d}.jpg")
        (got / renamed["GOT10k-val"][name] / "groundtruth.txt").write_text(gt)
        (lasot / "syn" / renamed["LaSOT"][name] / "groundtruth.txt").write_text(gt)
    (got / "list.txt").write_text("".join(renamed["GOT10k-val"][n] + "\n" for n in names))
    return {"OTBSYN": (otb, {n: n for n in names}), "GOT10k-val": (got, renamed["GOT10k-val"]),
            "LaSOT": (lasot, renamed["LaSOT"])}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """The data sets, the two checkpoints and export_mindir.py's two exports of the first."""
    root = tmp_path_factory.mktemp("sasiam_eval")
    synthetic_test_sets(root, seed=5, videos=2, frames=FRAMES)
    test = root / "data" / "test"
    layouts = _one_pass_layouts(test / "OTBSYN", root)
    layouts["VOTSYN"] = (test / "VOTSYN", None)
    cfg = replace(load_config(os.path.join(ROOT, "configs", "sasiam_semantic.yaml")),
                  **{"name": "tinysa", "model.width_mult": 0.125, "model.fusion_channels": 16})
    ms.set_seed(3)
    net = build_model(cfg)
    ckpt = str(root / "tinysa.ckpt")
    save_checkpoint_atomic(net, ckpt, append_dict={"config": to_yaml(cfg)})
    ms.set_seed(4)
    other = build_model(cfg)
    ms.load_param_into_net(other, {p.name: ms.Parameter(p.data.copy(), p.name)
                                   for p in net.appearance.get_parameters()}, strict_load=True)
    other_ckpt = str(root / "other_semantic.ckpt")
    save_checkpoint_atomic(other, other_ckpt, append_dict={"config": to_yaml(cfg)})
    exports = {}
    for fmt in FORMATS:
        importlib.import_module("export_mindir").main(["--ckpt", ckpt, "--file_format", fmt,
                                                       "--output_dir", str(root / fmt)])
        exports[fmt] = str(root / fmt)
    return {"root": root, "layouts": layouts, "ckpt": ckpt, "other": other_ckpt, "exports": exports}


def _eval(ws, dataset, tag, *args):
    """eval.py's main in this process (a refusal raises SystemExit and fails the test):
    (eval.json record, {OTB sequence name: boxes}) -- VOT: the result entries."""
    folder, names = ws["layouts"][dataset]
    out = ws["root"] / "runs" / dataset / tag
    importlib.import_module("eval").main([
        *args, "--dataset_path", str(folder), "--dataset_name", dataset, "--results_dir", str(out / "results"),
        "--filename", str(out / "eval.json"), "--plots", "false", "--tracker_name", tag,
        *(("--eao_range", *EAO_RANGE) if dataset == "VOTSYN" else ())])
    record = json.loads((out / "eval.json").read_text())
    results = str(out / "results" / dataset)
    if dataset == "VOTSYN":
        seqs = sorted(record["per_video"])
        return record, {s: rs.read_vot_result(rs.vot_result_path(results, tag, s)) for s in seqs}
    path = rs.got10k_result_path if dataset == "GOT10k-val" else rs.ope_result_path
    return record, {otb: rs.read_ope_result(path(results, tag, name)) for otb, name in names.items()}


@pytest.fixture(scope="module")
def cell_margins():
    """{dataset: {sequence: the final map's relative margin per tracked frame}} of the cell_runs."""
    return {}


@pytest.fixture(scope="module")
def cell_runs(ws, cell_margins):
    """{dataset: (record, boxes)} of the checkpoint's Cell, fused (model.appearance_weight 0.3)."""
    runs = {}
    for d in DATASETS:
        with record_margins() as margins:
            runs[d] = _eval(ws, d, "cell", "--ckpt", ws["ckpt"])
        cell_margins[d] = margins
    return runs


def test_eval_runs_every_layout_and_the_one_pass_ones_agree(ws, cell_runs):
    vot_record, vot = cell_runs["VOTSYN"]
    assert set(vot_record["all_videos"]) >= {"accuracy", "robustness", "eao"}
    assert vot_record["model"]["arch"] == "sasiam" and vot_record["model"]["appearance_weight"] == 0.3
    for entries in vot.values():
        assert len(entries) == FRAMES and entries[0] == [1.0]      # the init code, then boxes or codes
    otb_record, otb = cell_runs["OTBSYN"]
    assert set(otb_record["all_videos"]) >= {"success_auc", "precision"}
    assert len(otb) == 2 and all(b.shape == (FRAMES, 4) and np.isfinite(b).all() for b in otb.values())
    assert max(np.abs(b[1:, :2] - b[0, :2]).max() for b in otb.values()) > 1    # the tracker moves
    for dataset in ("GOT10k-val", "LaSOT"):
        record, boxes = cell_runs[dataset]
        assert record["dataset"] == dataset and boxes.keys() == otb.keys()
        # the same frames and ground truth: the same boxes (every file holds full-precision floats)
        for seq in otb:
            np.testing.assert_allclose(boxes[seq], otb[seq], rtol=0, atol=1e-9, err_msg=f"{dataset} {seq}")
    assert set(cell_runs["GOT10k-val"][0]["all_videos"]) >= {"ao", "sr50"}


def test_appearance_weight_override_tracks_with_one_branch(ws, cell_runs):
    """--model.appearance_weight 1 tracks with the appearance branch alone: the same boxes with
    either semantic branch; 0 with the semantic branch alone."""
    from src.training.checkpoint import load_checkpoint_checked
    a, b = (load_checkpoint_checked(ws[k]) for k in ("ckpt", "other"))
    same = {k: np.array_equal(a[k].asnumpy(), b[k].asnumpy()) for k in a if k.startswith(("appearance.", "semantic."))}
    assert all(v for k, v in same.items() if k.startswith("appearance.")) and not same["semantic.backbone.conv1.weight"]
    runs = {key: _eval(ws, "OTBSYN", "w{}_{}".format(*key), "--ckpt", ws[key[1]], "--model.appearance_weight", key[0])
            for key in (("1", "ckpt"), ("1", "other"), ("0", "ckpt"))}
    for (w, _), (record, _) in runs.items():
        assert record["model"]["appearance_weight"] == float(w)
    _, fused = cell_runs["OTBSYN"]
    for seq in fused:
        # the same operations on the same appearance maps; 0 x the (finite) semantic map is 0 exactly
        np.testing.assert_array_equal(runs["1", "ckpt"][1][seq], runs["1", "other"][1][seq])
    # each branch alone tracks otherwise than the fusion (a weight that did not reach the network
    # would give the fused boxes)
    distance = {key: max(np.abs(b[seq] - fused[seq]).max() for seq in fused) for key, (_, b) in runs.items()}
    assert min(distance.values()) > 1, distance


def test_exports_have_the_two_input_template_and_a_model_override_is_refused(ws):
    for fmt, folder in ws["exports"].items():
        desc = json.loads((ws["root"] / fmt / "tinysa.json").read_text())
        assert desc["arch"] == "sasiam" and desc["config"]["model"]["appearance_weight"] == 0.3
        assert [i["name"] for i in desc["graphs"]["template"]["inputs"]] == ["z_a", "z_s"]
        assert [i["name"] for i in desc["graphs"]["search"]["inputs"]] == ["x", "kernel0", "kernel1"]
    # the fusion weight is a constant of the exported search graph: overriding it would be recorded
    # in eval.json without changing the boxes
    folder, _ = ws["layouts"]["OTBSYN"]
    out = ws["root"] / "refused"
    with pytest.raises(SystemExit) as e:
        importlib.import_module("eval").main([
            "--backend", "onnx", "--model_dir", ws["exports"]["ONNX"], "--model.appearance_weight", "1",
            "--dataset_path", str(folder), "--dataset_name", "OTBSYN", "--results_dir", str(out / "results"),
            "--filename", str(out / "eval.json"), "--plots", "false"])
    assert e.value.code == (f"eval.py: config 'tinysa' has model.appearance_weight 1.0, the graphs in "
                            f"{ws['exports']['ONNX']} were exported with 0.3 (exported graphs fix the model.* "
                            f"settings: export the checkpoint with them)"), e.value.code
    assert not out.exists()


@pytest.mark.parametrize("dataset", ["VOTSYN", "OTBSYN"])
def test_eval_on_the_exports_gives_the_cells_boxes(ws, cell_runs, cell_margins, dataset):
    ref_record, ref = cell_runs[dataset]
    for fmt in FORMATS:
        record, boxes = _eval(ws, dataset, fmt, "--backend", fmt.lower(), "--model_dir", ws["exports"][fmt])
        assert record["backend"] == fmt.lower() and boxes.keys() == ref.keys()
        ties = {}
        for seq in ref:
            # the same codes and boxes within 0.5 px (ONNX: float32 rounding of another runtime, about
            # 1e-6 of the maps), except from a frame whose upsampled peak is a near-tie in the Cell's
            # run (tests/tie_margins.py; once seen on a CI machine: 0.52 px in x and y, one upsampled
            # pixel); a VOT failure or re-init at another frame fails the comparison of codes
            _, ties[seq] = compare_allowing_ties(boxes[seq], ref[seq], cell_margins[dataset][seq],
                                                 one_pass=dataset != "VOTSYN")
        if any(ties.values()):      # from a tie on, the runs follow different states
            continue
        scores = flatten(record["all_videos"])
        for key, value in flatten(ref_record["all_videos"]).items():
            if "fps" not in key:
                np.testing.assert_allclose(scores[key], value, rtol=0, atol=1e-3, err_msg=f"{fmt} {key}")


def test_demo_gives_the_one_pass_boxes_on_the_cell_and_the_export(ws, cell_runs, cell_margins):
    demo = importlib.import_module("demo")
    folder, _ = ws["layouts"]["OTBSYN"]
    seq = "syn_test_0000"
    _, otb = cell_runs["OTBSYN"]
    boxes = {}
    for backend, model in (("mindspore", ("--ckpt", ws["ckpt"])), ("onnx", ("--model_dir", ws["exports"]["ONNX"]))):
        out = ws["root"] / "demo" / backend
        result = demo.main(["--backend", backend, *model, "--video", str(folder / seq / "img"),
                            "--output_dir", str(out), "--save_video", "false"])
        boxes[backend] = np.loadtxt(os.path.join(result, "boxes.txt"), delimiter=",")
        shutil.rmtree(out)
    assert boxes["mindspore"].shape == (FRAMES, 4)
    np.testing.assert_allclose(boxes["mindspore"], otb[seq], rtol=0, atol=1e-4)    # demo writes 4 decimals
    compare_allowing_ties(boxes["onnx"], otb[seq], cell_margins["OTBSYN"][seq], one_pass=True)   # within 0.5 px

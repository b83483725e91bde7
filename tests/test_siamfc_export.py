"""SiamFC exported (MINDIR, ONNX) and tracked from the export.

* the export writes the graphs SiamFC declares (template; search over the frame's
  track.scale_num crops as one batch) with a response-map decoder in the JSON;
* the exported graphs reproduce the Cell, and with the golden weights converted by the
  project's converter, the reference's three-scale responses (io.npz);
* ``eval.py --backend onnx|mindir`` with a SiamFC export gives the boxes of
  ``--backend mindspore`` on a short synthetic sequence;
* a config that does not fit the export (another scale_num) is refused before tracking.
"""
import importlib
import json
import os

import numpy as np
import pytest

from conftest import ROOT, synthetic_test_sets
from src.config import load_config, replace, to_yaml
from src.export import export_checkpoint, read_export, sample_io
from src.tracker.backends import load_exported

pytestmark = pytest.mark.slow          # exports and eval.py runs: many seconds each

# the quick-start SiamFC network (AlexNetV1 at width 0.25): random weights are enough to compare
# back-ends, which run the same arithmetic up to float32 rounding
TINY = os.path.join(ROOT, "configs", "quickstart_siamfc.yaml")
FORMATS = ("MINDIR", "ONNX")


def _rel_diff(a, b):
    return float(np.abs(np.asarray(a, np.float64) - b).max() / max(np.abs(b).max(), 1e-12))


def _numpy(x):
    return x.asnumpy() if hasattr(x, "asnumpy") else np.asarray(x)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(checkpoint, {format: JSON path}) of a random quick-start SiamFC and its two exports."""
    import mindspore as ms
    from src.models import build_model
    from src.training.checkpoint import save_checkpoint_atomic
    root = tmp_path_factory.mktemp("siamfc_export")
    ms.set_seed(3)
    cfg = replace(load_config(TINY), name="tinyfc")
    ckpt = str(root / "tinyfc.ckpt")
    save_checkpoint_atomic(build_model(cfg), ckpt, append_dict={"config": to_yaml(cfg)})
    return ckpt, {fmt: export_checkpoint(ckpt, str(root / fmt), fmt) for fmt in FORMATS}


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_writes_the_declared_graphs_and_decoder(tiny, fmt):
    ckpt, exports = tiny
    desc, folder = read_export(exports[fmt])
    assert sorted(os.listdir(folder)) == sorted(["tinyfc.json", f"tinyfc_template{_ext(fmt)}",
                                                 f"tinyfc_search{_ext(fmt)}"])
    assert desc["format_version"] == 2 and desc["arch"] == "siamfc"
    assert desc["decoder"] == {"kind": "response_map", "response_size": 17, "total_stride": 8, "response_up": 16,
                               "upsample": "bicubic", "scale_num": 3}
    assert desc["input"] == {"layout": "NCHW", "color": "RGB", "range": [0, 255], "dtype": "float32",
                             "crop_rounding": "round_half_even"}
    search = desc["graphs"]["search"]
    assert [(i["name"], i["shape"]) for i in search["inputs"]] == [("x", [3, 3, 255, 255]), ("kernel0", [1, 64, 6, 6])]
    assert [(o["name"], o["shape"]) for o in search["outputs"]] == [("response", [3, 1, 17, 17])]
    template = desc["graphs"]["template"]
    assert [(i["name"], i["shape"]) for i in template["inputs"]] == [("z", [1, 3, 127, 127])]
    assert [o["name"] for o in template["outputs"]] == ["kernel0"]
    assert desc["track"]["scale_num"] == 3 and desc["config"]["model"]["arch"] == "siamfc"
    assert not {"score_size", "anchor", "refine"} & set(desc)     # format 1's anchor keys live in decoder


def _ext(fmt):
    return {"MINDIR": ".mindir", "ONNX": ".onnx"}[fmt]


@pytest.mark.parametrize("fmt", FORMATS)
def test_exported_graphs_reproduce_the_cell(tiny, fmt):
    from src.training.checkpoint import load_model_checkpoint
    ckpt, exports = tiny
    cfg, net = load_model_checkpoint(ckpt)
    desc, backend = load_exported(exports[fmt], fmt.lower())
    io = sample_io(cfg, net)
    kernels = backend.template(io["template"].inputs[0])
    assert _rel_diff(_numpy(kernels[0]), io["template"].outputs[0]) <= 1e-5
    out = backend.track(io["search"].inputs[0], kernels)
    assert list(out) == ["response"] and out["response"].shape == (3, 1, 17, 17)
    # float32 rounding of another runtime's kernels only (measured 2.4e-6 ONNX, 0 MINDIR)
    assert _rel_diff(out["response"], io["search"].outputs[0]) <= 1e-5
    # the search graph is a batch of the frame's three scales; one crop alone is refused by name
    with pytest.raises(ValueError, match=r"exported search graph takes x of shape \[3, 3, 255, 255\], "
                                         r"got \[1, 3, 255, 255\]"):
        backend.track(io["search"].inputs[0][:1], kernels)


@pytest.mark.golden
@pytest.mark.parametrize("fmt", FORMATS)
def test_exported_golden_weights_reproduce_the_reference(golden_dir, tmp_path, fmt):
    """The golden weights, converted by the project's converter and exported: the reference's
    three-scale responses within 1e-5 of their max magnitude (the parity test's tolerance)."""
    from src.tools.convert_pth import convert
    ckpt = str(tmp_path / "golden.ckpt")
    _, missing = convert("siamfc", os.path.join(golden_dir, "siamfc", "model.pth.xz"), ckpt)
    assert not missing
    desc, backend = load_exported(export_checkpoint(ckpt, str(tmp_path / fmt), fmt), fmt.lower())
    io = np.load(os.path.join(golden_dir, "siamfc", "io.npz"))
    kernels = backend.template(io["template"])
    assert _rel_diff(_numpy(kernels[0]), io["zf"]) <= 1e-5
    got = backend.track(io["search_3scale"], kernels)["response"]
    assert _rel_diff(got, io["responses_3scale"]) <= 1e-5


# --------------------------------------------------------------------------
# eval.py on the exports

@pytest.fixture(scope="module")
def otb_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("siamfc_eval")
    synthetic_test_sets(root, seed=5, videos=2, frames=12)
    return root


def _eval(otb_data, tag, *args):
    """eval.py's main in this process (saves the interpreter and MindSpore start-up; a refusal
    raises SystemExit). Returns {sequence: (frames, 4) boxes}."""
    out = otb_data / tag
    importlib.import_module("eval").main([
        *args, "--dataset_path", str(otb_data / "data" / "test" / "OTBSYN"), "--dataset_name", "OTBSYN",
        "--results_dir", str(out / "results"), "--filename", str(out / "eval.json"), "--plots", "false",
        "--tracker_name", "t"])
    record = json.loads((out / "eval.json").read_text())
    folder = out / "results" / "OTBSYN" / "t"
    boxes = {f.stem: np.loadtxt(f, delimiter=",") for f in sorted(folder.glob("*.txt"))}
    return record, boxes


def test_eval_on_the_exports_gives_the_cells_boxes(tiny, otb_data):
    ckpt, exports = tiny
    ref_record, ref = _eval(otb_data, "ms", "--ckpt", ckpt)
    assert len(ref) == 2 and all(b.shape == (12, 4) for b in ref.values())
    for fmt in FORMATS:
        record, boxes = _eval(otb_data, fmt, "--backend", fmt.lower(), "--model_dir",
                              os.path.dirname(exports[fmt]))
        assert record["backend"] == fmt.lower() and record["exported_model"]
        assert boxes.keys() == ref.keys()
        # within 0.5 px in every frame. SiamFC's upsampled peak can be a near-tie (the golden
        # weights' README: margins of 1e-11..4e-9 against peaks of ~3e-5, so 1e-5 relative noise
        # moves a peak by one 272-pixel, ~0.8 image px); on these frames no decision is that close:
        # the back-ends gave identical boxes (measured max difference 0.000 px, MINDIR and ONNX)
        for seq in ref:
            assert np.abs(boxes[seq] - ref[seq]).max() < 0.5, (fmt, seq)
        for key, value in ref_record["all_videos"].items():
            if "fps" in key:
                continue
            assert abs(record["all_videos"][key] - value) <= 1e-3, (fmt, key)


def test_eval_refuses_a_config_that_does_not_fit_the_export(tiny, otb_data):
    """--track.scale_num changes the search batch the export fixed: one line, before any tracking."""
    ckpt, exports = tiny
    folder = os.path.dirname(exports["ONNX"])
    out = otb_data / "refused"
    with pytest.raises(SystemExit) as e:
        importlib.import_module("eval").main([
            "--backend", "onnx", "--model_dir", folder, "--track.scale_num", "5",
            "--dataset_path", str(otb_data / "data" / "test" / "OTBSYN"), "--dataset_name", "OTBSYN",
            "--results_dir", str(out / "results"), "--filename", str(out / "eval.json"), "--plots", "false"])
    text = e.value.code
    assert text == (f"eval.py: the exported search graph in {folder} takes x of shape [3, 3, 255, 255], config "
                    "'tinyfc' feeds [5, 3, 255, 255] (the track.* settings fix the graphs' input shapes: "
                    "re-export with them)"), text
    assert not out.exists()

"""Export description formats: the decoder entry each family declares, format 2 as written,
format 1 (tests/fixtures/export_v1_onnx/, made by the code before graph declarations) read
and upgraded in memory, and the checks that an export fits the config it runs with.

* the decoder of every family agrees with the shapes its graphs really return;
* a format-1 export loads through load_tracker_model and tracks as the checkpoint it was
  exported from does on the Cell;
* bad or unknown descriptions are one-line errors naming the file.
"""
import copy
import json
import os
import shutil

import numpy as np
import pytest

from conftest import ROOT, synthetic_test_sets
from src.config import load_config, parse_overrides, replace
from src.export import read_export, sample_io, upgrade_format1
from src.models.registry import get_family

FIXTURES = os.path.join(ROOT, "tests", "fixtures")
V1_EXPORT = os.path.join(FIXTURES, "export_v1_onnx")
QUICKSTART_CKPT = os.path.join(FIXTURES, "quickstart_siamrpn.ckpt")


def _config(name, **changes):
    return replace(load_config(os.path.join(ROOT, "configs", name)), **changes)


# --------------------------------------------------------------------------
# the decoder entry of each family (what the C++ app chooses its logic by)

def test_decoder_entries_of_the_three_families():
    rpn = _config("siamrpn_alex_dw.yaml")
    assert get_family("siamrpn").decoder(rpn) == {
        "kind": "anchors", "score_size": 21, "stride": 8, "ratios": [0.33, 0.5, 1.0, 2.0, 3.0],
        "scales": [8.0], "mask": "none"}      # pysot SiamRPN-AlexNet at 287: (287 - 127) / 8 + 1
    base, sharp = _config("siammask_base.yaml"), _config("siammask_sharp.yaml")
    assert get_family("siammask").decoder(base)["mask"] == "coarse"
    assert get_family("siammask").decoder(sharp) == {
        "kind": "anchors", "score_size": 25, "stride": 8, "ratios": [0.33, 0.5, 1.0, 2.0, 3.0],
        "scales": [8.0], "mask": "refine"}    # SiamMask at 255 with base_size 8: 25x25
    fc = _config("siamfc_alexnet.yaml")
    assert get_family("siamfc").decoder(fc) == {
        "kind": "response_map", "response_size": 17, "total_stride": 8, "response_up": 16,
        "upsample": "bicubic", "scale_num": 3}
    # the decoder follows the tracking config it is exported with
    fc5 = _config("siamfc_alexnet.yaml", **{"track.scale_num": 5, "track.instance_size": 271})
    d = get_family("siamfc").decoder(fc5)
    assert (d["scale_num"], d["response_size"]) == (5, 19)


TINY = {
    "siamrpn": ("siamrpn_alex_dw.yaml", {"model.width_mult": 0.125, "model.feature_channels": 16}),
    "siammask": ("siammask_sharp.yaml", {}),      # ResNet-50 has no width multiplier; the refine head fixes its widths
    "siamfc": ("siamfc_alexnet.yaml", {"model.width_mult": 0.125}),
}


@pytest.mark.slow
@pytest.mark.parametrize("arch", sorted(TINY))
def test_decoder_matches_the_graph_outputs(arch):
    """The shapes an application sizes its buffers by (decoder) are those the graphs return."""
    import mindspore as ms
    from src.models import build_model
    name, changes = TINY[arch]
    cfg = _config(name, **changes)
    ms.set_seed(1)
    io = sample_io(cfg, build_model(cfg))
    decoder = get_family(arch).decoder(cfg)
    specs = get_family(arch).graphs(cfg)
    assert list(io) == [s.name for s in specs]
    for spec in specs:
        assert io[spec.name].output_names == list(spec.outputs)
        for (name, shape), value in zip(spec.inputs, io[spec.name].inputs):
            assert shape is None or tuple(value.shape) == tuple(shape), (spec.name, name)
    out = dict(zip(io["search"].output_names, io["search"].outputs))
    if decoder["kind"] == "anchors":
        s, a = decoder["score_size"], len(decoder["ratios"]) * len(decoder["scales"])
        assert out["cls"].shape == (1, 2 * a, s, s) and out["loc"].shape == (1, 4 * a, s, s)
        assert ("mask" in out) == (decoder["mask"] != "none")
        assert ("refine" in io) == (decoder["mask"] == "refine")
    else:
        r, n = decoder["response_size"], decoder["scale_num"]
        assert out["response"].shape == (n, 1, r, r)
        assert io["search"].inputs[0].shape == (n, 3, cfg.track.instance_size, cfg.track.instance_size)


# --------------------------------------------------------------------------
# format 1

def test_format1_fixture_is_upgraded_in_memory():
    desc, folder = read_export(V1_EXPORT)
    assert folder == os.path.abspath(V1_EXPORT)
    with open(os.path.join(V1_EXPORT, "quickstart_siamrpn.json")) as f:
        raw = json.load(f)
    assert raw["format_version"] == 1                      # the file itself is left as it is
    assert desc["format_version"] == 2 and desc["upgraded_from"] == 1
    assert desc["decoder"] == {"kind": "anchors", "score_size": raw["score_size"], "stride": 8,
                               "ratios": [float(r) for r in raw["anchor"]["ratios"]],
                               "scales": [float(s) for s in raw["anchor"]["scales"]], "mask": "none"}
    assert not {"score_size", "anchor", "refine"} & set(desc)
    assert desc["graphs"] == raw["graphs"] and desc["input"] == raw["input"]


def _v1(outputs, refine=False):
    return {"format_version": 1, "arch": "siammask", "file_format": "ONNX", "config": {}, "refine": refine,
            "score_size": 25, "anchor": {"stride": 8, "ratios": [0.33, 0.5, 1, 2, 3], "scales": [8]},
            "graphs": {"search": {"file": "s.onnx", "outputs": [{"name": n} for n in outputs]}}}


def test_format1_mask_kind_comes_from_its_graphs():
    sm = ["cls", "loc", "mask", "f0", "f1", "f2", "corr_feature"]
    assert upgrade_format1(_v1(sm, refine=True), "m.json")["decoder"]["mask"] == "refine"
    assert upgrade_format1(_v1(sm), "m.json")["decoder"]["mask"] == "coarse"
    assert upgrade_format1(_v1(["cls", "loc"]), "m.json")["decoder"]["mask"] == "none"
    original = _v1(sm)
    kept = copy.deepcopy(original)
    upgrade_format1(original, "m.json")
    assert original == kept                                # a new dict, the caller's untouched
    # format 1 had no response-map decoder: such an export is refused, not decoded as anchors
    with pytest.raises(ValueError, match=r"^m.json: format_version 1 export whose search graph returns "
                                         r"\['response'\], not the anchor outputs cls, loc; re-export"):
        upgrade_format1(_v1(["response"]), "m.json")


def _copy_fixture(tmp_path, edit):
    folder = tmp_path / "export"
    shutil.copytree(V1_EXPORT, folder)
    path = folder / "quickstart_siamrpn.json"
    desc = json.loads(path.read_text())
    edit(desc)
    path.write_text(json.dumps(desc))
    return folder, path


def test_unknown_or_incomplete_descriptions_are_one_line_errors(tmp_path):
    folder, path = _copy_fixture(tmp_path, lambda d: d.update(format_version=3))
    with pytest.raises(ValueError) as e:
        read_export(str(folder))
    assert str(e.value) == f"{path}: format_version 3 is newer than this code (this code reads 1 and 2); " \
                           "update the code"
    folder, path = _copy_fixture(tmp_path / "v2", lambda d: d.update(format_version=2))   # v2 without decoder
    with pytest.raises(ValueError, match=r"quickstart_siamrpn.json: missing key 'decoder'"):
        read_export(str(folder))
    folder, path = _copy_fixture(tmp_path / "v1", lambda d: d.pop("anchor"))
    with pytest.raises(ValueError, match=r"quickstart_siamrpn.json: missing key 'anchor' \(format_version 1\)"):
        read_export(str(folder))


# --------------------------------------------------------------------------
# a format-1 export runs as its checkpoint

@pytest.mark.slow
def test_format1_export_tracks_as_its_checkpoint(tmp_path):
    import cv2
    from src.evaluation.datasets import load_dataset
    from src.tracker import build_tracker
    from src.tracker.backends import load_tracker_model
    cfg_onnx, onnx_backend, extra = load_tracker_model("onnx", V1_EXPORT)
    cfg_ms, ms_backend, _ = load_tracker_model("mindspore", QUICKSTART_CKPT)
    assert extra["backend"] == "onnx"
    assert cfg_onnx == cfg_ms          # both version-1 configs, migrated the same way
    synthetic_test_sets(tmp_path, seed=4, videos=1, frames=8)
    video = next(iter(load_dataset("VOTSYN", str(tmp_path / "data" / "test" / "VOTSYN"))))
    frames = [cv2.imread(f) for f in video.img_names]
    gt = np.asarray(video.gt[0], np.float64).reshape(-1, 2)
    x0, y0 = gt.min(axis=0)
    x1, y1 = gt.max(axis=0)
    boxes, scores = {}, {}
    for name, cfg, backend in (("mindspore", cfg_ms, ms_backend), ("onnx", cfg_onnx, onnx_backend)):
        tracker = build_tracker(cfg, backend)
        tracker.init(frames[0], [x0, y0, x1 - x0, y1 - y0])
        out = [tracker.track(frame) for frame in frames[1:]]
        boxes[name] = np.array([b for b, _ in out], np.float64)
        scores[name] = np.array([s for _, s in out])
    # the quick-start model tracks the target (a box that stays near it, confident scores) ...
    assert scores["mindspore"].min() > 0.5, scores["mindspore"]
    # ... and the ONNX graphs of format 1 give the same boxes as the Cell: onnxruntime and MindSpore
    # differ by float32 rounding only (~1e-6 relative on the outputs), far below a pixel
    assert np.abs(boxes["onnx"] - boxes["mindspore"]).max() < 0.01
    assert np.abs(scores["onnx"] - scores["mindspore"]).max() < 1e-4


@pytest.mark.slow
def test_export_that_does_not_fit_the_config_is_refused_before_tracking(tmp_path):
    from src.tracker.backends import load_tracker_model
    with pytest.raises(ValueError) as e:
        load_tracker_model("onnx", V1_EXPORT, overrides=parse_overrides(["--track.instance_size", "255"]))
    text = str(e.value)
    assert text == (f"the exported search graph in {V1_EXPORT} takes x of shape [1, 3, 287, 287], config "
                    "'quickstart_siamrpn' feeds [1, 3, 255, 255] (the track.* settings fix the graphs' input "
                    "shapes: re-export with them)"), text

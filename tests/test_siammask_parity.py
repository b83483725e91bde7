"""SiamMask: converted reference weights reproduce the PyTorch outputs.

Golden data: ../shared/golden/siammask_sharp (foolwood/SiamMask ``Custom`` with
seeded random weights; the same tensors re-keyed for pysot ``siammask_r50_l3``).
"""
import os

import mindspore as ms
import numpy as np
import pytest

from src.config import load_config
from src.models import build_model
from src.models.head.mask import nearest_indices
from src.models.siammask import refine_inputs
from src.models.split import RefineNet, SearchNet, TemplateNet
from src.tools.convert_pth import convert, convert_backbone, load_torch_state_dict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLD = "siammask_sharp"
TOL = 1e-4


def rel_err(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.fixture(scope="module")
def ckpts(golden_dir, tmp_path_factory):
    """Both golden weight files, each converted once."""
    tmp = tmp_path_factory.mktemp("siammask_ckpt")
    out = {}
    for name, weights in (("legacy", "model.pth.xz"), ("pysot", "model_pysot_keys.pth.xz")):
        dst = str(tmp / f"{name}.ckpt")
        unmapped, missing = convert("siammask_sharp", os.path.join(golden_dir, GOLD, weights), dst)
        assert unmapped == [] and missing == [], (name, unmapped, missing)
        out[name] = dst
    return out


@pytest.fixture(scope="module")
def io(golden_dir):
    return dict(np.load(os.path.join(golden_dir, GOLD, "io.npz")))


@pytest.fixture(scope="module")
def net(ckpts):
    cfg = load_config(os.path.join(ROOT, "configs", "siammask_sharp.yaml"))
    model = build_model(cfg)
    not_loaded, _ = ms.load_param_into_net(model, ms.load_checkpoint(ckpts["legacy"]))
    assert not not_loaded
    model.set_train(False)
    return model


@pytest.fixture(scope="module")
def outputs(net, io):
    kernels = TemplateNet(net)(ms.Tensor(io["template"]))
    outs = SearchNet(net)(ms.Tensor(io["search"]), *kernels)
    names = ("cls", "loc", "mask", "f0", "f1", "f2", "corr_feature")
    return kernels, dict(zip(names, (o.asnumpy() for o in outs)))


def test_both_key_namings_give_the_same_tensors(ckpts):
    a, b = ms.load_checkpoint(ckpts["legacy"]), ms.load_checkpoint(ckpts["pysot"])
    assert a.keys() == b.keys()
    assert "refine: true" in a["config"] and "arch: siammask" in a["config"]
    for k in a:
        if k != "config":
            np.testing.assert_array_equal(a[k].asnumpy(), b[k].asnumpy(), err_msg=k)


def test_features_match_reference(net, io):
    zf = net.neck(net.backbone(ms.Tensor(io["template"]))[3]).asnumpy()
    assert zf.shape == (1, 256, 7, 7)
    assert rel_err(zf, io["zf"]) <= TOL
    xf = net.neck(net.backbone(ms.Tensor(io["search"]))[3]).asnumpy()
    assert xf.shape == (1, 256, 31, 31)
    assert rel_err(xf, io["xf"]) <= TOL


@pytest.mark.parametrize("name", ["cls", "loc", "mask", "f0", "f1", "f2", "corr_feature"])
def test_search_outputs_match_reference(outputs, io, name):
    out = outputs[1][name]
    assert out.shape == io[name].shape
    assert rel_err(out, io[name]) <= TOL, name


def test_refine_matches_reference(net, outputs, io):
    o = outputs[1]
    refine = RefineNet(net)
    for y, x in io["refine_positions_yx"]:
        p = refine_inputs(o["f0"], o["f1"], o["f2"], o["corr_feature"], y, x)
        assert [a.shape for a in p] == [(1, 64, 61, 61), (1, 256, 31, 31), (1, 512, 15, 15), (1, 256, 1, 1)]
        out = refine(*[ms.Tensor(a) for a in p]).asnumpy()
        ref = io[f"refine_y{y}_x{x}"]
        assert out.shape == ref.shape == (1, 127 * 127)
        assert rel_err(out, ref) <= TOL, (y, x)


def test_search_branch_is_batch_independent(net, outputs, io):
    """Sample 0 of a batch of two equals the single-sample result."""
    kernels, single = outputs
    z = np.concatenate([io["template"], io["template"][:, :, ::-1, :]])
    x = np.concatenate([io["search"], io["search"][:, :, :, ::-1]])
    k2 = TemplateNet(net)(ms.Tensor(np.ascontiguousarray(z)))
    for a, b in zip(k2, kernels):
        assert rel_err(a.asnumpy()[:1], b.asnumpy()) <= 1e-5
    outs = SearchNet(net)(ms.Tensor(np.ascontiguousarray(x)), *k2)
    for name, out in zip(("cls", "loc", "mask", "f0", "f1", "f2", "corr_feature"), outs):
        out = out.asnumpy()
        assert out.shape[0] == 2
        assert rel_err(out[:1], single[name]) <= 1e-5, name
        assert rel_err(out[1:], single[name]) > 1e-3, name      # the second sample really differs


def test_training_forward_shapes(net, io):
    """construct(z, x) (base-stage training forward) gives cls, loc and the 63x63 masks."""
    cls, loc, mask = net(ms.Tensor(io["template"]), ms.Tensor(io["search"]))
    assert (cls.shape, loc.shape, mask.shape) == ((1, 10, 25, 25), (1, 20, 25, 25), (1, 3969, 25, 25))
    np.testing.assert_allclose(mask.asnumpy(), io["mask"], atol=TOL * np.abs(io["mask"]).max())


def test_base_config_has_no_refine_and_reads_sharp_weights(ckpts):
    cfg = load_config(os.path.join(ROOT, "configs", "siammask_base.yaml"))
    base = build_model(cfg)
    assert not any(p.name.startswith("refine_head.") for p in base.get_parameters())
    params = {k: v for k, v in ms.load_checkpoint(ckpts["legacy"]).items() if not k.startswith("refine_head.")}
    not_loaded, unused = ms.load_param_into_net(base, params)
    assert not not_loaded


def test_nearest_indices_follow_pytorch():
    """PyTorch nearest: src = floor(dst * in / out)."""
    for i, o in ((15, 31), (31, 61), (61, 127), (7, 3)):
        np.testing.assert_array_equal(nearest_indices(i, o), (np.arange(o) * i) // o)


def test_refine_inputs_pad_with_zeros_at_the_border():
    f0 = np.ones((1, 64, 125, 125), np.float32)
    f1 = np.ones((1, 256, 63, 63), np.float32)
    f2 = np.ones((1, 512, 31, 31), np.float32)
    corr = np.arange(256 * 25 * 25, dtype=np.float32).reshape(1, 256, 25, 25)
    p0, p1, p2, p3 = refine_inputs(f0, f1, f2, corr, 0, 24)
    assert p0[0, 0, :16].sum() == 0 and p0[0, 0, 16:, :45].min() == 1 and p0[0, 0, :, 45:].sum() == 0
    assert p2[0, 0, :4].sum() == 0 and p2[0, 0, 4:, :11].min() == 1 and p2[0, 0, :, 11:].sum() == 0
    assert p1.shape == (1, 256, 31, 31)
    np.testing.assert_array_equal(p3[0, :, 0, 0], corr[0, :, 0, 24])


def test_resnet50_backbone_conversion(golden_dir, tmp_path):
    """ImageNet ResNet-50 keys -> backbone-only checkpoint; torchvision's 1x1 downsample
    convs (SiamMask's are 3x3) are skipped and listed, layer4/fc ignored."""
    import torch
    from src.training.trainer import load_pretrained_backbone
    state = load_torch_state_dict(os.path.join(golden_dir, GOLD, "model_pysot_keys.pth.xz"))
    resnet = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
    odd = ("layer2.0.downsample.0.weight", "layer3.0.downsample.0.weight")
    tv = {k: torch.from_numpy(v) for k, v in resnet.items()}
    for k in odd:   # torchvision layout: 1x1 downsample convs
        tv[k] = torch.zeros(tv[k].shape[0], tv[k].shape[1], 1, 1)
    tv["layer4.0.conv1.weight"] = torch.zeros(512, 1024, 1, 1)
    tv["fc.weight"], tv["fc.bias"] = torch.zeros(1000, 2048), torch.zeros(1000)
    src = tmp_path / "resnet50.pth"
    torch.save(tv, str(src))
    dst = str(tmp_path / "backbone.ckpt")
    unmapped, mismatched, missing = convert_backbone("resnet50_backbone", str(src), dst)
    assert sorted(unmapped) == ["backbone.layer4.0.conv1.weight", "fc.bias", "fc.weight"]
    assert [m[1] for m in mismatched] == [f"backbone.{k}" for k in odd]
    assert mismatched[0][2:] == ((512, 256, 1, 1), (512, 256, 3, 3))
    assert missing == sorted(f"backbone.{k}" for k in odd)
    params = ms.load_checkpoint(dst)
    assert "config" not in params and all(k.startswith("backbone.") for k in params)
    np.testing.assert_array_equal(params["backbone.layer1.0.bn1.moving_variance"].asnumpy(),
                                  resnet["layer1.0.bn1.running_var"])
    model = build_model(load_config(os.path.join(ROOT, "configs", "siammask_base.yaml")))
    load_pretrained_backbone(model, dst)
    np.testing.assert_array_equal(model.backbone.conv1.weight.asnumpy(), resnet["conv1.weight"])

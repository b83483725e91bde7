"""SiamFC: converted siamfc-pytorch weights reproduce the reference outputs (../shared/golden/siamfc).

Tolerance: 1e-5 of each output's max magnitude. The golden README measures the reference
against itself at up to 4.2e-6 (batch 1 vs batch 3, oneDNN on/off), and a BN eps of 1e-5
instead of the reference 1e-6 at 4.3e-5, so the bound separates the two.
"""
import lzma
import os

import mindspore as ms
import numpy as np
import pytest

from src.config import load_config, to_yaml
from src.models import build_model
from src.models.split import SearchNet, TemplateNet
from src.tools.convert_pth import ConversionError, convert, load_torch_state_dict, main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "configs", "siamfc_alexnet.yaml")
TOL = 1e-5


@pytest.fixture(scope="module")
def release(golden_dir, tmp_path_factory):
    """The golden weights as a plain siamfc-pytorch .pth (what the releases are)."""
    path = tmp_path_factory.mktemp("siamfc") / "siamfc_alexnet_e50.pth"
    with lzma.open(os.path.join(golden_dir, "siamfc", "model.pth.xz")) as f:
        path.write_bytes(f.read())
    return str(path)


@pytest.fixture(scope="module")
def converted(release, tmp_path_factory):
    dst = str(tmp_path_factory.mktemp("ckpt") / "siamfc.ckpt")
    unmapped, missing = convert("siamfc", release, dst)
    assert unmapped == [] and missing == [], (unmapped, missing)
    return dst


def rel_err(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def loaded_net(ckpt, cfg=None):
    net = build_model(cfg or load_config(CONFIG))
    not_loaded, _ = ms.load_param_into_net(net, ms.load_checkpoint(ckpt))
    assert not not_loaded
    net.set_train(False)
    return net


def test_outputs_match_reference(converted, golden_dir):
    net = loaded_net(converted)
    io = np.load(os.path.join(golden_dir, "siamfc", "io.npz"))
    t = ms.Tensor
    errors = {}
    x = t(io["template"])
    for i in range(1, 5):   # per-layer template features (conv, BN, ReLU, pool)
        x = getattr(net.backbone, f"conv{i}")(x)
        errors[f"template_conv{i}"] = rel_err(x.asnumpy(), io[f"template_conv{i}"])
    zf, = TemplateNet(net)(t(io["template"]))
    errors["zf"] = rel_err(zf.asnumpy(), io["zf"])
    search = SearchNet(net)     # one graph cell, run with search batches of 1 and 3
    for key, xf_key, r_key in (("search_255", "xf_255", "response_255"),
                               ("search_3scale", "xf_3scale", "responses_3scale")):
        errors[xf_key] = rel_err(net.backbone(t(io[key])).asnumpy(), io[xf_key])
        response, = search(t(io[key]), zf)
        assert response.shape == io[r_key].shape
        errors[r_key] = rel_err(response.asnumpy(), io[r_key])
    # training-style pairs (127 / 239): each search crop against its own template
    pair = net(t(io["z_pair"]), t(io["x_pair_239"]))
    assert pair.shape == (2, 1, 15, 15)
    errors["responses_pair_15"] = rel_err(pair.asnumpy(), io["responses_pair_15"])
    assert max(errors.values()) <= TOL, errors


def test_wrapped_release_and_head_bias_option(release, converted, tmp_path):
    """{'model': {'module.' ...}} converts to the same tensors as the bare state_dict; with
    model.response_bias the head bias the release lacks is 0 (the reference output)."""
    import torch
    state = load_torch_state_dict(release)
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"epoch": 50, "model": {f"module.{k}": torch.from_numpy(v) for k, v in state.items()}}, str(wrapped))
    cfg = load_config(CONFIG, [("model.response_bias", True)])
    cfg_path = tmp_path / "bias.yaml"
    cfg_path.write_text(to_yaml(cfg))
    assert convert("siamfc", str(wrapped), str(tmp_path / "w.ckpt"), str(cfg_path)) == ([], [])
    a, b = ms.load_checkpoint(str(tmp_path / "w.ckpt")), ms.load_checkpoint(converted)
    assert set(a) - set(b) == {"head.bias"} and a["head.bias"].asnumpy().tolist() == [0.0]
    assert "response_bias: true" in a["config"] and "arch: siamfc" in b["config"]
    for k in b:
        if k != "config":
            np.testing.assert_array_equal(a[k].asnumpy(), b[k].asnumpy())
    net = loaded_net(str(tmp_path / "w.ckpt"), cfg)
    assert "head.bias" in [p.name for p in net.trainable_params()]


def test_converter_reports(release, tmp_path, capsys):
    """Unmapped and missing keys are reported; a truncated file is a one-line error."""
    import torch
    state = {k: torch.from_numpy(v) for k, v in load_torch_state_dict(release).items()}
    extra = tmp_path / "extra.pth"
    torch.save({**state, "head.out_scale": torch.ones(1)}, str(extra))
    assert convert("siamfc", str(extra), str(tmp_path / "e.ckpt")) == (["head.out_scale"], [])
    no_conv5 = tmp_path / "no_conv5.pth"
    torch.save({k: v for k, v in state.items() if "conv5" not in k}, str(no_conv5))
    with pytest.raises(ConversionError, match=r"no_conv5.pth: 2 model parameters not in the file, "
                                              r"e.g. backbone.conv5.0.bias, backbone.conv5.0.weight"):
        convert("siamfc", str(no_conv5), str(tmp_path / "x.ckpt"))
    main(["--arch", "siamfc", "--src", str(no_conv5), "--dst", str(tmp_path / "m.ckpt"), "--allow_missing"])
    assert "model parameter not in source (left at init): backbone.conv5.0.weight" in capsys.readouterr().out
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(open(release, "rb").read()[: os.path.getsize(release) // 2])
    for src, fragment in ((truncated, "not a readable PyTorch checkpoint"), (no_conv5, "2 model parameters")):
        with pytest.raises(SystemExit) as e:
            main(["--arch", "siamfc", "--src", str(src), "--dst", str(tmp_path / "x.ckpt")])
        message = str(e.value.code)
        assert message.startswith(f"convert_pth: {src}: {fragment}") and "\n" not in message, message
    assert not os.path.exists(tmp_path / "x.ckpt")


def test_batch_and_width():
    """Shapes for the tracker (one template, 3 scales) and training (paired); a narrow
    net keeps even widths for the two groups."""
    cfg = load_config(CONFIG, [("model.width_mult", 0.25)])
    net = build_model(cfg)
    net.set_train(False)
    assert [p.shape[0] for p in net.get_parameters() if p.name.endswith("0.bias")] == [24, 64, 96, 96, 64]
    rng = np.random.default_rng(0)
    zf, = TemplateNet(net)(ms.Tensor(rng.uniform(0, 255, (1, 3, 127, 127)).astype(np.float32)))
    assert zf.shape == (1, 64, 6, 6)
    x = ms.Tensor(rng.uniform(0, 255, (3, 3, 255, 255)).astype(np.float32))
    r = net.search(zf, x)
    assert r.shape == (3, 1, 17, 17)
    one = net.search(zf, x[1:2])
    assert np.abs(r.asnumpy()).max() > 0
    assert rel_err(one.asnumpy(), r.asnumpy()[1:2]) < 1e-5   # the batch does not mix crops

"""Converted official-format weights reproduce the PyTorch reference outputs."""
import os

import mindspore as ms
import numpy as np
import pytest

from src.config import load_config
from src.models import build_model
from src.models.split import SearchNet, TemplateNet
from src.tools.convert_pth import ConversionError, convert

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = {
    # name: (arch, golden weight file, golden io folder, search sizes)
    "pysot_dw": ("siamrpn_alex_dw", "siamrpn_alex_dwxcorr/model.pth.xz", "siamrpn_alex_dwxcorr", (287, 255)),
    "pysot_up": ("siamrpn_alex_up", "siamrpn_upchannel/model.pth.xz", "siamrpn_upchannel", (255, 271)),
    "dasiamrpn_legacy": ("siamrpn_alex_up", "siamrpn_upchannel/dasiamrpn_vot.model.xz", "siamrpn_upchannel",
                         (255, 271)),
}


@pytest.fixture(scope="module")
def converted(golden_dir, tmp_path_factory):
    out = {}
    tmp = tmp_path_factory.mktemp("ckpt")
    for name, (arch, weights, _, _) in CASES.items():
        dst = str(tmp / f"{name}.ckpt")
        unmapped, missing = convert(arch, os.path.join(golden_dir, weights), dst)
        assert unmapped == [] and missing == [], (unmapped, missing)
        out[name] = dst
    return out


def rel_err(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("name", sorted(CASES))
def test_outputs_match_reference(name, converted, golden_dir):
    arch, _, io_dir, sizes = CASES[name]
    cfg = load_config(os.path.join(ROOT, "configs", f"{arch}.yaml"))
    net = build_model(cfg)
    not_loaded, _ = ms.load_param_into_net(net, ms.load_checkpoint(converted[name]))
    assert not not_loaded
    net.set_train(False)
    io = np.load(os.path.join(golden_dir, io_dir, "io.npz"))
    assert rel_err(net.backbone(ms.Tensor(io["template"])).asnumpy(), io["zf"]) <= 1e-4
    kernels = TemplateNet(net)(ms.Tensor(io["template"]))
    search = SearchNet(net)
    for s in sizes:
        assert rel_err(net.backbone(ms.Tensor(io[f"search_{s}"])).asnumpy(), io[f"xf_{s}"]) <= 1e-4
        cls, loc = search(ms.Tensor(io[f"search_{s}"]), *kernels)
        assert rel_err(cls.asnumpy(), io[f"cls_{s}"]) <= 1e-4, f"cls at {s}"
        assert rel_err(loc.asnumpy(), io[f"loc_{s}"]) <= 1e-4, f"loc at {s}"


def test_wrapped_and_prefixed_state_dicts(golden_dir, tmp_path):
    """{'state_dict': ...} with a 'module.' prefix converts to the same tensors."""
    import torch
    from src.tools.convert_pth import load_torch_state_dict
    state = load_torch_state_dict(os.path.join(golden_dir, "siamrpn_alex_dwxcorr/model.pth.xz"))
    wrapped = {"epoch": 20, "state_dict": {f"module.{k}": torch.from_numpy(v) for k, v in state.items()}}
    src = tmp_path / "wrapped.pth"
    torch.save(wrapped, str(src))
    convert("siamrpn_alex_dw", str(src), str(tmp_path / "a.ckpt"))
    direct = tmp_path / "b.ckpt"
    convert("siamrpn_alex_dw", os.path.join(golden_dir, "siamrpn_alex_dwxcorr/model.pth.xz"), str(direct))
    a, b = ms.load_checkpoint(str(tmp_path / "a.ckpt")), ms.load_checkpoint(str(direct))
    assert a.keys() == b.keys()
    assert a["config"] == b["config"] and "head: depthwise" in a["config"]   # the arch's config rides along
    for k in a:
        if k != "config":
            np.testing.assert_array_equal(a[k].asnumpy(), b[k].asnumpy())


def test_converter_errors(golden_dir, tmp_path):
    import torch
    with pytest.raises(ConversionError, match="checkpoint not found: .*missing.pth"):
        convert("siamrpn_alex_dw", str(tmp_path / "missing.pth"), str(tmp_path / "x.ckpt"))
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ConversionError, match="truncated.pth: not a readable PyTorch checkpoint"):
        convert("siamrpn_alex_dw", str(truncated), str(tmp_path / "x.ckpt"))
    # up-channel weights into the depthwise model: nothing maps, every parameter missing
    with pytest.raises(ConversionError, match="model parameters not in the file"):
        convert("siamrpn_alex_dw", os.path.join(golden_dir, "siamrpn_upchannel/model.pth.xz"),
                str(tmp_path / "x.ckpt"))
    bad = {"backbone.features.0.weight": torch.zeros(96, 3, 5, 5)}
    torch.save(bad, str(tmp_path / "shape.pth"))
    with pytest.raises(ConversionError, match=r"shape mismatch for 'backbone.features.0.weight'"):
        convert("siamrpn_alex_dw", str(tmp_path / "shape.pth"), str(tmp_path / "x.ckpt"))
    assert not os.path.exists(tmp_path / "x.ckpt")


def test_pickle_with_code_is_refused(tmp_path):
    """A pickle that would execute code on load is rejected, and the code does not run."""
    import pickle
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as f:
        pickle.dump({"state_dict": Evil()}, f)
    with pytest.raises(ConversionError, match="evil.pth: not a readable PyTorch checkpoint"):
        convert("siamrpn_alex_dw", str(evil), str(tmp_path / "x.ckpt"))
    assert not marker.exists()

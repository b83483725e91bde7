"""BatchNorm folding for inference (src/models/fold_bn.py): the folded networks still
reproduce the PyTorch golden outputs, every conv -> BN pair of the tracking networks is folded,
the source model is untouched, and the opt-out works."""
import os

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from src.config import load_config
from src.models import build_model
from src.models.fold_bn import ENV_VAR, fold_batchnorm, fold_enabled, inference_model
from src.models.split import SearchNet, TemplateNet
from src.tools.convert_pth import convert

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rel_err(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def _bn_count(model):
    return sum(isinstance(c, nn.BatchNorm2d) for _, c in model.cells_and_names())


def _loaded(arch, golden_dir, weights, tmp_path):
    dst = str(tmp_path / f"{arch}.ckpt")
    unmapped, missing = convert(arch, os.path.join(golden_dir, weights), dst)
    assert unmapped == [] and missing == []
    net = build_model(load_config(os.path.join(ROOT, "configs", f"{arch}.yaml")))
    assert not ms.load_param_into_net(net, ms.load_checkpoint(dst))[0]
    net.set_train(False)
    return net


def test_siamrpn_folded_matches_golden_and_leaves_source(golden_dir, tmp_path):
    net = _loaded("siamrpn_alex_dw", golden_dir, "siamrpn_alex_dwxcorr/model.pth.xz", tmp_path)
    before = {p.name: p.asnumpy().copy() for p in net.get_parameters()}
    n_bn = _bn_count(net)
    folded, n = fold_batchnorm(net)
    assert n == n_bn > 0 and _bn_count(folded) == 0          # AlexNet + depthwise RPN: all pairs
    assert _bn_count(net) == n_bn
    for p in net.get_parameters():                           # the source's weights are not shared
        np.testing.assert_array_equal(p.asnumpy(), before[p.name], err_msg=p.name)
    io = np.load(os.path.join(golden_dir, "siamrpn_alex_dwxcorr", "io.npz"))
    kernels = TemplateNet(folded)(ms.Tensor(io["template"]))
    cls, loc = SearchNet(folded)(ms.Tensor(io["search_287"]), *kernels)
    assert rel_err(cls.asnumpy(), io["cls_287"]) <= 1e-4
    assert rel_err(loc.asnumpy(), io["loc_287"]) <= 1e-4


@pytest.mark.slow
def test_siammask_folded_matches_golden(golden_dir, tmp_path):
    net = _loaded("siammask_sharp", golden_dir, "siammask_sharp/model.pth.xz", tmp_path)
    folded, n = fold_batchnorm(net)
    # ResNet-50 to layer3 (stem, 13 bottlenecks x 3, 3 downsamples), neck, RPN and mask heads
    assert n >= 1 + 13 * 3 + 3
    left = [name for name, c in folded.cells_and_names() if isinstance(c, nn.BatchNorm2d)]
    assert not [name for name in left if name.startswith("backbone")], left
    io = dict(np.load(os.path.join(golden_dir, "siammask_sharp", "io.npz")))
    kernels = TemplateNet(folded)(ms.Tensor(io["template"]))
    outs = SearchNet(folded)(ms.Tensor(io["search"]), *kernels)
    for name, out in zip(("cls", "loc", "mask", "f0", "f1", "f2", "corr_feature"), outs):
        assert rel_err(out.asnumpy(), io[name]) <= 1e-4, name


def test_fold_changes_nothing_but_rounding_on_random_statistics():
    """Non-trivial BN statistics (the golden ones may be near identity): conv with and without
    bias, in a SequentialCell, folded vs unfolded."""
    rng = np.random.default_rng(0)

    def block(bias):
        seq = nn.SequentialCell([nn.Conv2d(4, 6, 3, pad_mode="valid", has_bias=bias), nn.BatchNorm2d(6),
                                 nn.ReLU()])
        bn = seq[1]
        for p, v in ((bn.gamma, rng.uniform(0.5, 2, 6)), (bn.beta, rng.normal(0, 1, 6)),
                     (bn.moving_mean, rng.normal(0, 1, 6)), (bn.moving_variance, rng.uniform(0.1, 3, 6))):
            p.set_data(ms.Tensor(v.astype(np.float32)))
        seq.set_train(False)
        return seq

    x = ms.Tensor(rng.normal(0, 1, (1, 4, 9, 9)).astype(np.float32))
    for bias in (True, False):
        seq = block(bias)
        ref = seq(x).asnumpy()
        folded, n = fold_batchnorm(seq)
        assert n == 1 and isinstance(folded[1], nn.Identity) and folded[0].has_bias
        out = folded(x).asnumpy()
        assert rel_err(out, ref) <= 1e-5
        assert np.abs(ref).max() > 0.1


def test_opt_out(monkeypatch):
    seq = nn.SequentialCell([nn.Conv2d(2, 2, 1, has_bias=True), nn.BatchNorm2d(2)])
    monkeypatch.setenv(ENV_VAR, "0")
    assert not fold_enabled() and inference_model(seq) is seq
    monkeypatch.setenv(ENV_VAR, "1")
    assert fold_enabled() and _bn_count(inference_model(seq)) == 0
    monkeypatch.setenv(ENV_VAR, "maybe")
    with pytest.raises(ValueError, match=ENV_VAR):
        fold_enabled()

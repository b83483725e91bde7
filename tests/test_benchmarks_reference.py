"""The benchmark's MAC counter (benchmarks/macs.py) and PyTorch reference network
(benchmarks/torch_reference.py)."""
import numpy as np
import pytest

import mindspore as ms
from mindspore import nn, ops


class _Tiny(nn.Cell):
    """conv 3->4 3x3, a functional depthwise conv, a dense layer and a matmul: hand-countable."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, pad_mode="valid", has_bias=True)
        self.dense = nn.Dense(4, 2)
        self.unused = nn.Conv2d(4, 4, 1)            # never run: must not be counted
        self.k = ms.Tensor(np.ones((4, 1, 2, 2), np.float32))
        self.m = ms.Tensor(np.ones((4, 3), np.float32))

    def construct(self, x):
        y = ops.conv2d(self.conv(x), self.k, groups=4)      # (1, 4, 5, 5)
        v = y.mean((2, 3))                                  # (1, 4)
        return self.dense(v), ops.matmul(v, self.m)


def test_mac_counter_counts_a_hand_computable_net():
    from benchmarks.macs import count_macs
    total, records, _ = count_macs(_Tiny(), [np.zeros((1, 3, 8, 8), np.float32)])
    # conv: 4x6x6 outputs x 3x3x3; depthwise: 4x5x5 x 2x2; dense: 4x2; matmul: 1x3 outputs x 4
    expected = {"Conv2d": 4 * 36 * 27, "conv2d": 100 * 4, "Dense": 8, "matmul": 12}
    assert {r[1]: r[-1] for r in records} == expected
    assert total == sum(expected.values())


def test_mac_counter_restores_mode_and_functions():
    from benchmarks.macs import count_macs
    mode = ms.get_context("mode")
    conv2d = ops.conv2d
    count_macs(_Tiny(), [np.zeros((1, 3, 8, 8), np.float32)])
    assert ms.get_context("mode") == mode
    assert ops.conv2d is conv2d


@pytest.mark.slow
def test_torch_reference_equals_the_cell_on_a_small_siamrpn():
    pytest.importorskip("torch")
    from benchmarks import torch_reference as tr
    from benchmarks.macs import count_graph_macs
    from src.config import load_config
    from src.models import build_model
    from src.tracker.backends import MindSporeBackend
    cfg = load_config("configs/siamrpn_alex_dw.yaml",
                      [("model.width_mult", 0.25), ("model.feature_channels", 16), ("track.instance_size", 255)])
    ms.set_seed(0)
    net = build_model(cfg)
    count_graph_macs(cfg, net)       # wraps the model in graph cells first: weights must still map
    params, bn = tr.cell_weights(net)
    ref = tr.build_reference(cfg, params, bn)
    z, x = tr.reference_inputs(cfg)
    ours = tr.graph_outputs(cfg, MindSporeBackend(net), z, x)
    theirs = tr.graph_outputs(cfg, tr.TorchBackend(cfg, ref), z, x)
    assert set(ours) == {"template.kernel0", "template.kernel1", "search.cls", "search.loc"}
    assert ours["search.cls"].shape == (1, 10, 17, 17)
    worst, _, _ = tr.compare(ours, theirs)
    assert worst < 1e-4
    # a changed weight is seen
    params["rpn_head.cls.head.3.weight"] = params["rpn_head.cls.head.3.weight"] * 1.01
    changed = tr.graph_outputs(cfg, tr.TorchBackend(cfg, tr.build_reference(cfg, params, bn)), z, x)
    assert tr.compare(ours, changed)[0] > 1e-4


def test_torch_reference_refuses_unknown_weights():
    pytest.importorskip("torch")
    from benchmarks import torch_reference as tr
    from src.config import load_config
    cfg = load_config("configs/siamrpn_alex_dw.yaml", [("model.width_mult", 0.25), ("model.feature_channels", 16)])
    with pytest.raises(ValueError, match="maps to 'backbone.layer1.0.weight'"):
        tr.build_reference(cfg, {}, [])

"""SA-Siam networks (src/models/sasiam.py) against the computation of
../shared/reference/siamfc_sasiam.md section 10 (no runnable reference exists, so the
numpy references here are written from the facts file: LRN formula, attention grid and its
sanity vectors, attention MLP, padded concatenation, fusion of the two branches, shapes).

Tolerances: float32 sums of a few hundred products, 1e-5 of the magnitude (1e-4 where the
two sides add up a few thousand products in different orders).

Slow (about a minute on 2 shared cores): a dozen graph compilations, one at full width.
"""
import dataclasses

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from src.config import check_values
from src.models.sasiam import (BRANCH_FROZEN_MODULES, LRN_PARAMS, LocalResponseNorm, SEMANTIC_MEAN_RGB, SASiam, SASiamModelConfig,
                               SASiamTrackConfig, SASiamTrainConfig, attention_grid, grid_max, pad_concat)
from src.models.siamfc import xcorr_fast
from src.models.split import SearchNet
from src.training.trainer import get_cell

pytestmark = pytest.mark.slow


def rel_err(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


class Template(nn.Cell):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def construct(self, z_a, z_s):
        return self.net.template(z_a, z_s)


class Branches(nn.Cell):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def construct(self, x, kernel_a, kernel_s):
        return self.net.branch_responses(x, kernel_a, kernel_s)


class SemanticLayers(nn.Cell):
    """(f4, f5, exemplar g4, g5, search g4, g5) of the semantic branch."""

    def __init__(self, branch):
        super().__init__()
        self.branch = branch

    def construct(self, z, x):
        f4, f5 = self.branch.backbone(x)
        g4z, g5z = self.branch.exemplar_layers(z)
        g4x, g5x = self.branch.search_layers(x)
        return f4, f5, g4z, g5z, g4x, g5x


class AppearanceExemplar(nn.Cell):
    def __init__(self, branch):
        super().__init__()
        self.branch = branch

    def construct(self, z):
        return self.branch.exemplar(z)


class SquaredError(nn.Cell):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def construct(self, z, x, label):
        return ((self.net(z, x) - label) ** 2).mean()


def copy_weights(src, dst):
    """dst's parameters from src's, in order (both the same architecture; names may carry
    a wrapper's prefix once a graph over a sub-cell has been compiled)."""
    pairs = list(zip(src.get_parameters(), dst.get_parameters()))
    assert pairs and all(p.shape == q.shape for p, q in pairs)
    for p, q in pairs:
        q.set_data(p.data.copy())


def small_net(branch="appearance", **model):
    ms.set_seed(0)
    net = SASiam(SASiamModelConfig(width_mult=0.125, fusion_channels=8, **model), branch)
    net.set_train(False)
    return net


def crops(rng, n, size):
    return ms.Tensor(rng.uniform(0, 255, (n, 3, size, size)).astype(np.float32))


# -- LRN ------------------------------------------------------------------------------------

def lrn_reference(a, depth_radius, bias, alpha, beta):
    """TF local_response_normalization on NCHW: alpha times the plain sum of squares over
    channels c - r .. c + r (the facts file: MindSpore takes alpha per element too)."""
    sq = np.zeros_like(a, dtype=np.float64)
    for c in range(a.shape[1]):
        sq[:, c] = (a[:, max(0, c - depth_radius):c + depth_radius + 1].astype(np.float64) ** 2).sum(1)
    return a / (bias + alpha * sq) ** beta


def test_lrn_is_the_reference_formula():
    assert LRN_PARAMS == {"depth_radius": 2, "bias": 1.0, "alpha": 2e-5, "beta": 0.75}
    lrn = small_net().semantic.backbone.lrn
    # ReLU outputs of an ImageNet conv reach hundreds, where alpha * sum x^2 is of order 1
    a = np.random.default_rng(1).uniform(0, 300, (2, 12, 5, 5)).astype(np.float32)
    out = lrn(ms.Tensor(a)).asnumpy()
    want = lrn_reference(a, **LRN_PARAMS)
    assert rel_err(out, want) < 1e-5
    # PyTorch's convention (alpha / size) would be visibly different here
    assert rel_err(lrn_reference(a, 2, 1.0, 2e-5 / 5, 0.75), want) > 1e-2
    # MindSpore's own nn.LRN has the same convention; its CPU kernel runs below 16 channels only
    assert rel_err(nn.LRN(**LRN_PARAMS)(ms.Tensor(a)).asnumpy(), out) < 1e-5
    # the edges (channels 0, 1 and C-2, C-1 see fewer neighbours) and another radius
    b = np.random.default_rng(2).uniform(0, 100, (1, 40, 3, 3)).astype(np.float32)
    params = {"depth_radius": 3, "bias": 2.0, "alpha": 1e-4, "beta": 0.5}
    assert rel_err(LocalResponseNorm(**params)(ms.Tensor(b)).asnumpy(), lrn_reference(b, **params)) < 1e-5


# -- attention grid -----------------------------------------------------------------------

@pytest.mark.parametrize("size, size5, borders", [
    (22, 22, (0, 8, 14, 22)),    # conv5, 255 exemplar (tracking)
    (24, 22, (0, 8, 16, 24)),    # conv4, 255
    (20, 20, (0, 7, 13, 20)),    # conv5, 239 exemplar (training)
    (22, 20, (0, 7, 15, 22)),    # conv4, 239
    (6, 6, (0, 0, 6, 6)),        # appearance conv5 of a 127 exemplar: all of it
])
def test_attention_grid_borders(size, size5, borders):
    assert attention_grid(size, size5) == borders


@pytest.mark.parametrize("size, size5, maxima", [
    # the facts file's sanity vectors (tracking crop): f[y, x] = size * y + x
    (22, 22, [161, 167, 175, 293, 299, 307, 469, 475, 483]),
    (24, 22, [175, 183, 191, 367, 375, 383, 559, 567, 575]),
    # the training crop's grids on the same kind of map (each cell's max at its last row and column)
    (20, 20, [126, 132, 139, 246, 252, 259, 386, 392, 399]),
    (22, 20, [138, 146, 153, 314, 322, 329, 468, 476, 483]),
])
def test_grid_max_sanity_vectors(size, size5, maxima):
    y, x = np.mgrid[:size, :size]
    f = np.stack([size * y + x, -(size * y + x)]).astype(np.float32)[None]      # (1, 2, S, S)
    m = grid_max(ms.Tensor(f), attention_grid(size, size5)).asnumpy()
    assert m.shape == (1, 2, 9)
    np.testing.assert_array_equal(m[0, 0], maxima)
    # the second channel's maxima sit at each cell's first row and column
    b = attention_grid(size, size5)
    np.testing.assert_array_equal(m[0, 1], [-(size * b[j] + b[i]) for j in range(3) for i in range(3)])


@pytest.mark.parametrize("size", [255, 239])
def test_exemplar_attention_is_the_reference_computation(size):
    """Semantic exemplar features (graph mode) against numpy from the raw backbone maps:
    grid maxima, the shared 9 -> 9 ReLU -> 1 MLP, sigmoid + 0.5 on the full map, centre crop,
    then x0.1 / x1.0 and the 1x1 convs; the search side is only scaled and fused."""
    net = small_net("semantic")
    sem = net.semantic
    rng = np.random.default_rng(2)
    for att in (sem.att_conv4, sem.att_conv5):   # non-trivial MLPs (the zero biases would hide b1, b2)
        for p in att.get_parameters():
            p.set_data(ms.Tensor(rng.normal(0, 0.5, p.shape).astype(np.float32)))
    z, x = crops(rng, 2, size), crops(rng, 2, size)
    f4, f5, g4z, g5z, g4x, g5x = [t.asnumpy() for t in SemanticLayers(sem)(z, x)]
    fz4, fz5 = [t.asnumpy() for t in SemanticLayers(sem)(x, z)[:2]]   # raw maps of z

    def attend(f, att, borders):
        w1, b1 = att.fc1.weight.asnumpy(), att.fc1.bias.asnumpy()
        w2, b2 = att.fc2.weight.asnumpy(), att.fc2.bias.asnumpy()
        m = np.stack([f[:, :, borders[j]:borders[j + 1], borders[i]:borders[i + 1]].max(axis=(2, 3))
                      for j in range(3) for i in range(3)], axis=2)             # (N, C, 9)
        a = np.maximum(m @ w1.T + b1, 0) @ w2.T + b2                           # (N, C, 1)
        xi = 1 / (1 + np.exp(-a)) + 0.5
        assert (xi > 0.5).all() and (xi < 1.5).all()
        out = f * xi[..., None]
        return out[:, :, borders[1]:borders[2], borders[1]:borders[2]]

    def fuse(f, conv, scale):
        w, b = conv.weight.asnumpy()[:, :, 0, 0], conv.bias.asnumpy()
        return np.einsum("oc,nchw->nohw", w, f * scale) + b[None, :, None, None]

    s5 = fz5.shape[2]
    want4 = fuse(attend(fz4, sem.att_conv4, attention_grid(fz4.shape[2], s5)), sem.c1x1_conv4, 0.1)
    want5 = fuse(attend(fz5, sem.att_conv5, attention_grid(s5, s5)), sem.c1x1_conv5, 1.0)
    assert g4z.shape == want4.shape == (2, 8, 8, 8) and g5z.shape == want5.shape == (2, 8, 6, 6)
    assert rel_err(g4z, want4) < 1e-5 and rel_err(g5z, want5) < 1e-5
    assert rel_err(g4x, fuse(f4, sem.c1x1_conv4, 0.1)) < 1e-5
    assert rel_err(g5x, fuse(f5, sem.c1x1_conv5, 1.0)) < 1e-5
    # without attention: the same centre crops, unweighted
    plain = SASiam(SASiamModelConfig(width_mult=0.125, fusion_channels=8, attention=False), "semantic")
    plain.set_train(False)
    copy_weights(net.semantic.backbone, plain.semantic.backbone)
    copy_weights(net.semantic.c1x1_conv4, plain.semantic.c1x1_conv4)
    copy_weights(net.semantic.c1x1_conv5, plain.semantic.c1x1_conv5)
    g4p, g5p = [t.asnumpy() for t in SemanticLayers(plain.semantic)(z, x)[2:4]]
    b4, b5 = attention_grid(fz4.shape[2], s5), attention_grid(s5, s5)
    assert rel_err(g4p, fuse(fz4[:, :, b4[1]:b4[2], b4[1]:b4[2]], sem.c1x1_conv4, 0.1)) < 1e-5
    assert rel_err(g5p, fuse(fz5[:, :, b5[1]:b5[2], b5[1]:b5[2]], sem.c1x1_conv5, 1.0)) < 1e-5


# -- assembly and fusion ----------------------------------------------------------------------

@pytest.mark.parametrize("nz, nx, sx", [(1, 3, 24), (4, 4, 22)])   # tracking (3 scales), training pairs
def test_padded_concatenation_is_the_sum_of_layer_xcorrs(nz, nx, sx):
    rng = np.random.default_rng(3)
    t = lambda *s: ms.Tensor(rng.normal(size=s).astype(np.float32))   # noqa: E731
    g4z, g5z, g4x, g5x = t(nz, 16, 8, 8), t(nz, 16, 6, 6), t(nx, 16, sx, sx), t(nx, 16, sx - 2, sx - 2)
    kz, kx = pad_concat(g4z, g5z), pad_concat(g4x, g5x)
    assert kz.shape == (nz, 32, 8, 8) and kx.shape == (nx, 32, sx, sx)
    # zeros around conv5, conv4 untouched, channels in the order [conv4 | conv5]
    np.testing.assert_array_equal(kz.asnumpy()[:, 16:, 1:7, 1:7], g5z.asnumpy())
    assert not kz.asnumpy()[:, 16:, 0].any() and not kz.asnumpy()[:, 16:, :, 7].any()
    np.testing.assert_array_equal(kx.asnumpy()[:, :16], g4x.asnumpy())
    joint = xcorr_fast(kz, kx).asnumpy()
    layers = (xcorr_fast(g4z, g4x) + xcorr_fast(g5z, g5x)).asnumpy()
    assert joint.shape == (nx, 1, sx - 7, sx - 7)
    assert rel_err(joint, layers) < 1e-5


def test_fused_response_is_the_weighted_sum_of_the_branches():
    net = small_net()
    net.appearance.head.bias.set_data(ms.Tensor([0.25], ms.float32))
    net.semantic.head.bias.set_data(ms.Tensor([-0.5], ms.float32))
    rng = np.random.default_rng(4)
    z_a, z_s, x = crops(rng, 1, 127), crops(rng, 1, 255), crops(rng, 3, 255)
    kernel_a, kernel_s = Template(net)(z_a, z_s)
    assert kernel_a.shape == (1, 32, 6, 6) and kernel_s.shape == (1, 16, 8, 8)
    response, = SearchNet(net)(x, kernel_a, kernel_s)
    r_a, r_s = [t.asnumpy() for t in Branches(net)(x, kernel_a, kernel_s)]
    assert response.shape == r_a.shape == r_s.shape == (3, 1, 17, 17)
    assert rel_err(response.asnumpy(), 0.3 * r_a + 0.7 * r_s) < 1e-5
    # each branch map is 1e-3 * xcorr + its bias: the bias shifts the map
    net.appearance.head.bias.set_data(ms.Tensor([0.0], ms.float32))
    np.testing.assert_allclose(r_a - Branches(net)(x, kernel_a, kernel_s)[0].asnumpy(), 0.25, atol=1e-5)
    net.appearance.head.bias.set_data(ms.Tensor([0.25], ms.float32))
    # the weight is a config value; 1 tracks with the appearance branch alone
    alone = small_net(appearance_weight=1.0)
    copy_weights(net, alone)
    np.testing.assert_array_equal(SearchNet(alone)(x, kernel_a, kernel_s)[0].asnumpy(), r_a)


def test_appearance_kernel_of_the_big_exemplar_is_siamfcs_127_kernel():
    """The centre 6x6 of conv5 of a 255 (239) exemplar covers exactly its central 127 pixels
    (valid convolutions), so it equals the kernel of that 127 crop (BN in inference mode)."""
    net = small_net()
    rng = np.random.default_rng(5)
    exemplar = AppearanceExemplar(net.appearance)
    for size, first in ((255, 64), (239, 56)):
        z = rng.uniform(0, 255, (1, 3, size, size)).astype(np.float32)
        big = exemplar(ms.Tensor(z)).asnumpy()
        small = exemplar(ms.Tensor(z[:, :, first:first + 127, first:first + 127].copy())).asnumpy()
        assert big.shape == small.shape == (1, 32, 6, 6)
        assert rel_err(big, small) < 1e-4


def test_shapes_full_width():
    """Every step's shape as the facts file lists it (section 10.3 table, 10.5)."""
    ms.set_seed(0)
    net = SASiam(SASiamModelConfig(), "semantic")
    net.set_train(False)
    rng = np.random.default_rng(6)
    for size, s4, s5 in ((255, 24, 22), (239, 22, 20)):
        f4, f5, g4z, g5z, g4x, g5x = SemanticLayers(net.semantic)(crops(rng, 1, size), crops(rng, 1, size))
        assert f4.shape == (1, 384, s4, s4) and f5.shape == (1, 256, s5, s5)
        assert g4z.shape == (1, 128, 8, 8) and g5z.shape == (1, 128, 6, 6)
        assert g4x.shape == (1, 128, s4, s4) and g5x.shape == (1, 128, s5, s5)
        assert (f5.asnumpy() >= 0).all()   # ReLU after conv5
    kernel_a, kernel_s = Template(net)(crops(rng, 1, 255), crops(rng, 1, 255))
    assert kernel_a.shape == (1, 256, 6, 6) and kernel_s.shape == (1, 256, 8, 8)
    response, = SearchNet(net)(crops(rng, 3, 255), kernel_a, kernel_s)
    assert response.shape == (3, 1, 17, 17)
    # training: each branch on 239 / 239 pairs (construct, one kernel per pair)
    z, x = crops(rng, 2, 239), crops(rng, 2, 239)
    assert net(z, x).shape == (2, 1, 15, 15)
    net_a = SASiam(SASiamModelConfig(), "appearance")
    assert net_a(z, x).shape == (2, 1, 15, 15)


def test_semantic_input_is_bgr_minus_mean():
    """conv1 sees (x - [123, 117, 104]) in BGR order: a conv1 that reads only the first
    input channel answers to the blue value of the RGB crop, less 104."""
    net = small_net("semantic")
    backbone = net.semantic.backbone
    w = np.zeros(backbone.conv1.weight.shape, np.float32)
    w[:, 0, 5, 5] = 1.0
    backbone.conv1.weight.set_data(ms.Tensor(w))
    x = np.zeros((1, 3, 239, 239), np.float32)
    x[:, 0], x[:, 1], x[:, 2] = 200.0, 50.0, 150.0     # R, G, B

    class Conv1(nn.Cell):
        def __init__(self, b):
            super().__init__()
            self.b = b

        def construct(self, t):
            return self.b.conv1(ms.ops.flip(t - self.b.mean, (1,)))

    out = Conv1(backbone)(ms.Tensor(x)).asnumpy()
    np.testing.assert_allclose(out, 150.0 - SEMANTIC_MEAN_RGB[2], rtol=1e-6)


# -- training support -------------------------------------------------------------------------

def test_configs_check_and_default_to_the_reference():
    for section in (SASiamModelConfig(), SASiamTrainConfig(), SASiamTrackConfig()):
        check_values(section)
    m, t = SASiamModelConfig(), SASiamTrainConfig()
    assert (m.appearance_weight, m.conv4_scale, m.conv5_scale, m.fusion_channels) == (0.3, 0.1, 1.0, 128)
    assert (t.exemplar_size, t.search_size, t.output_size, t.momentum, t.weight_decay) == (239, 239, 15, 0.0, 5e-4)
    assert t.frozen_modules == BRANCH_FROZEN_MODULES[t.branch] and t.frozen_layers == ()
    with pytest.raises(ValueError, match="train.branch"):
        check_values(dataclasses.replace(t, branch="both"), "train")
    with pytest.raises(ValueError, match="model.appearance_weight"):
        check_values(dataclasses.replace(m, appearance_weight=1.5), "model")
    with pytest.raises(ValueError, match="train.branch"):
        SASiam(m, "both")


def test_semantic_backbone_is_freezable_by_name():
    net = small_net("semantic")
    backbone = get_cell(net, "semantic.backbone")
    names = [p.name for p in backbone.get_parameters()]
    assert len(names) == 10 and all(n.startswith("semantic.backbone.conv") for n in names)
    # the appearance convs 1-4 have no bias (BN follows), conv5 has one
    app = [p.name for p in net.appearance.backbone.get_parameters() if "bias" in p.name and ".0." in p.name]
    assert app == ["appearance.backbone.conv5.0.bias"]
    # what the trainer's frozen_modules does (src/training/trainer.py Trainer._optimizer)
    for name in BRANCH_FROZEN_MODULES["semantic"]:
        for p in get_cell(net, name).get_parameters():
            p.requires_grad = False
    trainable = sorted(p.name for p in net.trainable_params())
    # the reference's trainable variables (AS gpu_semantic.log): att_fc1/2 of conv4 and conv5,
    # c1x1_conv4/5 and detection/biases
    assert trainable == sorted(
        [f"semantic.att_conv{k}.fc{i}.{w}" for k in (4, 5) for i in (1, 2) for w in ("weight", "bias")]
        + [f"semantic.c1x1_conv{k}.{w}" for k in (4, 5) for w in ("weight", "bias")] + ["semantic.head.bias"])

    # one SGD step with weight decay on the semantic branch's response: the frozen weights stay
    # bit-identical, the trainable ones move
    # (by position: compiling the step prefixes the names with the wrapper's)
    params = list(net.get_parameters())
    is_trainable = [p.name in trainable for p in params]
    before = [p.asnumpy().copy() for p in params]
    opt = nn.SGD(net.trainable_params(), learning_rate=0.1, weight_decay=5e-4)
    step = nn.TrainOneStepCell(SquaredError(net), opt)
    step.set_train()
    rng = np.random.default_rng(7)
    step(crops(rng, 2, 239), crops(rng, 2, 239), ms.Tensor(np.ones((2, 1, 15, 15), np.float32)))
    for p, value, trains in zip(params, before, is_trainable):
        assert np.array_equal(p.asnumpy(), value) != trains, p.name

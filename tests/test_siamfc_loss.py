"""SiamFC training targets and loss (src/models/siamfc_loss.py) against siamfc-pytorch.

Golden: ../shared/golden/siamfc/io.npz ``labels_15`` / ``labels_17`` (``_create_labels``)
and ``loss_pair_15`` = ``BalancedLoss()(responses_pair_15, labels_15)``, a float32 value.
A float64 evaluation of the same formula differs from it by 1.9e-7 relative, so 1e-6
is float32 noise with margin. Dropping the balancing (plain mean BCE: 7.51), the weight
normalisation (7.97) or using a mean reduction (0.0089) is far outside it.
"""
import dataclasses
import os

import mindspore as ms
import numpy as np
import pytest

from src.config import load_config
from src.models.siamfc import SiamFC
from src.models.siamfc_loss import BalancedLoss, SiamFCTargets, label_map

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def io(golden_dir):
    return np.load(os.path.join(golden_dir, "siamfc", "io.npz"))


def numpy_balanced_loss(x, t, neg_weight=1.0):
    """Independent float64 statement of the reference loss."""
    x, t = x.astype(np.float64), t.astype(np.float64)
    w = (t == 1) / max((t == 1).sum(), 1) + neg_weight * (t == 0) / max((t == 0).sum(), 1)
    w = w / w.sum()
    return float((w * (np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x))))).sum())


def pynative(fn, *args):
    ms.set_context(mode=ms.PYNATIVE_MODE)
    try:
        return fn(*args)
    finally:
        ms.set_context(mode=ms.GRAPH_MODE)


def test_labels_equal_reference(io):
    for name, targets, n in (("labels_15", SiamFCTargets(15), 2), ("labels_17", SiamFCTargets(17), 1)):
        ref = io[name]
        got = targets.batch(n)
        assert got.dtype == ref.dtype == np.float32 and got.shape == ref.shape
        np.testing.assert_array_equal(got, ref, err_msg=name)
        assert got.sum() == 13 * n
        one = targets()
        assert one.shape == ref.shape[1:] and one.flags.writeable
        np.testing.assert_array_equal(one, ref[0])


def test_targets_from_config_and_negative_pairs():
    cfg = load_config(os.path.join(ROOT, "configs", "siamfc_alexnet.yaml"))
    targets = SiamFCTargets.from_config(cfg)
    assert targets.response_size == 15 and targets.map.shape == (1, 15, 15)
    assert (targets.r_pos, targets.r_neg, targets.metric) == (16, 0, "l1")
    assert not targets(neg=True).any()
    assert targets.map[0, 7, 7] == 1 and targets.map[0, 7, 9] == 1 and targets.map[0, 8, 9] == 0
    with pytest.raises(ValueError, match="metric"):
        label_map(15, metric="linf")


_JIT_LOSS = BalancedLoss()


@ms.jit
def jitted_loss(responses, labels):
    """The loss inside a jitted function, as a train step calls it."""
    return _JIT_LOSS(responses, labels)


def test_loss_equals_reference(io):
    x, t = io["responses_pair_15"], io["labels_15"]
    ref = float(io["loss_pair_15"])
    assert abs(numpy_balanced_loss(x, t) - ref) <= 1e-6 * ref

    loss_fn = BalancedLoss()
    graph = float(loss_fn(ms.Tensor(x), ms.Tensor(t)).asnumpy())          # Cell in GRAPH_MODE
    jitted = float(jitted_loss(ms.Tensor(x), ms.Tensor(t)).asnumpy())
    eager = float(pynative(lambda: BalancedLoss()(ms.Tensor(x), ms.Tensor(t)).asnumpy()))
    for name, value in (("graph", graph), ("jit", jitted), ("pynative", eager)):
        assert abs(value - ref) <= 1e-6 * ref, (name, value, ref)
    assert abs(graph - eager) <= 1e-6 * ref

    # the balancing matters: the plain mean BCE of the same logits is another number
    plain = float(np.mean(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))))
    assert abs(plain - ref) > 0.1


def test_loss_gradient():
    rng = np.random.default_rng(0)
    t = SiamFCTargets(15).batch(2)
    x = rng.normal(0.0, 2.0, t.shape).astype(np.float32)
    loss_fn = BalancedLoss()
    loss, grad = ms.value_and_grad(loss_fn)(ms.Tensor(x), ms.Tensor(t))
    grad = grad.asnumpy()

    # d loss / d x = w * (sigmoid(x) - t): negative on positives, positive on negatives
    w = (t == 1) / (t == 1).sum() + (t == 0) / (t == 0).sum()
    w = w / w.sum()
    np.testing.assert_allclose(grad, w * (1 / (1 + np.exp(-x)) - t), rtol=1e-5, atol=1e-9)
    assert (grad[t == 1] < 0).all() and (grad[t == 0] > 0).all()

    # raising only the positive logits lowers the loss, raising only negatives raises it
    for cells, sign in ((t == 1, -1), (t == 0, 1)):
        bumped = float(loss_fn(ms.Tensor(x + 0.5 * cells), ms.Tensor(t)).asnumpy())
        assert sign * (bumped - float(loss.asnumpy())) > 1e-4


def test_ignore_band_and_empty_class():
    # r_neg 32 px = 4 cells: 2 < L1 distance < 4 (i.e. 3, 12 cells) becomes 0.5, which the loss ignores
    t = SiamFCTargets(15, r_neg=32).batch(1)
    band = t == 0.5
    assert band.sum() == 12 and (t == 1).sum() == 13
    x = np.random.default_rng(1).normal(0.0, 2.0, t.shape).astype(np.float32)
    loss_fn = BalancedLoss()
    base = float(loss_fn(ms.Tensor(x), ms.Tensor(t)).asnumpy())
    moved = float(loss_fn(ms.Tensor(np.where(band, x + 5, x)), ms.Tensor(t)).asnumpy())
    assert base == pytest.approx(numpy_balanced_loss(x, t), rel=1e-6)
    assert moved == pytest.approx(base, rel=1e-7)

    # a batch of negative pairs only: finite, mean BCE over the negatives
    zeros = np.zeros_like(t)
    value = float(loss_fn(ms.Tensor(x), ms.Tensor(zeros)).asnumpy())
    assert value == pytest.approx(numpy_balanced_loss(x, zeros), rel=1e-6)

    # neg_weight (the reference's BalancedLoss argument) shifts weight to the negatives
    t = SiamFCTargets(15).batch(1)
    heavy = float(BalancedLoss(neg_weight=3.0)(ms.Tensor(x), ms.Tensor(t)).asnumpy())
    assert heavy == pytest.approx(numpy_balanced_loss(x, t, neg_weight=3.0), rel=1e-6)


def test_l2_metric_option():
    """MatConvNet SiamFC and the MindSpore model zoo use the Euclidean distance."""
    np.testing.assert_array_equal(label_map(15, metric="l2"), label_map(15))    # radius 2: same 13 cells
    l1, l2 = label_map(17, r_pos=24), label_map(17, r_pos=24, metric="l2")        # radius 3
    assert l1.sum() == 25 and l2.sum() == 29
    c = 8
    assert l1[c + 2, c + 2] == 0 and l2[c + 2, c + 2] == 1                       # L1 4, L2 2.83
    assert l1[c, c + 3] == l2[c, c + 3] == 1 and l2[c + 3, c + 1] == 0           # L2 3.16
    assert SiamFCTargets(17, r_pos=24, metric="l2").map.sum() == 29


def test_train_step_in_graph_mode():
    """Network + loss + SGD in one jitted step: the loss goes down on a fixed pair batch."""
    cfg = load_config(os.path.join(ROOT, "configs", "siamfc_alexnet.yaml"))
    ms.set_seed(3)
    net = SiamFC(dataclasses.replace(cfg.model, width_mult=0.125))
    net.set_train(True)
    loss_fn = BalancedLoss()
    labels = SiamFCTargets.from_config(cfg).tensor(2)
    opt = ms.nn.SGD(net.trainable_params(), learning_rate=0.05, momentum=0.9)

    def forward(z, x):
        return loss_fn(net(z, x), labels)

    grad_fn = ms.value_and_grad(forward, None, opt.parameters)

    @ms.jit
    def step(z, x):
        loss, grads = grad_fn(z, x)
        opt(grads)
        return loss

    rng = np.random.default_rng(0)
    z = ms.Tensor(rng.uniform(0, 255, (2, 3, 127, 127)).astype(np.float32))
    x = ms.Tensor(rng.uniform(0, 255, (2, 3, 239, 239)).astype(np.float32))
    losses = [float(step(z, x).asnumpy()) for _ in range(6)]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0], losses

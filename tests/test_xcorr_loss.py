"""Cross-correlation batch independence and the losses against pysot's formulas."""
import mindspore as ms
import numpy as np
import pytest

from src.config import Config, replace
from src.models import build_model
from src.models.xcorr import xcorr_depthwise, xcorr_up
from src.training.loss import rpn_cls_loss, rpn_loc_loss


@pytest.mark.parametrize("fn, kshape", [(xcorr_depthwise, (8, 5, 5)), (xcorr_up, (3 * 8, 5, 5))])
def test_xcorr_is_per_sample(fn, kshape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 8, 20, 20)).astype(np.float32)
    k = rng.standard_normal((4,) + kshape).astype(np.float32)
    batched = fn(ms.Tensor(x), ms.Tensor(k)).asnumpy()
    for i in range(4):
        single = fn(ms.Tensor(x[i:i + 1]), ms.Tensor(k[i:i + 1])).asnumpy()
        np.testing.assert_allclose(batched[i:i + 1], single, rtol=1e-5, atol=1e-4)
    # direct definition for sample 0, output channel 0
    if fn is xcorr_depthwise:
        ref = sum(x[0, 0, 3:8, 2:7].ravel() * k[0, 0].ravel())
    else:
        ref = sum((x[0, c, 3:8, 2:7] * k[0, c]).sum() for c in range(8))
    np.testing.assert_allclose(batched[0, 0, 3, 2], ref, rtol=1e-4)


@pytest.mark.parametrize("head", ["depthwise", "upchannel"])
def test_network_is_batch_independent(head):
    cfg = replace(Config(), **{"model.head": head, "model.width_mult": 0.25, "model.feature_channels": 32})
    net = build_model(cfg)
    net.set_train(False)
    rng = np.random.default_rng(1)
    z = rng.uniform(0, 255, (3, 3, 127, 127)).astype(np.float32)
    x = rng.uniform(0, 255, (3, 3, 255, 255)).astype(np.float32)
    cls3, loc3 = [o.asnumpy() for o in net(ms.Tensor(z), ms.Tensor(x))]
    cls1, loc1 = [o.asnumpy() for o in net(ms.Tensor(z[1:2]), ms.Tensor(x[1:2]))]
    assert cls3.shape == (3, 10, 17, 17) and loc3.shape == (3, 20, 17, 17)
    np.testing.assert_allclose(cls3[1:2], cls1, rtol=1e-4, atol=1e-4 * np.abs(cls1).max())
    np.testing.assert_allclose(loc3[1:2], loc1, rtol=1e-4, atol=1e-4 * np.abs(loc1).max())


def _pysot_losses(cls, loc, label_cls, label_loc, weight):
    """pysot select_cross_entropy_loss / weight_l1_loss, written with torch as in pysot."""
    import torch
    import torch.nn.functional as F
    cls, loc = torch.from_numpy(cls), torch.from_numpy(loc)
    b, a2, h, w = cls.size()
    cls = cls.view(b, 2, a2 // 2, h, w).permute(0, 2, 3, 4, 1).contiguous()
    cls = F.log_softmax(cls, dim=4).view(-1, 2)
    label = torch.from_numpy(label_cls).long().view(-1)
    pos = label.eq(1).nonzero().squeeze()
    neg = label.eq(0).nonzero().squeeze()
    loss_pos = F.nll_loss(cls.index_select(0, pos), label.index_select(0, pos))
    loss_neg = F.nll_loss(cls.index_select(0, neg), label.index_select(0, neg))
    cls_loss = 0.5 * loss_pos + 0.5 * loss_neg
    pred = loc.view(b, 4, -1, h, w)
    diff = (pred - torch.from_numpy(label_loc)).abs().sum(dim=1).view(b, -1, h, w)
    loc_loss = (diff * torch.from_numpy(weight)).sum().div(b)
    return float(cls_loss), float(loc_loss)


def test_losses_match_pysot():
    rng = np.random.default_rng(2)
    b, a, s = 3, 5, 17
    cls = rng.standard_normal((b, 2 * a, s, s)).astype(np.float32) * 2
    loc = rng.standard_normal((b, 4 * a, s, s)).astype(np.float32)
    label_cls = rng.choice([-1, -1, -1, 0, 1], size=(b, a, s, s)).astype(np.int32)
    label_loc = rng.standard_normal((b, 4, a, s, s)).astype(np.float32)
    weight = (label_cls == 1).astype(np.float32) / np.maximum((label_cls == 1).sum(axis=(1, 2, 3),
                                                                                   keepdims=True), 1)
    ref_cls, ref_loc = _pysot_losses(cls, loc, label_cls, label_loc, weight)
    got_cls = float(rpn_cls_loss(ms.Tensor(cls), ms.Tensor(label_cls)).asnumpy())
    got_loc = float(rpn_loc_loss(ms.Tensor(loc), ms.Tensor(label_loc), ms.Tensor(weight)).asnumpy())
    assert got_cls == pytest.approx(ref_cls, rel=1e-5)
    assert got_loc == pytest.approx(ref_loc, rel=1e-5)


def test_cls_loss_without_positives_is_negative_term_only():
    cls = np.zeros((1, 10, 3, 3), np.float32)
    label = np.zeros((1, 5, 3, 3), np.int32)
    got = float(rpn_cls_loss(ms.Tensor(cls), ms.Tensor(label)).asnumpy())
    assert got == pytest.approx(0.5 * np.log(2), rel=1e-5)  # float32

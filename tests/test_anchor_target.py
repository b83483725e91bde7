"""SiamRPN anchor targets (src/data/anchor_target.py), checked against pysot's rules."""
import src  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before anything imports mindspore)

import numpy as np
import pytest

from src.config import Config
from src.data.anchor_target import AnchorTarget
from src.models.box_coder import decode, iou_corners

CFG = Config()


def box(cx, cy, w, h):
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


@pytest.fixture(scope="module")
def target_maker():
    t = CFG.train
    return AnchorTarget(CFG.model.anchor, t.search_size, t.output_size, t.thr_high,
                        t.thr_low, t.pos_num, t.total_num)


def test_shapes_and_dtypes(target_maker):
    cls, delta, weight, overlap = target_maker(box(127, 127, 64, 64), False, np.random.default_rng(0))
    assert cls.shape == weight.shape == overlap.shape == (5, 17, 17)
    assert delta.shape == (4, 5, 17, 17)
    assert (cls.dtype, delta.dtype, weight.dtype) == (np.int32, np.float32, np.float32)


@pytest.mark.parametrize("target", [box(127, 127, 64, 64), box(131, 131, 42, 72), box(100, 150, 80, 40)])
def test_positive_pair_labels(target_maker, target):
    cls, delta, weight, overlap = target_maker(target, False, np.random.default_rng(1))
    iou = iou_corners(target_maker.corners, target)
    np.testing.assert_allclose(overlap, iou, rtol=1e-6)
    pos, neg = cls == 1, cls == 0
    assert 0 < pos.sum() <= 16
    assert pos.sum() == min(16, (iou > 0.6).sum())
    assert neg.sum() == 48                      # pysot keeps total_num - pos_num negatives
    assert pos.sum() + neg.sum() <= 64
    assert (iou[pos] > 0.6).all() and (iou[neg] < 0.3).all()
    # weights: 1/num_pos on positives only
    np.testing.assert_allclose(weight[pos], 1.0 / pos.sum(), rtol=1e-5)
    assert (weight[~pos] == 0).all()
    # decoding a positive's deltas gives back the target box
    a, y, x = np.nonzero(pos)
    anchors = target_maker.centers[:, a, y, x].T
    decoded = decode(delta[:, a, y, x], anchors)
    cx, cy = (target[0] + target[2]) / 2, (target[1] + target[3]) / 2
    w, h = target[2] - target[0], target[3] - target[1]
    np.testing.assert_allclose(decoded, np.tile([[cx], [cy], [w], [h]], (1, len(a))), atol=1e-3)


def test_positive_subset_is_random_but_reproducible(target_maker):
    target = box(131, 131, 42, 72)              # 20 anchors above the IoU threshold
    assert (iou_corners(target_maker.corners, target) > 0.6).sum() > 16
    first = target_maker(target, False, np.random.default_rng(5))
    again = target_maker(target, False, np.random.default_rng(5))
    other = target_maker(target, False, np.random.default_rng(6))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_negative_pair_labels(target_maker):
    cls, delta, weight, overlap = target_maker(box(127, 127, 64, 64), True, np.random.default_rng(2))
    assert set(np.unique(cls)) == {-1, 0}
    assert (cls == 0).sum() == 16                 # pysot TRAIN.NEG_NUM
    assert not delta.any() and not weight.any() and not overlap.any()
    # only a 7x7 block near the centre; pysot's ceil(. + 0.5) puts it at cell 9, not 8
    _, ys, xs = np.nonzero(cls == 0)
    assert ys.min() >= 6 and ys.max() <= 12 and xs.min() >= 6 and xs.max() <= 12


def test_negative_pair_block_follows_target(target_maker):
    cls, *_ = target_maker(box(127 + 40, 127 - 24, 50, 50), True, np.random.default_rng(3))
    _, ys, xs = np.nonzero(cls == 0)
    assert xs.min() >= 6 + 5 and xs.max() <= 12 + 5    # 40 px = 5 cells right
    assert ys.min() >= 6 - 3 and ys.max() <= 12 - 3    # 24 px = 3 cells up


def test_negative_count_option():
    t = CFG.train
    maker = AnchorTarget(CFG.model.anchor, t.search_size, t.output_size, t.thr_high,
                         t.thr_low, t.pos_num, t.total_num, neg_num=16)
    cls, *_ = maker(box(127, 127, 64, 64), True, np.random.default_rng(0))
    assert (cls == 0).sum() == 16

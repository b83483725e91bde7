import numpy as np

from src.models.anchors import base_anchors, score_size, tracking_anchors, training_anchors
from src.models.box_coder import center_to_corner, corner_to_center, decode, encode, iou_corners

RATIOS = (0.33, 0.5, 1, 2, 3)


def test_base_anchor_sizes_match_reference():
    a = base_anchors(8, RATIOS, (8,))
    wh = np.stack([a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]], 1)
    np.testing.assert_array_equal(wh, [[104, 32], [88, 40], [64, 64], [40, 80], [32, 96]])


def test_score_sizes():
    assert [score_size(s) for s in (255, 271, 287)] == [17, 19, 21]
    assert score_size(255, base_size=8) == 25


def test_tracking_anchor_layout_is_anchor_major_then_y_then_x():
    s = 17
    a = tracking_anchors(8, RATIOS, (8,), s)
    assert a.shape == (5 * s * s, 4)
    grid = a.reshape(5, s, s, 4)
    assert grid[0, 0, 0, 0] == -(s // 2) * 8 and grid[0, 0, 0, 1] == -(s // 2) * 8
    assert grid[0, 0, 1, 0] - grid[0, 0, 0, 0] == 8          # x varies fastest
    assert grid[0, 1, 0, 1] - grid[0, 0, 0, 1] == 8          # then y
    assert tuple(grid[1, 3, 4, 2:]) == (88, 40)              # then anchor
    assert grid[2, s // 2, s // 2, 0] == 0 and grid[2, s // 2, s // 2, 1] == 0


def test_training_anchors_centred_on_crop_centre():
    corners, centers = training_anchors(8, RATIOS, (8,), 127, 17)
    assert corners.shape == centers.shape == (4, 5, 17, 17)
    np.testing.assert_allclose(centers[:2, :, 8, 8], 127)
    rel = tracking_anchors(8, RATIOS, (8,), 17).reshape(5, 17, 17, 4)
    np.testing.assert_allclose(centers[0], rel[..., 0] + 127)
    np.testing.assert_allclose(centers[3], rel[..., 3])
    np.testing.assert_allclose(center_to_corner(centers), corners, atol=1e-4)


def test_encode_decode_round_trip():
    rng = np.random.default_rng(0)
    anchors = tracking_anchors(8, RATIOS, (8,), 17)
    target = np.array([12.5, -7.0, 70.0, 45.0])
    delta = encode(target.reshape(4, 1), anchors.T)
    assert delta.shape == (4, anchors.shape[0])
    boxes = decode(delta, anchors)
    np.testing.assert_allclose(boxes, np.repeat(target.reshape(4, 1), anchors.shape[0], 1), rtol=1e-5, atol=1e-3)
    box = rng.uniform(10, 50, size=(4, 3))
    np.testing.assert_allclose(corner_to_center(center_to_corner(box)), box, atol=1e-9)


def test_iou():
    assert iou_corners(np.array([0, 0, 10, 10.]), [0, 0, 10, 10]) == 1.0
    assert iou_corners(np.array([0, 0, 10, 10.]), [5, 0, 15, 10]) == 50 / 150
    assert iou_corners(np.array([0, 0, 10, 10.]), [20, 20, 30, 30]) == 0.0

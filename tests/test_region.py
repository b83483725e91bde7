"""VOT rasterised region overlap: golden pysot vectors, per-frame overlaps, and a literal C oracle."""
import json
import math
import os

import numpy as np
import pytest

from src.evaluation.geometry import (init_rect_from_region, poly_to_aabb_same_area, poly_to_minmax_rect,
                                     rect_to_polygon, rect_to_vot_polygon)
from src.evaluation.region import vot_float2str, vot_overlap, vot_overlaps

F32 = np.float32
FLT_MAX = np.finfo(np.float32).max


def _same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


# ------------------------------------------------------------------ C oracle
def _cmax(a, b):
    return a if a > b else b


def _cmin(a, b):
    return a if a < b else b


def _oracle_overlap(ra, rb, bounds):
    """region.pyx + region.c (non-legacy) transcribed loop by loop, float32 where C uses float."""
    if len(ra) == 1 or len(rb) == 1:
        return float("nan")

    def polygon(r):
        if len(r) == 4:
            r = [r[0], r[1], r[0] + r[2], r[1], r[0] + r[2], r[1] + r[3], r[0], r[1] + r[3]]
        return [F32(v) for v in r[0::2]], [F32(v) for v in r[1::2]]

    if bounds is None:
        top, bottom, left, right = F32(-np.inf), F32(np.inf), F32(-np.inf), F32(np.inf)
    else:
        top, bottom, left, right = F32(0), F32(bounds[1]), F32(0), F32(bounds[0])

    def region_bounds(xs, ys):
        t, b, l, r = F32(FLT_MAX), F32(-FLT_MAX), F32(FLT_MAX), F32(-FLT_MAX)
        for x, y in zip(xs, ys):
            t, b, l, r = _cmin(t, y), _cmax(b, y), _cmin(l, x), _cmax(r, x)
        t, b, l, r = F32(math.floor(t)), F32(math.ceil(b)), F32(math.floor(l)), F32(math.ceil(r))
        return _cmax(t, top), _cmin(b, bottom), _cmax(l, left), _cmin(r, right)

    def rasterize(xs, ys, width, height):
        mask = np.zeros((height, width), bool)
        xs = [F32(math.copysign(math.floor(abs(float(x)) + 0.5), float(x))) for x in xs]
        ys = [F32(math.copysign(math.floor(abs(float(y)) + 0.5), float(y))) for y in ys]
        n = len(xs)
        for py in range(height):
            nodes = []
            j = n - 1
            for i in range(n):
                yi, yj = int(ys[i]), int(ys[j])
                if (yi <= py < yj) or (yj <= py < yi) or (yi < py <= yj) or (yj < py <= yi) or (yi == yj == py):
                    r, k = float(ys[j] - ys[i]), float(xs[j] - xs[i])
                    if r != 0:
                        nodes.append(int(float(xs[i]) + float(F32(py) - ys[i]) / r * k))
                j = i
            nodes.sort()
            i = 0
            while i < len(nodes) - 1:
                if nodes[i] == nodes[i + 1]:
                    i += 1
                    continue
                if nodes[i] >= width:
                    break
                if nodes[i + 1] >= 0:
                    a, b = max(nodes[i], 0), min(nodes[i + 1], width - 1)
                    mask[py, a:b + 1] = True
                i += 2
        return mask

    xa, ya = polygon(ra)
    xb, yb = polygon(rb)
    b1, b2 = region_bounds(xa, ya), region_bounds(xb, yb)
    x, y = _cmin(b1[2], b2[2]), _cmin(b1[0], b2[0])
    width = int(_cmax(b1[3], b2[3]) - x) + 1
    height = int(_cmax(b1[1], b2[1]) - y) + 1
    with np.errstate(all="ignore"):
        a1 = float((b1[3] - b1[2]) * (b1[1] - b1[0]))
        a2 = float((b2[3] - b2[2]) * (b2[1] - b2[0]))
        r1 = a1 / a2 if a2 else (math.copysign(math.inf, a1) if a1 else math.nan)
        r2 = a2 / a1 if a1 else (math.copysign(math.inf, a2) if a2 else math.nan)
        if r1 < 1e-10 or r2 < 1e-10 or width < 1 or height < 1:
            return 0.0
        it, ib, il, ir = _cmax(b1[0], b2[0]), _cmin(b1[1], b2[1]), _cmax(b1[2], b2[2]), _cmin(b1[3], b2[3])
        inter = (ir - il) * (ib - it)
        q = inter / (F32(a1) + F32(a2) - inter)
    if _cmax(F32(0), q) == 0:
        return 0.0
    m1 = rasterize([v + (-x) for v in xa], [v + (-y) for v in ya], width, height)
    m2 = rasterize([v + (-x) for v in xb], [v + (-y) for v in yb], width, height)
    i, u = int((m1 & m2).sum()), int((m1 | m2).sum())
    with np.errstate(all="ignore"):
        return float(F32(i) / F32(u))


def _random_region(rng, kind):
    cx, cy = rng.uniform(-40, 260), rng.uniform(-40, 220)
    if kind == "rect":
        return [round(v, int(rng.integers(0, 3))) for v in (cx, cy, rng.uniform(0, 80), rng.uniform(0, 80))]
    n = {"quad": 4, "tri": 3, "penta": 5}[kind]
    angles = np.sort(rng.uniform(0, 2 * np.pi, n)) if rng.random() < 0.8 else rng.uniform(0, 2 * np.pi, n)
    radii = rng.uniform(1, 60, n)
    pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1).ravel()
    if rng.random() < 0.3:
        pts = np.round(pts * 2) / 2          # half-pixel vertices: rounding ties
    return pts.tolist()


# --------------------------------------------------------------------- tests
def test_golden_region_cases(golden_dir):
    with open(os.path.join(golden_dir, "vot_toolkit", "region_overlap_cases.json")) as f:
        cases = json.load(f)
    assert len(cases) == 400
    got = [vot_overlap(c["a"], c["b"], c["bounds_wh"]) for c in cases]
    bad = [(i, g, c["overlap"]) for i, (g, c) in enumerate(zip(got, cases)) if not _same(g, c["overlap"])]
    assert not bad, bad[:5]


def test_golden_cases_vectorised_equal_scalar(golden_dir):
    with open(os.path.join(golden_dir, "vot_toolkit", "region_overlap_cases.json")) as f:
        cases = json.load(f)
    for bounds in ([343, 363], None):
        sel = [c for c in cases if c["bounds_wh"] == bounds or (bounds is None and c["bounds_wh"] is None)]
        got = vot_overlaps([c["a"] for c in sel], [c["b"] for c in sel], bounds)
        assert all(_same(g, c["overlap"]) for g, c in zip(got, sel))


def test_per_frame_overlaps(golden_dir):
    """pysot's per-frame A/R (bounds (W, H), burn-in 10) and EAO (bounds (W-1, H-1)) overlaps."""
    from src.evaluation.datasets import load_dataset
    from src.evaluation.results import read_vot_result, vot_result_files
    from src.evaluation.vot_metrics import sequence_overlaps
    root = os.path.join(golden_dir, "vot_toolkit")
    with open(os.path.join(root, "per_frame_overlaps.json")) as f:
        expected = json.load(f)
    checked = 0
    for key, per_video in expected.items():
        dataset_name, tracker, kind = key.split("/")
        dataset = load_dataset(dataset_name, os.path.join(root, "testing_dataset", dataset_name))
        for video in dataset:
            traj = read_vot_result(vot_result_files(os.path.join(root, "results", dataset_name), tracker,
                                                    video.name)[0])
            if kind == "ar":
                got = sequence_overlaps(traj, video.gt, (video.width, video.height), burnin=10)
            else:
                got = sequence_overlaps(traj, video.gt, (video.width - 1, video.height - 1))
            want = np.array(per_video[video.name], dtype=np.float64)
            np.testing.assert_array_equal(got, want, err_msg=f"{key}/{video.name}")
            checked += len(want)
    assert checked == 16 * 2465


@pytest.mark.parametrize("seed", range(4))
def test_vectorised_matches_c_oracle_on_random_regions(seed):
    rng = np.random.default_rng(seed)
    kinds = ["rect", "quad", "tri", "penta"]
    pairs = []
    for _ in range(60):
        a = _random_region(rng, kinds[rng.integers(4)])
        b = _random_region(rng, kinds[rng.integers(4)]) if rng.random() < 0.5 else \
            (np.array(a) + rng.normal(0, 3, len(a))).tolist()
        pairs.append((a, b))
    for bounds in (None, (200, 160), (199, 159)):
        got = [vot_overlap(a, b, bounds) for a, b in pairs]
        want = [_oracle_overlap(a, b, bounds) for a, b in pairs]
        assert all(_same(g, w) for g, w in zip(got, want)), [(g, w) for g, w in zip(got, want) if not _same(g, w)]
        # ragged, mixed-length batch through one call
        batch = vot_overlaps([a for a, _ in pairs], [b for _, b in pairs], bounds)
        assert all(_same(g, w) for g, w in zip(batch, want))


def test_row_chunking_does_not_change_results(monkeypatch):
    import src.evaluation.region as region
    rng = np.random.default_rng(7)
    a = [_random_region(rng, "quad") for _ in range(40)]
    b = [(np.array(r) + rng.normal(0, 4, 8)).tolist() for r in a]
    want = vot_overlaps(a, b, (200, 160))
    monkeypatch.setattr(region, "_ROWS_PER_CHUNK", 37)     # smaller than one frame's rows
    np.testing.assert_array_equal(vot_overlaps(a, b, (200, 160)), want)


def test_specials_and_edge_cases():
    assert math.isnan(vot_overlap([1], [0, 0, 10, 10]))
    assert math.isnan(vot_overlap([0, 0, 10, 10], [2]))
    assert vot_overlap([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert vot_overlap([0, 0, 10, 10], [100, 100, 10, 10]) == 0.0
    # touching rounded bounding boxes count as no overlap (region.c bounds_overlap == 0)
    assert vot_overlap([0, 0, 10, 10], [10, 0, 10, 10]) == 0.0
    # inclusive spans: [0,0,10,10] covers 11 x 11 pixels, [0,0,4,10] covers 5 x 11
    assert vot_overlap([0, 0, 10, 10], [0, 0, 4, 10]) == float(F32(55) / F32(121))
    # clipping to the image: the part outside (w, h) is not counted
    assert vot_overlap([-10, 0, 20, 10], [0, 0, 10, 10], (100, 100)) == 1.0
    assert vot_overlap([-10, 0, 20, 10], [0, 0, 10, 10]) < 1.0
    with pytest.raises(ValueError):
        vot_overlap([0, 0, 1], [0, 0, 10, 10])
    with pytest.raises(ValueError):
        vot_overlaps([[0, 0, 1, 1]], [])
    out = vot_overlaps([[1], [0, 0, 10, 10], [2], [0]], np.tile([0, 0, 10, 10], (4, 1)), (50, 50))
    assert np.isnan(out[[0, 2, 3]]).all() and out[1] == 1.0


def test_vot_float2str_uses_c_float():
    assert vot_float2str("%.4f", 1.23456) == "1.2346"
    assert vot_float2str("%.4f", 2) == "2.0000"
    # 0.30000001 as a C float prints ...0000 at %.4f but keeps float32 digits at %.10f
    assert vot_float2str("%.10f", 0.3) == "%.10f" % float(np.float32(0.3)) != "%.10f" % 0.3


def test_geometry_conversions():
    np.testing.assert_array_equal(rect_to_polygon([1, 2, 3, 4]), [1, 2, 4, 2, 4, 6, 1, 6])
    assert rect_to_vot_polygon([1, 2, 3, 4]) == [1, 2, 1, 5, 3, 5, 3, 2]
    # an axis-aligned polygon keeps its size (+1 as pysot), a rotated one shrinks to its area
    cx, cy, w, h = poly_to_aabb_same_area([0, 0, 10, 0, 10, 20, 0, 20])
    assert (cx, cy, w, h) == (5, 10, 11, 21)
    diamond = [10, 0, 20, 10, 10, 20, 0, 10]
    cx, cy, w, h = poly_to_aabb_same_area(diamond)
    assert (cx, cy) == (10, 10) and np.isclose((w - 1) * (h - 1), 200)
    assert init_rect_from_region([0, 0, 10, 0, 10, 20, 0, 20]) == [0, 0, 11, 21]
    assert poly_to_minmax_rect(diamond) == [0, 0, 20, 20]
    assert poly_to_aabb_same_area([5, 6, 10, 20]) == (10, 16, 10, 20)



def test_same_area_box_is_pysots_within_an_ulp():
    """poly_to_aabb_same_area computes pysot's get_axis_aligned_bbox with scalar operations (no BLAS, so
    the same bits on every CPU): the centre is np.mean's exactly, the size within a few ULPs of the
    np.linalg.norm version (whose dot product may or may not use a fused multiply-add)."""
    from hypothesis import given, settings, strategies as st

    coord = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(coord, min_size=8, max_size=8))
    def check(poly):
        r = np.asarray(poly, np.float64)
        xs, ys = r[0::2], r[1::2]
        a2 = (xs.max() - xs.min()) * (ys.max() - ys.min())
        a1 = np.linalg.norm(r[0:2] - r[2:4]) * np.linalg.norm(r[2:4] - r[4:6])
        if not a2 > 1e-6 or not a1 > 1e-6:
            return                      # degenerate: NaN / inf sizes on both sides, nothing to compare
        s = np.sqrt(a1 / a2)
        want = (np.mean(xs), np.mean(ys), s * (xs.max() - xs.min()) + 1, s * (ys.max() - ys.min()) + 1)
        got = poly_to_aabb_same_area(poly)
        assert got[:2] == want[:2]
        for g, w in zip(got[2:], want[2:]):
            assert abs(g - w) <= 8 * np.finfo(float).eps * abs(w), (poly, g, w)

    check()

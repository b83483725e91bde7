"""Box/polygon conversions used by the evaluation toolkit and the tracker runner.

Every conversion between VOT polygons (8 values ``x1,y1,...,x4,y4``) and
axis-aligned boxes ``[x, y, w, h]`` lives here, each mirroring one pysot function
exactly, because the pysot conventions differ on purpose: the overlap code turns
``[x, y, w, h]`` into a polygon reaching ``x + w`` while tools/test.py turns a
4-value ground truth into one reaching ``x + w - 1`` (inclusive pixel corners).
Mixing them up moves boxes by one pixel and changes failure counts.
"""
import numpy as np


def _edge_length(d0, d1):
    """``sqrt(d0*d0 + d1*d1)`` of two float64 scalars: the products rounded, then the sum."""
    return np.sqrt(d0 * d0 + d1 * d1)


def rect_to_polygon(rects):
    """``[x, y, w, h]`` -> ``[x, y, x+w, y, x+w, y+h, x, y+h]`` along the last axis.

    The conversion of pysot ``toolkit/utils/region.pyx`` ``vot_overlap`` for
    4-value regions (corners at ``x + w``, clockwise from top-left), computed in
    float64 as Python does before the values are stored as C floats.
    """
    r = np.asarray(rects, dtype=np.float64)
    x, y, w, h = r[..., 0], r[..., 1], r[..., 2], r[..., 3]
    return np.stack([x, y, x + w, y, x + w, y + h, x, y + h], axis=-1)


def rect_to_vot_polygon(rect):
    """4-value ground truth -> the polygon pysot tools/test.py scores against.

    ``[x, y, x, y+h-1, x+w-1, y+h-1, x+w-1, y]``: VOT-style inclusive corners,
    counter-clockwise from top-left (tools/test.py, supervised branch).
    """
    x, y, w, h = (float(v) for v in rect[:4])
    return [x, y, x, y + h - 1, x + w - 1, y + h - 1, x + w - 1, y]


def poly_to_aabb_same_area(poly):
    """(cx, cy, w, h) of the axis-aligned box with the polygon's area.

    Port of pysot ``pysot/utils/bbox.py`` ``get_axis_aligned_bbox``: the centre
    is the vertex mean; the min-max box is shrunk by ``s = sqrt(A_poly / A_minmax)``
    (A_poly = |v1 - v2| * |v2 - v3|, i.e. the polygon is taken as a rectangle)
    and ``w = s * (x2 - x1) + 1``, ``h = s * (y2 - y1) + 1``, so a rotated
    ground-truth box initialises the tracker with the target's true size instead
    of the larger min-max box. A 4-value input is ``[x, y, w, h]`` and gives
    ``cx = x + w/2`` (sic, pysot).
    """
    region = np.asarray(poly, dtype=np.float64).ravel()
    if region.size == 8:
        # Scalar IEEE operations in a fixed order, so the result is the same on every
        # CPU and equals the C++ port (ascend310_infer/src/vot_region.cc
        # InitRectFromRegion, built with -ffp-contract=off) bit for bit: every value is
        # a float64 scalar (IEEE, no SIMD, no BLAS). pysot calls np.linalg.norm, whose
        # 2-vector dot product goes through the BLAS numpy links (OpenBLAS), with or
        # without a fused multiply-add depending on the CPU's kernel, so its last bit
        # differed between an Intel and an AMD machine. The edge lengths here differ
        # from pysot's by at most an ULP. The vertex means are np.mean's sums of four
        # values (left to right), written out so that no reduction order is involved.
        v = region
        cx = (((v[0] + v[2]) + v[4]) + v[6]) / 4
        cy = (((v[1] + v[3]) + v[5]) + v[7]) / 4
        x1, x2 = min(v[0::2]), max(v[0::2])
        y1, y2 = min(v[1::2]), max(v[1::2])
        a1 = _edge_length(v[0] - v[2], v[1] - v[3]) * _edge_length(v[2] - v[4], v[3] - v[5])
        a2 = (x2 - x1) * (y2 - y1)
        s = np.sqrt(a1 / a2)
        w = s * (x2 - x1) + 1
        h = s * (y2 - y1) + 1
    elif region.size == 4:
        x, y, w, h = region
        cx, cy = x + w / 2, y + h / 2
    else:
        raise ValueError(f"expected 4 or 8 values, got {region.size}")
    return cx, cy, w, h


def init_rect_from_region(region):
    """The ``[x, y, w, h]`` a tracker is initialised with (pysot tools/test.py).

    ``cx, cy, w, h = get_axis_aligned_bbox(gt)``; ``[cx-(w-1)/2, cy-(h-1)/2, w, h]``.
    """
    cx, cy, w, h = poly_to_aabb_same_area(region)
    return [cx - (w - 1) / 2, cy - (h - 1) / 2, w, h]


def poly_to_minmax_rect(poly):
    """``[x1, y1, x2 - x1, y2 - y1]`` of the min-max box of one polygon.

    The ``init_rect`` stored in pysot dataset JSONs and the OTB-style ground truth
    derived from VOT polygons (golden OTBSYN).
    """
    p = np.asarray(poly, dtype=np.float64).ravel()
    xs, ys = p[0::2], p[1::2]
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min()), float(ys.max() - ys.min())]


def rect_centers(rects):
    """(N, 2) centres ``x + (w - 1)/2, y + (h - 1)/2`` (pysot OPEBenchmark.convert_bb_to_center)."""
    r = np.asarray(rects, dtype=np.float64)
    return np.array([(r[:, 0] + (r[:, 2] - 1) / 2), (r[:, 1] + (r[:, 3] - 1) / 2)]).T

"""VOT region overlap by rasterisation, a vectorised numpy port of pysot's region code.

pysot scores VOT results with ``toolkit/utils/region.pyx`` ``vot_overlap`` which
calls ``compute_polygon_overlap`` of the VOT/trax ``src/region.c`` (non-legacy
rasterisation, the default). The overlap is *not* the geometric IoU: both
regions are drawn on an integer pixel grid with rounded vertices, inclusive span
ends and image-bound clipping, and the pixels are counted. Published VOT
accuracies, failure decisions (overlap == 0) and EAO depend on these details, so
they are reproduced bit for bit, including the float32 arithmetic of the C code:

* vertices are C floats (float32); ``[x, y, w, h]`` becomes the polygon
  ``x..x+w, y..y+h`` computed in double first (``geometry.rect_to_polygon``);
* each polygon's bounds are floored/ceiled and intersected with the bounds
  (``(w, h)`` means left/top 0, right ``w``, bottom ``h``: ``w + 1`` columns);
* early exits return 0 when one bounding-box area is < 1e-10 of the other, the
  canvas is empty, or the rounded bounding boxes do not overlap (``<= 0``);
* both polygons are shifted by the canvas origin (float32), rounded half away
  from zero, then filled row by row: an edge contributes a node on row Y when
  ``min(y_i, y_j) <= Y <= max(y_i, y_j)`` and ``y_i != y_j``, at
  ``trunc(x_i + (Y - y_i) / (y_j - y_i) * (x_j - x_i))``; sorted nodes are
  paired left to right, a pair of equal nodes skips one node, spans are
  inclusive and clipped to the canvas;
* overlap = float32(intersection) / float32(union); 0/0 gives NaN as in C.

The C code loops over every pixel of every frame; here each frame's rows are
turned into at most ``N/2`` disjoint spans per polygon and counted with interval
arithmetic, vectorised over all rows of all frames at once.
"""
import numpy as np

from .geometry import rect_to_polygon

_F32 = np.float32
_FLT_MAX = np.finfo(np.float32).max
_ROWS_PER_CHUNK = 1 << 20   # bounds the (rows x vertices) work arrays to a few tens of MB
_AREA_RATIO_EPS = 1e-10     # region.c: a1 / a2 < 1e-10 -> overlap 0


# C macros ``MAX(a, b) ((a) > (b) ? (a) : (b))`` / ``MIN``: NaN handling differs from np.maximum.
def _cmax(a, b):
    return np.where(a > b, a, b)


def _cmin(a, b):
    return np.where(a < b, a, b)


def vot_float2str(template, value):
    """``sprintf(template, (float) value)``: pysot region.pyx ``vot_float2str``.

    The value goes through a C float first, so results are written with float32
    precision (``vot_float2str("%.4f", 0.1)`` formats 0.10000000149...).
    """
    return template % float(np.float32(value))


def _bounds_tbl_r(bounds):
    """region.pyx bound handling -> float32 (top, bottom, left, right).

    ``None`` -> infinite; ``(w, h)`` -> ``RegionBounds(0, h, 0, w)``; a 4-tuple is
    passed to ``RegionBounds(top, bottom, left, right)`` in that order (region.pyx's
    docstring says left, top, right, bottom, but the code does not).
    """
    if bounds is None:
        return _F32(-np.inf), _F32(np.inf), _F32(-np.inf), _F32(np.inf)
    if len(bounds) == 2:
        return _F32(0), _F32(bounds[1]), _F32(0), _F32(bounds[0])
    if len(bounds) == 4:
        return tuple(_F32(b) for b in bounds)
    raise ValueError(f"bounds must be None, (w, h) or (top, bottom, left, right), got {bounds!r}")


def _as_polygon_xy(regions):
    """(F, k) regions (k == 4 rectangles or even k >= 6 polygons) -> float32 x, y of shape (F, N)."""
    r = np.asarray(regions, dtype=np.float64)
    k = r.shape[1]
    if k == 4:
        r = rect_to_polygon(r)
    elif k < 6 or k % 2:
        raise ValueError(f"a region needs 4 values [x, y, w, h] or an even number >= 6 of "
                         f"polygon coordinates, got {k}")
    p = r.astype(np.float32)
    return p[:, 0::2], p[:, 1::2]


class _Bounds:
    """Per-frame float32 region_bounds (region.c ``compute_bounds`` -> ``bounds_round`` -> ``bounds_intersection``)."""

    def __init__(self, xs, ys, clip):
        top, bottom, left, right = _F32(_FLT_MAX), _F32(-_FLT_MAX), _F32(_FLT_MAX), _F32(-_FLT_MAX)
        for i in range(xs.shape[1]):
            top, bottom = _cmin(top, ys[:, i]), _cmax(bottom, ys[:, i])
            left, right = _cmin(left, xs[:, i]), _cmax(right, xs[:, i])
        ctop, cbottom, cleft, cright = clip
        self.top = _cmax(np.floor(top), ctop).astype(_F32)
        self.bottom = _cmin(np.ceil(bottom), cbottom).astype(_F32)
        self.left = _cmax(np.floor(left), cleft).astype(_F32)
        self.right = _cmin(np.ceil(right), cright).astype(_F32)

    def area(self):
        return (self.right - self.left) * (self.bottom - self.top)   # float32, as in C


def _bounds_overlap(b1, b2):
    """region.c ``bounds_overlap`` in float32 (without the final MAX(0, .))."""
    top, bottom = _cmax(b1.top, b2.top), _cmin(b1.bottom, b2.bottom)
    left, right = _cmax(b1.left, b2.left), _cmin(b1.right, b2.right)
    inter = (right - left) * (bottom - top)
    return inter / (b1.area() + b2.area() - inter)


def _c_round(v):
    """C ``round()`` (half away from zero) of float32 values, kept exact in float64."""
    v = v.astype(np.float64)
    return np.copysign(np.floor(np.abs(v) + 0.5), v)


def _sorted_nodes(xs, ys, row_y, heights):
    """Scanline nodes of one polygon on every canvas row, sorted (invalid = +inf).

    An edge (i, j = i - 1) gives a node on row Y when ``min(y_i, y_j) <= Y <=
    max(y_i, y_j)`` and ``y_i != y_j``, at ``trunc(x_i + (Y - y_i) / (y_j - y_i) *
    (x_j - x_i))``, evaluated in double in this order as region.c does.
    Per-frame values are expanded to rows with ``np.repeat`` (rows of a frame are
    contiguous). Returns a list of N (T,) float64 arrays in ascending order.
    """
    rep = lambda a: np.repeat(a, heights)    # noqa: E731
    nodes = []
    for i in range(xs.shape[1]):
        xi, yi, xj, yj = xs[:, i], ys[:, i], xs[:, i - 1], ys[:, i - 1]
        lo = np.where(yi != yj, np.minimum(yi, yj), np.inf)
        dy = row_y - rep(yi)
        crosses = (rep(lo) <= row_y) & (row_y <= rep(np.maximum(yi, yj)))
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.trunc(rep(xi) + dy / rep(yj - yi) * rep(xj - xi))
        nodes.append(np.where(crosses, x, np.inf))
    for r in range(len(nodes)):                  # odd-even transposition sort, element-wise
        for k in range(r % 2, len(nodes) - 1, 2):
            nodes[k], nodes[k + 1] = np.minimum(nodes[k], nodes[k + 1]), np.maximum(nodes[k], nodes[k + 1])
    return nodes


def _row_spans(nodes, row_width):
    """Filled spans of one polygon per row from its sorted nodes (region.c fill loop).

    region.c walks the sorted nodes with a pointer i: equal nodes at i (a vertex
    on the row) skip one node, otherwise pixels nodes[i]..nodes[i+1] are filled
    (clipped to the canvas) and i += 2. Here "i is a pair start" is tracked per
    position, so span k can only use nodes k and k + 1. Returns (starts, ends),
    lists of N - 1 int64 arrays, inclusive and disjoint within a row (empty:
    start > end).
    """
    n_valid = sum((v < np.inf).astype(np.int64) for v in nodes)
    width = row_width
    candidate = [np.ones(len(width), bool)] + [np.zeros(len(width), bool) for _ in nodes]
    starts, ends = [], []
    last_end = np.full(len(width), -1, np.int64)
    for k in range(len(nodes) - 1):
        a, b = nodes[k], nodes[k + 1]
        active = candidate[k] & (k < n_valid - 1)
        same = a == b                         # "a point on the line gives two equal nodes: ignore the first"
        candidate[k + 1] |= active & same
        pair = active & ~same
        candidate[k + 2] |= pair
        fill = pair & (a < width) & (b >= 0)  # a >= width: region.c breaks, later spans start further right
        start = np.where(fill, np.maximum(a, 0), 0).astype(np.int64)
        end = np.where(fill, np.minimum(b, width - 1), -1).astype(np.int64)
        # Consecutive spans may share their boundary pixel (sorted nodes); the mask counts it once.
        start = np.maximum(start, last_end + 1)
        last_end = np.where(end >= start, np.maximum(last_end, end), last_end)
        starts.append(start)
        ends.append(end)
    return starts, ends


def _pixel_counts(pa, pb, widths, heights):
    """(intersection, area_a, area_b) pixel counts of shifted polygons on their canvases."""
    n = len(widths)
    inter, area_a, area_b = (np.zeros(n, np.int64) for _ in range(3))
    first = 0
    while first < n:                                   # chunk frames to bound memory
        rows_cum = np.cumsum(heights[first:])
        last = first + max(1, int(np.searchsorted(rows_cum, _ROWS_PER_CHUNK, side="right")))
        sl = slice(first, last)
        h = heights[sl]
        row_frame = np.repeat(np.arange(last - first), h)
        row_y = (np.arange(h.sum()) - np.repeat(np.cumsum(h) - h, h)).astype(np.float64)
        row_width = np.repeat(widths[sl], h)
        sa, ea = _row_spans(_sorted_nodes(pa[0][sl], pa[1][sl], row_y, h), row_width)
        sb, eb = _row_spans(_sorted_nodes(pb[0][sl], pb[1][sl], row_y, h), row_width)
        row_inter = sum(np.maximum(np.minimum(e1, e2) - np.maximum(s1, s2) + 1, 0)
                        for s1, e1 in zip(sa, ea) for s2, e2 in zip(sb, eb))
        count = lambda v: np.bincount(row_frame, weights=v, minlength=last - first).astype(np.int64)  # noqa: E731
        inter[sl] = count(row_inter)
        area_a[sl] = count(sum(np.maximum(e - s + 1, 0) for s, e in zip(sa, ea)))
        area_b[sl] = count(sum(np.maximum(e - s + 1, 0) for s, e in zip(sb, eb)))
        first = last
    return inter, area_a, area_b


def _polygon_overlaps(xa, ya, xb, yb, bounds):
    """region.c ``compute_polygon_overlap`` for F polygon pairs -> float64 array of float32 values."""
    clip = _bounds_tbl_r(bounds)
    b1, b2 = _Bounds(xa, ya, clip), _Bounds(xb, yb, clip)
    x0, y0 = _cmin(b1.left, b2.left), _cmin(b1.top, b2.top)
    out = np.zeros(len(xa), np.float64)
    with np.errstate(all="ignore"):
        width_f = np.trunc(_cmax(b1.right, b2.right) - x0) + 1
        height_f = np.trunc(_cmax(b1.bottom, b2.bottom) - y0) + 1
        a1, a2 = b1.area().astype(np.float64), b2.area().astype(np.float64)
        q = _bounds_overlap(b1, b2)
        zero = (a1 / a2 < _AREA_RATIO_EPS) | (a2 / a1 < _AREA_RATIO_EPS) | ~(width_f >= 1) | ~(height_f >= 1)
        zero |= (0 > q) | (q == 0)           # MAX(0, q) == 0; NaN goes on to rasterisation
    todo = np.flatnonzero(~zero)
    if len(todo) == 0:
        return out
    shift = lambda v, o: _c_round(v[todo] + (-o[todo])[:, None])   # noqa: E731  (float32 add, then round)
    pa = shift(xa, x0), shift(ya, y0)
    pb = shift(xb, x0), shift(yb, y0)
    inter, area_a, area_b = _pixel_counts(pa, pb, width_f[todo].astype(np.int64),
                                          height_f[todo].astype(np.int64))
    with np.errstate(all="ignore"):
        out[todo] = _F32(inter.astype(_F32) / (area_a + area_b - inter).astype(_F32))
    return out


def vot_overlaps(results, gts, bounds=None):
    """Per-frame VOT overlaps of two region sequences (pysot ``vot_overlap_traj``).

    ``results`` and ``gts`` are sequences of regions: ``[x, y, w, h]``, flat
    polygons, or 1-value special entries (``[1]`` init, ``[2]`` failure, ``[0]``
    skipped) which give NaN, as in pysot. ``bounds`` is ``None``, ``(w, h)`` or
    a 4-tuple (see ``vot_overlap``) shared by all frames. Returns float64 (F,).
    """
    if len(results) != len(gts):
        raise ValueError(f"{len(results)} results but {len(gts)} ground-truth regions")
    lengths_a = np.array([len(r) for r in results], np.int64)
    lengths_b = np.array([len(g) for g in gts], np.int64)
    out = np.full(len(results), np.nan)
    valid = (lengths_a != 1) & (lengths_b != 1)
    pairs = set(zip(lengths_a[valid].tolist(), lengths_b[valid].tolist()))
    for ka, kb in pairs:                     # one vectorised pass per (len a, len b) combination
        sel = np.flatnonzero(valid & (lengths_a == ka) & (lengths_b == kb))
        xa, ya = _as_polygon_xy([results[i] for i in sel])
        xb, yb = _as_polygon_xy([gts[i] for i in sel])
        out[sel] = _polygon_overlaps(xa, ya, xb, yb, bounds)
    return out


def vot_overlap(region_a, region_b, bounds=None):
    """Overlap of two regions as pysot ``vot_overlap`` returns it (float, NaN for specials).

    Regions: ``[x, y, w, h]`` or flat polygons ``[x1, y1, x2, y2, ...]`` (>= 3
    vertices); a 1-value region gives NaN. ``bounds``: ``None`` (unbounded),
    ``(w, h)`` (pysot: accuracy uses the image size, EAO ``(w-1, h-1)``) or
    ``(top, bottom, left, right)``.
    """
    return float(vot_overlaps([region_a], [region_b], bounds)[0])

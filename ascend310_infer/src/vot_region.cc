#include "inc/vot.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>

#include "inc/utils.h"

namespace siam {

namespace {

// ------------------------------------------------------------------ overlap
// Port of src/evaluation/region.py (itself region.c's non-legacy rasterisation,
// checked bit for bit against pysot's toolkit). Vertices and bounds are C
// floats; scanline nodes are doubles; min/max follow the C macros (or numpy's
// NaN-propagating minimum/maximum where region.py uses those), so degenerate
// regions (NaN, inf) come out as in Python too.

inline float CMin(float a, float b) { return a < b ? a : b; }
inline float CMax(float a, float b) { return a > b ? a : b; }
inline double NpMin(double a, double b) { return std::isnan(a) ? a : std::isnan(b) ? b : (b < a ? b : a); }
inline double NpMax(double a, double b) { return std::isnan(a) ? a : std::isnan(b) ? b : (b > a ? b : a); }

struct Polygon {
  std::vector<float> x, y;
};

Polygon AsPolygon(const std::vector<double> &r) {
  std::vector<double> v = r;
  if (r.size() == 4) {   // geometry.rect_to_polygon: corners at x + w, in double first
    double x = r[0], y = r[1], w = r[2], h = r[3];
    v = {x, y, x + w, y, x + w, y + h, x, y + h};
  } else if (r.size() < 6 || r.size() % 2) {
    throw AppError("a region needs 4 values [x, y, w, h] or an even number >= 6 of polygon coordinates, got " +
                   std::to_string(r.size()));
  }
  Polygon p;
  for (size_t i = 0; i < v.size(); i += 2) {
    p.x.push_back(static_cast<float>(v[i]));
    p.y.push_back(static_cast<float>(v[i + 1]));
  }
  return p;
}

struct Bounds {
  float top, bottom, left, right;
  float Area() const { return (right - left) * (bottom - top); }
};

Bounds PolygonBounds(const Polygon &p, const Bounds &clip) {
  float top = FLT_MAX, bottom = -FLT_MAX, left = FLT_MAX, right = -FLT_MAX;
  for (size_t i = 0; i < p.x.size(); ++i) {
    top = CMin(top, p.y[i]);
    bottom = CMax(bottom, p.y[i]);
    left = CMin(left, p.x[i]);
    right = CMax(right, p.x[i]);
  }
  return {CMax(std::floor(top), clip.top), CMin(std::ceil(bottom), clip.bottom), CMax(std::floor(left), clip.left),
          CMin(std::ceil(right), clip.right)};
}

float BoundsOverlap(const Bounds &b1, const Bounds &b2) {
  float top = CMax(b1.top, b2.top), bottom = CMin(b1.bottom, b2.bottom);
  float left = CMax(b1.left, b2.left), right = CMin(b1.right, b2.right);
  float inter = (right - left) * (bottom - top);
  return inter / (b1.Area() + b2.Area() - inter);
}

inline double CRound(float v) {   // C round(): half away from zero
  double d = v;
  return std::copysign(std::floor(std::fabs(d) + 0.5), d);
}

struct Span {
  int64_t start, end;   // inclusive; empty when start > end
};

/** Filled spans of one (shifted, rounded) polygon on canvas row y (region.py _sorted_nodes + _row_spans). */
void RowSpans(const std::vector<double> &xs, const std::vector<double> &ys, double row, int64_t width,
              std::vector<double> *nodes, std::vector<Span> *spans) {
  const size_t n = xs.size();
  nodes->resize(n);
  for (size_t i = 0; i < n; ++i) {
    size_t j = (i + n - 1) % n;   // the edge from the previous vertex
    double lo = ys[i] != ys[j] ? NpMin(ys[i], ys[j]) : std::numeric_limits<double>::infinity();
    bool crosses = lo <= row && row <= NpMax(ys[i], ys[j]);
    double x = std::trunc(xs[i] + (row - ys[i]) / (ys[j] - ys[i]) * (xs[j] - xs[i]));
    (*nodes)[i] = crosses ? x : std::numeric_limits<double>::infinity();
  }
  for (size_t r = 0; r < n; ++r) {   // odd-even transposition sort, as region.py (NaN-propagating)
    for (size_t k = r % 2; k + 1 < n; k += 2) {
      double a = (*nodes)[k], b = (*nodes)[k + 1];
      (*nodes)[k] = NpMin(a, b);
      (*nodes)[k + 1] = NpMax(a, b);
    }
  }
  int64_t valid = 0;
  for (double v : *nodes) valid += v < std::numeric_limits<double>::infinity();
  // region.c walks the nodes: equal nodes (a vertex on the row) skip one node,
  // otherwise nodes k..k+1 are filled (clipped to the canvas) and the walk jumps by 2
  std::vector<char> candidate(n + 1, 0);
  candidate[0] = 1;
  spans->clear();
  int64_t last_end = -1;
  for (size_t k = 0; k + 1 < n; ++k) {
    double a = (*nodes)[k], b = (*nodes)[k + 1];
    bool active = candidate[k] && static_cast<int64_t>(k) < valid - 1;
    bool same = a == b;
    if (active && same) candidate[k + 1] = 1;
    bool pair = active && !same;
    if (pair) candidate[k + 2] = 1;
    bool fill = pair && a < static_cast<double>(width) && b >= 0;
    int64_t start = fill ? static_cast<int64_t>(NpMax(a, 0.0)) : 0;
    int64_t end = fill ? static_cast<int64_t>(NpMin(b, static_cast<double>(width - 1))) : -1;
    start = std::max(start, last_end + 1);   // consecutive spans may share a pixel: count it once
    if (end >= start) last_end = std::max(last_end, end);
    spans->push_back({start, end});
  }
}

inline int64_t SpanLength(const Span &s) { return std::max<int64_t>(s.end - s.start + 1, 0); }

}  // namespace

double VotOverlap(const std::vector<double> &a, const std::vector<double> &b, double width, double height) {
  return VotOverlapClipped(a, b, 0, height, 0, width);
}

double VotOverlapClipped(const std::vector<double> &a, const std::vector<double> &b, double top, double bottom,
                         double left, double right) {
  if (a.size() == 1 || b.size() == 1) return std::nan("");   // codes 0/1/2 have no overlap
  Polygon pa = AsPolygon(a), pb = AsPolygon(b);
  Bounds clip = {static_cast<float>(top), static_cast<float>(bottom), static_cast<float>(left),
                 static_cast<float>(right)};
  Bounds b1 = PolygonBounds(pa, clip), b2 = PolygonBounds(pb, clip);
  float x0 = CMin(b1.left, b2.left), y0 = CMin(b1.top, b2.top);
  float width_f = std::trunc(CMax(b1.right, b2.right) - x0) + 1.0f;
  float height_f = std::trunc(CMax(b1.bottom, b2.bottom) - y0) + 1.0f;
  double a1 = b1.Area(), a2 = b2.Area();
  float q = BoundsOverlap(b1, b2);
  if (a1 / a2 < 1e-10 || a2 / a1 < 1e-10 || !(width_f >= 1) || !(height_f >= 1) || 0 > q || q == 0) return 0.0;
  auto shift = [](const Polygon &p, float ox, float oy, std::vector<double> *xs, std::vector<double> *ys) {
    for (size_t i = 0; i < p.x.size(); ++i) {
      xs->push_back(CRound(p.x[i] + (-ox)));   // float32 add, then round
      ys->push_back(CRound(p.y[i] + (-oy)));
    }
  };
  std::vector<double> ax, ay, bx, by;
  shift(pa, x0, y0, &ax, &ay);
  shift(pb, x0, y0, &bx, &by);
  const int64_t w = static_cast<int64_t>(width_f), h = static_cast<int64_t>(height_f);
  int64_t inter = 0, area_a = 0, area_b = 0;
  std::vector<double> nodes;
  std::vector<Span> sa, sb;
  for (int64_t row = 0; row < h; ++row) {
    RowSpans(ax, ay, static_cast<double>(row), w, &nodes, &sa);
    RowSpans(bx, by, static_cast<double>(row), w, &nodes, &sb);
    for (const Span &s : sa) area_a += SpanLength(s);
    for (const Span &s : sb) area_b += SpanLength(s);
    for (const Span &s1 : sa) {
      for (const Span &s2 : sb) inter += SpanLength({std::max(s1.start, s2.start), std::min(s1.end, s2.end)});
    }
  }
  return static_cast<float>(inter) / static_cast<float>(area_a + area_b - inter);
}

bool IsFailure(const std::vector<double> &region, const std::vector<double> &gt_polygon, int width, int height) {
  return !(VotOverlap(region, gt_polygon, width, height) > 0);
}

std::array<double, 4> InitRectFromRegion(const std::vector<double> &r) {
  // geometry.poly_to_aabb_same_area, the same IEEE double operations in the same
  // order: the vertex means summed left to right, each edge length
  // sqrt(d0 * d0 + d1 * d1) with the products rounded before the sum. CMakeLists
  // builds with -ffp-contract=off, so the compiler cannot fuse them into an FMA
  // (pysot's np.linalg.norm does or does not, depending on the CPU's BLAS kernel;
  // the Python code avoids it for that reason). Bit for bit on every x86 CPU.
  double cx = (((r[0] + r[2]) + r[4]) + r[6]) / 4;
  double cy = (((r[1] + r[3]) + r[5]) + r[7]) / 4;
  double x1 = std::min({r[0], r[2], r[4], r[6]}), x2 = std::max({r[0], r[2], r[4], r[6]});
  double y1 = std::min({r[1], r[3], r[5], r[7]}), y2 = std::max({r[1], r[3], r[5], r[7]});
  auto norm = [](double d0, double d1) { return std::sqrt(d0 * d0 + d1 * d1); };
  double a1 = norm(r[0] - r[2], r[1] - r[3]) * norm(r[2] - r[4], r[3] - r[5]);
  double a2 = (x2 - x1) * (y2 - y1);
  double s = std::sqrt(a1 / a2);
  double w = s * (x2 - x1) + 1;
  double h = s * (y2 - y1) + 1;
  return {cx - (w - 1) / 2, cy - (h - 1) / 2, w, h};
}

}  // namespace siam

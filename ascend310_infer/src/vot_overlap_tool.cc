/**
 * vot_overlap: the application's VOT geometry on stdin, for the parity tests
 * against src/evaluation/region.py and geometry.py (tests/test_infer_cpp.py).
 *
 *   overlap W H N a1 .. aN M b1 .. bM   ->  the overlap of regions a and b within bounds (W, H)
 *   overlap_unbounded N a1 .. aN M b1 .. bM
 *   init x1 y1 x2 y2 x3 y3 x4 y4        ->  init_rect_from_region: x y w h
 *
 * One answer per line, with 17 significant digits ("nan" for NaN).
 */
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "inc/utils.h"
#include "inc/vot.h"

static void Print(double v, const char *end) {
  if (std::isnan(v)) {
    std::printf("nan%s", end);
  } else {
    std::printf("%.17g%s", v, end);
  }
}

int main() {
  std::string line;
  int number = 0;
  while (std::getline(std::cin, line)) {
    ++number;
    std::istringstream in(line);
    std::string op;
    if (!(in >> op)) continue;
    auto read = [&](size_t n) {
      std::vector<double> v(n);
      for (double &x : v) {
        std::string token;
        if (!(in >> token)) throw siam::AppError("stdin line " + std::to_string(number) + ": too few values");
        x = std::stod(token);   // accepts nan / inf
      }
      return v;
    };
    try {
      if (op == "overlap") {
        std::vector<double> bounds = read(2);
        std::vector<double> a = read(static_cast<size_t>(read(1)[0]));
        std::vector<double> b = read(static_cast<size_t>(read(1)[0]));
        Print(siam::VotOverlap(a, b, bounds[0], bounds[1]), "\n");
      } else if (op == "overlap_unbounded") {
        const double inf = std::numeric_limits<double>::infinity();
        std::vector<double> a = read(static_cast<size_t>(read(1)[0]));
        std::vector<double> b = read(static_cast<size_t>(read(1)[0]));
        Print(siam::VotOverlapClipped(a, b, -inf, inf, -inf, inf), "\n");
      } else if (op == "init") {
        auto r = siam::InitRectFromRegion(read(8));
        for (int i = 0; i < 4; ++i) Print(r[i], i < 3 ? " " : "\n");
      } else {
        throw siam::AppError("stdin line " + std::to_string(number) + ": unknown operation '" + op + "'");
      }
    } catch (const std::exception &e) {
      std::fprintf(stderr, "vot_overlap: %s\n", e.what());
      return 1;
    }
  }
  return 0;
}

/**
 * crop_tool: SampledResize (tracker.cc) against what it replaces, the materialised padded crop
 * resized by cv::resize INTER_LINEAR, for tests/test_crop_exact.py.
 *
 *   crop_tool < CASES
 *
 * One case a line, "height width xmin ymin side out_size seed": a random CV_8UC3 frame and
 * padding colour drawn from cv::RNG(seed), the crop of `side` pixels at (xmin, ymin) resized
 * to out_size both ways. One answer line each: the number of bytes that differ (0: exact).
 */
#include <cstdint>
#include <iostream>
#include <sstream>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "inc/tracker.h"

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    int height = 0, width = 0, side = 0, out_size = 0;
    int64_t xmin = 0, ymin = 0;
    uint64_t seed = 0;
    if (!(in >> height >> width >> xmin >> ymin >> side >> out_size >> seed) || height < 1 || width < 1 ||
        side < 1 || out_size < 1) {
      std::cerr << "crop_tool: expected 'height width xmin ymin side out_size seed', got '" << line << "'\n";
      return 2;
    }
    cv::RNG rng(seed);
    cv::Mat image(height, width, CV_8UC3);
    rng.fill(image, cv::RNG::UNIFORM, 0, 256);
    const unsigned char pad[3] = {static_cast<unsigned char>(rng.uniform(0, 256)),
                                  static_cast<unsigned char>(rng.uniform(0, 256)),
                                  static_cast<unsigned char>(rng.uniform(0, 256))};
    cv::Mat canvas(side, side, CV_8UC3, cv::Scalar(pad[0], pad[1], pad[2]));
    const cv::Rect frame(0, 0, width, height);
    const cv::Rect crop(static_cast<int>(xmin), static_cast<int>(ymin), side, side);
    const cv::Rect both = frame & crop;
    if (both.area() > 0) image(both).copyTo(canvas(both - crop.tl()));
    cv::Mat expected, sampled;
    cv::resize(canvas, expected, cv::Size(out_size, out_size), 0, 0, cv::INTER_LINEAR);
    siam::SampledResize(image, xmin, ymin, side, out_size, pad, &sampled);
    cv::Mat diff;
    cv::compare(expected.reshape(1), sampled.reshape(1), diff, cv::CMP_NE);
    std::cout << cv::countNonZero(diff) << "\n";
  }
  return 0;
}

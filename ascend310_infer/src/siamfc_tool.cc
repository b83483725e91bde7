/**
 * siamfc_tool: the SiamFC / SA-Siam tracker's post-processing (siamfc_tracker.cc)
 * without a network, for the parity tests against src/tracker/siamfc_tracker.py,
 * sasiam_tracker.py and cv2 (tests/test_infer_cpp_siamfc.py, test_infer_cpp_sasiam.py).
 *
 *   siamfc_tool DESC_JSON [BOX_ORIGIN]
 *
 * DESC_JSON: an export description (format 2, decoder kind response_map; its
 * graphs are not read) or any JSON with its format_version, decoder, input and
 * track sections. BOX_ORIGIN: 0 (default, as the application) or 1 (the
 * reference's boxes). Commands on stdin, one per line, one answer line each:
 *
 *   scales                 ->  the scale factors
 *   window                 ->  the normalised Hann window, row-major
 *   upsample v1 .. vN      ->  the upsampled maps of N = scale_num * r * r raw responses
 *                              (decoder.upsample: cv::resize bicubic / bilinear, or TF 1's
 *                              bicubic_tf_align_corners)
 *   locate m1 .. mM        ->  scale row col f1 .. fU: locate_peak on M = scale_num * up * up
 *                              upsampled maps (penalty applied here) and its final map
 *   init x y w h           ->  STATE after init_state
 *   update v1 .. vN        ->  STATE after update_from_responses (with the decoder's
 *                              displacement_clip and the track section's scale_clip)
 *
 * STATE: scale row col box_x box_y box_w box_h centre_y centre_x h w x_sz z_sz.
 * float32 values are printed with 9 significant digits and float64 ones with
 * 17 (both round-trip exactly); numbers are read with strtod (decimal, hex, nan).
 */
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "inc/model_desc.h"
#include "inc/siamfc_tracker.h"
#include "inc/utils.h"

namespace {

std::vector<double> Numbers(const char *text) {
  std::vector<double> out;
  char *end = nullptr;
  for (const char *p = text;; p = end) {
    double v = std::strtod(p, &end);
    if (end == p) break;
    out.push_back(v);
  }
  return out;
}

void PrintState(const siam::SiamFCTracker &t) {
  const std::array<float, 4> box = t.Box();
  std::printf("%d %d %d %.9g %.9g %.9g %.9g %.9g %.9g %.9g %.9g %.17g %.17g\n", t.LastScaleId(), t.LastRow(),
              t.LastCol(), box[0], box[1], box[2], box[3], t.CenterY(), t.CenterX(), t.TargetH(), t.TargetW(),
              t.XSize(), t.ZSize());
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: siamfc_tool DESC_JSON [BOX_ORIGIN]\n");
    return 2;
  }
  try {
    siam::ModelDesc desc;
    desc.json_path = argv[1];
    siam::ReadTrackingSections(siam::ReadJsonFile(argv[1]), &desc);
    if (desc.kind != siam::DecoderKind::kResponseMap) throw siam::AppError(desc.json_path + ": not a response_map decoder");
    siam::SiamFCTracker tracker(nullptr, desc, argc == 3 ? std::atoi(argv[2]) : 0);
    const siam::ResponseMapDecoder &d = desc.response;
    const size_t raw = static_cast<size_t>(d.scale_num) * d.response_size * d.response_size;
    const size_t up = static_cast<size_t>(d.response_size) * d.response_up;
    std::string line;
    int number = 0;
    while (std::getline(std::cin, line)) {
      ++number;
      const size_t space = line.find(' ');
      const std::string op = line.substr(0, space);
      if (op.empty()) continue;
      const std::vector<double> v = Numbers(space == std::string::npos ? "" : line.c_str() + space);
      auto expect = [&](size_t n) {
        if (v.size() != n) {
          throw siam::AppError("line " + std::to_string(number) + ": " + op + " takes " + std::to_string(n) +
                               " numbers, got " + std::to_string(v.size()));
        }
      };
      std::vector<float> f(v.begin(), v.end());
      if (op == "scales") {
        for (double s : tracker.ScaleFactors()) std::printf("%.17g ", s);
      } else if (op == "window") {
        for (double w : tracker.Window()) std::printf("%.17g ", w);
      } else if (op == "upsample") {
        expect(raw);
        tracker.Upsample(f.data());
        for (const cv::Mat &m : tracker.Maps()) {
          for (size_t i = 0; i < up * up; ++i) std::printf("%.9g ", m.ptr<float>()[i]);
        }
      } else if (op == "locate") {
        expect(d.scale_num * up * up);
        for (int s = 0; s < d.scale_num; ++s) {
          cv::Mat(static_cast<int>(up), static_cast<int>(up), CV_32F, f.data() + s * up * up)
              .copyTo(tracker.Maps()[s]);
        }
        tracker.LocatePeak();
        std::printf("%d %d %d", tracker.LastScaleId(), tracker.LastRow(), tracker.LastCol());
        for (double x : tracker.FinalMap()) std::printf(" %.17g", x);
      } else if (op == "init") {
        expect(4);
        tracker.InitState({v[0], v[1], v[2], v[3]});
        PrintState(tracker);
        continue;
      } else if (op == "update") {
        expect(raw);
        tracker.UpdateFromResponses(f.data());
        PrintState(tracker);
        continue;
      } else {
        throw siam::AppError("line " + std::to_string(number) + ": unknown command '" + op + "'");
      }
      std::printf("\n");
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "siamfc_tool: %s\n", e.what());
    return 1;
  }
  return 0;
}

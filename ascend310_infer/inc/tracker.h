/**
 * The tracking step over a network back-end, chosen by the export's decoder
 * (model_desc.h), never by its arch name:
 *
 *   anchors       AnchorTracker (this header, tracker.cc): a C++ port of
 *                 src/tracker/siamrpn_tracker.py and siammask_tracker.py
 *   response_map  SiamFCTracker (siamfc_tracker.h): src/tracker/siamfc_tracker.py
 *
 * Parity with the Python tracker is the specification, so the arithmetic is
 * numpy's: float64 wherever numpy promotes to float64, float32 where numpy
 * stays in float32, the same rounding rules for crop corners, and Python's
 * min/max semantics when clipping. Per-frame buffers are reused.
 *
 * Boxes are 0-indexed [x, y, w, h], as the VOT protocol (vot.cc, like
 * src/evaluation/runner.py) hands them to the trackers.
 */
#ifndef ASCEND310_INFER_INC_TRACKER_H_
#define ASCEND310_INFER_INC_TRACKER_H_

#include <array>
#include <chrono>
#include <cmath>
#include <memory>
#include <vector>

#include <opencv2/core.hpp>

#include "inc/backend.h"
#include "inc/model_desc.h"

namespace siam {

/** What the VOT protocol needs of a tracker. */
class Tracker {
 public:
  virtual ~Tracker() = default;
  /** Start on `image` (BGR uint8) from box [x, y, w, h]; AppError for boxes no tracker can start from. */
  virtual void Init(const cv::Mat &image, const std::array<double, 4> &box) = 0;
  /** One frame; Region() then holds what VOT scores. */
  virtual void Track(const cv::Mat &image) = 0;

  /** After Track: [x, y, w, h], or SiamMask's rotated box polygon. */
  const std::vector<double> &Region() const { return region_; }
  /** Seconds the last Track spent in network calls, for the benchmark. */
  double LastNetworkSeconds() const { return network_seconds_; }

 protected:
  /**
   * base.check_init_box: finite, positive area, overlapping the image (`box_origin`: the index
   * of the box's first pixel).
   */
  static void CheckInitBox(const cv::Mat &image, const std::array<double, 4> &box, int box_origin = 0);
  /**
   * The square crop of `side` frame pixels whose top-left pixel is (xmin, ymin), pixels
   * outside the frame `pad` (frame channel order), cv::resize INTER_LINEAR to model_size
   * (skipped when equal, as cv2.resize copies then), written to dst as CHW float32 in the
   * network's channel order (`rgb`: swapped from the frame's BGR).
   */
  void CropResize(const cv::Mat &image, int64_t xmin, int64_t ymin, int side, int model_size,
                  const unsigned char pad[3], bool rgb, float *dst);

  std::vector<double> region_;
  double network_seconds_ = 0;

 private:
  cv::Mat canvas_, resized_;
};

/**
 * cv::resize(padded crop, (out_size, out_size), INTER_LINEAR) for a CV_8UC3 `image`, byte for
 * byte, reading only the crop pixels the resize reads (two rows and two columns per output
 * pixel) instead of materialising the `side` x `side` padded crop: the crop whose top-left pixel
 * is (xmin, ymin), pixels outside the frame `pad`. Written to *dst (CV_8UC3, out_size square).
 */
void SampledResize(const cv::Mat &image, int64_t xmin, int64_t ymin, int side, int out_size,
                   const unsigned char pad[3], cv::Mat *dst);

/** The tracker for the export's decoder kind. */
std::unique_ptr<Tracker> CreateTracker(Backend *backend, const ModelDesc &desc);

// Arithmetic shared by the trackers.

/** src/crop_geometry.py context_size: sqrt((w + p)(h + p)), p = (w + h) * amount, in T's precision. */
template <typename T>
inline T ContextSize(T w, T h, T amount) {
  T pad = (w + h) * amount;
  return std::sqrt((w + pad) * (h + pad));
}
/** Python round() of a float64, np.round: round half to even (the default FE_TONEAREST mode). */
inline double RoundHalfEven(double v) { return std::nearbyint(v); }
/** np.hanning(M): 0.5 + 0.5 * cos(pi * n / (M - 1)), n = 1 - M, 3 - M, ..., M - 1 (float64). */
std::vector<double> Hanning(int M);
/** A crop coordinate or side as an integer; AppError when it is not finite (a diverged state). */
int64_t ToIndex(double v, const char *what);
double SecondsSince(std::chrono::steady_clock::time_point since);

/** SiamRPN / SiamMask (decoder "anchors"): crop, decode, penalties, window, update; mask and rotated box. */
class AnchorTracker : public Tracker {
 public:
  AnchorTracker(Backend *backend, const ModelDesc &desc);

  void Init(const cv::Mat &image, const std::array<double, 4> &box) override;
  /** One frame: search, decode, penalties, window, update (SiamMask: mask and rotated box). */
  void Track(const cv::Mat &image) override;

  /** SiamMask: the last binary mask in the frame (uint8 0/1). */
  const cv::Mat &LastMask() const { return mask_; }

 private:
  struct Best {
    int index;
    double cx, cy, w, h;   // new centre and size before clipping
  };

  void Crop(const cv::Mat &image, int model_size, int original_size, Buffer *out);
  Best Search(const cv::Mat &image, int *crop_side);
  void Update(const Best &best, const cv::Mat &image);
  void MaskRegion(const Best &best, int crop_side, const cv::Mat &image);
  void MaskLogits(int y, int x, cv::Mat *logits);

  Backend *backend_;
  const ModelDesc &desc_;
  const TrackParams &cfg_;
  const AnchorDecoder &anchors_;
  const bool is_mask_;
  const int score_size_, num_positions_;   // S, A * S * S
  // positions of the outputs the decoder reads in the search graph's list
  size_t cls_, loc_, mask_out_ = 0, features_[4] = {0, 0, 0, 0};
  std::vector<double> anchor_cx_, anchor_cy_, anchor_w_, anchor_h_, window_;

  // per-target state
  double center_x_ = 0, center_y_ = 0, width_ = 0, height_ = 0;
  unsigned char avg_[3] = {0, 0, 0};   // mean colour cast to uint8, the crop padding
  std::vector<Buffer> kernels_;
  bool initialised_ = false;

  // per-frame results and reusable buffers
  cv::Mat mask_;
  Buffer z_, x_;
  std::vector<TensorView> outputs_;
  std::vector<float> score_;
  std::vector<double> box_cx_, box_cy_, box_w_, box_h_, penalty_;
  std::vector<Buffer> refine_in_;
};

}  // namespace siam

#endif  // ASCEND310_INFER_INC_TRACKER_H_

/**
 * The SiamRPN / SiamMask tracking step, a C++ port of
 * src/tracker/siamrpn_tracker.py and src/tracker/siammask_tracker.py.
 *
 * Parity with the Python tracker is the specification, so the arithmetic is
 * numpy's: float64 wherever numpy promotes to float64, float32 where numpy
 * stays in float32 (foreground scores, mask probabilities, the seg_thr
 * comparison), the same rounding rules for crop corners, and Python's min/max
 * semantics when clipping. Anchors and the cosine window are built once per
 * tracker in double, as numpy does; per-frame buffers are reused.
 */
#ifndef ASCEND310_INFER_INC_TRACKER_H_
#define ASCEND310_INFER_INC_TRACKER_H_

#include <array>
#include <vector>

#include <opencv2/core.hpp>

#include "inc/backend.h"
#include "inc/model_desc.h"

namespace siam {

class SiamTracker {
 public:
  SiamTracker(Backend *backend, const ModelDesc &desc);

  /** Start on `image` (BGR uint8) from box [x, y, w, h]; AppError for boxes no tracker can start from. */
  void Init(const cv::Mat &image, const std::array<double, 4> &box);
  /** One frame: search, decode, penalties, window, update (SiamMask: mask and rotated box). */
  void Track(const cv::Mat &image);

  /** What VOT scores after Track: [x, y, w, h] (SiamRPN) or the rotated box polygon (SiamMask). */
  const std::vector<double> &Region() const { return region_; }
  /** Seconds the last Track spent in network calls (search + refine), for the benchmark. */
  double LastNetworkSeconds() const { return network_seconds_; }
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
  const bool is_mask_;
  const int score_size_, num_positions_;   // S, A * S * S
  std::vector<double> anchor_cx_, anchor_cy_, anchor_w_, anchor_h_, window_;

  // per-target state
  double center_x_ = 0, center_y_ = 0, width_ = 0, height_ = 0;
  unsigned char avg_[3] = {0, 0, 0};   // mean colour cast to uint8, the crop padding
  std::vector<Buffer> kernels_;
  bool initialised_ = false;

  // per-frame results and reusable buffers
  std::vector<double> region_;
  cv::Mat mask_;
  double network_seconds_ = 0;
  Buffer z_, x_;
  std::vector<TensorView> outputs_;
  cv::Mat canvas_, resized_;
  std::vector<float> score_;
  std::vector<double> box_cx_, box_cy_, box_w_, box_h_, penalty_;
  std::vector<Buffer> refine_in_;
};

}  // namespace siam

#endif  // ASCEND310_INFER_INC_TRACKER_H_

/**
 * SiamFC (decoder "response_map"): a C++ port of src/tracker/siamfc_tracker.py
 * (huanglianghua/siamfc-pytorch TrackerSiamFC, the golden reference), operation
 * for operation:
 *
 *   - state in float32 (centre (y, x) and size (h, w), 0-indexed centre), z_sz and
 *     x_sz float32 at init and float64 after the first update, as the reference
 *     keeps them under NumPy 2 (the Python port spells every dtype out);
 *   - crops: side round(size) (half-even), corner round(centre - (side - 1) / 2) in
 *     float32, pixels outside the frame the first frame's mean colour rounded to
 *     uint8, cv::resize INTER_LINEAR, in the network's colour order (input.color);
 *   - the decoder.scale_num search crops (x_sz * scale_step^k) as one batch;
 *   - the raw (scale_num, 1, r, r) responses upsampled response_up times with
 *     cv::resize INTER_CUBIC ("bicubic", the reference) or INTER_LINEAR, scale
 *     penalty on the side scales (float32), the scale with the highest peak, its
 *     map shifted to min 0 and normalised to sum 1 (float32, numpy's pairwise
 *     summation order), blended with the normalised float64 Hann window, argmax;
 *   - the displacement from the map centre through the previous x_sz at the
 *     chosen scale, the scale learning rate and the optional scale_clip; no
 *     clipping of position or size (the reference has none).
 *
 * The upsampling is OpenCV's own bicubic kernel (-0.75), as cv2.resize in the
 * Python tracker; the two OpenCV builds (this one's, opencv-python's) may round
 * the last bits differently (tests/test_infer_cpp_siamfc.py measures it).
 *
 * SA-Siam (src/tracker/sasiam_tracker.py, the same decoder kind) differs only in
 * what its export's JSON says:
 *   - a second template input (ModelDesc::template_crops): the frame-1 search crop
 *     of side x_sz at track.instance_size, the semantic branch's exemplar z_s;
 *   - decoder.upsample "bicubic_tf_align_corners": TF 1's resize_bicubic with
 *     align_corners (TfResizeBicubic, the arithmetic of tf_resize_bicubic: Keys'
 *     cubic a = -0.75 tabulated at 1024 steps, float32 weighted sums of rows,
 *     then of columns), the same in both builds since it is written out here;
 *   - decoder.displacement_clip: the peak's displacement from the map centre
 *     clipped to +-clip raw cells before the move;
 *   - track.scale_clip (0.2, 5) and box_origin 0, which SiamFC's path already has.
 */
#ifndef ASCEND310_INFER_INC_SIAMFC_TRACKER_H_
#define ASCEND310_INFER_INC_SIAMFC_TRACKER_H_

#include <array>
#include <vector>

#include <opencv2/core.hpp>

#include "inc/tracker.h"

namespace siam {

/**
 * TF 1's legacy resize_bicubic (align_corners=True, no half-pixel centres) of one axis:
 * for each output position the 4 source indices (clamped) and float32 weights, as
 * sasiam_tracker._tf_weights computes them.
 */
struct TfBicubicAxis {
  std::vector<int> index;     // out x 4
  std::vector<float> weight;  // out x 4
};
TfBicubicAxis TfBicubicWeights(int in_size, int out_size);
/**
 * `src` (float32, row-major, in_w columns; its rows are those ys indexes) resized to
 * out_h x out_w (the sizes of ys, xs) into `dst`: rows first, then columns, each a float32
 * sum v0 w0 + v1 w1 + v2 w2 + v3 w3 in that order (tf_resize_bicubic's numpy order).
 * `scratch` holds the intermediate rows (reused across calls).
 */
void TfResizeBicubic(const float *src, int in_w, const TfBicubicAxis &ys, const TfBicubicAxis &xs, float *dst,
                     std::vector<float> *scratch);

class SiamFCTracker : public Tracker {
 public:
  /**
   * `box_origin`: index of the first pixel in the boxes Init takes and Region returns:
   * 0 as the VOT protocol hands them (pysot, eval.py), 1 as the reference (got10k).
   */
  SiamFCTracker(Backend *backend, const ModelDesc &desc, int box_origin = 0);

  void Init(const cv::Mat &image, const std::array<double, 4> &box) override;
  void Track(const cv::Mat &image) override;

  // The steps without a network (siamfc_tracker.py init_state / update_from_responses), for the tests.
  /** Target state from the [x, y, w, h] box. */
  void InitState(const std::array<double, 4> &box);
  /** Move the target by the raw scale_num x r x r responses; non-finite ones keep it where it is. */
  void UpdateFromResponses(const float *responses);
  /** responses (scale_num x r x r) -> maps_: each upsampled to (r * response_up)^2 as decoder.upsample says. */
  void Upsample(const float *responses);
  /** siamfc_tracker.locate_peak on maps_ (already upsampled; the scale penalty is applied here). */
  void LocatePeak();

  int LastScaleId() const { return scale_id_; }
  int LastRow() const { return row_; }
  int LastCol() const { return col_; }
  /** The final (windowed) map of the last LocatePeak, float64. */
  const std::vector<double> &FinalMap() const { return final_; }
  std::vector<cv::Mat> &Maps() { return maps_; }
  const std::vector<double> &Window() const { return window_; }
  const std::vector<double> &ScaleFactors() const { return scale_factors_; }
  /** The current box [x, y, w, h] in float32 arithmetic, as the reference returns it. */
  std::array<float, 4> Box() const;
  float CenterY() const { return center_y_; }
  float CenterX() const { return center_x_; }
  float TargetH() const { return target_h_; }
  float TargetW() const { return target_w_; }
  double ZSize() const { return z_sz_; }
  double XSize() const { return x_sz_; }

 private:
  /** siamfc_tracker.crop_and_resize of the square of `size` frame pixels around the centre. */
  void Crop(const cv::Mat &image, double size, int out_size, float *dst);
  /** Displacement (clipped to decoder.displacement_clip) and scale update for the decision of LocatePeak. */
  void Move();
  void SetRegion();

  Backend *backend_;
  const ModelDesc &desc_;
  const TrackParams &cfg_;
  const ResponseMapDecoder &decoder_;
  const int box_origin_;
  const int up_;                          // upsampled map side, response_size * response_up
  size_t response_out_ = 0;               // position of "response" in the search outputs
  std::vector<double> scale_factors_;     // scale_step ** linspace(-(n // 2), n // 2, n)
  std::vector<double> window_;            // normalised Hann window, up_ x up_, float64

  // per-target state, in the reference's dtypes
  float center_y_ = 0, center_x_ = 0, target_h_ = 0, target_w_ = 0, init_h_ = 0, init_w_ = 0;
  double z_sz_ = 0, x_sz_ = 0;
  unsigned char pad_[3] = {0, 0, 0};      // first frame's mean colour (frame channel order), rounded
  TfBicubicAxis tf_axis_;                 // bicubic_tf_align_corners: response_size -> up_ (square maps)
  std::vector<float> tf_rows_;            // its intermediate (up_ x response_size)
  std::vector<Buffer> template_in_;       // one crop per template input (desc.template_crops)
  std::vector<Buffer> kernels_;
  bool initialised_ = false;

  // the last decision and reusable buffers
  int scale_id_ = -1, row_ = -1, col_ = -1;
  std::vector<cv::Mat> maps_;
  std::vector<float> normalised_;
  std::vector<double> final_;
  Buffer x_;
};

}  // namespace siam

#endif  // ASCEND310_INFER_INC_SIAMFC_TRACKER_H_

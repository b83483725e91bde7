#include "inc/siamfc_tracker.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <array>
#include <limits>
#include <string>

#include <opencv2/imgproc.hpp>

#include "inc/utils.h"

namespace siam {

namespace {

/**
 * numpy's pairwise summation of a contiguous block (pairwise_sum in
 * numpy/core/src/umath/loops_utils.h.src): 8 accumulators over blocks of up
 * to 128 values, halves (rounded down to a multiple of 8) above that.
 */
template <typename T>
T PairwiseSum(const T *a, size_t n) {
  if (n < 8) {
    T res = 0;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    T r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    T res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return PairwiseSum(a, n2) + PairwiseSum(a + n2, n - n2);
}

/**
 * ndarray.sum() of a contiguous array in its own dtype: the reduction runs
 * over chunks of numpy's buffer size (8192 elements), each summed pairwise,
 * added in order to an accumulator starting at 0 (checked against numpy in
 * tests/test_infer_cpp_siamfc.py).
 */
template <typename T>
T NumpySum(const T *a, size_t n) {
  constexpr size_t kBuffer = 8192;
  T res = 0;
  for (size_t start = 0; start < n; start += kBuffer) res += PairwiseSum(a + start, std::min(kBuffer, n - start));
  return res;
}

/** TF's Keys cubic (a = -0.75, resize_bicubic_op.cc) tabulated at 1/1024 steps: [i][0] the weight at
 * distance i/1024, [i][1] at 1 + i/1024, computed in double from float positions, stored as float. */
constexpr int kTfTableSize = 1024;

const std::vector<std::array<float, 2>> &TfCubicTable() {
  static const std::vector<std::array<float, 2>> table = [] {
    const double a = -0.75;
    std::vector<std::array<float, 2>> t(kTfTableSize + 1);
    for (int i = 0; i <= kTfTableSize; ++i) {
      const float xf = static_cast<float>(static_cast<double>(i) / kTfTableSize);
      const double x = xf;
      const double near = ((a + 2) * x - (a + 3)) * x * x + 1;
      const double x1 = static_cast<double>(xf + 1.0f);   // TF: x += 1.0 in float
      const double far = ((a * x1 - 5 * a) * x1 + 8 * a) * x1 - 4 * a;
      t[i] = {static_cast<float>(near), static_cast<float>(far)};
    }
    return t;
  }();
  return table;
}

}  // namespace

TfBicubicAxis TfBicubicWeights(int in_size, int out_size) {
  const std::vector<std::array<float, 2>> &table = TfCubicTable();
  // align_corners: scale (in - 1) / (out - 1) in float32, source position out_loc * scale (float32)
  const float scale = out_size > 1 ? static_cast<float>(in_size - 1) / static_cast<float>(out_size - 1)
                                   : static_cast<float>(in_size) / static_cast<float>(out_size);
  TfBicubicAxis axis;
  axis.index.resize(static_cast<size_t>(out_size) * 4);
  axis.weight.resize(static_cast<size_t>(out_size) * 4);
  for (int o = 0; o < out_size; ++o) {
    const float pos = static_cast<float>(o) * scale;
    const int64_t loc = static_cast<int64_t>(pos);                   // truncation, pos >= 0
    const float delta = pos - static_cast<float>(loc);
    const int off = static_cast<int>(std::nearbyint(delta * static_cast<float>(kTfTableSize)));   // lrintf
    const float w[4] = {table[off][1], table[off][0], table[kTfTableSize - off][0], table[kTfTableSize - off][1]};
    for (int k = 0; k < 4; ++k) {
      const int64_t i = std::min<int64_t>(std::max<int64_t>(loc + k - 1, 0), in_size - 1);
      axis.index[static_cast<size_t>(o) * 4 + k] = static_cast<int>(i);
      axis.weight[static_cast<size_t>(o) * 4 + k] = w[k];
    }
  }
  return axis;
}

void TfResizeBicubic(const float *src, int in_w, const TfBicubicAxis &ys, const TfBicubicAxis &xs, float *dst,
                     std::vector<float> *scratch) {
  const size_t out_h = ys.index.size() / 4, out_w = xs.index.size() / 4;
  std::vector<float> &rows = *scratch;
  rows.resize(out_h * in_w);
  for (size_t y = 0; y < out_h; ++y) {
    const int *i = &ys.index[y * 4];
    const float *w = &ys.weight[y * 4];
    for (int x = 0; x < in_w; ++x) {
      // numpy: rows = m[i0] * w0; rows = rows + m[i1] * w1; ... each product and sum rounded to float32
      float v = src[static_cast<size_t>(i[0]) * in_w + x] * w[0];
      v = v + src[static_cast<size_t>(i[1]) * in_w + x] * w[1];
      v = v + src[static_cast<size_t>(i[2]) * in_w + x] * w[2];
      v = v + src[static_cast<size_t>(i[3]) * in_w + x] * w[3];
      rows[y * in_w + x] = v;
    }
  }
  for (size_t y = 0; y < out_h; ++y) {
    const float *r = &rows[y * in_w];
    for (size_t x = 0; x < out_w; ++x) {
      const int *i = &xs.index[x * 4];
      const float *w = &xs.weight[x * 4];
      float v = r[i[0]] * w[0];
      v = v + r[i[1]] * w[1];
      v = v + r[i[2]] * w[2];
      v = v + r[i[3]] * w[3];
      dst[y * out_w + x] = v;
    }
  }
}

SiamFCTracker::SiamFCTracker(Backend *backend, const ModelDesc &desc, int box_origin)
    : backend_(backend),
      desc_(desc),
      cfg_(desc.track),
      decoder_(desc.response),
      box_origin_(box_origin),
      up_(desc.response.response_size * desc.response.response_up) {
  if (backend_) response_out_ = desc.Graph("search").OutputIndex("response", desc.json_path);
  // scale_step ** np.linspace(-(n // 2), n // 2, n): numpy's linspace is start + i * step,
  // step = (stop - start) / (n - 1), with the last value set to stop
  const int n = decoder_.scale_num;
  const double start = -(n / 2), stop = n / 2;
  for (int i = 0; i < n; ++i) {
    double e = n > 1 ? i * ((stop - start) / (n - 1)) + start : start;
    if (n > 1 && i == n - 1) e = stop;
    scale_factors_.push_back(std::pow(cfg_.scale_step, e));
  }
  // hann_window: np.outer(np.hanning(up), np.hanning(up)), divided by its sum (float64)
  const std::vector<double> hann = Hanning(up_);
  window_.resize(static_cast<size_t>(up_) * up_);
  for (int y = 0; y < up_; ++y) {
    for (int x = 0; x < up_; ++x) window_[static_cast<size_t>(y) * up_ + x] = hann[y] * hann[x];
  }
  const double sum = NumpySum(window_.data(), window_.size());
  for (double &v : window_) v /= sum;
  maps_.resize(n);
  normalised_.resize(window_.size());
  final_.resize(window_.size());
  const size_t crop = 3 * static_cast<size_t>(cfg_.instance_size) * cfg_.instance_size;
  x_.resize(n * crop);
  // one buffer per template input: the exemplar crop and, for SA-Siam, the frame-1 search crop
  // (siamfc_tool builds the tracker without graphs: the exemplar alone)
  const std::vector<TemplateCrop> crops =
      desc.template_crops.empty() ? std::vector<TemplateCrop>{TemplateCrop::kExemplar} : desc.template_crops;
  for (TemplateCrop c : crops) {
    const int side = c == TemplateCrop::kExemplar ? cfg_.exemplar_size : cfg_.instance_size;
    template_in_.emplace_back(3 * static_cast<size_t>(side) * side);
  }
  if (decoder_.upsample == Upsample::kTfBicubicAlignCorners) {
    tf_axis_ = TfBicubicWeights(decoder_.response_size, up_);
    for (cv::Mat &m : maps_) m.create(up_, up_, CV_32F);
  }
}

void SiamFCTracker::InitState(const std::array<double, 4> &box) {
  // the 0-indexed centre (y, x) and the size (h, w) in float32
  const double x = box[0], y = box[1], w = box[2], h = box[3];
  const int o = box_origin_;
  center_y_ = static_cast<float>(y - o + (h - 1) / 2);
  center_x_ = static_cast<float>(x - o + (w - 1) / 2);
  target_h_ = init_h_ = static_cast<float>(h);
  target_w_ = init_w_ = static_cast<float>(w);
  // float32, as the reference under NumPy 2 (float32 state, the constants float32)
  const float z = ContextSize<float>(target_w_, target_h_, static_cast<float>(cfg_.context_amount));
  z_sz_ = z;
  x_sz_ = z * static_cast<float>(cfg_.instance_size) / static_cast<float>(cfg_.exemplar_size);
  scale_id_ = row_ = col_ = -1;
}

void SiamFCTracker::Crop(const cv::Mat &image, double size, int out_size, float *dst) {
  // side round(size) (Python round: half-even), at least one pixel; corner
  // np.round(centre - float32((side - 1) / 2)) in float32 (half-even)
  const int side = static_cast<int>(std::max<int64_t>(1, ToIndex(RoundHalfEven(size), "crop size")));
  const float offset = static_cast<float>((side - 1) / 2.0);
  const int64_t y0 = ToIndex(std::nearbyint(center_y_ - offset), "crop corner");
  const int64_t x0 = ToIndex(std::nearbyint(center_x_ - offset), "crop corner");
  CropResize(image, x0, y0, side, out_size, pad_, desc_.rgb, dst);
}

void SiamFCTracker::Init(const cv::Mat &image, const std::array<double, 4> &box) {
  CheckInitBox(image, box, box_origin_);
  InitState(box);
  // the first frame's mean colour pads every later crop: np.mean (exact sums of uint8
  // values in float64), rounded half-even and clipped to uint8, as cv2.copyMakeBorder writes it
  cv::Scalar sum = cv::sum(image);
  const double count = static_cast<double>(image.total());
  for (int ch = 0; ch < 3; ++ch) {
    pad_[ch] = static_cast<unsigned char>(std::min(255.0, std::max(0.0, RoundHalfEven(sum[ch] / count))));
  }
  // SiamFC: the exemplar of side z_sz; SA-Siam also the centre-scale search crop of side x_sz
  // (sasiam_tracker.exemplars), in the template graph's input order
  const std::vector<TemplateCrop> &crops = desc_.template_crops;
  std::vector<const Buffer *> inputs;
  for (size_t i = 0; i < template_in_.size(); ++i) {
    if (i < crops.size() && crops[i] == TemplateCrop::kSearch) {
      Crop(image, x_sz_, cfg_.instance_size, template_in_[i].data());
    } else {
      Crop(image, z_sz_, cfg_.exemplar_size, template_in_[i].data());
    }
    inputs.push_back(&template_in_[i]);
  }
  kernels_ = backend_->Template(inputs);
  initialised_ = true;
  SetRegion();
}

void SiamFCTracker::Track(const cv::Mat &image) {
  if (!initialised_) throw AppError("Track() called before Init()");
  const size_t crop = 3 * static_cast<size_t>(cfg_.instance_size) * cfg_.instance_size;
  for (size_t i = 0; i < scale_factors_.size(); ++i) {
    Crop(image, x_sz_ * scale_factors_[i], cfg_.instance_size, x_.data() + i * crop);
  }
  auto tic = std::chrono::steady_clock::now();
  std::vector<TensorView> outputs = backend_->Track(x_, kernels_);
  network_seconds_ = SecondsSince(tic);
  UpdateFromResponses(outputs[response_out_].data);
  SetRegion();
}

void SiamFCTracker::UpdateFromResponses(const float *responses) {
  const size_t count = static_cast<size_t>(decoder_.scale_num) * decoder_.response_size * decoder_.response_size;
  for (size_t i = 0; i < count; ++i) {
    if (!std::isfinite(responses[i])) {
      // a diverged network: no decision can be read, the target stays where it was
      scale_id_ = row_ = col_ = -1;
      return;
    }
  }
  Upsample(responses);
  LocatePeak();
  Move();
}

void SiamFCTracker::Upsample(const float *responses) {
  const int r = decoder_.response_size;
  if (decoder_.upsample == Upsample::kTfBicubicAlignCorners) {
    // sasiam_tracker._decide: tf_resize_bicubic, then locate_peak at factor 1 (its cv2.resize to
    // the same size is a copy), so LocatePeak runs on these maps as they are
    for (int s = 0; s < decoder_.scale_num; ++s) {
      TfResizeBicubic(responses + static_cast<size_t>(s) * r * r, r, tf_axis_, tf_axis_, maps_[s].ptr<float>(),
                      &tf_rows_);
    }
    return;
  }
  const int interpolation = decoder_.upsample == Upsample::kBicubic ? cv::INTER_CUBIC : cv::INTER_LINEAR;
  for (int s = 0; s < decoder_.scale_num; ++s) {
    const cv::Mat raw(r, r, CV_32F, const_cast<float *>(responses + static_cast<size_t>(s) * r * r));
    cv::resize(raw, maps_[s], cv::Size(up_, up_), 0, 0, interpolation);
  }
}

void SiamFCTracker::LocatePeak() {
  const int n = decoder_.scale_num, mid = n / 2;
  const size_t size = window_.size();
  // the side scales times float32(scale_penalty), in float32; the scale with the highest
  // maximum (the first on ties, as np.argmax)
  const float penalty = static_cast<float>(cfg_.scale_penalty);
  float best = -std::numeric_limits<float>::infinity();
  scale_id_ = 0;
  for (int s = 0; s < n; ++s) {
    float *m = maps_[s].ptr<float>();
    if (s != mid) {
      for (size_t i = 0; i < size; ++i) m[i] *= penalty;
    }
    const float peak = *std::max_element(m, m + size);
    if (s == 0 || peak > best) {
      best = peak;
      scale_id_ = s;
    }
  }
  // r -= r.min(); r /= r.sum() + float32(1e-16), in float32
  const float *m = maps_[scale_id_].ptr<float>();
  const float low = *std::min_element(m, m + size);
  for (size_t i = 0; i < size; ++i) normalised_[i] = m[i] - low;
  const float denom = NumpySum(normalised_.data(), size) + 1e-16f;
  for (size_t i = 0; i < size; ++i) normalised_[i] /= denom;
  // float32(1 - wi) * r (a float32 product) + wi * window (float64): a float64 map
  const double wi = cfg_.window_influence;
  const float keep = static_cast<float>(1 - wi);
  size_t arg = 0;
  for (size_t i = 0; i < size; ++i) {
    final_[i] = static_cast<double>(keep * normalised_[i]) + wi * window_[i];
    if (final_[i] > final_[arg]) arg = i;
  }
  row_ = static_cast<int>(arg / up_);
  col_ = static_cast<int>(arg % up_);
}

void SiamFCTracker::Move() {
  // float64 displacement from the map centre (up - 1) / 2, through the previous x_sz at
  // the chosen scale, in the reference's order of operations
  const double f = scale_factors_[scale_id_];
  const double centre = (up_ - 1) / 2.0;
  const double stride = decoder_.total_stride, response_up = decoder_.response_up;
  double peak_y = row_ - centre, peak_x = col_ - centre;
  if (decoder_.displacement_clip > 0) {
    // sasiam_tracker._update: np.clip(p - centre, -limit, limit) + centre in upsampled pixels, from
    // which SiamFC's update subtracts the centre again (exact for these half-integers, kept as written)
    const double limit = decoder_.displacement_clip * decoder_.response_up;
    peak_y = std::min(std::max(peak_y, -limit), limit) + centre - centre;
    peak_x = std::min(std::max(peak_x, -limit), limit) + centre - centre;
  }
  const double dy = peak_y * stride / response_up * x_sz_ * f / cfg_.instance_size;
  const double dx = peak_x * stride / response_up * x_sz_ * f / cfg_.instance_size;
  center_y_ = static_cast<float>(static_cast<double>(center_y_) + dy);
  center_x_ = static_cast<float>(static_cast<double>(center_x_) + dx);

  double scale = (1 - cfg_.scale_lr) * 1.0 + cfg_.scale_lr * f;
  if (!cfg_.scale_clip.empty()) {
    const double lo = cfg_.scale_clip[0], hi = cfg_.scale_clip[1];
    const double current = static_cast<double>(target_h_) / static_cast<double>(init_h_);
    // only a clipped step changes (no rounding otherwise); Python's min(max(.)) order
    if (!(lo <= current * scale && current * scale <= hi)) {
      double v = current * scale;
      v = lo > v ? lo : v;
      v = hi < v ? hi : v;
      scale = v / current;
    }
  }
  target_h_ = static_cast<float>(static_cast<double>(target_h_) * scale);
  target_w_ = static_cast<float>(static_cast<double>(target_w_) * scale);
  z_sz_ = z_sz_ * scale;
  x_sz_ = x_sz_ * scale;
}

std::array<float, 4> SiamFCTracker::Box() const {
  const float o = static_cast<float>(box_origin_);
  return {center_x_ + o - (target_w_ - 1.0f) / 2.0f, center_y_ + o - (target_h_ - 1.0f) / 2.0f, target_w_,
          target_h_};
}

void SiamFCTracker::SetRegion() {
  const std::array<float, 4> box = Box();
  region_.assign(box.begin(), box.end());
}

}  // namespace siam

#include "inc/tracker.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>

#include <opencv2/imgproc.hpp>

#include "inc/siamfc_tracker.h"
#include "inc/utils.h"

namespace siam {

namespace {

constexpr double kPi = 3.141592653589793;
constexpr double kMinContourArea = 100;   // siammask_tracker.MIN_CONTOUR_AREA

/** Python's min(a, b) / max(a, b): the first argument unless the second compares smaller/larger (NaN-safe). */
inline double PyMin(double a, double b) { return b < a ? b : a; }
inline double PyMax(double a, double b) { return b > a ? b : a; }
/** np.maximum: NaN-propagating. */
inline double NpMaximum(double a, double b) { return std::isnan(a) ? a : std::isnan(b) ? b : (b > a ? b : a); }
/** np.maximum(r, 1 / r) */
inline double Change(double r) { return NpMaximum(r, 1.0 / r); }
/** scipy.special.expit on float32 stays in float32: 1 / (1 + expf(-x)). */
inline float Expit(float v) { return 1.0f / (1.0f + std::exp(-v)); }

}  // namespace

std::vector<double> Hanning(int M) {
  std::vector<double> hann(M, 1.0);
  if (M > 1) {
    const double m = M;
    for (int i = 0; i < M; ++i) hann[i] = 0.5 + 0.5 * std::cos(kPi * (1 - m + 2.0 * i) / (m - 1));
  }
  return hann;
}

int64_t ToIndex(double v, const char *what) {
  if (!std::isfinite(v) || std::fabs(v) > 1e15) throw AppError(std::string("non-finite ") + what + " in the tracker");
  return static_cast<int64_t>(v);
}

double SecondsSince(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::unique_ptr<Tracker> CreateTracker(Backend *backend, const ModelDesc &desc) {
  switch (desc.kind) {
    case DecoderKind::kAnchors:
      return std::make_unique<AnchorTracker>(backend, desc);
    case DecoderKind::kResponseMap:
      return std::make_unique<SiamFCTracker>(backend, desc);
  }
  throw AppError(desc.json_path + ": no tracker for its decoder");
}

void Tracker::CheckInitBox(const cv::Mat &image, const std::array<double, 4> &box, int box_origin) {
  const double w = box[2], h = box[3];
  char text[160];
  std::snprintf(text, sizeof(text), "init box [%g, %g, %g, %g]", box[0], box[1], w, h);
  if (!std::isfinite(box[0]) || !std::isfinite(box[1]) || !std::isfinite(w) || !std::isfinite(h)) {
    throw AppError(std::string(text) + " has non-finite values");
  }
  if (w <= 0 || h <= 0) throw AppError(std::string(text) + " has zero or negative area");
  const double x = box[0] - box_origin, y = box[1] - box_origin;
  if (x >= image.cols || y >= image.rows || x + w <= 0 || y + h <= 0) {
    throw AppError(std::string(text) + " lies outside the " + std::to_string(image.cols) + "x" +
                   std::to_string(image.rows) + " image");
  }
}

namespace {

/** OpenCV's INTER_LINEAR taps along one axis (imgproc/src/resize.cpp, as crop.sampled_resize
 * reproduces it): position in float from the double scale 1 / (dst / src), weights rounded
 * half-even to 1/2048 units; along x an out-of-range tap gets weights (2048, 0), along y only
 * the row is clamped. */
void LinearTaps(int src, int dst, bool clamp_weights, std::vector<int> *i0, std::vector<int> *i1,
                std::vector<int> *w0, std::vector<int> *w1) {
  const double scale = 1.0 / (static_cast<double>(dst) / src);
  for (int d = 0; d < dst; ++d) {
    const float pos = static_cast<float>((d + 0.5) * scale - 0.5);
    const int first = static_cast<int>(std::floor(pos));
    float frac = pos - static_cast<float>(first);
    if (clamp_weights && (first < 0 || first >= src - 1)) frac = 0.f;
    (*i0)[d] = std::min(std::max(first, 0), src - 1);
    (*i1)[d] = std::min(std::max(first + 1, 0), src - 1);
    (*w0)[d] = static_cast<int>(std::lrint((1.f - frac) * 2048.f));
    (*w1)[d] = static_cast<int>(std::lrint(frac * 2048.f));
  }
}

}  // namespace

void SampledResize(const cv::Mat &image, int64_t xmin, int64_t ymin, int side, int out_size,
                   const unsigned char pad[3], cv::Mat *dst) {
  const int n = out_size;
  std::vector<int> xi0(n), xi1(n), a0(n), a1(n), yi0(n), yi1(n), b0(n), b1(n);
  LinearTaps(side, n, true, &xi0, &xi1, &a0, &a1);
  LinearTaps(side, n, false, &yi0, &yi1, &b0, &b1);
  // byte offset in a frame row of each column tap (-1: padding)
  std::vector<int64_t> col0(n), col1(n);
  for (int d = 0; d < n; ++d) {
    const int64_t c0 = xmin + xi0[d], c1 = xmin + xi1[d];
    col0[d] = c0 >= 0 && c0 < image.cols ? 3 * c0 : -1;
    col1[d] = c1 >= 0 && c1 < image.cols ? 3 * c1 : -1;
  }
  // the horizontal pass of one crop row, exact in int32, then >> 4 as OpenCV's vertical SIMD
  // kernel takes it; a row off the frame is all padding: computed once
  auto horizontal = [&](const unsigned char *row, int *h) {
    for (int d = 0; d < n; ++d) {
      const unsigned char *p0 = row && col0[d] >= 0 ? row + col0[d] : pad;
      const unsigned char *p1 = row && col1[d] >= 0 ? row + col1[d] : pad;
      const int w0 = a0[d], w1 = a1[d];
      for (int ch = 0; ch < 3; ++ch) h[3 * d + ch] = (p0[ch] * w0 + p1[ch] * w1) >> 4;
    }
  };
  std::vector<int> pad_row(3 * n), top(3 * n), bottom(3 * n);
  horizontal(nullptr, pad_row.data());
  auto row_terms = [&](int r, std::vector<int> *buffer) -> const int * {
    const int64_t y = ymin + r;
    if (y < 0 || y >= image.rows) return pad_row.data();
    horizontal(image.ptr<unsigned char>(static_cast<int>(y)), buffer->data());
    return buffer->data();
  };
  dst->create(n, n, CV_8UC3);
  for (int dy = 0; dy < n; ++dy) {
    const int *h0 = row_terms(yi0[dy], &top), *h1 = row_terms(yi1[dy], &bottom);
    const int w0 = b0[dy], w1 = b1[dy];
    unsigned char *out = dst->ptr<unsigned char>(dy);
    // VResizeLinearVec_32s8u: 16-bit high products of each row, summed, (s + 2) >> 2
    for (int i = 0; i < 3 * n; ++i) {
      const int v = (((h0[i] * w0) >> 16) + ((h1[i] * w1) >> 16) + 2) >> 2;
      out[i] = static_cast<unsigned char>(v > 255 ? 255 : v);
    }
  }
}

void Tracker::CropResize(const cv::Mat &image, int64_t xmin, int64_t ymin, int side, int model_size,
                         const unsigned char pad[3], bool rgb, float *dst) {
  const int sz = side;
  const int64_t x0 = std::max<int64_t>(xmin, 0), y0 = std::max<int64_t>(ymin, 0);
  const int64_t x1 = std::min<int64_t>(xmin + sz, image.cols), y1 = std::min<int64_t>(ymin + sz, image.rows);
  cv::Mat patch;
  const bool inside = x0 == xmin && y0 == ymin && x1 == xmin + sz && y1 == ymin + sz;
  const bool sampled = !inside && sz > 4 * model_size;
  if (inside) {
    patch = image(cv::Rect(static_cast<int>(x0), static_cast<int>(y0), sz, sz));
  } else if (sampled) {
    // a large padded crop is sampled where cv::resize would read it, same bytes: materialising
    // a 3,940-pixel crop (a 47 MB canvas to fill each frame) cost ~14 ms here, sampling ~1.5;
    // up to 4x the output's side filling the canvas is as cheap (crop.resized_square alike)
    SampledResize(image, xmin, ymin, sz, model_size, pad, &resized_);
    patch = resized_;
  } else {
    canvas_.create(sz, sz, CV_8UC3);
    canvas_.setTo(cv::Scalar(pad[0], pad[1], pad[2]));
    if (x1 > x0 && y1 > y0) {
      cv::Rect src(static_cast<int>(x0), static_cast<int>(y0), static_cast<int>(x1 - x0), static_cast<int>(y1 - y0));
      image(src).copyTo(canvas_(cv::Rect(static_cast<int>(x0 - xmin), static_cast<int>(y0 - ymin), src.width,
                                         src.height)));
    }
    patch = canvas_;
  }
  if (model_size != sz && !sampled) {
    cv::resize(patch, resized_, cv::Size(model_size, model_size), 0, 0, cv::INTER_LINEAR);
    patch = resized_;
  }
  // HWC uint8 (frame order B, G, R) -> CHW float32 in the network's order
  const size_t plane = static_cast<size_t>(model_size) * model_size;
  const int first = rgb ? 2 : 0, last = rgb ? 0 : 2;
  for (int y = 0; y < model_size; ++y) {
    const unsigned char *row = patch.ptr<unsigned char>(y);
    for (int x = 0; x < model_size; ++x) {
      size_t i = static_cast<size_t>(y) * model_size + x;
      dst[i] = row[3 * x + first];
      dst[plane + i] = row[3 * x + 1];
      dst[2 * plane + i] = row[3 * x + last];
    }
  }
}

AnchorTracker::AnchorTracker(Backend *backend, const ModelDesc &desc)
    : backend_(backend),
      desc_(desc),
      cfg_(desc.track),
      anchors_(desc.anchors),
      is_mask_(desc.anchors.mask != MaskKind::kNone),
      score_size_(desc.anchors.score_size),
      num_positions_(desc.anchors.NumAnchors() * desc.anchors.score_size * desc.anchors.score_size) {
  const GraphSpec &search = desc.Graph("search");
  cls_ = search.OutputIndex("cls", desc.json_path);
  loc_ = search.OutputIndex("loc", desc.json_path);
  if (is_mask_) {
    mask_out_ = search.OutputIndex("mask", desc.json_path);
    const char *features[4] = {"f0", "f1", "f2", "corr_feature"};
    for (int i = 0; i < 4; ++i) features_[i] = search.OutputIndex(features[i], desc.json_path);
  }
  // src/models/anchors.py tracking_anchors: float32 corners of the base anchors
  // (ws = int(sqrt(stride^2 / r)), hs = int(ws * r), times the scale), their
  // float32 widths, centres at -(S // 2) * stride + stride * i; anchor-major,
  // then y, then x, the order of the network's channels.
  const int S = score_size_, stride = anchors_.stride;
  const double base = static_cast<double>(stride) * stride;
  const float ori = static_cast<float>(-(S / 2) * stride);
  for (double r : anchors_.ratios) {
    int ws = static_cast<int>(std::sqrt(base * 1.0 / r));
    int hs = static_cast<int>(ws * r);
    for (double s : anchors_.scales) {
      double w = ws * s, h = hs * s;
      float aw = static_cast<float>(w * 0.5) - static_cast<float>(-w * 0.5);
      float ah = static_cast<float>(h * 0.5) - static_cast<float>(-h * 0.5);
      for (int y = 0; y < S; ++y) {
        for (int x = 0; x < S; ++x) {
          anchor_cx_.push_back(ori + static_cast<float>(stride) * static_cast<float>(x));
          anchor_cy_.push_back(ori + static_cast<float>(stride) * static_cast<float>(y));
          anchor_w_.push_back(aw);
          anchor_h_.push_back(ah);
        }
      }
    }
  }
  // np.tile(np.outer(np.hanning(S), np.hanning(S)).ravel(), A)
  const std::vector<double> hann = Hanning(S);
  for (int a = 0; a < anchors_.NumAnchors(); ++a) {
    for (int y = 0; y < S; ++y) {
      for (int x = 0; x < S; ++x) window_.push_back(hann[y] * hann[x]);
    }
  }
  score_.resize(num_positions_);
  box_cx_.resize(num_positions_);
  box_cy_.resize(num_positions_);
  box_w_.resize(num_positions_);
  box_h_.resize(num_positions_);
  penalty_.resize(num_positions_);
}

void AnchorTracker::Crop(const cv::Mat &image, int model_size, int original_size, Buffer *out) {
  // src/tracker/crop.py get_subwindow: square crop of side original_size whose corner
  // centre - (side + 1) / 2 is rounded as the export says, mean-colour (uint8) padding
  const double c = (original_size + 1) / 2.0;
  auto round_corner = [this](double v) { return desc_.round_half_even ? RoundHalfEven(v) : std::floor(v + 0.5); };
  const int64_t xmin = ToIndex(round_corner(center_x_ - c), "crop corner");
  const int64_t ymin = ToIndex(round_corner(center_y_ - c), "crop corner");
  out->resize(3 * static_cast<size_t>(model_size) * model_size);
  CropResize(image, xmin, ymin, original_size, model_size, avg_, desc_.rgb, out->data());
}

void AnchorTracker::Init(const cv::Mat &image, const std::array<double, 4> &box) {
  CheckInitBox(image, box);
  const double x = box[0], y = box[1], w = box[2], h = box[3];
  center_x_ = x + (w - 1) / 2;
  center_y_ = y + (h - 1) / 2;
  width_ = w;
  height_ = h;
  const int s_z = static_cast<int>(RoundHalfEven(ContextSize(w, h, cfg_.context_amount)));
  // np.mean(image, axis=(0, 1)) then astype(uint8): the sums of uint8 values are exact in double
  cv::Scalar sum = cv::sum(image);
  const double count = static_cast<double>(image.total());
  for (int ch = 0; ch < 3; ++ch) avg_[ch] = static_cast<unsigned char>(sum[ch] / count);
  Crop(image, cfg_.exemplar_size, s_z, &z_);
  kernels_ = backend_->Template(z_);
  initialised_ = true;
}

AnchorTracker::Best AnchorTracker::Search(const cv::Mat &image, int *crop_side) {
  if (!initialised_) throw AppError("Track() called before Init()");
  const double s_z = ContextSize(width_, height_, cfg_.context_amount);
  const double scale_z = cfg_.exemplar_size / s_z;
  const int s_x = static_cast<int>(
      ToIndex(RoundHalfEven(s_z * (static_cast<double>(cfg_.instance_size) / cfg_.exemplar_size)), "search size"));
  Crop(image, cfg_.instance_size, s_x, &x_);
  auto tic = std::chrono::steady_clock::now();
  outputs_ = backend_->Track(x_, kernels_);
  network_seconds_ = SecondsSince(tic);

  // _decode + the penalties of _search, element by element in numpy's precision
  const int N = num_positions_;
  const float *cls = outputs_[cls_].data, *loc = outputs_[loc_].data;
  const double target = ContextSize(width_ * scale_z, height_ * scale_z, 0.5);
  const double aspect = width_ / height_;
  const double k = cfg_.penalty_k, wi = cfg_.window_influence;
  int best = 0;
  double best_score = -std::numeric_limits<double>::infinity();
  for (int i = 0; i < N; ++i) {
    const float fg_minus_bg = cls[N + i] - cls[i];   // float32, as numpy subtracts float32 rows
    const float score = Expit(fg_minus_bg);          // softmax over {bg, fg}
    const double cx = static_cast<double>(loc[i]) * anchor_w_[i] + anchor_cx_[i];
    const double cy = static_cast<double>(loc[N + i]) * anchor_h_[i] + anchor_cy_[i];
    const double w = std::exp(static_cast<double>(loc[2 * N + i])) * anchor_w_[i];
    const double h = std::exp(static_cast<double>(loc[3 * N + i])) * anchor_h_[i];
    const double s_c = Change(ContextSize(w, h, 0.5) / target);
    const double r_c = Change(aspect / (w / h));
    const double penalty = std::exp(-(r_c * s_c - 1) * k);
    double pscore = penalty * score * (1 - wi) + window_[i] * wi;
    // an untrained or diverged network can predict absurd log-sizes: anchors with a
    // non-finite score or box (in crop or in frame units) rank last instead of winning
    // the argmax (first maximum, as np.argmax; an infinite box has a zero penalty, so
    // its score stays finite)
    if (!std::isfinite(pscore) || !std::isfinite(cx / scale_z) || !std::isfinite(cy / scale_z) ||
        !std::isfinite(w / scale_z) || !std::isfinite(h / scale_z)) {
      pscore = -std::numeric_limits<double>::infinity();
    }
    if (i == 0 || pscore > best_score) {
      best_score = pscore;
      best = i;
    }
    score_[i] = score;
    box_cx_[i] = cx;
    box_cy_[i] = cy;
    box_w_[i] = w;
    box_h_[i] = h;
    penalty_[i] = penalty;
  }
  Best out;
  out.index = best;
  *crop_side = s_x;
  if (best_score == -std::numeric_limits<double>::infinity()) {
    // no usable anchor at all: the target stays where it was, and the position
    // (SiamMask's mask) is the window's centre (its first maximum, as np.argmax)
    out.index = static_cast<int>(std::max_element(window_.begin(), window_.end()) - window_.begin());
    out.cx = center_x_;
    out.cy = center_y_;
    out.w = width_;
    out.h = height_;
    return out;
  }
  const double lr = penalty_[best] * static_cast<double>(score_[best]) * cfg_.lr;
  out.cx = box_cx_[best] / scale_z + center_x_;
  out.cy = box_cy_[best] / scale_z + center_y_;
  out.w = width_ * (1 - lr) + box_w_[best] / scale_z * lr;
  out.h = height_ * (1 - lr) + box_h_[best] / scale_z * lr;
  return out;
}

void AnchorTracker::Update(const Best &best, const cv::Mat &image) {
  // clip the centre to the image and the size to [10, image side], with Python's min/max
  const double iw = image.cols, ih = image.rows;
  center_x_ = PyMax(0, PyMin(best.cx, iw));
  center_y_ = PyMax(0, PyMin(best.cy, ih));
  width_ = PyMax(10, PyMin(best.w, iw));
  height_ = PyMax(10, PyMin(best.h, ih));
}

void AnchorTracker::Track(const cv::Mat &image) {
  int crop_side = 0;
  Best best = Search(image, &crop_side);
  if (is_mask_) {
    MaskRegion(best, crop_side, image);   // uses the centre before the update, as SiamMask does
    Update(best, image);
  } else {
    Update(best, image);
    region_ = {center_x_ - width_ / 2, center_y_ - height_ / 2, width_, height_};
  }
}

void AnchorTracker::MaskLogits(int y, int x, cv::Mat *logits) {
  const int out = cfg_.out_size;
  if (anchors_.mask == MaskKind::kRefine) {
    // src/models/siammask.py refine_inputs: zero-padded crops of f0, f1, f2 around
    // (y, x) (pad, step, side: kRefineCrop), and corr_feature at (y, x)
    refine_in_.resize(4);
    for (int f = 0; f < 3; ++f) {
      const TensorView &map = outputs_[features_[f]];
      const int C = static_cast<int>(map.shape[1]), H = static_cast<int>(map.shape[2]),
                W = static_cast<int>(map.shape[3]);
      const int pad = kRefineCrop[f][0], step = kRefineCrop[f][1], side = kRefineCrop[f][2];
      Buffer &p = refine_in_[f];
      p.assign(static_cast<size_t>(C) * side * side, 0.0f);
      const int r0 = step * y - pad, c0 = step * x - pad;
      const int c_lo = std::max(0, -c0), c_hi = std::min(side, W - c0);
      for (int ch = 0; ch < C; ++ch) {
        for (int r = std::max(0, -r0); r < std::min(side, H - r0); ++r) {
          if (c_hi <= c_lo) break;
          const float *src = map.data + (static_cast<size_t>(ch) * H + (r0 + r)) * W + c0;
          std::copy(src + c_lo, src + c_hi, p.data() + (static_cast<size_t>(ch) * side + r) * side + c_lo);
        }
      }
    }
    const TensorView &corr = outputs_[features_[3]];
    const int C = static_cast<int>(corr.shape[1]), H = static_cast<int>(corr.shape[2]),
              W = static_cast<int>(corr.shape[3]);
    refine_in_[3].resize(C);
    for (int ch = 0; ch < C; ++ch) refine_in_[3][ch] = corr.data[(static_cast<size_t>(ch) * H + y) * W + x];
    auto tic = std::chrono::steady_clock::now();
    TensorView v = backend_->Refine({&refine_in_[0], &refine_in_[1], &refine_in_[2], &refine_in_[3]});
    network_seconds_ += SecondsSince(tic);
    cv::Mat(out, out, CV_32F, const_cast<float *>(v.data)).copyTo(*logits);
    return;
  }
  // no refine: the mask head's side x side logits at (y, x), resized bilinearly to out_size
  const TensorView &mask = outputs_[mask_out_];
  const int M = static_cast<int>(mask.shape[1]), S = score_size_;
  const int side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(M))));
  cv::Mat head(side, side, CV_32F);
  float *dst = head.ptr<float>();
  for (int ch = 0; ch < M; ++ch) dst[ch] = mask.data[(static_cast<size_t>(ch) * S + y) * S + x];
  if (side == out) {
    *logits = head;
  } else {
    cv::resize(head, *logits, cv::Size(out, out));
  }
}

void AnchorTracker::MaskRegion(const Best &best, int crop_side, const cv::Mat &image) {
  const int S = score_size_;
  const int pos = best.index % (S * S), y = pos / S, x = pos % S;
  cv::Mat prob;
  MaskLogits(y, x, &prob);
  for (int r = 0; r < prob.rows; ++r) {
    float *row = prob.ptr<float>(r);
    for (int c = 0; c < prob.cols; ++c) row[c] = Expit(row[c]);
  }

  // siammask_tracker._mask_in_image: the affine map of the exemplar-sized box at
  // (y, x) back into the frame ...
  const int iw = image.cols, ih = image.rows;
  const double crop_x0 = center_x_ - crop_side / 2.0, crop_y0 = center_y_ - crop_side / 2.0;
  double s = static_cast<double>(crop_side) / cfg_.instance_size;
  const double sub_x = crop_x0 + (x - cfg_.base_size / 2.0) * anchors_.stride * s;
  const double sub_y = crop_y0 + (y - cfg_.base_size / 2.0) * anchors_.stride * s;
  const double sub_w = s * cfg_.exemplar_size;
  s = cfg_.out_size / sub_w;
  const double back_x = -sub_x * s, back_y = -sub_y * s, back_w = iw * s, back_h = ih * s;
  const double a = (iw - 1) / back_w, b = (ih - 1) / back_h;
  const double c = -a * back_x, d = -b * back_y;

  // ... applied with siammask_tracker.warp_bilinear's exact bilinear weights (not
  // cv::warpAffine, which quantises positions to 1/32 px), then thresholded in
  // float32 (numpy compares the float32 map with seg_thr cast to float32)
  const float border = -1.0f;
  const float thr = static_cast<float>(cfg_.seg_thr);
  mask_.create(ih, iw, CV_8U);
  mask_.setTo(border > thr ? 1 : 0);
  const int sh = prob.rows, sw = prob.cols;
  double x_lo = c - a, x_hi = c + a * sw, y_lo = d - b, y_hi = d + b * sh;
  if (x_lo > x_hi) std::swap(x_lo, x_hi);
  if (y_lo > y_hi) std::swap(y_lo, y_hi);
  const int64_t xs0 = std::max<int64_t>(ToIndex(std::floor(x_lo), "mask box"), 0);
  const int64_t xs1 = std::min<int64_t>(ToIndex(std::ceil(x_hi), "mask box") + 1, iw);
  const int64_t ys0 = std::max<int64_t>(ToIndex(std::floor(y_lo), "mask box"), 0);
  const int64_t ys1 = std::min<int64_t>(ToIndex(std::ceil(y_hi), "mask box") + 1, ih);
  // the source padded by one border pixel on every side, as np.pad(src, 1)
  auto at = [&](int64_t r, int64_t col) -> double {
    if (r <= 0 || r > sh || col <= 0 || col > sw) return border;
    return prob.at<float>(static_cast<int>(r - 1), static_cast<int>(col - 1));
  };
  auto clip = [](int64_t v, int64_t hi) { return std::min<int64_t>(std::max<int64_t>(v, 0), hi); };
  std::vector<int64_t> xi0, xi1;
  std::vector<double> fx;
  for (int64_t px = xs0; px < xs1; ++px) {
    double u = (px - c) / a;
    double fl = std::floor(u);
    int64_t x0 = static_cast<int64_t>(fl);
    xi0.push_back(clip(x0 + 1, sw + 1));
    xi1.push_back(clip(x0 + 2, sw + 1));
    fx.push_back(u - x0);
  }
  for (int64_t py = ys0; py < ys1; ++py) {
    double v = (py - d) / b;
    int64_t y0 = static_cast<int64_t>(std::floor(v));
    double fy = v - y0;
    int64_t yi0 = clip(y0 + 1, sh + 1), yi1 = clip(y0 + 2, sh + 1);
    unsigned char *row = mask_.ptr<unsigned char>(static_cast<int>(py));
    for (size_t k = 0; k < fx.size(); ++k) {
      double top = at(yi0, xi0[k]) * (1 - fx[k]) + at(yi0, xi1[k]) * fx[k];
      double bottom = at(yi1, xi0[k]) * (1 - fx[k]) + at(yi1, xi1[k]) * fx[k];
      float value = static_cast<float>(top * (1 - fy) + bottom * fy);
      row[xs0 + static_cast<int64_t>(k)] = value > thr ? 1 : 0;
    }
  }

  // the largest external contour's minimum-area rectangle, or the axis-aligned
  // box (before clipping) when no contour is larger than 100 px
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(mask_, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
  int largest = -1;
  double largest_area = 0;
  for (size_t i = 0; i < contours.size(); ++i) {
    double area = cv::contourArea(contours[i]);
    if (largest < 0 || area > largest_area) {
      largest = static_cast<int>(i);
      largest_area = area;
    }
  }
  if (largest >= 0 && largest_area > kMinContourArea) {
    cv::Mat corners;
    cv::boxPoints(cv::minAreaRect(contours[largest]), corners);
    const float *p = corners.ptr<float>();
    region_.assign(p, p + 8);
  } else {
    const double x0 = best.cx - best.w / 2, y0 = best.cy - best.h / 2;
    region_ = {x0, y0, x0 + best.w, y0, x0 + best.w, y0 + best.h, x0, y0 + best.h};
  }
}

}  // namespace siam

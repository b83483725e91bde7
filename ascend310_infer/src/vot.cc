#include "inc/vot.h"

#include <chrono>
#include <limits>

#include <opencv2/imgcodecs.hpp>

#include "inc/tracker.h"
#include "inc/utils.h"

namespace siam {

// ----------------------------------------------------------------- manifest
namespace {

// One ground-truth value: a JSON number, or (JSON has no NaN / Infinity) the string
// "NaN", "Infinity" or "-Infinity" that preprocess.py writes for a non-finite value.
// They are kept as they are: a tracked frame is scored against them, as runner.py does.
bool GtValue(const Json &v, double *out) {
  if (v.is_number()) {
    *out = v.get<double>();
    return true;
  }
  if (!v.is_string()) return false;
  const std::string &s = v.get_ref<const std::string &>();
  if (s == "NaN") {
    *out = std::numeric_limits<double>::quiet_NaN();
  } else if (s == "Infinity" || s == "-Infinity") {
    *out = (s[0] == '-' ? -1 : 1) * std::numeric_limits<double>::infinity();
  } else {
    return false;
  }
  return true;
}

}  // namespace

Manifest LoadManifest(const std::string &path) {
  Manifest m;
  m.path = path;
  Json j = ReadJsonFile(path);
  if (JsonString(j, "format", path) != "siam-infer-manifest" || JsonInt(j, "version", path) != kManifestVersion) {
    throw AppError(path + ": not a version " + std::to_string(kManifestVersion) +
                   " siam-infer-manifest (write it with this repository's preprocess.py)");
  }
  m.dataset = JsonString(j, "dataset", path);
  std::string protocol = JsonString(j, "protocol", path);
  if (protocol != "vot") throw AppError(path + ": protocol '" + protocol + "'; this application runs 'vot'");
  const Json &seqs = JsonAt(j, "sequences", path);
  if (!seqs.is_array() || seqs.empty()) throw AppError(path + ": 'sequences' should be a non-empty list");
  for (size_t i = 0; i < seqs.size(); ++i) {
    const std::string where = path + " (sequences." + std::to_string(i) + ")";
    Sequence s;
    s.name = JsonString(seqs[i], "name", where);
    const Json &frames = JsonAt(seqs[i], "frames", where);
    const Json &gt = JsonAt(seqs[i], "groundtruth", where);
    const Json &usable = JsonAt(seqs[i], "usable", where);
    if (!frames.is_array() || !gt.is_array() || !usable.is_array() || frames.size() != gt.size() ||
        frames.size() != usable.size() || frames.empty()) {
      throw AppError(path + ": sequence " + s.name +
                     " needs equally long, non-empty 'frames', 'groundtruth' and 'usable' lists");
    }
    for (size_t k = 0; k < frames.size(); ++k) {
      if (!frames[k].is_string()) throw AppError(path + ": sequence " + s.name + " frame " + std::to_string(k + 1) +
                                                 " is not a path");
      s.frames.push_back(JoinPath(DirName(path), frames[k].get<std::string>()));   // relative to the manifest
      std::vector<double> poly;
      double value;
      if (gt[k].is_array()) {
        for (const Json &v : gt[k]) {
          if (GtValue(v, &value)) poly.push_back(value);
        }
      }
      if (poly.size() != 8 || !gt[k].is_array() || gt[k].size() != 8) {
        throw AppError(path + ": sequence " + s.name + " ground truth of frame " + std::to_string(k + 1) +
                       " should be 8 numbers (a polygon)");
      }
      s.groundtruth.push_back(poly);
      if (!usable[k].is_boolean()) {
        throw AppError(path + ": sequence " + s.name + " 'usable' of frame " + std::to_string(k + 1) +
                       " should be true or false");
      }
      s.usable.push_back(usable[k].get<bool>());
    }
    if (!s.usable[0]) {   // load_dataset refuses such a sequence (datasets.first_frame_error)
      throw AppError(path + ": sequence " + s.name + " ground truth of frame 1 forms no box ('usable' false); "
                     "a tracker cannot be initialised from it");
    }
    m.sequences.push_back(s);
  }
  return m;
}

// ----------------------------------------------------------------- protocol
namespace {

cv::Mat ReadFrame(const Sequence &seq, size_t index) {
  const std::string &path = seq.frames[index];
  cv::Mat image;
  if (IsFile(path)) image = cv::imread(path, cv::IMREAD_COLOR);
  if (image.empty()) {
    throw AppError(seq.name + ": " + (IsFile(path) ? "unreadable image " : "missing frame file ") + path +
                   " (frame " + std::to_string(index + 1) + ")");
  }
  return image;
}

}  // namespace

SequenceRun RunSupervised(Tracker *tracker, const Sequence &seq) {
  using Clock = std::chrono::steady_clock;
  SequenceRun run;
  size_t restart = 0;
  int width = -1, height = -1;
  for (size_t idx = 0; idx < seq.frames.size(); ++idx) {
    // a re-initialisation frame whose ground truth forms no box: the next usable frame is
    // (runner.run_supervised's rule), the frames passed over are written as 0
    if (idx == restart && !seq.usable[idx]) ++restart;
    if (idx < restart) {
      run.entries.push_back({0, {}});
      run.seconds.push_back(0.0);
      continue;
    }
    const std::vector<double> &gt = seq.groundtruth[idx];
    cv::Mat image = ReadFrame(seq, idx);
    if (width < 0) {   // bounds of the first frame read, as runner.py
      width = image.cols;
      height = image.rows;
    }
    auto tic = Clock::now();
    if (idx == restart) {
      std::array<double, 4> box = InitRectFromRegion(gt);
      try {
        tracker->Init(image, box);
      } catch (const AppError &e) {
        throw AppError(seq.name + " frame " + std::to_string(idx + 1) + ": " + e.what());
      }
      run.entries.push_back({1, {}});
    } else {
      tracker->Track(image);
      const std::vector<double> &region = tracker->Region();
      if (IsFailure(region, gt, width, height)) {
        run.entries.push_back({2, {}});
        ++run.failures;
        restart = idx + kSkipAfterFailure;
      } else {
        run.entries.push_back({-1, region});
      }
    }
    run.seconds.push_back(std::chrono::duration<double>(Clock::now() - tic).count());
  }
  return run;
}

std::string FormatVotResult(const std::vector<Entry> &entries) {
  std::string text;
  for (const Entry &e : entries) {
    if (e.code >= 0) {
      text += std::to_string(e.code);
    } else {
      for (size_t i = 0; i < e.region.size(); ++i) text += (i ? "," : "") + VotFloat(e.region[i]);
    }
    text += "\n";
  }
  return text;
}

}  // namespace siam

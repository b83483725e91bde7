#include "inc/vot.h"

#include <chrono>

#include <opencv2/imgcodecs.hpp>

#include "inc/tracker.h"
#include "inc/utils.h"

namespace siam {

// ----------------------------------------------------------------- manifest
Manifest LoadManifest(const std::string &path) {
  Manifest m;
  m.path = path;
  Json j = ReadJsonFile(path);
  if (JsonString(j, "format", path) != "siam-infer-manifest" || JsonInt(j, "version", path) != 1) {
    throw AppError(path + ": not a version 1 siam-infer-manifest (write it with preprocess.py)");
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
    if (!frames.is_array() || !gt.is_array() || frames.size() != gt.size() || frames.empty()) {
      throw AppError(path + ": sequence " + s.name + " needs equally long, non-empty 'frames' and 'groundtruth' lists");
    }
    for (size_t k = 0; k < frames.size(); ++k) {
      if (!frames[k].is_string()) throw AppError(path + ": sequence " + s.name + " frame " + std::to_string(k + 1) +
                                                 " is not a path");
      s.frames.push_back(JoinPath(DirName(path), frames[k].get<std::string>()));   // relative to the manifest
      std::vector<double> poly;
      if (gt[k].is_array()) {
        for (const Json &v : gt[k]) {
          if (v.is_number()) poly.push_back(v.get<double>());
        }
      }
      if (poly.size() != 8 || !gt[k].is_array() || gt[k].size() != 8) {
        throw AppError(path + ": sequence " + s.name + " ground truth of frame " + std::to_string(k + 1) +
                       " should be 8 numbers (a polygon)");
      }
      s.groundtruth.push_back(poly);
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

SequenceRun RunSupervised(SiamTracker *tracker, const Sequence &seq) {
  using Clock = std::chrono::steady_clock;
  SequenceRun run;
  size_t restart = 0;
  int width = -1, height = -1;
  for (size_t idx = 0; idx < seq.frames.size(); ++idx) {
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

/**
 * The VOT supervised (baseline) protocol, as src/evaluation/runner.py runs it:
 * initialise from the ground-truth polygon (geometry.init_rect_from_region),
 * track, declare a failure when the rasterised overlap with the ground truth
 * (region.vot_overlap with the image bounds) is zero, re-initialise 5 frames
 * later; the frames in between are written as 0 and not even read. When the
 * ground truth of the re-initialisation frame forms no box (the manifest's
 * `usable` flag, datasets.usable_regions computed once by preprocess.py),
 * re-initialisation moves on to the next usable frame, writing 0 for the
 * frames passed over; a tracked frame with such ground truth is scored
 * against it as it is (zero or NaN overlap: a failure), as runner.py does.
 */
#ifndef ASCEND310_INFER_INC_VOT_H_
#define ASCEND310_INFER_INC_VOT_H_

#include <array>
#include <string>
#include <vector>

namespace siam {

class Tracker;

/**
 * VOT overlap of two regions ([x, y, w, h] or polygons x1, y1, x2, y2, ...)
 * clipped to bounds (width, height): region.c's rasterisation with its float32
 * arithmetic, ported from src/evaluation/region.py (NaN for 0/0).
 */
double VotOverlap(const std::vector<double> &a, const std::vector<double> &b, double width, double height);
/** The same with explicit float32 bounds (region.py's 4-tuple / None = infinite), for the tests. */
double VotOverlapClipped(const std::vector<double> &a, const std::vector<double> &b, double top, double bottom,
                         double left, double right);

/** pysot tools/test.py: a failure is an overlap that is not > 0 (zero or NaN). */
bool IsFailure(const std::vector<double> &region, const std::vector<double> &gt_polygon, int width, int height);

/** geometry.init_rect_from_region for an 8-value polygon: [x, y, w, h] of the same-area box. */
std::array<double, 4> InitRectFromRegion(const std::vector<double> &polygon);

struct Sequence {
  std::string name;
  std::vector<std::string> frames;               // image paths
  std::vector<std::vector<double>> groundtruth;  // one 8-value polygon per frame (NaN / inf kept)
  std::vector<bool> usable;                      // per frame: can a tracker be (re-)initialised from it
};

struct Manifest {
  std::string path;
  std::string dataset;
  std::vector<Sequence> sequences;
};

/** preprocess.py's MANIFEST_VERSION (2: per-frame 'usable' flags, non-finite values as strings). */
constexpr int kManifestVersion = 2;

/** Read the sequence manifest written by preprocess.py (checked; errors name the file and sequence). */
Manifest LoadManifest(const std::string &path);

/** VOT result-file entries: a code (1 init, 2 failure, 0 skipped) or a region. */
struct Entry {
  int code = -1;                 // -1: `region` holds the tracker's region
  std::vector<double> region;
};

struct SequenceRun {
  std::vector<Entry> entries;
  std::vector<double> seconds;   // per frame; 0 for skipped frames
  int failures = 0;
};

constexpr int kSkipAfterFailure = 5;

/** runner.run_supervised over one sequence. */
SequenceRun RunSupervised(Tracker *tracker, const Sequence &seq);

/** results.format_vot_line for every entry, one line each. */
std::string FormatVotResult(const std::vector<Entry> &entries);

}  // namespace siam

#endif  // ASCEND310_INFER_INC_VOT_H_

/**
 * ascend310_infer: the trackers of this repository (SiamRPN, SiamMask, SiamFC) as
 * a C++ application over exported graphs, running the VOT supervised protocol.
 * The tracking logic follows the export's decoder kind (tracker.h).
 *
 *   main --model_path EXPORT_DIR --manifest manifest.json --results_dir results [--tracker_name NAME]
 *        [--device_id 0 (ascend)] [--num_threads N (cpu)] [--precision_mode MODE]
 *   main --model_path EXPORT_DIR --manifest manifest.json --benchmark_frames 30
 *
 * EXPORT_DIR comes from export_mindir.py (ONNX for the cpu build, MINDIR for
 * the ascend build), the manifest from preprocess.py. Results are the files
 * eval.py writes: <results_dir>/<dataset>/<tracker>/baseline/<seq>/<seq>_001.txt
 * and <seq>_time.txt (seconds per frame), each written atomically, time file
 * first; complete sequences are skipped, so an interrupted run resumes.
 * postprocess.py scores them into eval.json. See ascend310_infer/README.md.
 */
#include <gflags/gflags.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>

#include "inc/backend.h"
#include "inc/model_desc.h"
#include "inc/tracker.h"
#include "inc/utils.h"
#include "inc/vot.h"

DEFINE_string(model_path, "", "exported model: its <name>.json or the folder holding it (export_mindir.py)");
DEFINE_string(manifest, "", "sequence manifest written by preprocess.py");
DEFINE_string(results_dir, "./results", "result files go to <results_dir>/<dataset>/<tracker_name>/baseline/<seq>/");
DEFINE_string(tracker_name, "", "result folder name (default: the config name, as eval.py)");
DEFINE_int32(device_id, 0, "Ascend device id (ascend build)");
DEFINE_int32(num_threads, 0, "CPU inference threads (cpu build; 0: OpenVINO's default)");
DEFINE_string(precision_mode, "", "cpu build: f32 (default; results match the Python tracker) or bf16 (faster on "
                                  "CPUs with AVX512-BF16/AMX; results differ slightly); ascend build: the Ascend "
                                  "precision mode, e.g. must_keep_origin_dtype (empty: the toolkit's default)");
DEFINE_bool(resume, true, "skip sequences whose result and time files are already complete");
DEFINE_int32(benchmark_frames, 0, "benchmark instead: init on each sequence's first frame, time this many "
                                  "track steps over its frames, print one JSON line, write no results");

namespace siam {
namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double Fps(const std::vector<double> &seconds) {   // evaluate._fps: over the frames that were processed
  double total = 0;
  int n = 0;
  for (double t : seconds) {
    if (t > 0) {
      total += t;
      ++n;
    }
  }
  return n ? n / total : 0.0;
}

int Benchmark(Tracker *tracker, const Manifest &manifest) {
  std::vector<double> step, network;
  for (const Sequence &seq : manifest.sequences) {
    std::vector<cv::Mat> frames;
    for (const std::string &path : seq.frames) {
      frames.push_back(IsFile(path) ? cv::imread(path, cv::IMREAD_COLOR) : cv::Mat());
      if (frames.back().empty()) throw AppError(seq.name + ": unreadable or missing frame " + path);
    }
    tracker->Init(frames[0], InitRectFromRegion(seq.groundtruth[0]));
    for (int i = 0; i < 3; ++i) tracker->Track(frames[1]);   // warm-up, as benchmarks/track_speed.py
    for (int i = 0; i < FLAGS_benchmark_frames; ++i) {
      const cv::Mat &frame = frames[1 + i % (frames.size() - 1)];
      auto tic = std::chrono::steady_clock::now();
      tracker->Track(frame);
      step.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - tic).count());
      network.push_back(tracker->LastNetworkSeconds());
    }
  }
  double ms = Median(step) * 1e3, net_ms = Median(network) * 1e3;
  std::printf("{\"backend\": \"%s\", \"frames\": %zu, \"median_track_ms\": %.3f, \"median_network_ms\": %.3f, "
              "\"fps\": %.3f}\n", BuiltBackend(), step.size(), ms, net_ms, 1e3 / ms);
  return 0;
}

int Run() {
  if (FLAGS_model_path.empty()) throw AppError("--model_path is required (an export_mindir.py output folder or .json)");
  if (FLAGS_manifest.empty()) throw AppError("--manifest is required (written by preprocess.py)");
  ModelDesc desc = LoadModelDesc(FLAGS_model_path);
  Manifest manifest = LoadManifest(FLAGS_manifest);
  BackendOptions options;
  options.device_id = FLAGS_device_id;
  options.num_threads = FLAGS_num_threads;
  options.precision_mode = FLAGS_precision_mode;
  std::unique_ptr<Backend> backend = CreateBackend(desc, options);
  backend->WarmUp();
  // the tracking logic the export's decoder names (anchors: SiamRPN / SiamMask; response_map: SiamFC)
  std::unique_ptr<Tracker> tracker = CreateTracker(backend.get(), desc);
  if (FLAGS_benchmark_frames > 0) return Benchmark(tracker.get(), manifest);

  const std::string name = FLAGS_tracker_name.empty() ? desc.config_name : FLAGS_tracker_name;
  const std::string root = JoinPath(JoinPath(FLAGS_results_dir, manifest.dataset), name);
  std::printf("%s on %s (%zu sequences), %s back-end, results in %s\n", desc.name.c_str(), manifest.dataset.c_str(),
              manifest.sequences.size(), BuiltBackend(), root.c_str());
  int total_failures = 0;
  size_t total_frames = 0;
  for (const Sequence &seq : manifest.sequences) {
    const std::string dir = JoinPath(JoinPath(root, "baseline"), seq.name);
    const std::string result_path = JoinPath(dir, seq.name + "_001.txt");
    const std::string time_path = JoinPath(dir, seq.name + "_time.txt");
    if (FLAGS_resume && IsComplete(result_path, seq.frames.size()) && IsComplete(time_path, seq.frames.size())) {
      std::printf("  %-24s complete, skipped\n", seq.name.c_str());
      continue;
    }
    SequenceRun run = RunSupervised(tracker.get(), seq);
    std::string times;
    for (double t : run.seconds) times += TimeLine(t) + "\n";
    AtomicWriteText(time_path, times);   // result file last: a complete one means a complete sequence
    AtomicWriteText(result_path, FormatVotResult(run.entries));
    total_failures += run.failures;
    total_frames += seq.frames.size();
    std::printf("  %-24s %5zu frames %4d failures %8.1f fps\n", seq.name.c_str(), seq.frames.size(), run.failures,
                Fps(run.seconds));
    std::fflush(stdout);
  }
  std::printf("done: %zu frames tracked, %d failures\n", total_frames, total_failures);
  return 0;
}

}  // namespace
}  // namespace siam

int main(int argc, char **argv) {
  gflags::SetUsageMessage("SiamRPN / SiamMask / SiamFC VOT inference over exported graphs (see ascend310_infer/README.md)");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (argc > 1) {
    std::fprintf(stderr, "main: unexpected argument '%s' (flags are --name=value)\n", argv[1]);
    return 2;
  }
  // errors are reported once, as one line naming the file; OpenCV's own warnings would add lines
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
  try {
    return siam::Run();
  } catch (const siam::AppError &e) {
    std::fprintf(stderr, "main: %s\n", e.what());
  } catch (const std::exception &e) {
    std::fprintf(stderr, "main: %s: %s\n", siam::BuiltBackend(), e.what());
  }
  return 1;
}

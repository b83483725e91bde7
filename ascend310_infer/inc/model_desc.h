/**
 * The exported model as src/export.py describes it in <name>.json: graph
 * files, their inputs and outputs (names, shapes, dtypes, in call order), the
 * crop convention, anchors and tracking hyperparameters. Everything the
 * tracker needs comes from here; LoadModelDesc checks the JSON is complete and
 * self-consistent so a bad export fails at start-up with one line naming the
 * file and the key, not in the middle of a sequence.
 */
#ifndef ASCEND310_INFER_INC_MODEL_DESC_H_
#define ASCEND310_INFER_INC_MODEL_DESC_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace siam {

struct IOSpec {
  std::string name;
  std::vector<int64_t> shape;
  size_t NumElements() const;
};

struct GraphSpec {
  std::string name;   // template / search / refine
  std::string file;   // as written in the JSON
  std::string path;   // resolved beside the JSON
  std::vector<IOSpec> inputs, outputs;
};

struct TrackParams {
  int exemplar_size = 127;
  int instance_size = 255;
  int base_size = 0;
  double context_amount = 0.5;
  double penalty_k = 0.0;
  double window_influence = 0.0;
  double lr = 0.0;
  double seg_thr = 0.3;
  int out_size = 127;
};

struct ModelDesc {
  std::string json_path;     // the description file
  std::string name;          // export name (graph file prefix)
  std::string config_name;   // config.name: the default tracker / result folder name, as eval.py names it
  std::string arch;          // "siamrpn" or "siammask"
  std::string file_format;   // "ONNX", "MINDIR", ...
  bool refine = false;       // SiamMask sharp: a refine graph exists
  int score_size = 0;
  bool round_half_even = false;  // crop corners: Python round() (SiamMask) vs floor(x + 0.5) (pysot)
  int anchor_stride = 8;
  std::vector<double> anchor_ratios, anchor_scales;
  TrackParams track;
  std::map<std::string, GraphSpec> graphs;

  int NumAnchors() const { return static_cast<int>(anchor_ratios.size() * anchor_scales.size()); }
  const GraphSpec &Graph(const std::string &graph) const;
};

/** Read `path` (an export's .json, or a directory holding exactly one) and check it. */
ModelDesc LoadModelDesc(const std::string &path);

}  // namespace siam

#endif  // ASCEND310_INFER_INC_MODEL_DESC_H_

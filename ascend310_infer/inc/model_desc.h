/**
 * The exported model as src/export.py describes it in <name>.json: graph
 * files, their inputs and outputs (names, shapes, dtypes, in call order), the
 * decoder that turns the search outputs into a box, the crop convention and
 * the tracking hyperparameters. Everything the tracker needs comes from here;
 * LoadModelDesc checks the JSON is complete and self-consistent so a bad
 * export fails at start-up with one line naming the file and the key, not in
 * the middle of a sequence.
 *
 * Format 2 names the decoder (`decoder.kind`): "anchors" (SiamRPN, SiamMask:
 * score map, anchors, mask kind) or "response_map" (SiamFC: response maps of
 * several search scales, upsampled; SA-Siam's too, with a two-input template graph and
 * a displacement clip). The application picks its tracking logic
 * from that kind, never from "arch" (informational). Format 1, written before
 * decoders existed, is the anchors decoder built from its top-level
 * score_size / anchor / refine keys, as src/export.py upgrade_format1 does.
 */
#ifndef ASCEND310_INFER_INC_MODEL_DESC_H_
#define ASCEND310_INFER_INC_MODEL_DESC_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "inc/utils.h"

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
  /** Position of the output `name` in `outputs`; AppError naming the JSON when there is none. */
  size_t OutputIndex(const std::string &name, const std::string &json_path) const;
};

/**
 * SiamMask's refine-module crops around a score-map position (src/models/siammask.py
 * refine_inputs): (padding, step, crop side) for f0, f1, f2; corr_feature gives 1x1.
 */
constexpr int kRefineCrop[3][3] = {{16, 4, 61}, {8, 2, 31}, {4, 1, 15}};

enum class DecoderKind { kAnchors, kResponseMap };

/** Which SiamMask mask an anchors decoder produces: none (SiamRPN), the 63x63 head output, or the refine graph. */
enum class MaskKind { kNone, kCoarse, kRefine };

/** decoder.kind "anchors": the score map of score_size^2 positions x anchors (src/models/anchors.py). */
struct AnchorDecoder {
  int score_size = 0;
  int stride = 8;
  std::vector<double> ratios, scales;
  MaskKind mask = MaskKind::kNone;
  int NumAnchors() const { return static_cast<int>(ratios.size() * scales.size()); }
};

/**
 * How a response_map decoder upsamples: "bicubic" (cv::INTER_CUBIC, siamfc-pytorch), "bilinear"
 * (cv::INTER_LINEAR), or "bicubic_tf_align_corners" (TF 1's tf.image.resize_images BICUBIC with
 * align_corners=True, SA-Siam / SiamFC-TensorFlow; src/tracker/sasiam_tracker.py tf_resize_bicubic).
 */
enum class Upsample { kBicubic, kBilinear, kTfBicubicAlignCorners };

/** decoder.kind "response_map": scale_num raw response maps, upsampled response_up times (SiamFC, SA-Siam). */
struct ResponseMapDecoder {
  int response_size = 0;
  int total_stride = 8;
  int response_up = 16;
  Upsample upsample = Upsample::kBicubic;
  int scale_num = 3;
  // the peak's displacement from the map centre clipped to +-this many raw response cells (SA-Siam's
  // decoder key displacement_clip); 0, or the key absent (SiamFC's exports): no clip
  double displacement_clip = 0;
};

/**
 * What a template-graph input is cut from the frame (response_map decoders; the anchors decoder's
 * template takes one exemplar): the exemplar crop (side z_sz, track.exemplar_size), or the
 * centre-scale search crop (side x_sz, track.instance_size), SA-Siam's semantic exemplar z_s.
 */
enum class TemplateCrop { kExemplar, kSearch };

/** The export's "track" section: the fields its decoder's tracker reads (others keep these defaults). */
struct TrackParams {
  int exemplar_size = 127;
  int instance_size = 255;
  double context_amount = 0.5;
  double window_influence = 0.0;
  // anchors
  int base_size = 0;
  double penalty_k = 0.0;
  double lr = 0.0;
  double seg_thr = 0.3;   // masks only
  int out_size = 127;     // masks only
  // response_map
  double scale_step = 1.0375;
  double scale_lr = 0.59;
  double scale_penalty = 0.9745;
  std::vector<double> scale_clip;   // [] (no bound) or [low, high] relative to the first frame's size
};

struct ModelDesc {
  std::string json_path;     // the description file
  std::string name;          // export name (graph file prefix)
  std::string config_name;   // config.name: the default tracker / result folder name, as eval.py names it
  std::string arch;          // informational only (the decoder decides the tracking logic)
  std::string file_format;   // "ONNX", "MINDIR", ...
  int format_version = 2;
  DecoderKind kind = DecoderKind::kAnchors;
  AnchorDecoder anchors;           // kind kAnchors
  ResponseMapDecoder response;     // kind kResponseMap
  bool rgb = false;                // input.color: the network takes RGB crops (frames are read BGR)
  bool round_half_even = false;    // crop corners: Python round() / np.round vs floor(x + 0.5) (pysot)
  TrackParams track;
  std::map<std::string, GraphSpec> graphs;
  std::vector<TemplateCrop> template_crops;   // one per template-graph input, in its order (LoadModelDesc)

  const GraphSpec &Graph(const std::string &graph) const;
};

/** Read `path` (an export's .json, or a directory holding exactly one) and check it. */
ModelDesc LoadModelDesc(const std::string &path);

/**
 * The parts of a description that need no graphs: format, decoder, input convention and track
 * section (checked), read from `root` (the JSON of file `d->json_path`). LoadModelDesc calls it
 * first; the post-processing test tool (siamfc_tool) uses it alone.
 */
void ReadTrackingSections(const Json &root, ModelDesc *d);

}  // namespace siam

#endif  // ASCEND310_INFER_INC_MODEL_DESC_H_

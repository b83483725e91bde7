/**
 * Network back-ends: the three graph calls of a Siamese tracker, as float
 * buffers whose shapes are the ones the export's JSON lists.
 *
 *   Template(z...)       -> kernels (copied out: the tracker keeps them per target); one
 *                           input buffer per template-graph input (SA-Siam: z_a, z_s)
 *   Track(x, kernels)    -> search outputs (views into the runtime's buffers,
 *                           valid until the next Track call; SiamMask's are ~20 MB)
 *   Refine(p0..p3)       -> refine logits (view, valid until the next Refine call)
 *
 * Implementations only move buffers in and out of their runtime (RunGraph);
 * the shape checks against the JSON live here, once for all of them.
 *   - OpenVINO (CPU) on the ONNX graphs: backend_openvino.cc
 *   - MindSpore C++ API (Ascend 310/310P) on the MINDIR graphs: backend_mindspore.cc
 * build.sh compiles exactly one of them (cmake -DBACKEND=cpu|ascend).
 */
#ifndef ASCEND310_INFER_INC_BACKEND_H_
#define ASCEND310_INFER_INC_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "inc/model_desc.h"

namespace siam {

struct TensorView {
  const float *data = nullptr;
  std::vector<int64_t> shape;
};

using Buffer = std::vector<float>;

struct BackendOptions {
  int device_id = 0;           // Ascend device
  int num_threads = 0;         // CPU inference threads (0: the runtime's default)
  std::string precision_mode;  // cpu: f32 (default) | bf16; ascend: the toolkit's precision mode (empty: its default)
};

class Backend {
 public:
  explicit Backend(const ModelDesc &desc) : desc_(desc) {}
  virtual ~Backend() = default;
  Backend(const Backend &) = delete;
  Backend &operator=(const Backend &) = delete;

  /** The template graph on its inputs, in the JSON's order (ModelDesc::template_crops says what each is). */
  std::vector<Buffer> Template(const std::vector<const Buffer *> &z);
  std::vector<Buffer> Template(const Buffer &z) { return Template(std::vector<const Buffer *>{&z}); }
  std::vector<TensorView> Track(const Buffer &x, const std::vector<Buffer> &kernels);
  TensorView Refine(const std::vector<const Buffer *> &p);

  /** One call of every graph on zeros, so the first tracked frame is not charged for lazy set-up. */
  void WarmUp();

 protected:
  /**
   * Run `graph` on `inputs` (in the JSON's order and sizes, already checked);
   * returns its outputs in the JSON's order, viewing the runtime's memory.
   */
  virtual std::vector<TensorView> RunGraph(const GraphSpec &graph, const std::vector<const float *> &inputs) = 0;

  const ModelDesc &desc_;

 private:
  std::vector<TensorView> Run(const std::string &graph, const std::vector<const Buffer *> &inputs);
};

/** The back-end this binary was built with; AppError when the export's format does not fit it. */
std::unique_ptr<Backend> CreateBackend(const ModelDesc &desc, const BackendOptions &options);

// Defined by the one back-end file compiled in (backend_openvino.cc or backend_mindspore.cc):
/** Which back-end this binary was built with ("openvino-cpu" / "mindspore-ascend"). */
const char *BuiltBackend();
/** The graph file formats it runs, the one to suggest first ({"ONNX", "OPENVINO"} / {"MINDIR"}). */
std::vector<std::string> BuiltFileFormats();
/** Construct it (CreateBackend checks the format first). */
std::unique_ptr<Backend> MakeBuiltBackend(const ModelDesc &desc, const BackendOptions &options);

}  // namespace siam

#endif  // ASCEND310_INFER_INC_BACKEND_H_

/**
 * CPU back-end: OpenVINO's C++ runtime on the ONNX graphs of export_mindir.py
 * --file_format ONNX, or the OpenVINO IR of --file_format OPENVINO. Each graph is read and compiled once, with one infer
 * request whose input tensors are reused for every frame (no per-frame
 * compilation or allocation).
 *
 * Inference precision is pinned to f32 unless --precision_mode bf16 asks for
 * bf16: on CPUs with AVX512-BF16/AMX the CPU plugin would otherwise pick bf16 by
 * itself (it does on the development machines), and the tracker's results would
 * no longer match the Python tracker's. bf16 is an explicit, recorded choice
 * (about 2x faster there); a CPU without native bf16 refuses it rather than
 * emulating it slowly.
 * Thread pinning is off: on a machine shared with other jobs a thread pinned
 * to a busy core cannot move (the SiamRPN search graph took ~110 ms pinned
 * vs ~83 ms unpinned next to a one-core job; the same ~82 ms when idle).
 */
#include <openvino/openvino.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "inc/backend.h"
#include "inc/utils.h"

namespace siam {

namespace {

std::vector<int64_t> ToShape(const ov::Shape &s) { return std::vector<int64_t>(s.begin(), s.end()); }

class OpenVINOBackend : public Backend {
 public:
  OpenVINOBackend(const ModelDesc &desc, const BackendOptions &options) : Backend(desc) {
    ov::AnyMap config = {ov::hint::inference_precision(Precision(options.precision_mode)),
                         ov::hint::performance_mode(ov::hint::PerformanceMode::LATENCY),
                         ov::hint::enable_cpu_pinning(false)};
    if (options.num_threads > 0) config.emplace(ov::inference_num_threads(options.num_threads));
    // The Python side sets ONEDNN_MAX_CPU_ISA=AVX2 to dodge a MindSpore kernel problem
    // (src/__init__.py); OpenVINO's oneDNN honours it too, at about half speed on AVX-512 CPUs.
    if (const char *isa = std::getenv("ONEDNN_MAX_CPU_ISA")) {
      std::printf("note: ONEDNN_MAX_CPU_ISA=%s caps OpenVINO's CPU kernels (a MindSpore workaround; "
                  "unset it for this program)\n", isa);
    }
    for (const auto &entry : desc.graphs) graphs_.emplace(entry.first, Load(core_, entry.second, config));
  }

 protected:
  std::vector<TensorView> RunGraph(const GraphSpec &spec, const std::vector<const float *> &inputs) override {
    Graph &g = graphs_.at(spec.name);
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::memcpy(g.inputs[i].data<float>(), inputs[i], g.inputs[i].get_byte_size());
    }
    g.request.infer();
    std::vector<TensorView> out;
    for (const IOSpec &io : spec.outputs) {
      ov::Tensor t = g.request.get_tensor(io.name);
      if (t.get_element_type() != ov::element::f32) {
        throw AppError(spec.path + ": output " + io.name + " is " + t.get_element_type().get_type_name() +
                       ", expected f32");
      }
      out.push_back({t.data<const float>(), ToShape(t.get_shape())});
    }
    return out;
  }

 private:
  struct Graph {
    ov::CompiledModel compiled;
    ov::InferRequest request;
    std::vector<ov::Tensor> inputs;   // the request's own input tensors, filled in place every call
  };

  ov::element::Type Precision(const std::string &mode) {
    if (mode.empty() || mode == "f32") return ov::element::f32;
    if (mode != "bf16") throw AppError("--precision_mode for the cpu build must be f32 or bf16, got '" + mode + "'");
    auto caps = core_.get_property("CPU", ov::device::capabilities);
    if (std::find(caps.begin(), caps.end(), ov::device::capability::BF16) == caps.end()) {
      throw AppError("--precision_mode bf16: this CPU has no native bf16 (OpenVINO CPU capabilities: " +
                     Join(caps) + "); use f32");
    }
    return ov::element::bf16;
  }

  static std::string Join(const std::vector<std::string> &items) {
    std::string out;
    for (const auto &item : items) out += (out.empty() ? "" : " ") + item;
    return out;
  }

  static Graph Load(ov::Core &core, const GraphSpec &spec, const ov::AnyMap &config) {
    std::shared_ptr<ov::Model> model;
    try {
      model = core.read_model(spec.path);
    } catch (const std::exception &e) {
      throw AppError(spec.path + ": OpenVINO cannot read this " + spec.name + " graph: " + FirstLine(e.what()));
    }
    // the ONNX graph's tensors carry the JSON's names (src/export.py renames them); every graph
    // input must be listed (an input the JSON lacks would never be fed, e.g. SA-Siam's z_s)
    if (model->inputs().size() != spec.inputs.size()) {
      std::string names;
      for (const auto &port : model->inputs()) names += (names.empty() ? "" : ", ") + port.get_any_name();
      throw AppError(spec.path + ": the " + spec.name + " graph has " + std::to_string(model->inputs().size()) +
                     " inputs (" + names + "), the JSON lists " + std::to_string(spec.inputs.size()));
    }
    for (const IOSpec &io : spec.inputs) CheckPort(spec, model->inputs(), io, "input");
    for (const IOSpec &io : spec.outputs) CheckPort(spec, model->outputs(), io, "output");
    Graph g;
    try {
      g.compiled = core.compile_model(model, "CPU", config);
    } catch (const std::exception &e) {
      throw AppError(spec.path + ": OpenVINO cannot compile the " + spec.name + " graph: " + FirstLine(e.what()));
    }
    g.request = g.compiled.create_infer_request();
    for (const IOSpec &io : spec.inputs) g.inputs.push_back(g.request.get_tensor(io.name));
    return g;
  }

  static void CheckPort(const GraphSpec &spec, const std::vector<ov::Output<ov::Node>> &ports, const IOSpec &io,
                        const char *kind) {
    for (const auto &port : ports) {
      if (!port.get_names().count(io.name)) continue;
      const ov::PartialShape &ps = port.get_partial_shape();
      if (ps.is_dynamic() || ToShape(ps.to_shape()) != io.shape) {
        throw AppError(spec.path + ": " + kind + " " + io.name + " has shape " + ps.to_string() + ", the JSON says " +
                       ShapeString(io.shape));
      }
      return;
    }
    throw AppError(spec.path + ": the " + spec.name + " graph has no " + kind + " named '" + io.name +
                   "' (listed in the JSON)");
  }

  static std::string FirstLine(const std::string &s) {
    size_t start = s.find_first_not_of("\n ");
    if (start == std::string::npos) return s;
    return s.substr(start, s.find('\n', start) - start);
  }

  ov::Core core_;
  std::map<std::string, Graph> graphs_;
};

}  // namespace

std::unique_ptr<Backend> MakeBuiltBackend(const ModelDesc &desc, const BackendOptions &options) {
  return std::make_unique<OpenVINOBackend>(desc, options);
}

// OpenVINO reads both: the ONNX graph through its ONNX front end, or the IR that front end made
// at export time (--file_format OPENVINO: .xml beside its .bin, which read_model finds by name)
std::vector<std::string> BuiltFileFormats() { return {"ONNX", "OPENVINO"}; }

const char *BuiltBackend() { return "openvino-cpu"; }

}  // namespace siam

#include "inc/backend.h"

#include <algorithm>

#include "inc/utils.h"

namespace siam {

std::vector<TensorView> Backend::Run(const std::string &graph, const std::vector<const Buffer *> &inputs) {
  const GraphSpec &spec = desc_.Graph(graph);
  if (inputs.size() != spec.inputs.size()) {
    throw AppError(spec.path + ": " + graph + " graph takes " + std::to_string(spec.inputs.size()) +
                   " inputs, got " + std::to_string(inputs.size()));
  }
  std::vector<const float *> data;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i]->size() != spec.inputs[i].NumElements()) {
      throw AppError(spec.path + ": " + graph + " input " + spec.inputs[i].name + " " +
                     ShapeString(spec.inputs[i].shape) + " needs " + std::to_string(spec.inputs[i].NumElements()) +
                     " values, got " + std::to_string(inputs[i]->size()));
    }
    data.push_back(inputs[i]->data());
  }
  std::vector<TensorView> out = RunGraph(spec, data);
  if (out.size() != spec.outputs.size()) {
    throw AppError(spec.path + ": " + graph + " graph returned " + std::to_string(out.size()) + " outputs, " +
                   desc_.json_path + " lists " + std::to_string(spec.outputs.size()));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].shape != spec.outputs[i].shape) {
      throw AppError(spec.path + ": " + graph + " output " + spec.outputs[i].name + " has shape " +
                     ShapeString(out[i].shape) + ", " + desc_.json_path + " says " +
                     ShapeString(spec.outputs[i].shape));
    }
  }
  return out;
}

std::vector<Buffer> Backend::Template(const std::vector<const Buffer *> &z) {
  std::vector<Buffer> kernels;
  for (const TensorView &k : Run("template", z)) {
    size_t n = 1;
    for (int64_t d : k.shape) n *= static_cast<size_t>(d);
    kernels.emplace_back(k.data, k.data + n);
  }
  return kernels;
}

std::vector<TensorView> Backend::Track(const Buffer &x, const std::vector<Buffer> &kernels) {
  std::vector<const Buffer *> inputs = {&x};
  for (const Buffer &k : kernels) inputs.push_back(&k);
  return Run("search", inputs);
}

TensorView Backend::Refine(const std::vector<const Buffer *> &p) { return Run("refine", p).at(0); }

std::unique_ptr<Backend> CreateBackend(const ModelDesc &desc, const BackendOptions &options) {
  const std::vector<std::string> formats = BuiltFileFormats();
  if (std::find(formats.begin(), formats.end(), desc.file_format) == formats.end()) {
    std::string runs;
    for (const auto &f : formats) runs += (runs.empty() ? "" : " or ") + f;
    throw AppError(desc.json_path + " holds " + desc.file_format + " graphs; this build (" + BuiltBackend() +
                   ") runs " + runs + " exports: python export_mindir.py --file_format " + formats.front());
  }
  return MakeBuiltBackend(desc, options);
}

void Backend::WarmUp() {
  for (const auto &entry : desc_.graphs) {
    std::vector<Buffer> zeros;
    for (const IOSpec &io : entry.second.inputs) zeros.emplace_back(io.NumElements(), 0.0f);
    std::vector<const Buffer *> inputs;
    for (const Buffer &b : zeros) inputs.push_back(&b);
    Run(entry.first, inputs);
  }
}

}  // namespace siam

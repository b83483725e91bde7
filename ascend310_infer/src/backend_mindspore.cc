/**
 * Ascend back-end: the MindSpore C++ inference API (libmindspore.so shipped
 * with the Ascend toolkit / mindspore-ascend, headers include/api/model.h etc.) on the
 * MINDIR graphs of export_mindir.py --file_format MINDIR, as the model zoo's
 * ascend310_infer applications use it: Serialization::Load -> Graph ->
 * Model::Build(GraphCell, Context with an AscendDeviceInfo) -> Predict.
 *
 * NOT COMPILED OR RUN ON THE DEVELOPMENT MACHINES: they have no Ascend device
 * and the MindSpore pip wheel ships no C++ library. build.sh ascend stops with
 * a message when MS_PATH (or the installed mindspore package) has no
 * include/api/model.h and lib/libmindspore.so. Written against the MindSpore
 * 1.6+ API (AscendDeviceInfo; older releases call it Ascend310DeviceInfo,
 * selected with -DMS_ASCEND310_DEVICE_INFO).
 *
 * Inputs are matched to the JSON by position (MINDIR input names are the
 * Python parameter names, the order is the call order the JSON lists).
 */
#include <cstring>

#include "include/api/context.h"
#include "include/api/model.h"
#include "include/api/serialization.h"
#include "include/api/status.h"
#include "include/api/types.h"
#include "inc/backend.h"
#include "inc/utils.h"

namespace ms = mindspore;

namespace siam {

namespace {

#ifdef MS_ASCEND310_DEVICE_INFO
using AscendInfo = ms::Ascend310DeviceInfo;
#else
using AscendInfo = ms::AscendDeviceInfo;
#endif

class MindSporeBackend : public Backend {
 public:
  MindSporeBackend(const ModelDesc &desc, const BackendOptions &options) : Backend(desc) {
    context_ = std::make_shared<ms::Context>();
    auto ascend = std::make_shared<AscendInfo>();
    ascend->SetDeviceID(static_cast<uint32_t>(options.device_id));
    // Ascend 310 computes in fp16 unless told otherwise; the flag passes e.g. must_keep_origin_dtype
    if (!options.precision_mode.empty()) ascend->SetPrecisionMode(options.precision_mode);
    context_->MutableDeviceInfo().push_back(ascend);
    for (const auto &entry : desc.graphs) graphs_.emplace(entry.first, Load(entry.second));
  }

 protected:
  std::vector<TensorView> RunGraph(const GraphSpec &spec, const std::vector<const float *> &inputs) override {
    Graph &g = graphs_.at(spec.name);
    std::vector<ms::MSTensor> feed;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const ms::MSTensor &in = g.inputs[i];
      feed.emplace_back(in.Name(), in.DataType(), in.Shape(), inputs[i], in.DataSize());
    }
    g.outputs.clear();   // the previous call's views die here, as the interface allows
    g.host_data.clear();
    ms::Status ret = g.model->Predict(feed, &g.outputs);
    if (ret != ms::kSuccess) {
      throw AppError(spec.path + ": Predict failed on the " + spec.name + " graph: " + ret.ToString());
    }
    std::vector<TensorView> out;
    for (ms::MSTensor &t : g.outputs) {
      if (t.DataType() != ms::DataType::kNumberTypeFloat32) {
        throw AppError(spec.path + ": output " + t.Name() + " is not float32");
      }
      // Data() may hand out a host copy of device memory: keep it alive as long as the view
      g.host_data.push_back(t.Data());
      out.push_back({static_cast<const float *>(g.host_data.back().get()), t.Shape()});
    }
    return out;
  }

 private:
  struct Graph {
    std::unique_ptr<ms::Model> model;
    std::vector<ms::MSTensor> inputs;
    std::vector<ms::MSTensor> outputs;                 // kept alive until the next call:
    std::vector<std::shared_ptr<const void>> host_data;  // Track's views point into them
  };

  Graph Load(const GraphSpec &spec) {
    ms::Graph graph;
    ms::Status ret = ms::Serialization::Load(spec.path, ms::ModelType::kMindIR, &graph);
    if (ret != ms::kSuccess) throw AppError(spec.path + ": cannot load this MINDIR graph: " + ret.ToString());
    Graph g;
    g.model = std::make_unique<ms::Model>();
    ret = g.model->Build(ms::GraphCell(graph), context_);
    if (ret != ms::kSuccess) throw AppError(spec.path + ": cannot build the " + spec.name + " graph: " + ret.ToString());
    g.inputs = g.model->GetInputs();
    if (g.inputs.size() != spec.inputs.size()) {
      throw AppError(spec.path + ": the graph has " + std::to_string(g.inputs.size()) + " inputs, the JSON lists " +
                     std::to_string(spec.inputs.size()));
    }
    for (size_t i = 0; i < g.inputs.size(); ++i) {
      if (g.inputs[i].Shape() != spec.inputs[i].shape ||
          g.inputs[i].DataType() != ms::DataType::kNumberTypeFloat32) {
        throw AppError(spec.path + ": input " + std::to_string(i) + " has shape " + ShapeString(g.inputs[i].Shape()) +
                       ", the JSON says float32 " + spec.inputs[i].name + " " + ShapeString(spec.inputs[i].shape));
      }
    }
    return g;
  }

  std::shared_ptr<ms::Context> context_;
  std::map<std::string, Graph> graphs_;
};

}  // namespace

std::unique_ptr<Backend> MakeBuiltBackend(const ModelDesc &desc, const BackendOptions &options) {
  return std::make_unique<MindSporeBackend>(desc, options);
}

std::vector<std::string> BuiltFileFormats() { return {"MINDIR"}; }

const char *BuiltBackend() { return "mindspore-ascend"; }

}  // namespace siam

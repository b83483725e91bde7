#include "inc/model_desc.h"

#include <dirent.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "inc/utils.h"

namespace siam {

size_t IOSpec::NumElements() const {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

const GraphSpec &ModelDesc::Graph(const std::string &graph) const {
  auto it = graphs.find(graph);
  if (it == graphs.end()) throw AppError(json_path + ": no '" + graph + "' graph");
  return it->second;
}

namespace {

// The refine module's crops around a score-map position (src/models/siammask.py
// refine_inputs): (padding, step, crop side) for f0, f1, f2; corr gives 1x1.
constexpr int kRefineCrop[3][3] = {{16, 4, 61}, {8, 2, 31}, {4, 1, 15}};

std::string FindJson(const std::string &path) {
  if (!IsDir(path)) {
    if (!IsFile(path)) throw AppError("exported model description not found: " + path);
    return path;
  }
  std::vector<std::string> found;
  if (DIR *dir = opendir(path.c_str())) {
    while (dirent *e = readdir(dir)) {
      std::string n = e->d_name;
      if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0) found.push_back(n);
    }
    closedir(dir);
  }
  std::sort(found.begin(), found.end());
  if (found.size() != 1) {
    std::string list;
    for (const auto &f : found) list += (list.empty() ? ": " : ", ") + f;
    throw AppError(path + ": expected one exported model .json, found " +
                   (found.empty() ? std::string("none") : std::to_string(found.size())) + list);
  }
  return JoinPath(path, found[0]);
}

std::vector<IOSpec> ReadIO(const Json &root, const std::string &key, const std::string &file) {
  const Json &list = JsonAt(root, key, file);
  if (!list.is_array() || list.empty()) throw AppError(file + ": key '" + key + "' should be a non-empty list");
  std::vector<IOSpec> out;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string item = key + "." + std::to_string(i);
    const Json &spec = list[i];
    IOSpec io;
    io.name = JsonString(spec, "name", file + " (" + item + ")");
    std::string dtype = JsonString(spec, "dtype", file + " (" + item + ")");
    if (dtype != "float32") throw AppError(file + ": " + item + " (" + io.name + ") is " + dtype + ", expected float32");
    for (double d : JsonNumbers(spec, "shape", file + " (" + item + ")")) {
      if (d < 1 || d != std::floor(d)) throw AppError(file + ": " + item + " (" + io.name + ") has a bad shape");
      io.shape.push_back(static_cast<int64_t>(d));
    }
    out.push_back(io);
  }
  return out;
}

void ExpectShape(const ModelDesc &d, const std::string &where, const IOSpec &io,
                 const std::vector<int64_t> &expected, const std::string &why) {
  if (io.shape != expected) {
    throw AppError(d.json_path + ": " + where + " (" + io.name + ") has shape " + ShapeString(io.shape) +
                   ", expected " + ShapeString(expected) + " (" + why + ")");
  }
}

void CheckCount(const ModelDesc &d, const std::string &where, size_t got, size_t expected) {
  if (got != expected) {
    throw AppError(d.json_path + ": " + where + " lists " + std::to_string(got) + " tensors, expected " +
                   std::to_string(expected));
  }
}

/** The graphs' shapes must agree with each other and with the anchors and sizes. */
void CheckConsistency(const ModelDesc &d) {
  const TrackParams &t = d.track;
  const int64_t A = d.NumAnchors(), S = d.score_size;
  int expected_s = (t.instance_size - t.exemplar_size) / d.anchor_stride + 1 + t.base_size;
  if (S != expected_s) {
    throw AppError(d.json_path + ": score_size " + std::to_string(S) + " does not match track sizes (" +
                   std::to_string(expected_s) + " expected)");
  }
  const GraphSpec &tg = d.Graph("template"), &sg = d.Graph("search");
  CheckCount(d, "graphs.template.inputs", tg.inputs.size(), 1);
  ExpectShape(d, "graphs.template.inputs.0", tg.inputs[0], {1, 3, t.exemplar_size, t.exemplar_size},
              "track.exemplar_size");
  CheckCount(d, "graphs.search.inputs", sg.inputs.size(), 1 + tg.outputs.size());
  ExpectShape(d, "graphs.search.inputs.0", sg.inputs[0], {1, 3, t.instance_size, t.instance_size},
              "track.instance_size");
  for (size_t k = 0; k < tg.outputs.size(); ++k) {
    ExpectShape(d, "graphs.search.inputs." + std::to_string(k + 1), sg.inputs[k + 1], tg.outputs[k].shape,
                "the template graph's output " + tg.outputs[k].name);
  }
  bool mask = d.arch == "siammask";
  CheckCount(d, "graphs.search.outputs", sg.outputs.size(), mask ? 7 : 2);
  ExpectShape(d, "graphs.search.outputs.0", sg.outputs[0], {1, 2 * A, S, S}, "2 x anchors on the score map");
  ExpectShape(d, "graphs.search.outputs.1", sg.outputs[1], {1, 4 * A, S, S}, "4 x anchors on the score map");
  if (!mask) return;
  const IOSpec &m = sg.outputs[2];
  int64_t side = m.shape.size() == 4 ? static_cast<int64_t>(std::llround(std::sqrt(double(m.shape[1])))) : 0;
  ExpectShape(d, "graphs.search.outputs.2", m, {1, side * side, S, S}, "a square mask per position");
  for (int i = 3; i < 7; ++i) {
    if (sg.outputs[i].shape.size() != 4 || sg.outputs[i].shape[0] != 1) {
      throw AppError(d.json_path + ": graphs.search.outputs." + std::to_string(i) + " (" + sg.outputs[i].name +
                     ") should be a (1, C, H, W) feature map");
    }
  }
  if (!d.refine) return;
  const GraphSpec &rg = d.Graph("refine");
  CheckCount(d, "graphs.refine.inputs", rg.inputs.size(), 4);
  CheckCount(d, "graphs.refine.outputs", rg.outputs.size(), 1);
  for (int i = 0; i < 3; ++i) {
    const IOSpec &f = sg.outputs[3 + i];
    int64_t side_f = kRefineCrop[i][2];
    // the crop at the last score-map position must stay inside the padded map
    if (f.shape[2] + 2 * kRefineCrop[i][0] < kRefineCrop[i][1] * (S - 1) + side_f) {
      throw AppError(d.json_path + ": search output " + f.name + " " + ShapeString(f.shape) +
                     " is too small for the refine crops");
    }
    ExpectShape(d, "graphs.refine.inputs." + std::to_string(i), rg.inputs[i], {1, f.shape[1], side_f, side_f},
                "refine crop of " + f.name);
  }
  ExpectShape(d, "graphs.refine.inputs.3", rg.inputs[3], {1, sg.outputs[6].shape[1], 1, 1},
              "corr_feature at one position");
  ExpectShape(d, "graphs.refine.outputs.0", rg.outputs[0], {1, int64_t(t.out_size) * t.out_size},
              "track.out_size squared");
}

}  // namespace

ModelDesc LoadModelDesc(const std::string &path) {
  ModelDesc d;
  d.json_path = FindJson(path);
  const std::string &f = d.json_path;
  Json j = ReadJsonFile(f);
  if (JsonInt(j, "format_version", f) != 1) {
    throw AppError(f + ": format_version " + JsonAt(j, "format_version", f).dump() + ", this application reads 1");
  }
  d.name = JsonString(j, "name", f);
  d.config_name = JsonString(j, "config.name", f);
  d.arch = JsonString(j, "arch", f);
  if (d.arch != "siamrpn" && d.arch != "siammask") {
    throw AppError(f + ": arch '" + d.arch + "' has no tracker here (siamrpn or siammask)");
  }
  d.file_format = JsonString(j, "file_format", f);
  d.refine = JsonBool(j, "refine", f);
  d.score_size = static_cast<int>(JsonInt(j, "score_size", f));
  for (const char *key : {"input.layout", "input.color", "input.dtype"}) {
    std::string v = JsonString(j, key, f);
    const char *want = std::string(key) == "input.layout" ? "NCHW" : std::string(key) == "input.color" ? "BGR"
                                                                                                      : "float32";
    if (v != want) throw AppError(f + ": " + key + " is '" + v + "', this application feeds " + want);
  }
  std::string rounding = JsonString(j, "input.crop_rounding", f);
  if (rounding != "round_half_up" && rounding != "round_half_even") {
    throw AppError(f + ": input.crop_rounding '" + rounding + "' (expected round_half_up or round_half_even)");
  }
  d.round_half_even = rounding == "round_half_even";
  d.anchor_stride = static_cast<int>(JsonInt(j, "anchor.stride", f));
  d.anchor_ratios = JsonNumbers(j, "anchor.ratios", f);
  d.anchor_scales = JsonNumbers(j, "anchor.scales", f);
  if (d.anchor_stride < 1 || d.anchor_ratios.empty() || d.anchor_scales.empty()) {
    throw AppError(f + ": anchor needs a positive stride and non-empty ratios and scales");
  }
  TrackParams &t = d.track;
  t.exemplar_size = static_cast<int>(JsonInt(j, "track.exemplar_size", f));
  t.instance_size = static_cast<int>(JsonInt(j, "track.instance_size", f));
  t.base_size = static_cast<int>(JsonInt(j, "track.base_size", f));
  t.context_amount = JsonNumber(j, "track.context_amount", f);
  t.penalty_k = JsonNumber(j, "track.penalty_k", f);
  t.window_influence = JsonNumber(j, "track.window_influence", f);
  t.lr = JsonNumber(j, "track.lr", f);
  t.seg_thr = JsonNumber(j, "track.seg_thr", f);
  t.out_size = static_cast<int>(JsonInt(j, "track.out_size", f));

  const Json &graphs = JsonAt(j, "graphs", f);
  if (!graphs.is_object()) throw AppError(f + ": key 'graphs' should be an object");
  std::vector<std::string> needed = {"template", "search"};
  if (d.refine) needed.push_back("refine");
  std::string folder = DirName(f);
  for (const auto &g : needed) {
    GraphSpec spec;
    spec.name = g;
    spec.file = JsonString(j, "graphs." + g + ".file", f);
    spec.path = JoinPath(folder, spec.file);
    spec.inputs = ReadIO(j, "graphs." + g + ".inputs", f);
    spec.outputs = ReadIO(j, "graphs." + g + ".outputs", f);
    if (!IsFile(spec.path)) throw AppError(f + ": " + g + " graph file " + spec.file + " is missing");
    // export_mindir.py records each graph's size (src/export.py read_export checks it too): a
    // truncated copy is named here instead of failing inside the runtime's parser
    if (graphs.contains(g) && graphs.at(g).contains("bytes")) {
      const int64_t want = JsonInt(j, "graphs." + g + ".bytes", f);
      const auto got = static_cast<int64_t>(std::filesystem::file_size(spec.path));
      if (got != want) {
        throw AppError(spec.path + ": " + std::to_string(got) + " bytes, the export wrote " + std::to_string(want) +
                       " (" + f + "): truncated or replaced; copy it again or re-export with export_mindir.py");
      }
    }
    d.graphs[g] = spec;
  }
  CheckConsistency(d);
  return d;
}

}  // namespace siam

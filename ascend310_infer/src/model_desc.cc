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

std::string Names(const std::vector<IOSpec> &list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) out += (i ? ", " : "") + list[i].name;
  return out + "]";
}

/**
 * The template graph takes the exemplar crop, and for a response_map decoder (SA-Siam) optionally
 * a second input, the frame-1 centre-scale search crop; the search graph the search crop(s), then
 * the template's outputs. Fills d->template_crops.
 */
void CheckCrops(ModelDesc *md, int64_t search_batch) {
  const ModelDesc &d = *md;
  const TrackParams &t = d.track;
  const GraphSpec &tg = d.Graph("template"), &sg = d.Graph("search");
  const size_t most = d.kind == DecoderKind::kResponseMap ? 2 : 1;
  if (tg.inputs.size() > most) {
    throw AppError(d.json_path + ": graphs.template.inputs lists " + std::to_string(tg.inputs.size()) + " tensors " +
                   Names(tg.inputs) + ", expected " +
                   (most == 1 ? std::string("1 (the exemplar crop)")
                              : std::string("1 (the exemplar crop) or 2 (the exemplar crop and the frame-1 search "
                                            "crop, SA-Siam's z_a, z_s)")));
  }
  ExpectShape(d, "graphs.template.inputs.0", tg.inputs[0], {1, 3, t.exemplar_size, t.exemplar_size},
              "track.exemplar_size");
  md->template_crops = {TemplateCrop::kExemplar};
  if (tg.inputs.size() == 2) {
    // SA-Siam's semantic exemplar: the whole centre-scale search crop of the first frame
    ExpectShape(d, "graphs.template.inputs.1", tg.inputs[1], {1, 3, t.instance_size, t.instance_size},
                "the second template input is the frame-1 search crop of track.instance_size");
    md->template_crops.push_back(TemplateCrop::kSearch);
  }
  CheckCount(d, "graphs.search.inputs", sg.inputs.size(), 1 + tg.outputs.size());
  ExpectShape(d, "graphs.search.inputs.0", sg.inputs[0], {search_batch, 3, t.instance_size, t.instance_size},
              search_batch == 1 ? "track.instance_size" : "decoder.scale_num crops of track.instance_size");
  for (size_t k = 0; k < tg.outputs.size(); ++k) {
    ExpectShape(d, "graphs.search.inputs." + std::to_string(k + 1), sg.inputs[k + 1], tg.outputs[k].shape,
                "the template graph's output " + tg.outputs[k].name);
  }
}

/** A search output the decoder reads, found by name; its shape checked when `expected` is given. */
const IOSpec &SearchOutput(const ModelDesc &d, const std::string &name, const std::vector<int64_t> &expected,
                           const std::string &why) {
  const GraphSpec &sg = d.Graph("search");
  const size_t i = sg.OutputIndex(name, d.json_path);
  if (!expected.empty()) ExpectShape(d, "graphs.search.outputs." + std::to_string(i), sg.outputs[i], expected, why);
  return sg.outputs[i];
}

/** Anchors: the graphs' shapes must agree with each other and with the anchors and sizes. */
void CheckAnchors(ModelDesc *md) {
  const ModelDesc &d = *md;
  const TrackParams &t = d.track;
  const AnchorDecoder &a = d.anchors;
  const int64_t A = a.NumAnchors(), S = a.score_size;
  int expected_s = (t.instance_size - t.exemplar_size) / a.stride + 1 + t.base_size;
  if (S != expected_s) {
    throw AppError(d.json_path + ": score_size " + std::to_string(S) + " does not match track sizes (" +
                   std::to_string(expected_s) + " expected)");
  }
  CheckCrops(md, 1);
  SearchOutput(d, "cls", {1, 2 * A, S, S}, "2 x anchors on the score map");
  SearchOutput(d, "loc", {1, 4 * A, S, S}, "4 x anchors on the score map");
  if (a.mask == MaskKind::kNone) return;
  const IOSpec &m = SearchOutput(d, "mask", {}, "");
  int64_t side = m.shape.size() == 4 ? static_cast<int64_t>(std::llround(std::sqrt(double(m.shape[1])))) : 0;
  SearchOutput(d, "mask", {1, side * side, S, S}, "a square mask per position");
  const char *features[4] = {"f0", "f1", "f2", "corr_feature"};
  for (const char *f : features) {
    const IOSpec &io = SearchOutput(d, f, {}, "");
    if (io.shape.size() != 4 || io.shape[0] != 1) {
      throw AppError(d.json_path + ": graphs.search.outputs." +
                     std::to_string(d.Graph("search").OutputIndex(f, d.json_path)) + " (" + io.name +
                     ") should be a (1, C, H, W) feature map");
    }
  }
  if (a.mask != MaskKind::kRefine) return;
  const GraphSpec &rg = d.Graph("refine");
  CheckCount(d, "graphs.refine.inputs", rg.inputs.size(), 4);
  CheckCount(d, "graphs.refine.outputs", rg.outputs.size(), 1);
  for (int i = 0; i < 3; ++i) {
    const IOSpec &f = SearchOutput(d, features[i], {}, "");
    int64_t side_f = kRefineCrop[i][2];
    // the crop at the last score-map position must stay inside the padded map
    if (f.shape[2] + 2 * kRefineCrop[i][0] < kRefineCrop[i][1] * (S - 1) + side_f) {
      throw AppError(d.json_path + ": search output " + f.name + " " + ShapeString(f.shape) +
                     " is too small for the refine crops");
    }
    ExpectShape(d, "graphs.refine.inputs." + std::to_string(i), rg.inputs[i], {1, f.shape[1], side_f, side_f},
                "refine crop of " + f.name);
  }
  ExpectShape(d, "graphs.refine.inputs.3", rg.inputs[3], {1, SearchOutput(d, "corr_feature", {}, "").shape[1], 1, 1},
              "corr_feature at one position");
  ExpectShape(d, "graphs.refine.outputs.0", rg.outputs[0], {1, int64_t(t.out_size) * t.out_size},
              "track.out_size squared");
}

/** Response map: scale_num search crops in one batch, one raw response map per crop. */
void CheckResponseMap(ModelDesc *md) {
  const ModelDesc &d = *md;
  const TrackParams &t = d.track;
  const ResponseMapDecoder &r = d.response;
  const int expected = (t.instance_size - t.exemplar_size) / r.total_stride + 1;
  if (r.response_size != expected) {
    throw AppError(d.json_path + ": decoder.response_size " + std::to_string(r.response_size) +
                   " does not match track sizes (" + std::to_string(expected) + " expected)");
  }
  CheckCrops(md, r.scale_num);
  SearchOutput(d, "response", {r.scale_num, 1, r.response_size, r.response_size},
               "decoder.scale_num response maps of decoder.response_size");
}

int Int(const Json &j, const std::string &key, const std::string &f, int64_t lo) {
  const int64_t v = JsonInt(j, key, f);
  if (v < lo || v > (1 << 20)) throw AppError(f + ": key '" + key + "' is " + std::to_string(v) + ", out of range");
  return static_cast<int>(v);
}

/** Format 1 (before decoders): its top-level score_size / anchor / refine keys (export.py upgrade_format1). */
void ReadFormat1Decoder(const Json &j, ModelDesc *d) {
  const std::string &f = d->json_path;
  // format 1 was written for the anchor families only: their search graph returns cls and loc
  std::vector<IOSpec> outputs = ReadIO(j, "graphs.search.outputs", f);
  bool cls = false, loc = false, mask = false;
  for (const IOSpec &io : outputs) {
    cls |= io.name == "cls";
    loc |= io.name == "loc";
    mask |= io.name == "mask";
  }
  if (!cls || !loc) {
    throw AppError(f + ": format_version 1 export whose search graph returns " + Names(outputs) +
                   ", not the anchor outputs cls, loc; re-export it with export_mindir.py");
  }
  AnchorDecoder &a = d->anchors;
  a.score_size = Int(j, "score_size", f, 1);
  a.stride = Int(j, "anchor.stride", f, 1);
  a.ratios = JsonNumbers(j, "anchor.ratios", f);
  a.scales = JsonNumbers(j, "anchor.scales", f);
  a.mask = JsonBool(j, "refine", f) ? MaskKind::kRefine : mask ? MaskKind::kCoarse : MaskKind::kNone;
  d->kind = DecoderKind::kAnchors;
}

void ReadDecoder(const Json &j, ModelDesc *d) {
  const std::string &f = d->json_path;
  const std::string kind = JsonString(j, "decoder.kind", f);
  if (kind == "anchors") {
    d->kind = DecoderKind::kAnchors;
    AnchorDecoder &a = d->anchors;
    a.score_size = Int(j, "decoder.score_size", f, 1);
    a.stride = Int(j, "decoder.stride", f, 1);
    a.ratios = JsonNumbers(j, "decoder.ratios", f);
    a.scales = JsonNumbers(j, "decoder.scales", f);
    const std::string mask = JsonString(j, "decoder.mask", f);
    if (mask == "none") {
      a.mask = MaskKind::kNone;
    } else if (mask == "coarse") {
      a.mask = MaskKind::kCoarse;
    } else if (mask == "refine") {
      a.mask = MaskKind::kRefine;
    } else {
      throw AppError(f + ": decoder.mask '" + mask + "' (expected none, coarse or refine)");
    }
  } else if (kind == "response_map") {
    d->kind = DecoderKind::kResponseMap;
    ResponseMapDecoder &r = d->response;
    r.response_size = Int(j, "decoder.response_size", f, 1);
    r.total_stride = Int(j, "decoder.total_stride", f, 1);
    r.response_up = Int(j, "decoder.response_up", f, 1);
    r.scale_num = Int(j, "decoder.scale_num", f, 1);
    const std::string up = JsonString(j, "decoder.upsample", f);
    if (up == "bicubic") {
      r.upsample = Upsample::kBicubic;
    } else if (up == "bilinear") {
      r.upsample = Upsample::kBilinear;
    } else if (up == "bicubic_tf_align_corners") {
      r.upsample = Upsample::kTfBicubicAlignCorners;
    } else {
      throw AppError(f + ": decoder.upsample '" + up + "' (expected bicubic, bilinear or bicubic_tf_align_corners)");
    }
    // SA-Siam's key; SiamFC's exports have none (no clip)
    if (JsonAt(j, "decoder", f).contains("displacement_clip")) {
      r.displacement_clip = JsonNumber(j, "decoder.displacement_clip", f);
      if (!(r.displacement_clip >= 0 && std::isfinite(r.displacement_clip))) {
        throw AppError(f + ": decoder.displacement_clip should be a number >= 0 (0: no clip)");
      }
    }
  } else {
    throw AppError(f + ": decoder.kind '" + kind + "' has no tracker in this application (it runs anchors and "
                   "response_map); update ascend310_infer");
  }
}

// export_mindir.py records each graph file's size under `key`.bytes (src/export.py read_export
// checks it too): a truncated copy is named here instead of failing inside the runtime's parser.
// Exports written before sizes were recorded have none.
void CheckBytes(const Json &j, const std::string &key, const std::string &path, const std::string &f) {
  if (!JsonAt(j, key, f).contains("bytes")) return;
  const int64_t want = JsonInt(j, key + ".bytes", f);
  const auto got = static_cast<int64_t>(std::filesystem::file_size(path));
  if (got != want) {
    throw AppError(path + ": " + std::to_string(got) + " bytes, the export wrote " + std::to_string(want) + " (" +
                   f + "): truncated or replaced; copy it again or re-export with export_mindir.py");
  }
}

}  // namespace

size_t GraphSpec::OutputIndex(const std::string &output, const std::string &json_path) const {
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].name == output) return i;
  }
  std::string names;
  for (const IOSpec &io : outputs) names += (names.empty() ? "" : ", ") + io.name;
  throw AppError(json_path + ": graphs." + name + ".outputs has no '" + output + "' (it lists " + names +
                 "; the decoder reads it)");
}

void ReadTrackingSections(const Json &j, ModelDesc *d) {
  const std::string &f = d->json_path;
  const Json &version = JsonAt(j, "format_version", f);
  if (!version.is_number_integer() || (version.get<int64_t>() != 1 && version.get<int64_t>() != 2)) {
    const bool newer = version.is_number_integer() && version.get<int64_t>() > 2;
    throw AppError(f + ": format_version " + version.dump() + ", this application reads 1 and 2" +
                   (newer ? "; update ascend310_infer" : ""));
  }
  d->format_version = static_cast<int>(version.get<int64_t>());
  if (d->format_version == 1) {
    ReadFormat1Decoder(j, d);
  } else {
    ReadDecoder(j, d);
  }
  for (const char *key : {"input.layout", "input.dtype"}) {
    std::string v = JsonString(j, key, f);
    const char *want = std::string(key) == "input.layout" ? "NCHW" : "float32";
    if (v != want) throw AppError(f + ": " + key + " is '" + v + "', this application feeds " + want);
  }
  // frames are read BGR; the crops go to the network in the colour order it was trained on
  const std::string color = JsonString(j, "input.color", f);
  if (color != "BGR" && color != "RGB") {
    throw AppError(f + ": input.color is '" + color + "', this application feeds BGR or RGB");
  }
  d->rgb = color == "RGB";
  std::string rounding = JsonString(j, "input.crop_rounding", f);
  if (rounding != "round_half_up" && rounding != "round_half_even") {
    throw AppError(f + ": input.crop_rounding '" + rounding + "' (expected round_half_up or round_half_even)");
  }
  d->round_half_even = rounding == "round_half_even";
  if (d->kind == DecoderKind::kResponseMap && !d->round_half_even) {
    // SiamFC's crop is the reference's (siamfc_tracker.crop_and_resize): np.round, half to even
    throw AppError(f + ": input.crop_rounding '" + rounding + "': the response_map tracker crops as "
                   "siamfc-pytorch does (round_half_even)");
  }

  TrackParams &t = d->track;
  t.exemplar_size = Int(j, "track.exemplar_size", f, 1);
  t.instance_size = Int(j, "track.instance_size", f, 1);
  t.context_amount = JsonNumber(j, "track.context_amount", f);
  t.window_influence = JsonNumber(j, "track.window_influence", f);
  if (d->kind == DecoderKind::kAnchors) {
    const AnchorDecoder &a = d->anchors;
    if (a.ratios.empty() || a.scales.empty()) throw AppError(f + ": anchor needs non-empty ratios and scales");
    t.base_size = static_cast<int>(JsonInt(j, "track.base_size", f));
    t.penalty_k = JsonNumber(j, "track.penalty_k", f);
    t.lr = JsonNumber(j, "track.lr", f);
    if (a.mask != MaskKind::kNone) {
      t.seg_thr = JsonNumber(j, "track.seg_thr", f);
      t.out_size = Int(j, "track.out_size", f, 1);
    }
  } else {
    t.scale_step = JsonNumber(j, "track.scale_step", f);
    t.scale_lr = JsonNumber(j, "track.scale_lr", f);
    t.scale_penalty = JsonNumber(j, "track.scale_penalty", f);
    t.scale_clip = JsonNumbers(j, "track.scale_clip", f);
    if (!(t.scale_step > 0)) throw AppError(f + ": track.scale_step should be positive");
    if (!t.scale_clip.empty() &&
        !(t.scale_clip.size() == 2 && 0 < t.scale_clip[0] && t.scale_clip[0] <= t.scale_clip[1])) {
      throw AppError(f + ": track.scale_clip should be [] or [low, high] with 0 < low <= high");
    }
  }
}

ModelDesc LoadModelDesc(const std::string &path) {
  ModelDesc d;
  d.json_path = FindJson(path);
  const std::string &f = d.json_path;
  Json j = ReadJsonFile(f);
  ReadTrackingSections(j, &d);
  d.name = JsonString(j, "name", f);
  d.config_name = JsonString(j, "config.name", f);
  d.arch = JsonString(j, "arch", f);
  d.file_format = JsonString(j, "file_format", f);

  const Json &graphs = JsonAt(j, "graphs", f);
  if (!graphs.is_object()) throw AppError(f + ": key 'graphs' should be an object");
  std::vector<std::string> needed = {"template", "search"};
  if (d.kind == DecoderKind::kAnchors && d.anchors.mask == MaskKind::kRefine) needed.push_back("refine");
  std::string folder = DirName(f);
  for (const auto &g : needed) {
    GraphSpec spec;
    spec.name = g;
    spec.file = JsonString(j, "graphs." + g + ".file", f);
    spec.path = JoinPath(folder, spec.file);
    spec.inputs = ReadIO(j, "graphs." + g + ".inputs", f);
    spec.outputs = ReadIO(j, "graphs." + g + ".outputs", f);
    if (!IsFile(spec.path)) throw AppError(f + ": " + g + " graph file " + spec.file + " is missing");
    CheckBytes(j, "graphs." + g, spec.path, f);
    // an OpenVINO IR graph's weights are a second file (.bin), recorded the same way
    if (graphs.contains(g) && graphs.at(g).contains("weights")) {
      const std::string weights = JsonString(j, "graphs." + g + ".weights.file", f);
      const std::string weights_path = JoinPath(folder, weights);
      if (!IsFile(weights_path)) throw AppError(f + ": " + g + " weights file " + weights + " is missing");
      CheckBytes(j, "graphs." + g + ".weights", weights_path, f);
    }
    d.graphs[g] = spec;
  }
  if (d.kind == DecoderKind::kAnchors) {
    CheckAnchors(&d);
  } else {
    CheckResponseMap(&d);
  }
  return d;
}

}  // namespace siam

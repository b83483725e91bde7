"""Export a tracker as the set of graphs its tracking loop calls.

A tracker cannot be one graph: the template branch runs once per target, the
search branch every frame, and SiamMask's refine module at a position chosen
from the search outputs. Each family declares its graphs (``graphs(cfg)`` of its
record, src/models/registry.py ``GraphSpec``), and a model is exported as those:

* SiamRPN   ``<name>_template`` z (1, 3, 127, 127) -> kernel0, kernel1;
            ``<name>_search`` x (1, 3, S, S), kernel0, kernel1 -> cls, loc
* SiamMask  the same with kernel2 and the search outputs mask, f0, f1, f2, corr_feature,
            and (sharp) ``<name>_refine`` p0, p1, p2, p3 -> refine_logits (1, 16129)
* SiamFC    ``<name>_template`` z -> kernel0; ``<name>_search`` x (scale_num, 3, 255, 255),
            kernel0 -> response (scale_num, 1, 17, 17): the frame's scales as one batch

With ``targets`` N > 1 (``export_mindir.py --targets N``) the export also holds
``<name>_search_batch``: the search graph on N targets at once, in the layout of
``track_batch`` (src/tracker/backends.py ``_batch_layout``): x (N * S, 3, H, W), crop
``s * N + t`` target t's crop s (S: 1, SiamFC / SA-Siam scale_num), every kernel with a
leading N; its outputs have the batch N * S. The JSON's ``targets`` is N (1: no such graph;
exports written before it have no key and read as 1).

plus ``<name>.json`` (format_version 2): the graphs' files, sizes, inputs and outputs
(names, shapes, dtypes, in call order), the ``decoder`` that turns the search outputs
into a box (the family's ``decoder(cfg)``: ``anchors`` with score size, stride, ratios,
scales and mask kind; ``response_map`` with response size, stride, upsampling and
scales), the input convention (layout, colour, range, dtype, crop rounding), the
tracking hyperparameters and the whole experiment config, so an application
(``ascend310_infer``) or ``eval.py --backend mindir|onnx`` needs nothing else. The
JSON is written last: an export directory with a JSON is complete. ``read_export``
also reads format 1 (top-level ``refine``, ``score_size``, ``anchor``; anchor
families only) and upgrades it in memory.
"""
import json
import os
import shutil
import tempfile
from typing import NamedTuple

import numpy as np

from .models.registry import get_family

FORMAT_EXT = {"MINDIR": ".mindir", "ONNX": ".onnx", "AIR": ".air", "OPENVINO": ".xml"}
FORMAT_VERSION = 2


class ExportError(ValueError):
    """An export that cannot be made here; the message says why on one line."""


def _io(names, arrays):
    return [{"name": n, "shape": list(a.shape), "dtype": str(a.dtype)} for n, a in zip(names, arrays)]


def _check_format(file_format):
    import mindspore as ms
    if file_format not in FORMAT_EXT:
        raise ExportError(f"unknown --file_format '{file_format}' (choose MINDIR, ONNX, OPENVINO or AIR)")
    if file_format == "AIR" and ms.get_context("device_target") != "Ascend":
        raise ExportError("AIR export needs an Ascend device with the Ascend toolkit "
                          f"(device_target is {ms.get_context('device_target')}); "
                          "export MINDIR (MindSpore, Ascend 310) or ONNX (other runtimes) instead")


def _write_graph(cell, inputs, path, file_format, input_names, output_names):
    import mindspore as ms
    tensors = [ms.Tensor(a) for a in inputs]
    base = path[: -len(FORMAT_EXT[file_format])]
    if file_format in ("ONNX", "OPENVINO"):
        from mindspore import onnx
        onnx.export(cell, *tensors, file_name=base)
        _rename_onnx_io(base + ".onnx", input_names, output_names)
        if file_format == "OPENVINO":
            _onnx_to_openvino_ir(base + ".onnx", path)
    else:
        ms.export(cell, *tensors, file_name=base, file_format=file_format)
    if not os.path.isfile(path):
        raise ExportError(f"MindSpore wrote no {file_format} file for {os.path.basename(path)}")


def _rename_onnx_io(path, input_names, output_names):
    """Give the ONNX graph's inputs and outputs the names in the JSON.

    MindSpore's ``onnx.export(output_names=...)`` renames only the graph
    output, not the nodes that also read that value (SiamMask's f0..f2 feed
    later layers), which leaves an invalid graph; renaming every use here
    keeps it valid.
    """
    import onnx
    model = onnx.load(path)
    g = model.graph
    rename = {v.name: n for v, n in zip(list(g.input) + list(g.output),
                                        list(input_names) + list(output_names))}
    for v in list(g.input) + list(g.output):
        v.name = rename[v.name]
    for node in g.node:
        node.input[:] = [rename.get(i, i) for i in node.input]
        node.output[:] = [rename.get(o, o) for o in node.output]
    onnx.checker.check_model(model)
    os.chmod(path, 0o644)
    onnx.save(model, path)


def _onnx_to_openvino_ir(onnx_path, xml_path):
    """The ONNX graph as OpenVINO IR (``.xml`` topology + ``.bin`` weights beside it), then the
    ONNX file removed. The IR is the same network OpenVINO builds from the ONNX graph (its ONNX
    front end runs here once instead of at every load); weights stay float32
    (``compress_to_fp16=False``: OpenVINO's default would halve them to float16, and the results
    would no longer equal the other back-ends')."""
    try:
        import openvino as ov
    except ImportError:
        raise ExportError("--file_format OPENVINO needs the openvino package: pip install -r requirements.txt") \
            from None
    ov.save_model(ov.convert_model(onnx_path), xml_path, compress_to_fp16=False)
    os.remove(onnx_path)
    if not os.path.isfile(ir_weights(xml_path)):
        raise ExportError(f"OpenVINO wrote no weights file {os.path.basename(ir_weights(xml_path))}")


def _graph_entries(graph):
    """(JSON entry, what it is) for each file of one exported graph: the graph file and, for an
    OpenVINO IR graph, its weights file; each entry holds ``file`` and (since sizes were recorded)
    ``bytes``."""
    return [(graph, "graph file")] + ([(graph["weights"], "weights file")] if "weights" in graph else [])


def ir_weights(xml_path):
    """The weights file OpenVINO reads with the IR topology ``xml_path`` (same name, ``.bin``)."""
    return xml_path[: -len(".xml")] + ".bin"


class GraphIO(NamedTuple):
    """One graph's cell and example inputs and outputs (numpy), names in call order."""
    cell: object
    input_names: list
    inputs: list
    output_names: list
    outputs: list


def sample_io(cfg, net):
    """Example inputs and outputs of every graph the family declares, in call order: crops
    of random 0..255 values, the other inputs from the earlier graphs' outputs.

    Returns {graph: GraphIO}.
    """
    import mindspore as ms
    rng = np.random.default_rng(0)
    values, graphs = {}, {}
    for spec in get_family(cfg.model.arch).graphs(cfg):
        made = spec.example_inputs(values) if spec.example_inputs else {}
        inputs = []
        for name, shape in spec.inputs:
            if name in made:
                inputs.append(np.ascontiguousarray(made[name], np.float32))
            elif shape is not None:
                inputs.append((rng.random(shape) * 255).astype(np.float32))
            elif name in values:
                inputs.append(values[name])
            else:
                raise ExportError(f"model.arch {cfg.model.arch}: the {spec.name} graph's input {name} is no "
                                  f"earlier graph's output and has no shape (graphs() declaration)")
        cell = spec.cell(net)
        out = cell(*(ms.Tensor(a) for a in inputs))
        outputs = [o.asnumpy() for o in (out if isinstance(out, (tuple, list)) else (out,))]
        if len(outputs) != len(spec.outputs):
            raise ExportError(f"model.arch {cfg.model.arch}: the {spec.name} graph returned {len(outputs)} "
                              f"outputs, its declaration names {len(spec.outputs)} ({', '.join(spec.outputs)})")
        values.update(zip(spec.outputs, outputs))
        graphs[spec.name] = GraphIO(cell, list(spec.input_names), inputs, list(spec.outputs), outputs)
    return graphs


def _check_targets(targets):
    if not isinstance(targets, int) or isinstance(targets, bool) or targets < 1:
        raise ExportError(f"--targets {targets!r}: the number of targets per search call must be an integer >= 1")


def batched_search_io(cfg, net, single, targets):
    """The search graph's GraphIO for ``targets`` targets in one call, from the one-target
    ``single`` (sample_io's): its crops and kernels repeated in the layout of track_batch, each
    target's shifted a little (the trace needs only the shapes; distinct targets keep the
    recorded outputs from being N copies of one)."""
    import mindspore as ms
    spec = get_family(cfg.model.arch).graphs(cfg)
    spec = next(s for s in spec if s.name == "search")
    x, kernels = single.inputs[0], single.inputs[1:]
    # crop s * targets + t is target t's crop s (scale-major, backends._batch_layout)
    xs = np.stack([np.clip(x + 10.0 * t, 0, 255) for t in range(targets)], axis=1)
    inputs = [np.ascontiguousarray(xs.reshape(-1, *x.shape[1:]), np.float32)]
    inputs += [np.ascontiguousarray(np.concatenate([k * (1.0 + 0.1 * t) for t in range(targets)], 0), np.float32)
               for k in kernels]
    cell = spec.cell(net)
    out = cell(*(ms.Tensor(a) for a in inputs))
    outputs = [o.asnumpy() for o in (out if isinstance(out, (tuple, list)) else (out,))]
    return GraphIO(cell, list(single.input_names), inputs, list(single.output_names), outputs)


def export_graphs(cfg, net, output_dir, file_format="MINDIR", name=None, targets=1):
    """Write the graphs of ``net`` and their JSON to ``output_dir``; returns the JSON path.
    ``targets`` > 1 adds the ``search_batch`` graph for that many targets per call."""
    _check_format(file_format)
    _check_targets(targets)
    if getattr(cfg.track, "long_term", False):
        # the lost-target search is a second, larger crop: a fixed-size exported search graph
        # (and the C++ app's tracker) can only run the normal mode
        raise ExportError(f"config '{cfg.name}': track.long_term is true, but exported graphs track in the normal "
                          "mode only (export with --track.long_term false, run long-term on the checkpoint)")
    net.set_train(False)
    name = name or cfg.name
    ext = FORMAT_EXT[file_format]
    os.makedirs(output_dir, exist_ok=True)
    graphs = sample_io(cfg, net)
    if targets > 1:
        graphs["search_batch"] = batched_search_io(cfg, net, graphs["search"], targets)
    family = get_family(cfg.model.arch)
    desc = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "arch": cfg.model.arch,             # informational: applications follow "decoder"
        "file_format": file_format,
        "decoder": family.decoder(cfg),
        # the network sees raw crops: NCHW float32 0..255, mean-colour padding, in the family's colour
        # order; pysot rounds crop corners with floor(x + 0.5), SiamMask's and SiamFC's code half-even
        "input": {"layout": "NCHW", "color": family.input_color(cfg), "range": [0, 255], "dtype": "float32",
                  "crop_rounding": family.crop_rounding},
        "graphs": {},
        "targets": targets,             # targets per call of search_batch (1: only the one-target search)
        "track": cfg.to_dict()["track"],
        "config": cfg.to_dict(),
    }
    tmp = tempfile.mkdtemp(prefix=".export-", dir=output_dir)
    try:
        for graph, io in graphs.items():
            fname = f"{name}_{graph}{ext}"
            _write_graph(io.cell, io.inputs, os.path.join(tmp, fname), file_format, io.input_names,
                         io.output_names)
            # the size lets a reader tell a truncated copy (interrupted download or copy) in one line
            desc["graphs"][graph] = {"file": fname, "bytes": os.path.getsize(os.path.join(tmp, fname)),
                                     "inputs": _io(io.input_names, io.inputs),
                                     "outputs": _io(io.output_names, io.outputs)}
            if file_format == "OPENVINO":       # the IR's second file, checked by size like the first
                weights = os.path.basename(ir_weights(fname))
                desc["graphs"][graph]["weights"] = {"file": weights,
                                                    "bytes": os.path.getsize(os.path.join(tmp, weights))}
        for graph in desc["graphs"].values():
            for entry, _ in _graph_entries(graph):
                os.replace(os.path.join(tmp, entry["file"]), os.path.join(output_dir, entry["file"]))
        json_path = os.path.join(output_dir, f"{name}.json")
        with open(os.path.join(tmp, "model.json"), "w", encoding="utf-8") as f:
            json.dump(desc, f, indent=2)
        os.replace(os.path.join(tmp, "model.json"), json_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return json_path


def export_checkpoint(ckpt_path, output_dir, file_format="MINDIR", config=None, overrides=(), name=None,
                      targets=1):
    """Load a checkpoint (its embedded config, or ``config``) and export it; returns the JSON path."""
    from .training.checkpoint import load_model_checkpoint
    _check_targets(targets)                 # before the checkpoint is read
    cfg, net = load_model_checkpoint(ckpt_path, config, overrides)
    return export_graphs(cfg, net, output_dir, file_format, name, targets)


def _is_export_json(path):
    """Whether ``path`` is an export description (a folder may also hold eval.json and the like)."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "graphs" in data and "format_version" in data


def read_export(path):
    """The description of an export: ``path`` is its JSON or a directory holding exactly one.

    Returns (description dict, directory). Errors name the file and what is wrong.
    """
    if os.path.isdir(path):
        found = sorted(f for f in os.listdir(path) if f.endswith(".json") and _is_export_json(os.path.join(path, f)))
        if len(found) != 1:
            raise FileNotFoundError(f"{path}: expected one exported model .json, found "
                                    f"{len(found) or 'none'}{': ' + ', '.join(found) if found else ''}")
        path = os.path.join(path, found[0])
    if not os.path.isfile(path):
        raise FileNotFoundError(f"exported model description not found: {path}")
    try:
        with open(path, "r", encoding="utf-8") as f:
            desc = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None
    for key in ("format_version", "arch", "file_format", "graphs", "config"):
        if key not in desc:
            raise ValueError(f"{path}: missing key '{key}' (not written by export_mindir.py?)")
    version = desc["format_version"]
    if version not in (1, FORMAT_VERSION):
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise ValueError(f"{path}: format_version {version}{' is newer than this code' if newer else ''} "
                         f"(this code reads 1 and {FORMAT_VERSION}){'; update the code' if newer else ''}")
    folder = os.path.dirname(os.path.abspath(path))
    for graph, g in desc["graphs"].items():
        for entry, what in _graph_entries(g):
            file = os.path.join(folder, entry["file"])
            if not os.path.isfile(file):
                raise FileNotFoundError(f"{path}: {graph} {what} {entry['file']} is missing")
            size = os.path.getsize(file)
            if "bytes" in entry and size != entry["bytes"]:     # exports written before sizes were recorded have none
                raise ValueError(f"{file}: {size} bytes, the export wrote {entry['bytes']} ({path}): truncated or "
                                 f"replaced; copy it again or re-export with export_mindir.py")
    if desc["format_version"] == 1:
        desc = upgrade_format1(desc, path)
    if not isinstance(desc.get("decoder"), dict) or "kind" not in desc["decoder"]:
        raise ValueError(f"{path}: missing key 'decoder' (or its 'kind')")
    return desc, folder


def upgrade_format1(desc, path):
    """A format-1 description as format 2 (a new dict): its top-level ``score_size``,
    ``anchor`` and ``refine`` become the anchors decoder. Format 1 was written for the anchor
    families (SiamRPN, SiamMask), whose search graph returns cls and loc (and, SiamMask,
    a coarse mask); an export without those has no decoder this code can name."""
    graphs = desc["graphs"]
    outputs = [o.get("name") for o in graphs.get("search", {}).get("outputs", [])]
    if not {"cls", "loc"} <= set(outputs):
        raise ValueError(f"{path}: format_version 1 export whose search graph returns {outputs}, not the "
                         f"anchor outputs cls, loc; re-export it with export_mindir.py")
    for key in ("score_size", "anchor"):
        if key not in desc:
            raise ValueError(f"{path}: missing key '{key}' (format_version 1)")
    anchor = desc["anchor"]
    mask = "refine" if desc.get("refine") else "coarse" if "mask" in outputs else "none"
    decoder = {"kind": "anchors", "score_size": desc["score_size"], "stride": anchor["stride"],
               "ratios": [float(r) for r in anchor["ratios"]], "scales": [float(s) for s in anchor["scales"]],
               "mask": mask}
    upgraded = {k: v for k, v in desc.items() if k not in ("score_size", "anchor", "refine")}
    upgraded.update(format_version=FORMAT_VERSION, upgraded_from=1, decoder=decoder)
    return upgraded

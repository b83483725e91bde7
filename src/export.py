"""Export a tracker as the set of graphs its tracking loop calls.

A tracker cannot be one graph: the template branch runs once per target, the
search branch every frame, and SiamMask's refine module at a position chosen
from the search outputs. So a model is exported as

* ``<name>_template``  z (1, 3, 127, 127) -> kernel0..kernelK-1
* ``<name>_search``    x (1, 3, S, S), kernel0..kernelK-1 -> cls, loc
                       [, mask, f0, f1, f2, corr_feature]   (SiamMask)
* ``<name>_refine``    p0, p1, p2, p3 -> refine_logits (1, 16129)  (SiamMask sharp)

plus ``<name>.json``: the graphs' files, inputs and outputs (names, shapes,
dtypes, in call order), the input convention (BGR 0..255 float32 NCHW crops,
crop rounding), and the whole experiment config with its tracking
hyperparameters, so an application (``ascend310_infer``) or
``eval.py --backend mindir|onnx`` needs nothing else. The JSON is written last:
an export directory with a JSON is complete.
"""
import json
import os
import shutil
import tempfile

import numpy as np

from .models.anchors import score_size
from .models.registry import get_family

FORMAT_EXT = {"MINDIR": ".mindir", "ONNX": ".onnx", "AIR": ".air"}
FORMAT_VERSION = 1

REFINE_INPUTS = ("p0", "p1", "p2", "p3")


class ExportError(ValueError):
    """An export that cannot be made here; the message says why on one line."""


def _io(names, arrays):
    return [{"name": n, "shape": list(a.shape), "dtype": str(a.dtype)} for n, a in zip(names, arrays)]


def _check_format(file_format):
    import mindspore as ms
    if file_format not in FORMAT_EXT:
        raise ExportError(f"unknown --file_format '{file_format}' (choose MINDIR, ONNX or AIR)")
    if file_format == "AIR" and ms.get_context("device_target") != "Ascend":
        raise ExportError("AIR export needs an Ascend device with the Ascend toolkit "
                          f"(device_target is {ms.get_context('device_target')}); "
                          "export MINDIR (MindSpore, Ascend 310) or ONNX (other runtimes) instead")


def _write_graph(cell, inputs, path, file_format, input_names, output_names):
    import mindspore as ms
    tensors = [ms.Tensor(a) for a in inputs]
    base = path[: -len(FORMAT_EXT[file_format])]
    if file_format == "ONNX":
        from mindspore import onnx
        onnx.export(cell, *tensors, file_name=base)
        _rename_onnx_io(path, input_names, output_names)
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


def sample_io(cfg, net):
    """Example inputs and outputs of every graph (numpy), from zero-ish crops.

    Returns {graph: (input names, inputs, output names, outputs)}.
    """
    import mindspore as ms
    from .models.siammask import refine_inputs
    from .models.split import RefineNet, SearchNet, TemplateNet

    rng = np.random.default_rng(0)
    t = cfg.track
    z = (rng.random((1, 3, t.exemplar_size, t.exemplar_size)) * 255).astype(np.float32)
    x = (rng.random((1, 3, t.instance_size, t.instance_size)) * 255).astype(np.float32)
    kernels = [k.asnumpy() for k in TemplateNet(net)(ms.Tensor(z))]
    knames = [f"kernel{i}" for i in range(len(kernels))]
    outs = [o.asnumpy() for o in SearchNet(net)(ms.Tensor(x), *(ms.Tensor(k) for k in kernels))]
    onames = get_family(cfg.model.arch).search_outputs
    graphs = {"template": (TemplateNet(net), ["z"], [z], knames, kernels),
              "search": (SearchNet(net), ["x"] + knames, [x] + kernels, list(onames), outs)}
    if getattr(net, "has_refine", False):
        c = outs[0].shape[-1] // 2
        p = list(refine_inputs(*outs[3:7], c, c))
        logits = RefineNet(net)(*(ms.Tensor(a) for a in p)).asnumpy()
        graphs["refine"] = (RefineNet(net), list(REFINE_INPUTS), p, ["refine_logits"], [logits])
    return graphs


def export_graphs(cfg, net, output_dir, file_format="MINDIR", name=None):
    """Write the graphs of ``net`` and their JSON to ``output_dir``; returns the JSON path."""
    _check_format(file_format)
    net.set_train(False)
    name = name or cfg.name
    ext = FORMAT_EXT[file_format]
    os.makedirs(output_dir, exist_ok=True)
    graphs = sample_io(cfg, net)
    family = get_family(cfg.model.arch)
    desc = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "arch": cfg.model.arch,
        "file_format": file_format,
        "refine": "refine" in graphs,
        "score_size": score_size(cfg.track.instance_size, cfg.track.exemplar_size,
                                 cfg.model.anchor.stride, cfg.track.base_size),
        # the network sees raw crops: BGR (SiamRPN / SiamMask), 0..255, float32, NCHW, mean-colour
        # padding; pysot rounds crop corners with floor(x + 0.5), SiamMask's code with round()
        "input": {"layout": "NCHW", "color": family.input_color(cfg), "range": [0, 255], "dtype": "float32",
                  "crop_rounding": family.crop_rounding},
        "graphs": {},
        "anchor": cfg.to_dict()["model"]["anchor"],
        "track": cfg.to_dict()["track"],
        "config": cfg.to_dict(),
    }
    tmp = tempfile.mkdtemp(prefix=".export-", dir=output_dir)
    try:
        for graph, (cell, in_names, inputs, out_names, outputs) in graphs.items():
            fname = f"{name}_{graph}{ext}"
            _write_graph(cell, inputs, os.path.join(tmp, fname), file_format, in_names, out_names)
            # the size lets a reader tell a truncated copy (interrupted download or copy) in one line
            desc["graphs"][graph] = {"file": fname, "bytes": os.path.getsize(os.path.join(tmp, fname)),
                                     "inputs": _io(in_names, inputs), "outputs": _io(out_names, outputs)}
        for graph in desc["graphs"].values():
            os.replace(os.path.join(tmp, graph["file"]), os.path.join(output_dir, graph["file"]))
        json_path = os.path.join(output_dir, f"{name}.json")
        with open(os.path.join(tmp, "model.json"), "w", encoding="utf-8") as f:
            json.dump(desc, f, indent=2)
        os.replace(os.path.join(tmp, "model.json"), json_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return json_path


def export_checkpoint(ckpt_path, output_dir, file_format="MINDIR", config=None, overrides=(), name=None):
    """Load a checkpoint (its embedded config, or ``config``) and export it; returns the JSON path."""
    from .training.checkpoint import load_model_checkpoint
    cfg, net = load_model_checkpoint(ckpt_path, config, overrides)
    return export_graphs(cfg, net, output_dir, file_format, name)


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
    if desc["format_version"] != FORMAT_VERSION:
        raise ValueError(f"{path}: format_version {desc['format_version']}, this code reads {FORMAT_VERSION}")
    folder = os.path.dirname(os.path.abspath(path))
    for graph, g in desc["graphs"].items():
        file = os.path.join(folder, g["file"])
        if not os.path.isfile(file):
            raise FileNotFoundError(f"{path}: {graph} graph file {g['file']} is missing")
        size = os.path.getsize(file)
        if "bytes" in g and size != g["bytes"]:     # exports written before sizes were recorded have none
            raise ValueError(f"{file}: {size} bytes, the export wrote {g['bytes']} ({path}): truncated or "
                             f"replaced; copy it again or re-export with export_mindir.py")
    return desc, folder

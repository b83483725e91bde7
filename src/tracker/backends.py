"""Network back-ends a tracker runs on.

A back-end turns crops into network outputs: ``template(z) -> kernels``
(opaque, kept by the tracker per target), ``track(x, kernels) -> tuple of
numpy arrays`` and, for SiamMask, ``refine(p0, p1, p2, p3) -> numpy logits``.
The tracker logic never touches MindSpore directly, so the same code runs on
the Cell, on exported graphs (MINDIR through MindSpore, ONNX through
onnxruntime), or on another runtime.
"""
import os

import mindspore as ms
import numpy as np

from ..models.split import RefineNet, SearchNet, TemplateNet


class MindSporeBackend:
    """Runs a network Cell (graph mode) split into its template, search (and refine) graphs."""

    def __init__(self, model):
        model.set_train(False)
        self.template_net = TemplateNet(model)
        self.search_net = SearchNet(model)
        self.refine_net = RefineNet(model) if getattr(model, "has_refine", False) else None

    def template(self, z):
        return self.template_net(ms.Tensor(z))          # kernels stay MindSpore tensors

    def track(self, x, kernels):
        return tuple(o.asnumpy() for o in self.search_net(ms.Tensor(x), *kernels))

    def refine(self, p0, p1, p2, p3):
        if self.refine_net is None:
            raise RuntimeError("this model has no refine module (model.refine is false)")
        return self.refine_net(*(ms.Tensor(p) for p in (p0, p1, p2, p3))).asnumpy()


class _ExportedBackend:
    """Shared checks of the exported-graph back-ends (see src/export.py for the layout)."""

    def __init__(self, desc, folder):
        self.desc, self.folder = desc, folder
        self.graphs = {g: self._load_checked(os.path.join(folder, d["file"])) for g, d in desc["graphs"].items()}

    def _load_checked(self, path):
        """The runtime's loaded graph; a file it cannot read is one line naming it (read_export has
        already compared its size with the one export_mindir.py recorded, where recorded)."""
        try:
            return self._load(path)
        except Exception as e:
            # onnxruntime's InvalidProtobuf / Fail derive from Exception only; MindSpore raises RuntimeError
            if not isinstance(e, (RuntimeError, ValueError, OSError)) and \
                    not type(e).__module__.startswith("onnxruntime"):
                raise
            raise ValueError(f"{path}: not a readable {self.desc['file_format']} graph, truncated or corrupt "
                             f"({_first_line(e)}); re-export it with export_mindir.py") from None

    def _shape_check(self, graph, name, array):
        for spec in self.desc["graphs"][graph]["inputs"]:
            if spec["name"] == name and list(array.shape) != spec["shape"]:
                raise ValueError(f"exported {graph} graph takes {name} of shape {spec['shape']}, got "
                                 f"{list(array.shape)} (re-export with this track.instance_size)")

    def template(self, z):
        self._shape_check("template", "z", z)
        return self._run("template", [z])

    def track(self, x, kernels):
        self._shape_check("search", "x", x)
        return tuple(self._numpy(o) for o in self._run("search", [x, *kernels]))

    def refine(self, p0, p1, p2, p3):
        if "refine" not in self.graphs:
            raise RuntimeError(f"the export in {self.folder} has no refine graph")
        return self._numpy(self._run("refine", [p0, p1, p2, p3])[0])


class MindIRBackend(_ExportedBackend):
    """MINDIR graphs through ``mindspore.load`` + ``nn.GraphCell`` (graph mode)."""

    def _load(self, path):
        from google.protobuf.message import DecodeError
        from mindspore import nn
        from mindspore.train import mind_ir_pb2
        # parse the protobuf first: mindspore.load on a broken file logs a C++ [ERROR] line and
        # raises "Load MindIR failed." without naming the file
        with open(path, "rb") as f:
            data = f.read()
        try:
            mind_ir_pb2.ModelProto().ParseFromString(data)
        except DecodeError as e:
            raise ValueError(f"protobuf: {e}") from None
        return nn.GraphCell(ms.load(path))

    def _run(self, graph, inputs):
        out = self.graphs[graph](*(i if isinstance(i, ms.Tensor) else ms.Tensor(i) for i in inputs))
        return out if isinstance(out, (tuple, list)) else (out,)

    @staticmethod
    def _numpy(t):
        return t.asnumpy()


class ONNXBackend(_ExportedBackend):
    """ONNX graphs through onnxruntime's CPU provider."""

    def _load(self, path):
        try:
            import onnxruntime as ort
        except ImportError:
            raise RuntimeError("the onnx back-end needs onnxruntime: pip install -r requirements.txt") from None
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])

    def _run(self, graph, inputs):
        names = [i["name"] for i in self.desc["graphs"][graph]["inputs"]]
        return self.graphs[graph].run(None, {n: np.ascontiguousarray(a, dtype=np.float32)
                                             for n, a in zip(names, inputs)})

    @staticmethod
    def _numpy(a):
        return a


def _first_line(error):
    """The first line of a runtime's message (they can span many), at most 200 characters."""
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return text if len(text) <= 200 else text[:197] + "..."


EXPORTED_BACKENDS = {"mindir": (MindIRBackend, "MINDIR"), "onnx": (ONNXBackend, "ONNX")}


def load_exported(path, backend):
    """(description, back-end) for the export at ``path`` (its JSON or folder)."""
    from ..export import read_export
    cls, file_format = EXPORTED_BACKENDS[backend]
    desc, folder = read_export(path)
    if desc["file_format"] != file_format:
        raise ValueError(f"{path} holds {desc['file_format']} graphs; --backend {backend} runs {file_format}")
    return desc, cls(desc, folder)


def load_tracker_model(backend, source, config=None, overrides=()):
    """(cfg, back-end, record fields) of a model to track with: a checkpoint for
    ``backend`` "mindspore", an export_mindir.py folder (or its JSON) for "mindir" / "onnx".
    ``config`` (a YAML path) replaces the config stored in the checkpoint / export."""
    from ..config import config_from_dict, load_config
    if backend == "mindspore":
        from ..training.checkpoint import load_model_checkpoint
        cfg, net = load_model_checkpoint(source, config, overrides)
        return cfg, MindSporeBackend(net), {"checkpoint": os.path.abspath(source)}
    desc, runner = load_exported(source, backend)
    if config:
        cfg = load_config(config, overrides)
    else:
        cfg = config_from_dict(desc["config"], overrides, source=f"config inside {source}")
    from ..models.registry import get_family
    exported = get_family(desc["arch"], what=f"arch in {source}")
    if get_family(cfg.model.arch) is not exported:
        raise ValueError(f"config '{cfg.name}' is model.arch {cfg.model.arch}, the export in {source} "
                         f"is {desc['arch']}")
    return cfg, runner, {"exported_model": os.path.abspath(source), "backend": backend}

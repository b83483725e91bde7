"""Network back-ends a tracker runs on.

A back-end runs the graphs a family declares (``graphs(cfg)``, src/models/registry.py
``GraphSpec``): ``template(z) -> kernels`` (opaque, kept by the tracker per target),
``track(x, kernels) -> {output name: numpy array}`` (the search graph's outputs in their
declared order), ``refine(p0, p1, p2, p3) -> numpy logits`` for SiamMask (``refine_batch``: N targets' stacked
inputs, one call on the Cell), and
``run(graph, inputs) -> {output name: numpy array}`` for any graph, and
``track_batch(xs, kernels_list) -> {output name: (N, ...) array}``: N targets' search inputs in
one network call (src/tracker/multi.py; on exports up to the JSON's ``targets``, the batch of
their ``search_batch`` graph: ``export_mindir.py --targets N``). The tracker logic never
touches MindSpore directly, so the same code runs on the Cell, on exported graphs (MINDIR
through MindSpore, ONNX through onnxruntime), or on another runtime. Trackers read the
outputs by name, so a family can add outputs without breaking the others.
"""
import os

import mindspore as ms
import numpy as np

from ..models.registry import graph_specs


def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _check_batch(graph, spec_shape, name, array, may_exceed_one, targets=1):
    """A crop batch other than 1 (per target) is refused unless the graph declares it may exceed
    one: the anchor families' heads and decoders handle one crop per frame (SiamFC: its scales)."""
    shape = list(np.shape(array))
    if not may_exceed_one and shape[:1] != [targets]:
        per = "" if targets == 1 else f" per target, {targets} targets"
        raise ValueError(f"the {graph} graph takes {name} of shape {list(spec_shape)} (batch 1{per}), got {shape}")


def _check_targets(xs, kernels_list):
    """One line unless ``xs`` share one shape and each has a kernel tuple, all of one length."""
    n = len(xs)
    shapes = {tuple(np.shape(x)) for x in xs}
    if len(shapes) != 1:
        raise ValueError(f"track_batch needs search inputs of one shape, got {sorted(shapes)}")
    if len(kernels_list) != n or len({len(k) for k in kernels_list}) > 1:
        raise ValueError(f"track_batch needs one kernel tuple per search input, all of one length: {n} inputs, "
                         f"kernel tuples of lengths {[len(k) for k in kernels_list]}")


def _batch_layout(xs, kernels_list):
    """One search batch for N targets: crop ``s * N + t`` is target t's crop s, kernels stacked
    target after target. The networks correlate crop i with kernel ``i mod N`` (one grouped
    convolution: xcorr_depthwise / xcorr_up with one crop per target, SiamFC's xcorr_fast with
    its scales), so this is the layout in which every crop meets its own target's kernels."""
    _check_targets(xs, kernels_list)
    x = np.stack(xs, axis=1)                         # (S, N, 3, H, W): scale-major
    return len(xs), x.reshape(-1, *x.shape[2:])


def _stacked_kernels(input_names, template_outputs, kernels_list, concat):
    """The search graph's kernel inputs for N targets: each input's per-target kernels (in the
    graph's order, _search_kernels) joined along the batch axis by ``concat``."""
    per_target = [_search_kernels(input_names, template_outputs, k) for k in kernels_list]
    return [concat([k[i] for k in per_target]) for i in range(len(per_target[0]))]


def _split_targets(outputs, n):
    """(N * S, ...) outputs in the layout of _batch_layout -> (N, S, ...): entry t is what the
    search graph gives for target t alone."""
    return {name: np.swapaxes(a.reshape(-1, n, *a.shape[1:]), 0, 1) for name, a in outputs.items()}


class MindSporeBackend:
    """Runs a network Cell (graph mode) as the graphs its family declares (template, search,
    refine...). ``cfg`` is the config the network was built from (default: the one
    ``build_model`` recorded on it)."""

    def __init__(self, model, cfg=None):
        cfg = cfg if cfg is not None else getattr(model, "config", None)
        if cfg is None:
            raise ValueError("MindSporeBackend needs the model's config: build the network with "
                             "src.models.build_model or pass cfg")
        model.set_train(False)
        self.specs = graph_specs(cfg)
        self.cells = {name: spec.cell(model) for name, spec in self.specs.items()}
        self.template_outputs = self.specs["template"].outputs

    def _call(self, graph, inputs, targets=1):
        spec = self.specs[graph]
        for (name, shape), value in zip(spec.inputs, inputs):
            if shape is not None:
                _check_batch(graph, shape, name, value, spec.batch_may_exceed_one, targets)
        return _as_tuple(self.cells[graph](*(i if isinstance(i, ms.Tensor) else ms.Tensor(i) for i in inputs)))

    def run(self, graph, inputs):
        """{output name: numpy array} of graph ``graph`` on ``inputs`` (in its declared order)."""
        if graph not in self.cells:
            raise RuntimeError(f"this model has no {graph} graph (it runs {', '.join(self.cells)})")
        return dict(zip(self.specs[graph].outputs, (o.asnumpy() for o in self._call(graph, inputs))))

    def template(self, z):
        return self._call("template", [z])          # kernels stay MindSpore tensors

    def track(self, x, kernels):
        return self.run("search", [x, *_search_kernels(self.specs["search"].input_names, self.template_outputs,
                                                       kernels)])

    def track_batch(self, xs, kernels_list):
        """N targets through one search-graph call: ``xs`` their search inputs (each as
        ``track`` takes it), ``kernels_list`` their ``template`` kernels. Returns {output name:
        (N, ...) array}, entry t being ``track(xs[t], kernels_list[t])[name]`` (the same
        convolutions over a larger batch: equal up to float rounding). Each new N compiles
        the graph once more (graph mode)."""
        from mindspore import ops
        n, x = _batch_layout(xs, kernels_list)
        kernels = _stacked_kernels(self.specs["search"].input_names, self.template_outputs, kernels_list,
                                   lambda ks: ops.concat([k if isinstance(k, ms.Tensor) else ms.Tensor(k)
                                                          for k in ks], 0))
        outputs = self._call("search", [x, *kernels], targets=n)
        return _split_targets(dict(zip(self.specs["search"].outputs, (o.asnumpy() for o in outputs))), n)

    def refine(self, p0, p1, p2, p3):
        if "refine" not in self.cells:
            raise RuntimeError("this model has no refine module (model.refine is false)")
        return next(iter(self.run("refine", [p0, p1, p2, p3]).values()))

    def refine_batch(self, p0, p1, p2, p3):
        """N targets' refine inputs (stacked along the batch axis) through ONE refine call:
        (N, ...) logits, row t equal to ``refine`` of row t up to float rounding (the refine
        module treats each row on its own). Each new N compiles the graph once more."""
        return self.refine(p0, p1, p2, p3)


def _search_kernels(search_inputs, template_outputs, kernels):
    """The search graph's inputs after the crop (names ``search_inputs[1:]``), taken by name
    from the template's outputs (``kernels``, in the order ``template_outputs`` names them)."""
    by_name = dict(zip(template_outputs, kernels))
    return [by_name[n] for n in search_inputs[1:]]


class _ExportedBackend:
    """Shared checks of the exported-graph back-ends (see src/export.py for the layout).

    The graphs, their inputs and outputs are the export JSON's (read_export upgrades an
    export of format 1 to the current description)."""

    targets = 1     # targets per search call: the JSON's "targets" (exports written before it: 1)

    def __init__(self, desc, folder):
        self.desc, self.folder = desc, folder
        self.targets = desc.get("targets", 1)
        if not isinstance(self.targets, int) or isinstance(self.targets, bool) or self.targets < 1:
            raise ValueError(f"the export in {folder}: key 'targets' is {self.targets!r}, not an integer >= 1; "
                             f"re-export it with export_mindir.py")
        if self.targets > 1 and "search_batch" not in desc["graphs"]:
            raise ValueError(f"the export in {folder} has targets {self.targets} but no search_batch graph; "
                             f"re-export it with export_mindir.py --targets {self.targets}")
        self.graphs = {g: self._load_checked(os.path.join(folder, d["file"])) for g, d in desc["graphs"].items()}
        self.input_names = {g: [i["name"] for i in d["inputs"]] for g, d in desc["graphs"].items()}
        self.output_names = {g: [o["name"] for o in d["outputs"]] for g, d in desc["graphs"].items()}

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
            if spec["name"] == name and list(np.shape(array)) != spec["shape"]:
                raise ValueError(f"exported {graph} graph takes {name} of shape {spec['shape']}, got "
                                 f"{list(np.shape(array))} (the export fixes its input shapes from the track.* "
                                 f"settings it was made with: re-export with these)")

    def run(self, graph, inputs):
        """{output name: numpy array} of exported graph ``graph`` on ``inputs`` (in the JSON's order)."""
        if graph not in self.graphs:
            raise RuntimeError(f"the export in {self.folder} has no {graph} graph")
        return dict(zip(self.output_names[graph], (self._numpy(o) for o in self._run(graph, inputs))))

    def template(self, z):
        self._shape_check("template", self.input_names["template"][0], z)
        return self._run("template", [z])

    def track(self, x, kernels):
        self._shape_check("search", self.input_names["search"][0], x)
        kernels = _search_kernels(self.input_names["search"], self.output_names["template"], kernels)
        return self.run("search", [x, *kernels])

    def track_batch(self, xs, kernels_list):
        """Up to the export's ``targets`` targets through one call of its ``search_batch`` graph
        (the search graph traced on that many targets, src/export.py); an export of one target
        and a single target run ``track`` (the one-target graph: padding one target to N would
        cost N times its convolutions; measured 7.6 vs 14.8 ms a frame, SiamRPN ONNX, N = 2).
        More targets than exported are refused in one line."""
        n = len(xs)
        if n > self.targets:
            raise ValueError(f"the export in {self.folder} takes at most {self.targets} target"
                             f"{'s' if self.targets > 1 else ''} per search call (its batch size), got {n}: "
                             f"re-export with export_mindir.py --targets {n}, or track with --backend "
                             f"mindspore (the checkpoint)")
        _check_targets(xs, kernels_list)
        if n == 1:
            return {name: a[None] for name, a in self.track(xs[0], kernels_list[0]).items()}
        # the graph's shapes are fixed to self.targets targets: fewer (2 or more) are padded with
        # copies of the last one, whose outputs are dropped below (each target's outputs depend on
        # its own crop and kernels only, so the copies change nothing of the others')
        pad = self.targets - n
        xs, kernels_list = list(xs) + [xs[-1]] * pad, list(kernels_list) + [kernels_list[-1]] * pad
        _, x = _batch_layout(xs, kernels_list)
        self._shape_check("search_batch", self.input_names["search_batch"][0], x)
        kernels = _stacked_kernels(self.input_names["search_batch"], self.output_names["template"], kernels_list,
                                   lambda ks: np.concatenate([_to_numpy(k) for k in ks], 0))
        outputs = self.run("search_batch", [x, *kernels])
        return {name: a[:n] for name, a in _split_targets(outputs, self.targets).items()}

    def refine(self, p0, p1, p2, p3):
        if "refine" not in self.graphs:
            raise RuntimeError(f"the export in {self.folder} has no refine graph")
        return next(iter(self.run("refine", [p0, p1, p2, p3]).values()))

    def refine_batch(self, p0, p1, p2, p3):
        """(N, ...) logits of N targets' stacked refine inputs: the exported refine graph has
        batch 1 (export.py traces it on one position), so one call per target."""
        return np.concatenate([self.refine(*(p[t:t + 1] for p in (p0, p1, p2, p3))) for t in range(len(p0))])


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
        return _as_tuple(self.graphs[graph](*(i if isinstance(i, ms.Tensor) else ms.Tensor(i) for i in inputs)))

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
        # outputs asked by name: their order is the JSON's whatever order the file lists them in
        return self.graphs[graph].run(self.output_names[graph],
                                      {n: np.ascontiguousarray(a, dtype=np.float32)
                                       for n, a in zip(self.input_names[graph], inputs)})

    @staticmethod
    def _numpy(a):
        return a


def _to_numpy(a):
    return a.asnumpy() if isinstance(a, ms.Tensor) else np.asarray(a)


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
    check_export_fits(desc, cfg, source)
    check_export_model(desc, cfg, source)
    return cfg, runner, {"exported_model": os.path.abspath(source), "backend": backend}


def check_export_model(desc, cfg, source):
    """Before any tracking: ``cfg``'s model section is the one the graphs were exported with.
    The graphs hold every model.* value (e.g. SA-Siam's model.appearance_weight, a constant
    of the search graph), so a --model.* override or another --config would be recorded as the
    run's config without changing what the graphs compute."""
    from ..config import Config, config_from_dict, differences
    exported = Config.to_dict(config_from_dict(desc["config"], source=f"config inside {source}"))["model"]
    for key, theirs, ours in differences(exported, Config.to_dict(cfg)["model"])[:1]:
        raise ValueError(f"config '{cfg.name}' has model.{key} {ours!r}, the graphs in "
                         f"{source} were exported with {theirs!r} (exported graphs fix "
                         f"the model.* settings: export the checkpoint with them)")


def check_export_fits(desc, cfg, source):
    """Before any tracking: the export has every graph the family declares for ``cfg``, and
    their crop inputs have the shapes ``cfg`` asks for (exported graphs have fixed shapes, so
    --track.instance_size or SiamFC's --track.scale_num cannot change them)."""
    for name, spec in graph_specs(cfg).items():
        graph = desc["graphs"].get(name)
        if graph is None:
            raise ValueError(f"the export in {source} has no {name} graph, which config '{cfg.name}' runs "
                             f"(re-export the model with this config)")
        shapes = {i["name"]: i["shape"] for i in graph["inputs"]}
        for input_name, shape in spec.shaped_inputs.items():
            if shapes.get(input_name) != list(shape):
                raise ValueError(f"the exported {name} graph in {source} takes {input_name} of shape "
                                 f"{shapes.get(input_name)}, config '{cfg.name}' feeds {list(shape)} (the "
                                 f"track.* settings fix the graphs' input shapes: re-export with them)")

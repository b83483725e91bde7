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
through MindSpore, ONNX through onnxruntime or OpenVINO), or on another runtime. Trackers read the
outputs by name, so a family can add outputs without breaking the others.
"""
import contextlib
import os

import mindspore as ms
import numpy as np

from .. import ISA_VAR
from ..models.fold_bn import inference_model
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
        # BatchNorm folded into the convolutions (a copy; MS_TRACKER_FOLD_BN=0 keeps them):
        # 7% (SiamRPN) / 5% (SiamMask) of the search network's CPU time, float32 rounding apart
        model = inference_model(model)
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


# onnxruntime session config entries (SessionOptions.add_session_config_entry). Spin-waiting off:
# between two graph calls the tracker's own step (crop, decoding, SiamMask's mask warp) runs in
# Python, and intra-op threads spinning for work meanwhile take the cores it needs (2 here).
# Measured, the issue: SiamMask sharp ONNX 8.0 -> 10.7 fps; here (2-core Zen 3, other jobs
# running, load 3-4, 5 interleaved rounds of 15 frames, medians): SiamMask sharp 3.21 -> 4.22 fps
# (better in 4 of 5 rounds), SiamRPN alex-dw 6.25 -> 6.26 (11.7 -> 12.3 and 11.3 -> 13.2 in the
# two quiet rounds); never measurably worse.
ONNX_SESSION_CONFIG = {"session.intra_op.allow_spinning": "0"}
# OpenVINO CPU plugin properties beyond precision, hint and pinning: none. OpenVINO has no
# spin-wait switch (its TBB workers back off on their own); the nearest knob, TBB_PARTITIONER
# STATIC, and pinning on were measured against these defaults in the same rounds and gained
# nothing consistent (SiamRPN 4.05 / 4.84 vs 4.16 fps, SiamMask 3.57 / 4.13 vs 3.66, same load).
OPENVINO_CONFIG = {}


class ONNXBackend(_ExportedBackend):
    """ONNX graphs through onnxruntime's CPU provider.

    Threads: onnxruntime's default (one intra-op thread per physical core), with intra-op
    spin-waiting off (``session.intra_op.allow_spinning`` 0, ONNX_SESSION_CONFIG: the tracker's
    Python step between graph calls gets the cores; SiamMask ONNX 8.0 -> 10.7 fps)."""

    def __init__(self, desc, folder):
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise ValueError("--backend onnx needs onnxruntime: pip install -r requirements.txt") from None
        super().__init__(desc, folder)

    def _load(self, path):
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        for key, value in ONNX_SESSION_CONFIG.items():
            opts.add_session_config_entry(key, value)
        return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])

    def _run(self, graph, inputs):
        # outputs asked by name: their order is the JSON's whatever order the file lists them in
        return self.graphs[graph].run(self.output_names[graph],
                                      {n: np.ascontiguousarray(a, dtype=np.float32)
                                       for n, a in zip(self.input_names[graph], inputs)})

    @staticmethod
    def _numpy(a):
        return a


PRECISION_MODES = ("f32", "bf16")      # OpenVINO's inference precision (the C++ app's --precision_mode)
PRECISION_NAMES = {"f32": "float32", "bf16": "bfloat16"}     # as eval.json / manifest.json write precisions


@contextlib.contextmanager
def _isa_cap_lifted():
    """OpenVINO's CPU plugin without the ISA cap src/__init__.py sets for MindSpore's oneDNN.

    OpenVINO's own oneDNN reads ONEDNN_MAX_CPU_ISA too, once, when its CPU plugin first
    compiles, and the AVX2 cap halves its speed on AVX-512 CPUs (what the C++ app avoids by
    running without the variable, scripts/run_infer_310.sh). The variable is taken out of the
    environment while OpenVINO compiles and put back after, so MindSpore's oneDNN, which reads
    it when it first runs a kernel, still sees it. Measured here (AVX2 CPU) with SSE41 in
    place of AVX2: SiamRPN search 966 ms capped, 256 ms with the cap lifted this way (192 ms
    without the variable at all: other load). Only the value src/__init__.py sets (AVX2) is
    lifted; any other value is the user's and stays in force."""
    value = os.environ.get(ISA_VAR)
    if value != "AVX2":
        yield
        return
    del os.environ[ISA_VAR]
    try:
        yield
    finally:
        os.environ[ISA_VAR] = value


def openvino_cpu_capabilities(core=None):
    """OpenVINO's CPU OPTIMIZATION_CAPABILITIES ("BF16" where bf16 runs natively), asked with the
    ISA cap lifted (the first OpenVINO call fixes the cap for the process); ``core``: an
    ``ov.Core`` to ask (default: a new one)."""
    with _isa_cap_lifted():
        if core is None:
            import openvino as ov
            core = ov.Core()
        return list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))


def _openvino_message(error):
    """OpenVINO's message without its "Exception from src/...cpp:N:" location lines."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith("Exception from ")]
    return _first_line("\n".join(useful or lines) or type(error).__name__)


class OpenVINOBackend(_ExportedBackend):
    """ONNX graphs through OpenVINO's CPU plugin, in process (the C++ app's CPU back-end,
    ascend310_infer/src/backend_openvino.cc, from Python).

    Each graph is compiled once with one infer request, reused every call. ``precision``:
    "f32" (default) pins OpenVINO's inference precision to float32, because on CPUs with
    AVX512-BF16 / AMX the CPU plugin would otherwise choose bf16 by itself and the results
    would no longer match the other back-ends'; "bf16" is the explicit opt-in (about 2x faster
    where native, the issue's Zen 5 measurements), refused in one line on a CPU without native
    bf16 (OpenVINO's OPTIMIZATION_CAPABILITIES lacks BF16) rather than emulated slowly.
    Threads: OpenVINO's default under the LATENCY hint (one stream, one thread per physical
    core, as onnxruntime's default); thread pinning off as in the C++ app (a thread pinned to
    a core another job keeps busy cannot move); further settings OPENVINO_CONFIG."""

    def __init__(self, desc, folder, precision="f32"):
        try:
            import openvino as ov
        except ImportError:
            raise ValueError("--backend openvino needs the openvino package: pip install -r requirements.txt") \
                from None
        if precision not in PRECISION_MODES:
            raise ValueError(f"--precision_mode must be f32 or bf16, got {precision!r}")
        self.precision = precision
        with _isa_cap_lifted():
            self._core = ov.Core()
            if precision == "bf16":
                caps = openvino_cpu_capabilities(self._core)
                if "BF16" not in caps:
                    raise ValueError(f"--precision_mode bf16: this CPU has no native bf16 (OpenVINO CPU "
                                     f"capabilities: {' '.join(caps)}); use f32")
            self._config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY",
                            "ENABLE_CPU_PINNING": False, **OPENVINO_CONFIG}
            self._specs = {os.path.join(folder, d["file"]): (g, d) for g, d in desc["graphs"].items()}
            super().__init__(desc, folder)

    def _load_checked(self, path):
        """The compiled graph and its infer request; one line naming the file when OpenVINO
        cannot read or compile it, or when its inputs / outputs are not the JSON's (names and
        shapes: every graph input must be listed, an unlisted one would never be fed)."""
        graph, spec = self._specs[path]
        try:
            model = self._core.read_model(path)
        except RuntimeError as e:
            raise ValueError(f"{path}: not a readable {self.desc['file_format']} graph, truncated or corrupt "
                             f"({_openvino_message(e)}); re-export it with export_mindir.py") from None
        for kind, ports, listed in (("inputs", model.inputs, spec["inputs"]), ("outputs", model.outputs,
                                                                               spec["outputs"])):
            shapes = {}
            for port in ports:
                for name in port.get_names():
                    shapes[name] = port.get_partial_shape()
            if kind == "inputs" and len(ports) != len(listed):
                raise ValueError(f"{path}: the {graph} graph has {len(ports)} inputs "
                                 f"({', '.join(p.get_any_name() for p in ports)}), the JSON lists {len(listed)}; "
                                 f"re-export it with export_mindir.py")
            for io in listed:
                shape = shapes.get(io["name"])
                if shape is None:
                    raise ValueError(f"{path}: the {graph} graph has no {kind[:-1]} named {io['name']!r} (listed "
                                     f"in the JSON); re-export it with export_mindir.py")
                if shape.is_dynamic or [int(d) for d in shape.to_shape()] != list(io["shape"]):
                    raise ValueError(f"{path}: {kind[:-1]} {io['name']} of the {graph} graph has shape {shape}, "
                                     f"the JSON says {list(io['shape'])}; re-export it with export_mindir.py")
        try:
            compiled = self._core.compile_model(model, "CPU", self._config)
        except RuntimeError as e:
            raise ValueError(f"{path}: OpenVINO cannot compile the {graph} graph ({_openvino_message(e)})") \
                from None
        return compiled.create_infer_request()

    def _run(self, graph, inputs):
        # share_inputs: the request reads the (contiguous float32) arrays in place; the outputs are
        # copies, since the request's own buffers are overwritten by its next call (kernels are kept
        # per target across frames)
        result = self.graphs[graph].infer({n: np.ascontiguousarray(a, dtype=np.float32)
                                           for n, a in zip(self.input_names[graph], inputs)},
                                          share_inputs=True, share_outputs=False)
        return [result[n] for n in self.output_names[graph]]

    @staticmethod
    def _numpy(a):
        return a


def _to_numpy(a):
    return a.asnumpy() if isinstance(a, ms.Tensor) else np.asarray(a)


def _first_line(error):
    """The first line of a runtime's message (they can span many), at most 200 characters."""
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return text if len(text) <= 200 else text[:197] + "..."


# back-end -> (class, the export formats it runs; the first is the one to suggest)
EXPORTED_BACKENDS = {"mindir": (MindIRBackend, ("MINDIR",)), "onnx": (ONNXBackend, ("ONNX",)),
                     "openvino": (OpenVINOBackend, ("ONNX", "OPENVINO"))}


def check_precision_mode(backend, precision):
    """One line unless ``precision`` (None: the back-end's default) is one ``backend`` runs:
    f32 or bf16 on OpenVINO; the other back-ends run float32 only."""
    if precision is None:
        return
    if precision not in PRECISION_MODES:
        raise ValueError(f"--precision_mode must be f32 or bf16, got {precision!r}")
    if backend != "openvino" and precision != "f32":
        raise ValueError(f"--precision_mode {precision} needs --backend openvino (OpenVINO's CPU kernels); "
                         f"--backend {backend} runs f32")


def backend_record(backend, precision=None):
    """(eval.json / manifest back-end name, manifest precision or None) of a run: OpenVINO in bf16
    is "openvino (bf16)", as scripts/run_infer_310.sh names the C++ app in bf16
    ("ascend310_infer (cpu, bf16)"), and its precision "bfloat16" (None: the export's dtype),
    so results of the two precisions never mix in one results folder."""
    if backend == "openvino" and precision == "bf16":
        return "openvino (bf16)", PRECISION_NAMES["bf16"]
    return backend, None


def load_exported(path, backend, precision=None):
    """(description, back-end) for the export at ``path`` (its JSON or folder); ``precision``
    ("f32" or "bf16", None: f32) for ``backend`` "openvino" (check_precision_mode)."""
    from ..export import read_export
    if backend not in EXPORTED_BACKENDS:
        raise ValueError(f"unknown exported-graph back-end {backend!r} (choose {', '.join(EXPORTED_BACKENDS)})")
    check_precision_mode(backend, precision)
    cls, file_formats = EXPORTED_BACKENDS[backend]
    desc, folder = read_export(path)
    if desc["file_format"] not in file_formats:
        raise ValueError(f"{path} holds {desc['file_format']} graphs; --backend {backend} runs "
                         f"{' or '.join(file_formats)} (export_mindir.py --file_format {file_formats[0]})")
    if backend == "openvino":
        return desc, cls(desc, folder, precision or "f32")
    return desc, cls(desc, folder)


def load_tracker_model(backend, source, config=None, overrides=(), precision=None):
    """(cfg, back-end, record fields) of a model to track with: a checkpoint for
    ``backend`` "mindspore", an export_mindir.py folder (or its JSON) for "mindir" / "onnx" /
    "openvino" (ONNX graphs through OpenVINO; ``precision`` "f32", the default, or "bf16").
    ``config`` (a YAML path) replaces the config stored in the checkpoint / export. The
    record fields name the back-end as eval.json records it (backend_record) and, on
    OpenVINO, its precision."""
    from ..config import config_from_dict, load_config
    check_precision_mode(backend, precision)
    if backend == "mindspore":
        from ..training.checkpoint import load_model_checkpoint
        cfg, net = load_model_checkpoint(source, config, overrides)
        return cfg, MindSporeBackend(net), {"checkpoint": os.path.abspath(source)}
    desc, runner = load_exported(source, backend, precision)
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
    name, _ = backend_record(backend, precision)
    record = {"exported_model": os.path.abspath(source), "backend": name}
    if backend == "openvino":
        import openvino
        record.update(precision=PRECISION_NAMES[runner.precision], openvino=openvino.__version__)
    return cfg, runner, record


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

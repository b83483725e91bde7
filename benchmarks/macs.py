"""Multiply-accumulates a network runs, counted from its layers on real input shapes.

``count_macs(cell, inputs)`` runs ``cell`` once in PyNative mode and records every
convolution and matrix product it executes with the shapes it executes them on:

* ``nn.Conv2d``: output elements x (input channels / groups) x kernel area;
* ``nn.Conv2dTranspose``: input elements x (output channels / groups) x kernel area;
* ``nn.Dense``: batch x in x out;
* the functional ``mindspore.ops.conv2d`` (the depthwise / up-channel cross-correlations of
  src/models/xcorr.py, SiamFC's xcorr) and ``mindspore.ops.matmul`` (SiamMask's refine
  deconvolution, written as a matmul in src/models/head/mask.py): the same rules.

Layers are found by forward hooks (PyNative only) and the two functional calls by wrapping
them for the duration of the count, so a layer that exists but is not run (the refine
``deconv`` cell, whose weight is used through a matmul) is not counted, and one that runs
twice counts twice. BatchNorm, ReLU, pooling, resizes and gathers are not counted: they are
memory-bound and a few per cent of the FLOPs at most, and the fps bound of the benchmark
(peak GEMM FLOP/s / (2 x MACs)) is about the multiply-accumulates a GEMM unit must execute.

``count_graph_macs(cfg, model)`` counts the graphs a tracker runs (src/models/registry.py
``graph_specs``): template (once per target), search (every frame) and, for SiamMask sharp,
refine (once per frame, at the best position).
"""
import contextlib

import numpy as np


def _conv_macs(out_shape, weight_shape):
    """(N, Co, Ho, Wo) output of a convolution with (Co, Ci/groups, kh, kw) weights."""
    return int(np.prod(out_shape)) * int(np.prod(weight_shape[1:]))


@contextlib.contextmanager
def _recording(cell, records):
    """Hooks on ``cell``'s Conv2d / Conv2dTranspose / Dense layers and wrappers of the functional
    conv2d / matmul that append (name, kind, input shape, output shape, MACs) to ``records``."""
    import mindspore.ops as ops
    from mindspore import nn

    names = {id(c): n or type(c).__name__ for n, c in cell.cells_and_names()}

    def hook(layer, inputs, output):
        x, name = inputs[0], names.get(id(layer), type(layer).__name__)
        if isinstance(layer, nn.Conv2dTranspose):
            w = layer.weight.shape                                 # (in, out/groups, kh, kw)
            macs = int(np.prod(x.shape)) * int(np.prod(w[1:]))
        elif isinstance(layer, nn.Conv2d):
            macs = _conv_macs(output.shape, layer.weight.shape)
        else:                                                      # Dense: (..., in) -> (..., out)
            macs = int(np.prod(output.shape)) * int(x.shape[-1])
        records.append((name, type(layer).__name__, tuple(x.shape), tuple(output.shape), macs))

    handles = [c.register_forward_hook(hook) for _, c in cell.cells_and_names()
               if isinstance(c, (nn.Conv2d, nn.Conv2dTranspose, nn.Dense))]
    conv2d, matmul = ops.conv2d, ops.matmul

    def counted_conv2d(x, weight, *args, **kwargs):
        out = conv2d(x, weight, *args, **kwargs)
        records.append(("ops.conv2d", "conv2d", tuple(x.shape), tuple(out.shape),
                        _conv_macs(out.shape, weight.shape)))
        return out

    def counted_matmul(a, b):
        out = matmul(a, b)
        records.append(("ops.matmul", "matmul", tuple(a.shape), tuple(out.shape),
                        int(np.prod(out.shape)) * int(a.shape[-1])))
        return out

    ops.conv2d, ops.matmul = counted_conv2d, counted_matmul
    try:
        yield
    finally:
        ops.conv2d, ops.matmul = conv2d, matmul
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def _pynative():
    """PyNative mode for the count (hooks run only there), the caller's mode restored after."""
    import mindspore as ms
    mode = ms.get_context("mode")
    ms.set_context(mode=ms.PYNATIVE_MODE)
    try:
        yield
    finally:
        ms.set_context(mode=mode)


def count_macs(cell, inputs):
    """(total MACs, [(layer name, kind, input shape, output shape, MACs), ...], outputs) of one
    run of ``cell`` on ``inputs`` (numpy arrays or tensors)."""
    import mindspore as ms
    records = []
    with _pynative(), _recording(cell, records):
        outputs = cell(*(i if isinstance(i, ms.Tensor) else ms.Tensor(i) for i in inputs))
    return sum(r[-1] for r in records), records, outputs


def count_graph_macs(cfg, model, seed=0):
    """{graph name: MACs} of one call of each graph ``cfg``'s family declares, on inputs of the
    shapes the tracker feeds (the kernels of the search graph from the template graph's run,
    the refine crops from the search graph's outputs, as export does)."""
    from src.models.registry import graph_specs
    model.set_train(False)
    rng = np.random.default_rng(seed)
    values, counts = {}, {}
    for name, spec in graph_specs(cfg).items():
        made = spec.example_inputs({k: v.asnumpy() for k, v in values.items()}) if spec.example_inputs else {}
        inputs = []
        for input_name, shape in spec.inputs:
            if shape is not None:
                inputs.append(rng.uniform(0, 255, shape).astype(np.float32))
            else:
                inputs.append(made[input_name] if input_name in made else values[input_name])
        counts[name], _, outputs = count_macs(spec.cell(model), inputs)
        outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
        values.update(zip(spec.outputs, outputs))
    return counts


def per_frame_macs(counts):
    """MACs of one tracking step: every graph but the template (run once per target)."""
    return sum(v for k, v in counts.items() if k != "template")

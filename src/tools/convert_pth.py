"""Convert official PyTorch releases into MindSpore checkpoints.

    python -m src.tools.convert_pth --arch siamrpn_alex_dw --src model.pth --dst model.ckpt

Reads bare state_dicts or ``{'state_dict': ...}`` wrappers, with or without a
``module.`` prefix, in torch's zip or legacy format (``.xz``-compressed files
too). Pickles are read with ``torch.load(weights_only=True)``, torch's
restricted unpickler, so a file cannot run code. torch is imported only here,
only when a conversion runs.

Key names are rewritten in three steps: the release's own naming (DaSiamRPN's
``featureExtract``/``conv_r1``..., foolwood SiamMask's ``features.features``/
``rpn_model``...) to pysot's, pysot's to this project's (``features.N`` ->
``layerK.i``), then PyTorch's BatchNorm names to MindSpore's. Unmapped source
keys and parameters the file does not provide are reported; a shape mismatch
stops the conversion.

Archs:
  siamrpn_alex_dw   pysot siamrpn_alex_dwxcorr
  siamrpn_alex_up   DaSiamRPN SiamRPNvot/SiamRPNBIG-style up-channel, or pysot keys
  siammask_sharp    foolwood SiamMask_VOT.pth / SiamMask_DAVIS.pth, or pysot siammask_r50_l3
  siammask_base     the same without the refine module (refine keys are reported unmapped)
  siamfc            huanglianghua/siamfc-pytorch siamfc_alexnet_e50.pth (``backbone.convK.i``
                    keys, the cell names of src/models/siamfc.py); with
                    ``model.response_bias: true`` the head bias the release lacks starts at 0
  resnet50_backbone ImageNet ResNet-50 (torchvision / pysot ``resnet50.model`` keys
                    ``conv1``, ``bn1``, ``layerK.*``; or the backbone of a pysot /
                    SiamMask model file) -> a backbone-only checkpoint
                    for ``train.pretrained``. layer4 and fc are ignored. Tensors
                    whose shape does not fit are skipped and listed instead of
                    stopping the conversion: torchvision's layer2/layer3 downsample
                    convs are 1x1 where SiamMask's are 3x3, so from a torchvision
                    file those two convs stay at their initialisation (their BNs
                    load); pysot's own resnet50.model has the 3x3 convs and loads
                    completely. The output holds ``backbone.*`` parameters only
                    and no experiment config (it is not a tracker checkpoint).
"""
import argparse
import io
import lzma
import os
import re
import sys

import numpy as np

import src  # noqa: F401  (CPU convolution fix before mindspore loads)

# arch -> (default config, [(source-naming regex, pysot replacement), ...])
_DASIAMRPN_TO_PYSOT = [
    (r"^featureExtract\.", "backbone.features."),
    (r"^conv_cls1\.", "rpn_head.template_cls_conv."),
    (r"^conv_r1\.", "rpn_head.template_loc_conv."),
    (r"^conv_cls2\.", "rpn_head.search_cls_conv."),
    (r"^conv_r2\.", "rpn_head.search_loc_conv."),
    (r"^regress_adjust\.", "rpn_head.loc_adjust."),
]

# pysot AlexNetLegacy flat indices -> (stage, index inside the stage)
_ALEXNET_FEATURES = {0: "layer1.0", 1: "layer1.1", 4: "layer2.0", 5: "layer2.1",
                     8: "layer3.0", 9: "layer3.1", 11: "layer4.0", 12: "layer4.1",
                     14: "layer5.0", 15: "layer5.1"}

# foolwood/SiamMask (experiments/siammask_*, class Custom) -> pysot siammask_r50_l3.
# pysot's names pass through unchanged.
_SIAMMASK_TO_PYSOT = [
    (r"^features\.features\.", "backbone."),
    (r"^features\.downsample\.", "neck.downsample."),
    (r"^rpn_model\.", "rpn_head."),
    (r"^mask_model\.mask\.", "mask_head."),
    (r"^refine_model\.", "refine_head."),
]

# ImageNet ResNet-50 (torchvision / pysot pretrained_models/resnet50.model) -> backbone.*;
# keys already prefixed backbone. (pysot) or features.features. (SiamMask) work too.
_RESNET_TO_PYSOT = [(r"^features\.features\.", "backbone."), (r"^(conv1|bn1|layer\d+)\.", r"backbone.\1.")]

ARCHS = {
    "siamrpn_alex_dw": ("configs/siamrpn_alex_dw.yaml", []),
    "siamrpn_alex_up": ("configs/siamrpn_alex_up.yaml", _DASIAMRPN_TO_PYSOT),
    "siammask_sharp": ("configs/siammask_sharp.yaml", _SIAMMASK_TO_PYSOT),
    "siammask_base": ("configs/siammask_base.yaml", _SIAMMASK_TO_PYSOT),
    "resnet50_backbone": ("configs/siammask_base.yaml", _RESNET_TO_PYSOT),
    "siamfc": ("configs/siamfc_alexnet.yaml", []),   # siamfc-pytorch keys are the model's names
}
# parameters a release legitimately lacks, filled with the value that reproduces it:
# siamfc-pytorch has no head bias (0 = its output)
ARCH_DEFAULTS = {"siamfc": {"head.bias": 0.0}}
# archs whose output is a backbone-only checkpoint (for train.pretrained)
BACKBONE_ONLY = {"resnet50_backbone"}

_BN_RENAMES = {"weight": "gamma", "bias": "beta",
               "running_mean": "moving_mean", "running_var": "moving_variance"}
_SKIP = re.compile(r"(^|\.)num_batches_tracked$")


class ConversionError(RuntimeError):
    pass


def load_torch_state_dict(path):
    """The tensors of a .pth/.model file as {name: float32 ndarray}."""
    if not os.path.isfile(path):
        raise ConversionError(f"checkpoint not found: {path}")
    import torch  # only the converter needs torch
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith(".xz"):
        try:
            raw = lzma.decompress(raw)
        except lzma.LZMAError as e:
            raise ConversionError(f"{path}: corrupt xz data ({e})") from None
    try:
        obj = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for truncated/unsafe pickles
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConversionError(f"{path}: not a readable PyTorch checkpoint ({first})") from None
    for wrapper in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
    if not isinstance(obj, dict):
        raise ConversionError(f"{path}: expected a state_dict, found {type(obj).__name__}")
    out = {}
    for key, value in obj.items():
        if not hasattr(value, "detach"):
            continue
        if key.startswith("module."):
            key = key[len("module."):]
        out[key] = value.detach().cpu().numpy()
    return out


def _pysot_to_project(key, bn_modules):
    m = re.match(r"^backbone\.features\.(\d+)\.(.*)$", key)
    if m and int(m.group(1)) in _ALEXNET_FEATURES:
        key = f"backbone.{_ALEXNET_FEATURES[int(m.group(1))]}.{m.group(2)}"
    module, _, leaf = key.rpartition(".")
    if module in bn_modules and leaf in _BN_RENAMES:
        key = f"{module}.{_BN_RENAMES[leaf]}"
    return key


def map_state_dict(state, source_rules, target_shapes, bn_modules, mismatched=None):
    """Rename ``state`` onto ``target_shapes``' names.

    Returns (mapped {name: array}, unmapped source keys, missing target names).
    A shape mismatch raises, unless ``mismatched`` is a list: then the tensor is
    skipped and ``(source key, name, file shape, model shape)`` appended to it.
    """
    mapped, unmapped = {}, []
    for key, value in state.items():
        if _SKIP.search(key):
            continue
        for pattern, repl in source_rules:
            key = re.sub(pattern, repl, key)
        name = _pysot_to_project(key, bn_modules)
        if name not in target_shapes:
            unmapped.append(key)
            continue
        if tuple(value.shape) != tuple(target_shapes[name]):
            if mismatched is not None:
                mismatched.append((key, name, tuple(value.shape), tuple(target_shapes[name])))
                continue
            raise ConversionError(f"shape mismatch for '{key}' -> '{name}': "
                                  f"{tuple(value.shape)} in the file, {tuple(target_shapes[name])} in the model")
        mapped[name] = value.astype(np.float32)
    missing = sorted(set(target_shapes) - set(mapped))
    return mapped, unmapped, missing


def _target_model(arch, config_path):
    """(config, model, {param name: shape}, BatchNorm cell names) for ``arch``."""
    from mindspore import nn

    from ..config import load_config
    from ..models import build_model

    if arch not in ARCHS:
        raise ConversionError(f"unknown --arch '{arch}' (choose from {', '.join(sorted(ARCHS))})")
    repo_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cfg = load_config(config_path or os.path.join(repo_root, ARCHS[arch][0]))
    model = build_model(cfg)
    target = {p.name: p.shape for p in model.get_parameters()}
    bn_modules = {name for name, cell in model.cells_and_names() if isinstance(cell, nn.BatchNorm2d)}
    return cfg, model, target, bn_modules


def convert_backbone(arch, src_path, dst_path, config_path=None):
    """Backbone-only conversion (``BACKBONE_ONLY`` archs) for ``train.pretrained``.

    Returns (unmapped source keys, mismatched [(key, name, file shape, model
    shape)], missing backbone parameters). Mismatched tensors are skipped.
    """
    import mindspore as ms

    from ..training.checkpoint import save_checkpoint_atomic

    _, _, target, bn_modules = _target_model(arch, config_path)
    target = {n: s for n, s in target.items() if n.startswith("backbone.")}
    state = load_torch_state_dict(src_path)
    mismatched = []
    mapped, unmapped, missing = map_state_dict(state, ARCHS[arch][1], target, bn_modules, mismatched)
    if not mapped:
        raise ConversionError(f"{src_path}: no backbone parameters found "
                              f"(expected ResNet keys like conv1.weight, layer1.0.conv1.weight)")
    params = [{"name": n, "data": ms.Tensor(mapped[n])} for n in target if n in mapped]
    save_checkpoint_atomic(params, dst_path)
    return unmapped, mismatched, missing


def convert(arch, src_path, dst_path, config_path=None, allow_missing=False):
    """Convert ``src_path`` for ``arch``; returns (unmapped, missing) key lists.

    For backbone-only archs the shape-mismatched (skipped) source keys are
    included in ``unmapped``; see :func:`convert_backbone` for the details.
    """
    import mindspore as ms

    from ..config import to_yaml
    from ..training.checkpoint import save_checkpoint_atomic

    if arch in BACKBONE_ONLY:
        unmapped, mismatched, missing = convert_backbone(arch, src_path, dst_path, config_path)
        return unmapped + [m[0] for m in mismatched], missing
    cfg, _, target, bn_modules = _target_model(arch, config_path)
    rules = ARCHS[arch][1]
    state = load_torch_state_dict(src_path)
    mapped, unmapped, missing = map_state_dict(state, rules, target, bn_modules)
    for name, value in ARCH_DEFAULTS.get(arch, {}).items():
        if name in missing:
            mapped[name] = np.full(target[name], value, np.float32)
            missing.remove(name)
    if missing and not allow_missing:
        raise ConversionError(f"{src_path}: {len(missing)} model parameters not in the file, "
                              f"e.g. {', '.join(missing[:4])}")
    params = [{"name": n, "data": ms.Tensor(mapped[n])} for n in target if n in mapped]
    save_checkpoint_atomic(params, dst_path, append_dict={"config": to_yaml(cfg)})
    return unmapped, missing


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", required=True, choices=sorted(ARCHS))
    parser.add_argument("--src", required=True, help="PyTorch .pth/.model file (may be .xz)")
    parser.add_argument("--dst", required=True, help="output MindSpore .ckpt")
    parser.add_argument("--config", default=None, help="experiment YAML (default: the arch's own)")
    parser.add_argument("--allow_missing", action="store_true",
                        help="write the checkpoint even if some model parameters are absent")
    args = parser.parse_args(argv)
    try:
        if args.arch in BACKBONE_ONLY:
            unmapped, mismatched, missing = convert_backbone(args.arch, args.src, args.dst, args.config)
        else:
            mismatched = []
            unmapped, missing = convert(args.arch, args.src, args.dst, args.config, args.allow_missing)
    except (ConversionError, ValueError) as e:
        sys.exit(f"convert_pth: {e}")
    for key, name, file_shape, model_shape in mismatched:
        print(f"shape mismatch, skipped: {key} {file_shape} in the file, {name} {model_shape} in the model")
    report(unmapped, missing, args.dst)


def report(unmapped, missing, dst):
    """What a conversion left out, then the file written (the converters' common last lines)."""
    for key in unmapped:
        print(f"unmapped key in source (ignored): {key}")
    for key in missing:
        print(f"model parameter not in source (left at init): {key}")
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()

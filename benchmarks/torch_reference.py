"""PyTorch versions of the project's SiamRPN alex-dw and SiamMask networks, for the speed comparison.

Written from the published architecture (pysot ``ModelBuilder`` with ``AlexNetLegacy`` +
``DepthwiseRPN``; pysot ``siammask_r50_l3`` / foolwood SiamMask ``Custom``: ResNet-50 to layer3,
adjust layer, depthwise RPN, depthwise mask head and, for "sharp", the refine module), with
pysot's module names, so that the weights load through src/tools/convert_pth.py's own key
mapping run the other way: every torch key is mapped pysot -> project exactly as a converted
.pth is, and the tensor of that name is taken from the MindSpore Cell. The benchmark then checks
the two networks' outputs agree (``compare``) before timing either.

The networks are split as the trackers run them (src/models/split.py): ``template(z) ->
kernels``, ``track(x, *kernels) -> search outputs``, ``refine(p0, p1, p2, p3)``, with the
Cell's output names and order (``graph_specs``), and :class:`TorchBackend` runs them under the
project's Python trackers, so tracking with torch differs from tracking with the Cell by the
network only.

torch is an optional dependency of the benchmark only: it is imported when a network is built
(:func:`require_torch`), and its absence is one line.
"""
import numpy as np

SUPPORTED = "SiamRPN with backbone alexnet and head depthwise, SiamMask (base or sharp)"


def require_torch():
    """The torch module, or a one-line RuntimeError saying how to get it."""
    try:
        import torch
    except ImportError:
        raise RuntimeError("the PyTorch reference network needs torch: pip install torch "
                           "(CPU build; an optional benchmark dependency)") from None
    return torch


def supports(cfg):
    """Whether a torch reference network exists for ``cfg`` (else: why not, a string)."""
    m = cfg.model
    if m.arch == "siamrpn" and m.backbone == "alexnet" and m.head == "depthwise":
        return True
    if m.arch == "siammask":
        return True
    return f"no PyTorch reference for {cfg.name} (model.arch {m.arch}; written for: {SUPPORTED})"


def _modules():
    """The torch module classes (defined on first use: torch is imported lazily)."""
    torch = require_torch()
    from torch import nn
    import torch.nn.functional as F

    def xcorr_depthwise(x, kernel):
        # pysot core/xcorr.py xcorr_depthwise: the batch folded into the channels, one grouped conv
        b, c = kernel.shape[:2]
        out = F.conv2d(x.reshape(1, b * c, x.shape[2], x.shape[3]),
                       kernel.reshape(b * c, 1, kernel.shape[2], kernel.shape[3]), groups=b * c)
        return out.reshape(b, c, out.shape[2], out.shape[3])

    class AlexNetLegacy(nn.Module):
        """pysot models/backbone/alexnet.py AlexNetLegacy (``features.N`` keys)."""

        def __init__(self, width_mult=1.0):
            super().__init__()
            c = [3] + [int(ch * width_mult) for ch in (96, 256, 384, 384, 256)]
            self.features = nn.Sequential(
                nn.Conv2d(c[0], c[1], 11, 2), nn.BatchNorm2d(c[1]), nn.MaxPool2d(3, 2), nn.ReLU(inplace=True),
                nn.Conv2d(c[1], c[2], 5), nn.BatchNorm2d(c[2]), nn.MaxPool2d(3, 2), nn.ReLU(inplace=True),
                nn.Conv2d(c[2], c[3], 3), nn.BatchNorm2d(c[3]), nn.ReLU(inplace=True),
                nn.Conv2d(c[3], c[4], 3), nn.BatchNorm2d(c[4]), nn.ReLU(inplace=True),
                nn.Conv2d(c[4], c[5], 3), nn.BatchNorm2d(c[5]))
            self.out_channels = c[5]

        def forward(self, x):
            return self.features(x)

    class Bottleneck(nn.Module):
        """pysot models/backbone/resnet_atrous.py Bottleneck."""

        def __init__(self, inplanes, planes, stride=1, downsample=None, dilation=1):
            super().__init__()
            padding = 2 - stride
            if downsample is not None and dilation > 1:
                dilation = dilation // 2
                padding = dilation
            if dilation > 1:
                padding = dilation
            self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=padding, bias=False,
                                   dilation=dilation)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * 4)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            residual = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            return self.relu(self.bn3(self.conv3(out)) + residual)

    class ResNet50(nn.Module):
        """pysot resnet_atrous ResNet-50, used layers 0..3: (f0, f1, f2, f3)."""

        def __init__(self):
            super().__init__()
            self.inplanes = 64
            self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=0, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, padding=1)
            self.layer1 = self._make_layer(64, 3)
            self.layer2 = self._make_layer(128, 4, stride=2)
            self.layer3 = self._make_layer(256, 6, stride=1, dilation=2)

        def _make_layer(self, planes, blocks, stride=1, dilation=1):
            downsample = None
            if stride != 1 or self.inplanes != planes * 4:
                if stride == 1 and dilation == 1:
                    downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride, bias=False),
                                               nn.BatchNorm2d(planes * 4))
                else:
                    dd, padding = (dilation // 2, dilation // 2) if dilation > 1 else (1, 0)
                    downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 3, stride=stride,
                                                         padding=padding, dilation=dd, bias=False),
                                               nn.BatchNorm2d(planes * 4))
            layers = [Bottleneck(self.inplanes, planes, stride, downsample, dilation=dilation)]
            self.inplanes = planes * 4
            layers += [Bottleneck(self.inplanes, planes, dilation=dilation) for _ in range(1, blocks)]
            return nn.Sequential(*layers)

        def forward(self, x):
            f0 = self.relu(self.bn1(self.conv1(x)))
            f1 = self.layer1(self.maxpool(f0))
            f2 = self.layer2(f1)
            return f0, f1, f2, self.layer3(f2)

    class AdjustLayer(nn.Module):
        """pysot models/neck/neck.py AdjustLayer: 1x1 conv + BN, 7x7 centre of maps under 20."""

        def __init__(self, in_channels, out_channels, center_size=7):
            super().__init__()
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                            nn.BatchNorm2d(out_channels))
            self.center_size = center_size

        def forward(self, x):
            x = self.downsample(x)
            if x.shape[3] < 20:
                left = (x.shape[3] - self.center_size) // 2
                x = x[:, :, left:left + self.center_size, left:left + self.center_size]
            return x

    class AdjustAllLayer(nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.downsample = AdjustLayer(in_channels, out_channels)

        def forward(self, x):
            return self.downsample(x)

    class DepthwiseXCorr(nn.Module):
        """pysot models/head/rpn.py DepthwiseXCorr, split into template / search halves."""

        def __init__(self, in_channels, hidden, out_channels):
            super().__init__()
            self.conv_kernel = nn.Sequential(nn.Conv2d(in_channels, hidden, 3, bias=False),
                                             nn.BatchNorm2d(hidden), nn.ReLU(inplace=True))
            self.conv_search = nn.Sequential(nn.Conv2d(in_channels, hidden, 3, bias=False),
                                             nn.BatchNorm2d(hidden), nn.ReLU(inplace=True))
            self.head = nn.Sequential(nn.Conv2d(hidden, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                                      nn.ReLU(inplace=True), nn.Conv2d(hidden, out_channels, 1))

        def correlate(self, xf, kernel):
            return xcorr_depthwise(self.conv_search(xf), kernel)

    class DepthwiseRPN(nn.Module):
        def __init__(self, anchor_num, in_channels, hidden):
            super().__init__()
            self.cls = DepthwiseXCorr(in_channels, hidden, 2 * anchor_num)
            self.loc = DepthwiseXCorr(in_channels, hidden, 4 * anchor_num)

        def template(self, zf):
            return self.cls.conv_kernel(zf), self.loc.conv_kernel(zf)

        def track(self, xf, k_cls, k_loc):
            return self.cls.head(self.cls.correlate(xf, k_cls)), self.loc.head(self.loc.correlate(xf, k_loc))

    def _stack(c_in, c_mid, c_out):
        return nn.Sequential(nn.Conv2d(c_in, c_mid, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(c_mid, c_out, 3, padding=1), nn.ReLU())

    class Refine(nn.Module):
        """foolwood SiamMask experiments/siammask_sharp/custom.py Refine (test path at one
        position; the caller crops p0..p2 and p3 as Refine.forward(test=True) does)."""

        def __init__(self):
            super().__init__()
            self.v0, self.v1, self.v2 = _stack(64, 16, 4), _stack(256, 64, 16), _stack(512, 128, 32)
            self.h2, self.h1, self.h0 = _stack(32, 32, 32), _stack(16, 16, 16), _stack(4, 4, 4)
            self.deconv = nn.ConvTranspose2d(256, 32, 15, 15)
            self.post0 = nn.Conv2d(32, 16, 3, padding=1)
            self.post1 = nn.Conv2d(16, 4, 3, padding=1)
            self.post2 = nn.Conv2d(4, 1, 3, padding=1)

        def forward(self, p0, p1, p2, p3):
            out = self.deconv(p3)
            out = self.post0(F.interpolate(self.h2(out) + self.v2(p2), size=(31, 31)))
            out = self.post1(F.interpolate(self.h1(out) + self.v1(p1), size=(61, 61)))
            out = self.post2(F.interpolate(self.h0(out) + self.v0(p0), size=(127, 127)))
            return out.reshape(-1, 127 * 127)

    class SiamRPN(nn.Module):
        """pysot ModelBuilder (siamrpn_alex_dwxcorr): backbone -> DepthwiseRPN."""

        def __init__(self, cfg):
            super().__init__()
            self.backbone = AlexNetLegacy(cfg.model.width_mult)
            self.rpn_head = DepthwiseRPN(cfg.model.anchor.num, self.backbone.out_channels,
                                         cfg.model.feature_channels)

        def template(self, z):
            return self.rpn_head.template(self.backbone(z))

        def track(self, x, k_cls, k_loc):
            return self.rpn_head.track(self.backbone(x), k_cls, k_loc)

    class SiamMask(nn.Module):
        """pysot siammask_r50_l3 / foolwood Custom: ResNet-50, adjust, RPN, mask head, refine."""

        def __init__(self, cfg):
            super().__init__()
            hidden = cfg.model.feature_channels
            self.backbone = ResNet50()
            self.neck = AdjustAllLayer(1024, hidden)
            self.rpn_head = DepthwiseRPN(cfg.model.anchor.num, hidden, hidden)
            self.mask_head = DepthwiseXCorr(hidden, hidden, 63 * 63)
            if cfg.model.refine:
                self.refine_head = Refine()

        def template(self, z):
            zf = self.neck(self.backbone(z)[3])
            return (*self.rpn_head.template(zf), self.mask_head.conv_kernel(zf))

        def track(self, x, k_cls, k_loc, k_mask):
            f0, f1, f2, f3 = self.backbone(x)
            xf = self.neck(f3)
            cls, loc = self.rpn_head.track(xf, k_cls, k_loc)
            corr = self.mask_head.correlate(xf, k_mask)
            return cls, loc, self.mask_head.head(corr), f0, f1, f2, corr

        def refine(self, p0, p1, p2, p3):
            return self.refine_head(p0, p1, p2, p3)

    return torch, {"siamrpn": SiamRPN, "siammask": SiamMask}


def build_reference(cfg, params, bn_modules):
    """The torch network for ``cfg`` (eval mode) holding the Cell's weights.

    ``params``: {project parameter name: ndarray} (the Cell's ``parameters_and_names``, BN
    moving statistics included); ``bn_modules``: the Cell's BatchNorm2d cell names. Each torch
    key goes through convert_pth's pysot -> project mapping; a torch key with no parameter of
    that name and shape, or a parameter no torch key takes, is a ValueError naming it."""
    from src.tools.convert_pth import _pysot_to_project
    why = supports(cfg)
    if why is not True:
        raise ValueError(why)
    torch, classes = _modules()
    net = classes[cfg.model.arch](cfg)
    state, used = {}, set()
    for key, tensor in net.state_dict().items():
        if key.endswith("num_batches_tracked"):
            state[key] = tensor
            continue
        name = _pysot_to_project(key, bn_modules)
        if name not in params:
            raise ValueError(f"torch reference: '{key}' maps to '{name}', which the Cell does not have")
        value = np.asarray(params[name], dtype=np.float32)
        if tuple(value.shape) != tuple(tensor.shape):
            raise ValueError(f"torch reference: '{key}' is {tuple(tensor.shape)}, the Cell's '{name}' "
                             f"{tuple(value.shape)}")
        state[key] = torch.from_numpy(value.copy())
        used.add(name)
    left = sorted(set(params) - used)
    if left:
        raise ValueError(f"torch reference: {len(left)} Cell parameters no torch key takes, e.g. "
                         f"{', '.join(left[:4])}")
    net.load_state_dict(state)
    return net.eval()


def cell_weights(model):
    """({parameter name: ndarray}, BatchNorm2d cell names) of a MindSpore network: what
    :func:`build_reference` loads."""
    from mindspore import nn
    # names from the cell hierarchy, not Parameter.name: wrapping the model in a graph cell
    # (src/models/split.py; MindSporeBackend, export, the MAC count) can prefix those with "model."
    params = {}
    for cell_name, cell in model.cells_and_names():
        for attr, p in cell._params.items():
            params[f"{cell_name}.{attr}" if cell_name else attr] = p.asnumpy()
    bn = sorted(name for name, cell in model.cells_and_names() if isinstance(cell, nn.BatchNorm2d))
    return params, bn


class TorchBackend:
    """The torch network as a tracker back-end (src/tracker/backends.py's interface): numpy in,
    {output name: numpy} out, in the Cell's names; kernels stay torch tensors between calls."""

    def __init__(self, cfg, net):
        from src.models.registry import graph_specs
        self.torch = require_torch()
        self.net = net
        self.specs = graph_specs(cfg)

    def _call(self, method, inputs):
        torch = self.torch
        with torch.inference_mode():
            out = getattr(self.net, method)(*(i if isinstance(i, torch.Tensor) else
                                              torch.from_numpy(np.ascontiguousarray(i, dtype=np.float32))
                                              for i in inputs))
        return out if isinstance(out, tuple) else (out,)

    def run(self, graph, inputs):
        method = {"search": "track"}.get(graph, graph)
        return dict(zip(self.specs[graph].outputs, (o.numpy() for o in self._call(method, inputs))))

    def template(self, z):
        return self._call("template", [z])

    def track(self, x, kernels):
        by_name = dict(zip(self.specs["template"].outputs, kernels))
        return self.run("search", [x, *(by_name[n] for n in self.specs["search"].input_names[1:])])

    def refine(self, p0, p1, p2, p3):
        return self.run("refine", [p0, p1, p2, p3])["refine_logits"]

    def refine_batch(self, p0, p1, p2, p3):
        return self.refine(p0, p1, p2, p3)


def reference_inputs(cfg, seed=0):
    """Fixed template and search crops (uniform 0..255, the networks' input range) for the
    equality check."""
    from src.models.registry import graph_specs
    rng = np.random.default_rng(seed)
    specs = graph_specs(cfg)
    z = next(iter(specs["template"].shaped_inputs.values()))
    x = next(iter(specs["search"].shaped_inputs.values()))
    return rng.uniform(0, 255, z).astype(np.float32), rng.uniform(0, 255, x).astype(np.float32)


def graph_outputs(cfg, backend, z, x):
    """{"template.<name>" / "search.<name>" / "refine.<name>": ndarray} of one back-end on the
    crops ``z``, ``x``: the template kernels, every search output and, for models with a refine
    graph, the refine logits at the centre of the score map (the export's example position)."""
    from src.models.registry import graph_specs
    specs = graph_specs(cfg)
    kernels = backend.template(z)
    out = {f"template.{n}": _numpy(k) for n, k in zip(specs["template"].outputs, kernels)}
    search = backend.track(x, kernels)
    out.update({f"search.{n}": np.asarray(v) for n, v in search.items()})
    if "refine" in specs:
        p = specs["refine"].example_inputs(search)
        out["refine.refine_logits"] = np.asarray(backend.refine(*(p[n] for n in specs["refine"].input_names)))
    return out


def _numpy(a):
    if hasattr(a, "asnumpy"):
        return a.asnumpy()
    if hasattr(a, "detach"):
        return a.detach().numpy()
    return np.asarray(a)


def compare(ours, theirs):
    """(worst relative difference, its output name, [(name, max |diff|, max |ours|), ...]): each
    output's max |diff| relative to the largest magnitude of the Cell's output (random weights
    make the scales of the outputs arbitrary, so a per-output scale, not a per-element one)."""
    rows, worst, worst_name = [], 0.0, None
    for name in ours:
        if name not in theirs or np.shape(ours[name]) != np.shape(theirs[name]):
            return float("inf"), name, rows
        a, b = np.asarray(ours[name], np.float64), np.asarray(theirs[name], np.float64)
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            return float("inf"), name, rows
        diff, scale = float(np.max(np.abs(a - b))), float(np.max(np.abs(a)))
        rel = diff / scale if scale > 0 else diff
        rows.append((name, diff, scale))
        if rel > worst:
            worst, worst_name = rel, name
    return worst, worst_name, rows

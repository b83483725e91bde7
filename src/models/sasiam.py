"""SA-Siam networks (He et al., CVPR 2018), as microsoft/SA-Siam ``embeddings/sa_siam.py``.

Facts and sources: ../shared/reference/siamfc_sasiam.md section 10 (shapes at every step).
Two Siamese branches, trained separately, combined only at tracking time:

* **appearance** (``net.appearance``): SiamFC-TensorFlow's conv-AlexNet with BN, i.e.
  siamfc.py's ``AlexNetV1`` without the conv1-4 biases (slim drops a conv's bias when BN
  follows; conv5 keeps its bias, no BN, no ReLU), head ``1e-3 * xcorr + b_a``. The exemplar
  kernel is the centre ``exemplar_feature_size`` (6) square of conv5, whatever the exemplar
  crop (127: all of it; 239: [7:13]; 255: [8:14], the cells over the central 127 pixels).
* **semantic** (``net.semantic``): the CaffeNet-order AlexNet of the reference (RGB - mean,
  then BGR; conv1 stride 2; LRN after both pools; grouped conv2/4/5; ReLU after conv5), to be
  frozen on ImageNet weights (``net.semantic.backbone``); conv4 x 0.1 and conv5 x 1.0, each
  fused by a 1x1 conv to ``fusion_channels`` (128); exemplar-side channel attention on a 3x3
  max-pool grid before the centre crop; head ``1e-3 * xcorr + b_s`` on the zero-padded
  concatenation [conv4 | conv5] (equal to the sum of the per-layer cross-correlations).
* tracking: ``0.3 * appearance + 0.7 * semantic`` on the raw response maps
  (``model.appearance_weight``; 1 / 0 track with one branch alone).

API (all crops RGB float32 0..255, NCHW)::

    net = SASiam(model_cfg, train_branch="appearance"); net.set_train(False)
    ka, ks = net.template(z_a, z_s)   # z_a (1,3,127,127) or the 255 crop, z_s (1,3,255,255)
    r, = net.track(x, ka, ks)         # x (B,3,255,255), B scales vs one template -> (B,1,17,17)
    ra, rs = net.branch_responses(x, ka, ks)   # the two branches' maps (bias included)
    r = net(z, x)                     # training, train_branch only: z, x (B,3,239,239) -> (B,1,15,15)

In training both branches take the same 239 exemplar crop (MS datasets/dataloader.py); at
tracking time the reference feeds the whole 255 search crop of frame 1 as the exemplar of both.

Freezing: ``BRANCH_FROZEN_MODULES`` gives the ``train.frozen_modules`` of each branch's run
(the other branch whole, so SGD's weight decay leaves it alone, plus ``semantic.backbone``).

Family record (end of this file, ``model.arch: sasiam``; configs/sasiam_appearance.yaml and
configs/sasiam_semantic.yaml): tracker src/tracker/sasiam_tracker.py (SiamFC's multi-scale
tracker, two exemplars, BL's displacement and size clips); SiamFC's targets, BalancedLoss and
peak validator on the trained branch (``construct``); graphs: template (z_a (1, 3, 127, 127),
z_s (1, 3, 255, 255)) -> kernel0, kernel1, search (x (scale_num, 3, 255, 255), kernel0,
kernel1) -> response; decoder ``response_map`` (plus ``displacement_clip``). The staircase LR
is the configs' (a flat 25-epoch "warm-up" at 0.01, then 0.001).

Around it: the converters of the reference's weights (src/tools/convert_sasiam.py), the
assembly of the two branch runs into one checkpoint (src/tools/assemble_sasiam.py), the
tracker (src/tracker/sasiam_tracker.py) and the C++ app's two-input template graph.
"""
from dataclasses import dataclass, field
from typing import ClassVar, Tuple

import mindspore as ms
from mindspore import nn, ops

from ..config import NON_NEGATIVE, POSITIVE, POSITIVE_INT, SHARE, LRConfig, ModelConfig, Range
from .registry import Family, GraphSpec, register
from .siamfc import GROUPS, TOTAL_STRIDE, UPSAMPLE_METHODS, AlexNetV1, SiamFCHead, SiamFCTrackConfig, \
    SiamFCTrainConfig, _conv, channel_order_color, layer_widths, response_label_bytes, response_map_decoder, \
    response_targets, response_validator

# semantic net (MS sa_siam.py semantic_net): RGB mean subtracted before the swap to BGR
SEMANTIC_MEAN_RGB = (123.0, 117.0, 104.0)
# tf.nn.local_response_normalization(depth_radius=2, alpha=2e-5, beta=0.75, bias=1.0). TF and
# MindSpore's nn.LRN both multiply the plain sum of squares by alpha (no alpha / n as in PyTorch)
LRN_PARAMS = {"depth_radius": 2, "bias": 1.0, "alpha": 2e-5, "beta": 0.75}
ATTENTION_CELLS = 9          # 3x3 grid of max-pooled cells per channel
BRANCHES = ("appearance", "semantic")
# train.frozen_modules of each branch's training run (cell names of SASiam)
BRANCH_FROZEN_MODULES = {"appearance": ("semantic",), "semantic": ("appearance", "semantic.backbone")}
# track.upsample of the reference's tracker (SiamFC-TensorFlow's inference_wrapper)
TF_BICUBIC = "bicubic_tf_align_corners"


# -- config sections (subclasses of siamfc.py's; the family record will name them) ----------

@dataclass(frozen=True)
class SASiamModelConfig(ModelConfig):
    arch: str = "sasiam"
    backbone: str = "alexnet_v1"      # appearance net (without conv1-4 biases); width_mult: both nets
    semantic_backbone: str = "caffenet"
    response_scale: float = 0.001     # each head: response_scale * xcorr + its bias
    appearance_weight: float = 0.3    # MS inference_wrapper c_appearance; the semantic map gets 1 - it
    conv4_scale: float = 0.1          # all_combine_layers_semantic {'conv4': 0.1, 'conv5': 1.0}
    conv5_scale: float = 1.0
    fusion_channels: int = 128        # n_out 256 / 2 semantic layers, per 1x1 conv
    attention: bool = True            # en_semantic_att; False: centre crop only
    exemplar_feature_size: int = 6    # sz_conv5_z: the conv5 kernel size of the exemplar

    RANGES: ClassVar[dict] = {"backbone": Range(choices=("alexnet_v1",)),
                              "semantic_backbone": Range(choices=("caffenet",)), "response_scale": POSITIVE,
                              "appearance_weight": SHARE, "conv4_scale": NON_NEGATIVE,
                              "conv5_scale": NON_NEGATIVE, "fusion_channels": POSITIVE_INT,
                              "exemplar_feature_size": POSITIVE_INT}


@dataclass(frozen=True)
class SASiamTrainConfig(SiamFCTrainConfig):
    """One branch per run (MS experiments/train-{appearance,semantic}-network.py), with its
    loss and labels from SiamFC (rPos 16, rNeg 0, L1) and MS configuration.py's recipe."""
    branch: str = "appearance"        # the branch SASiam.construct trains (see BRANCHES)
    frozen_modules: Tuple[str, ...] = BRANCH_FROZEN_MODULES["appearance"]
    exemplar_size: int = 239          # the exemplar is 239 like the instance (MS dataloader)
    search_size: int = 239
    output_size: int = 15
    batch_size: int = 8
    epochs: int = 30
    # the reference's staircase 0.01 for epochs 1-25, 0.001 for 26-30 (MS configuration.py), in
    # lr_schedule.epoch_lrs' terms: a flat "warm-up" (start = end = 0.01) for 25 epochs, then a
    # flat log-linear part (0.001 -> 0.001)
    lr: LRConfig = field(default_factory=lambda: LRConfig(25, 0.01, 0.01, 0.001, 0.001))
    momentum: float = 0.0             # plain SGD
    weight_decay: float = 5e-4
    weight_decay_on: str = "conv_weights"   # L2 on conv kernels only (MS slim arg_scope regularizer)

    RANGES: ClassVar[dict] = {"branch": Range(choices=BRANCHES)}


@dataclass(frozen=True)
class SASiamTrackConfig(SiamFCTrackConfig):
    """SiamFC's multi-scale tracker with SiamFC-TensorFlow's settings (MS configuration.py
    track_config, inference/tracker.py); the semantic exemplar is the frame-1 search crop
    (instance_size). Differences from SiamFC's (siamfc-pytorch) defaults, per
    ../shared/reference/siamfc_sasiam.md section 8 (BL) and 11 (MS "as BL"):"""
    # the target scale relative to frame 1 is clipped to [0.2, 5]
    scale_clip: Tuple[float, ...] = (0.2, 5.0)
    # the peak's displacement from the map centre is clipped to +-int(272 / 16 / 2) = 8 cells of
    # the raw response map (BL tracker.py:116-122); 0: no clip (SiamFC's reference)
    displacement_clip: float = 8.0
    # BL's centre is x + (w - 1)/2 and its box c - (s - 1)/2 in 0-indexed pixels
    box_origin: int = 0
    # the response upsampling of TF 1's tf.image.resize_images(BICUBIC, align_corners=True)
    # (src/tracker/sasiam_tracker.py tf_resize_bicubic); "bicubic" / "bilinear": SiamFC's cv2 ones
    upsample: str = TF_BICUBIC

    RANGES: ClassVar[dict] = {"displacement_clip": NON_NEGATIVE,
                              "upsample": Range(choices=UPSAMPLE_METHODS + (TF_BICUBIC,))}


# -- semantic backbone ----------------------------------------------------------------------

def zero_pad(x, axis, before, after):
    """``x`` with ``before`` / ``after`` zero slices along ``axis`` (an NCHW axis), written as a
    concatenation: ops.pad is MindSpore's PadV3, which its ONNX exporter cannot write."""
    # tuples, not lists: a list in the graph is a make_list node, which ONNX export lacks too
    head, tail = x.shape[:axis], x.shape[axis + 1:]
    parts = (x,)
    if before:
        parts = (ops.zeros(head + (before,) + tail, x.dtype),) + parts
    if after:
        parts = parts + (ops.zeros(head + (after,) + tail, x.dtype),)
    return ops.concat(parts, axis=axis) if len(parts) > 1 else x


class LocalResponseNorm(nn.Cell):
    """``y = x / (bias + alpha * sum_{|c' - c| <= r} x_c'^2) ** beta`` over channels (NCHW),
    the TF formula and nn.LRN(depth_radius, bias, alpha, beta)'s convention. Written out
    because MindSpore 2.10's CPU LRN kernel fails ("could not execute a primitive") on 16 or
    more channels, whatever ONEDNN_MAX_CPU_ISA; the five shifted slices also export as
    plain ops (MindSpore marks LRN deprecated on Ascend)."""

    def __init__(self, depth_radius=2, bias=1.0, alpha=1.0, beta=0.5):
        super().__init__()
        self.depth_radius = depth_radius
        self.bias = bias
        self.alpha = alpha
        self.beta = beta

    def construct(self, x):
        c = x.shape[1]
        r = self.depth_radius
        sq = zero_pad(x * x, 1, r, r)                 # zero channels beyond both ends
        total = sq[:, 0:c]
        for k in range(1, 2 * r + 1):
            total = total + sq[:, k:k + c]
        return x / ops.pow(self.bias + self.alpha * total, self.beta)


class CaffeNet(nn.Cell):
    """The semantic AlexNet (MS sa_siam.py semantic_net): returns (conv4, conv5), both after
    ReLU: 255 -> 24x24x384, 22x22x256; 239 -> 22, 20. All convs VALID with bias, no BN.
    conv2/4/5 are group-2 convolutions, which compute exactly the reference's
    split / conv b1, b2 / concat (weights and biases concatenated along the output axis)."""

    def __init__(self, width_mult=1.0):
        super().__init__()
        c = layer_widths(width_mult)
        self.out_channels = (c[4], c[5])
        # xavier_uniform weights, zero biases: slim's defaults, for a stand-in pre-training
        self.conv1 = _conv(c[0], c[1], 11, 2, GROUPS[0])
        self.conv2 = _conv(c[1], c[2], 5, 1, GROUPS[1])
        self.conv3 = _conv(c[2], c[3], 3, 1, GROUPS[2])
        self.conv4 = _conv(c[3], c[4], 3, 1, GROUPS[3])
        self.conv5 = _conv(c[4], c[5], 3, 1, GROUPS[4])
        self.pool = nn.MaxPool2d(3, 2, pad_mode="valid")
        self.lrn = LocalResponseNorm(**LRN_PARAMS)
        self.relu = nn.ReLU()
        self.mean = ms.Tensor(SEMANTIC_MEAN_RGB, ms.float32).reshape(1, 3, 1, 1)

    def construct(self, x):
        # the ImageNet weights take BGR minus the mean: subtract the RGB mean, then swap
        x = ops.flip(x - self.mean, (1,))
        x = self.lrn(self.pool(self.relu(self.conv1(x))))
        x = self.lrn(self.pool(self.relu(self.conv2(x))))
        x = self.relu(self.conv3(x))
        f4 = self.relu(self.conv4(x))
        f5 = self.relu(self.conv5(f4))
        return f4, f5


# -- exemplar-side grid, attention, assembly ----------------------------------------------

def attention_grid(size, size5, exemplar_feature_size=6):
    """Cell borders ``(0, n, n + sz, size)`` of a ``size`` map whose conv5 map is ``size5``
    (MS re_weight_crop): the centre cell ``sz = size - size5 + exemplar_feature_size`` covers
    the exemplar's conv5 kernel, ``n = int((size - sz) / 2 + 0.5)``, written in integers
    (the same for size >= sz) so graph mode folds it at compile time. Also the centre crop."""
    sz = size - size5 + exemplar_feature_size
    n = (size - sz + 1) // 2
    return 0, n, n + sz, size


def grid_max(f, b):
    """(N, C, 9): the max of each channel over the 3x3 cells of borders ``b``, cell 3j + i
    for rows b[j]:b[j+1] and columns b[i]:b[i+1] (row outer, as the reference stacks them)."""
    cells = ()      # a tuple: a graph list (make_list) cannot be exported to ONNX
    for j in range(3):
        for i in range(3):
            cells = cells + (f[:, :, b[j]:b[j + 1], b[i]:b[i + 1]].max(axis=(2, 3)),)
    return ops.stack(cells, axis=2)


def centre_crop(f, b):
    return f[:, :, b[1]:b[2], b[1]:b[2]]


class ChannelAttention(nn.Cell):
    """One layer's exemplar attention (MS ``att_fc1_<L>``, ``att_fc2_<L>``): the same 9 -> 9
    (ReLU) -> 1 MLP on every channel's 9 grid maxima, ``xi = sigmoid + 0.5`` in (0.5, 1.5)
    scales the channel over the full map, then the centre crop. ``fc1.weight`` is TF's W1
    transposed ([out, in]); slim.fully_connected's xavier init and zero biases."""

    def __init__(self, exemplar_feature_size=6):
        super().__init__()
        self.exemplar_feature_size = exemplar_feature_size
        self.fc1 = nn.Dense(ATTENTION_CELLS, ATTENTION_CELLS, weight_init="XavierUniform",
                            bias_init="zeros", activation="relu")
        self.fc2 = nn.Dense(ATTENTION_CELLS, 1, weight_init="XavierUniform", bias_init="zeros")

    def weights(self, f, size5):
        """xi (N, C, 1, 1) of the full map ``f`` (N, C, S, S) with conv5 size ``size5``."""
        b = attention_grid(f.shape[2], size5, self.exemplar_feature_size)
        a = self.fc2(self.fc1(grid_max(f, b)))          # (N, C, 1)
        return (ops.sigmoid(a) + 0.5).reshape(f.shape[0], f.shape[1], 1, 1)

    def construct(self, f, size5):
        b = attention_grid(f.shape[2], size5, self.exemplar_feature_size)
        return centre_crop(f * self.weights(f, size5), b)


def pad_concat(g4, g5):
    """MS combine_sa_net: each map zero-padded to the larger size (``d // 2`` before, the
    rest after), then concatenated along channels in the order [conv4, conv5]."""
    size = max(g4.shape[2], g5.shape[2])
    d4 = size - g4.shape[2]
    d5 = size - g5.shape[2]
    if d4:
        g4 = zero_pad(zero_pad(g4, 2, d4 // 2, d4 - d4 // 2), 3, d4 // 2, d4 - d4 // 2)
    if d5:
        g5 = zero_pad(zero_pad(g5, 2, d5 // 2, d5 - d5 // 2), 3, d5 // 2, d5 - d5 // 2)
    return ops.concat((g4, g5), axis=1)


# -- the branches -------------------------------------------------------------------------

class AppearanceBranch(nn.Cell):
    """A-Net: trained from scratch, everything trainable (conv weights, BN, bias)."""

    def __init__(self, model_cfg):
        super().__init__()
        self.backbone = AlexNetV1(model_cfg.width_mult, conv_bias=False)
        self.head = SiamFCHead(model_cfg.response_scale, bias=True)
        self.exemplar_feature_size = model_cfg.exemplar_feature_size

    def exemplar(self, z):
        """The exemplar kernel: the centre square of conv5 (re_weight_crop only_crop)."""
        f = self.backbone(z)
        return centre_crop(f, attention_grid(f.shape[2], f.shape[2], self.exemplar_feature_size))

    def search(self, kernel, x):
        return self.head(kernel, self.backbone(x))

    def construct(self, z, x):
        return self.search(self.exemplar(z), x)


class SemanticBranch(nn.Cell):
    """S-Net: the frozen ``backbone`` (CaffeNet), the attention of conv4 and conv5, their
    1x1 fusion convs (shared by exemplar and search) and the head's bias train."""

    def __init__(self, model_cfg):
        super().__init__()
        self.backbone = CaffeNet(model_cfg.width_mult)
        c4, c5 = self.backbone.out_channels
        self.use_attention = model_cfg.attention
        self.exemplar_feature_size = model_cfg.exemplar_feature_size
        if self.use_attention:
            self.att_conv4 = ChannelAttention(model_cfg.exemplar_feature_size)
            self.att_conv5 = ChannelAttention(model_cfg.exemplar_feature_size)
        self.c1x1_conv4 = _conv(c4, model_cfg.fusion_channels, 1)
        self.c1x1_conv5 = _conv(c5, model_cfg.fusion_channels, 1)
        self.conv4_scale = model_cfg.conv4_scale
        self.conv5_scale = model_cfg.conv5_scale
        self.head = SiamFCHead(model_cfg.response_scale, bias=True)

    def fuse(self, f4, f5):
        """(g4, g5): the scaled features through their 1x1 convs."""
        return self.c1x1_conv4(f4 * self.conv4_scale), self.c1x1_conv5(f5 * self.conv5_scale)

    def exemplar_layers(self, z):
        """(g4, g5) of the exemplar: attention (or only the crop) on the raw full maps, then
        the scale and the 1x1 conv; 8x8 and 6x6 for a 239 or 255 exemplar."""
        f4, f5 = self.backbone(z)
        size5 = f5.shape[2]
        if self.use_attention:
            f4 = self.att_conv4(f4, size5)
            f5 = self.att_conv5(f5, size5)
        else:
            f4 = centre_crop(f4, attention_grid(f4.shape[2], size5, self.exemplar_feature_size))
            f5 = centre_crop(f5, attention_grid(size5, size5, self.exemplar_feature_size))
        return self.fuse(f4, f5)

    def search_layers(self, x):
        """(g4, g5) of the search crops, never reweighted or cropped: 24 and 22 at 255."""
        f4, f5 = self.backbone(x)
        return self.fuse(f4, f5)

    def exemplar(self, z):
        g4, g5 = self.exemplar_layers(z)
        return pad_concat(g4, g5)

    def search(self, kernel, x):
        g4, g5 = self.search_layers(x)
        return self.head(kernel, pad_concat(g4, g5))

    def construct(self, z, x):
        return self.search(self.exemplar(z), x)


class SASiam(nn.Cell):
    """Both branches; see the module docstring for the methods. ``train_branch`` is the
    branch ``construct`` computes (a compile-time constant of the graph)."""

    def __init__(self, model_cfg, train_branch="appearance"):
        super().__init__()
        if model_cfg.backbone != "alexnet_v1" or model_cfg.semantic_backbone != "caffenet":
            raise ValueError(f"model.arch 'sasiam' needs model.backbone 'alexnet_v1' and model.semantic_backbone "
                             f"'caffenet', got '{model_cfg.backbone}', '{model_cfg.semantic_backbone}'")
        if train_branch not in BRANCHES:
            raise ValueError(f"train.branch must be one of {', '.join(BRANCHES)}, got {train_branch!r}")
        self.appearance = AppearanceBranch(model_cfg)
        self.semantic = SemanticBranch(model_cfg)
        self.appearance_weight = model_cfg.appearance_weight
        self.train_appearance = train_branch == "appearance"
        self.total_stride = TOTAL_STRIDE

    def template(self, z_appearance, z_semantic):
        """(appearance kernel (1, 256, 6, 6), semantic kernel (1, 2 * 128, 8, 8))."""
        return self.appearance.exemplar(z_appearance), self.semantic.exemplar(z_semantic)

    def branch_responses(self, x, kernel_a, kernel_s):
        """(appearance, semantic) response maps of the B search crops, each with its bias."""
        return self.appearance.search(kernel_a, x), self.semantic.search(kernel_s, x)

    def fuse(self, response_a, response_s):
        w = self.appearance_weight
        return w * response_a + (1.0 - w) * response_s

    def track(self, x, kernel_a, kernel_s):
        """(response,): the fused (B, 1, 17, 17) maps, before any upsampling."""
        response_a, response_s = self.branch_responses(x, kernel_a, kernel_s)
        return (self.fuse(response_a, response_s),)

    def construct(self, z, x):
        if self.train_appearance:
            return self.appearance(z, x)
        return self.semantic(z, x)


def build(cfg):
    """The SA-Siam network for ``cfg`` (reads ``cfg.model`` and ``cfg.train.branch``)."""
    return SASiam(cfg.model, cfg.train.branch)


# -- the SA-Siam family (src/models/registry.py); factories import lazily, see there ----------
# Tracker: src/tracker/sasiam_tracker.py; targets, loss and validator: SiamFC's (siamfc_loss.py,
# src/training/validate.py), run on the branch train.branch names.

class SASiamTemplateNet(nn.Cell):
    """(z_a, z_s) -> (kernel0, kernel1): the appearance exemplar (track.exemplar_size) and the
    semantic one (the whole frame-1 search crop, track.instance_size). split.TemplateNet takes
    one crop; SA-Siam's template graph takes two."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def construct(self, z_a, z_s):
        return self.model.template(z_a, z_s)


def check_branch_frozen(train_cfg):
    """One line when ``train.frozen_modules`` lacks what ``train.branch``'s run must hold fixed
    (BRANCH_FROZEN_MODULES): the other branch (else weight decay shrinks it) and, for the
    semantic branch, the pretrained CaffeNet."""
    need = BRANCH_FROZEN_MODULES[train_cfg.branch]
    missing = [m for m in need if m not in train_cfg.frozen_modules]
    if missing:
        raise ValueError(f"config key 'train.frozen_modules' must include {list(need)} for train.branch "
                         f"'{train_cfg.branch}' (lacks {missing})")


def _tracker(cfg, backend):
    from ..tracker.sasiam_tracker import SASiamTracker
    return SASiamTracker(backend, cfg.track, total_stride=TOTAL_STRIDE)


def _loss(cfg, network):
    from .siamfc_loss import SiamFCWithLoss
    check_branch_frozen(cfg.train)
    return SiamFCWithLoss(network, cfg.train.neg_weight), ("logistic",)


def _graphs(cfg):
    """Template: the appearance exemplar z_a (1, 3, 127, 127) and the semantic exemplar z_s
    (1, 3, 255, 255), the whole centre-scale search crop of frame 1 (MS inference_wrapper);
    search: the frame's ``scale_num`` crops against both kernels -> the fused response."""
    from .split import SearchNet
    t = cfg.track
    return (GraphSpec("template", SASiamTemplateNet,
                      (("z_a", (1, 3, t.exemplar_size, t.exemplar_size)),
                       ("z_s", (1, 3, t.instance_size, t.instance_size))), ("kernel0", "kernel1")),
            GraphSpec("search", SearchNet, (("x", (t.scale_num, 3, t.instance_size, t.instance_size)),
                                            ("kernel0", None), ("kernel1", None)), ("response",),
                      batch_may_exceed_one=True))


def _decoder(cfg):
    """SiamFC's response_map decoder (the fused map is a SiamFC response), with the tracker's
    displacement clip (SiamFC-TensorFlow, which SA-Siam's tracker is)."""
    return {**response_map_decoder(cfg), "displacement_clip": cfg.track.displacement_clip}


register(Family(
    # SiamFC's targets, label map and validator: the network's construct is the trained branch's
    # (z, x) -> response, as SiamFC's
    name="sasiam", build_model=build, build_tracker=_tracker, build_loss=_loss, build_targets=response_targets,
    label_columns=("label",), label_bytes=response_label_bytes,
    build_validator=response_validator, graphs=_graphs, decoder=_decoder,
    config_sections={"model": SASiamModelConfig, "train": SASiamTrainConfig, "track": SASiamTrackConfig},
    # crops as SiamFC's tracker cuts them (siamfc_tracker.crop_and_resize, half-even corners)
    crop_rounding="round_half_even", input_color=channel_order_color,
    start_warning=lambda cfg: ("train.branch semantic without train.pretrained.semantic.backbone: the frozen "
                               "CaffeNet keeps its random initial weights"
                               if cfg.train.branch == "semantic" and "semantic.backbone" not in cfg.train.pretrained
                               else None)))

"""SiamFC network, as huanglianghua/siamfc-pytorch (``Net(AlexNetV1(), SiamFC(0.001))``).

The whole family's network lives here; ``build(cfg)`` makes it from a Config.

API for the tracker (all inputs RGB float32 0..255, NCHW, no mean subtraction)::

    net = build(cfg); net.set_train(False)      # load a converted .ckpt first
    zf, = net.template(z)                       # z (1, 3, 127, 127) -> (zf,), zf (1, C, 6, 6)
    r = net.search(zf, x)                       # x (B, 3, 255, 255) -> (B, 1, 17, 17) raw logits
    r, = net.track(x, zf)                       # the same, as the search graph's output tuple
    r = net(z, x)                               # training: z, x (B, ...) paired -> (B, 1, 15, 15) at 239

``search`` correlates every search crop of the batch with one template (the three
scales of a frame in one call) or, with B templates, each crop with its own template;
the batch size comes from the inputs, not the graph. ``template`` and ``track`` return
tuples, as every family's template / search graphs do (src/models/split.py
``TemplateNet``/``SearchNet``, src/tracker/backends.py ``MindSporeBackend``), so the
back-ends run SiamFC like the others.

Reference facts (../shared/reference/siamfc_sasiam.md sections 1 and 4):

* AlexNetV1: no padding; conv2, conv4 and conv5 have ``groups=2``; every conv has a
  bias, conv1-4 included (it comes before BN, so it only shifts BN's input, but the
  released weights carry it); BN eps 1e-6 and PyTorch momentum 0.05 (MindSpore 0.95);
  conv5 is a bare conv: no BN, no ReLU. Cells are named as the reference keys
  (``backbone.conv1.0`` conv, ``backbone.conv1.1`` BN), so the converter only renames BN leaves.
* Head: ``response_scale * xcorr`` with no bias in the reference. ``model.response_bias``
  adds the learned scalar bias (init 0) of bilylee/SiamFC-TensorFlow and the original
  MatConvNet SiamFC; with bias 0 the outputs are those of the reference.
"""
from dataclasses import dataclass
from typing import ClassVar, Tuple

import mindspore as ms
from mindspore import nn, ops

from ..config import NON_NEGATIVE, POSITIVE, POSITIVE_INT, SHARE, ModelConfig, Range, TrackConfig, TrainConfig
from .layers import conv2d as _conv2d
from .registry import Family, GraphSpec, register

# output channels of conv1..conv5 (reference AlexNetV1) and which convs are split in two groups
CHANNELS = (96, 256, 384, 384, 256)
GROUPS = (1, 2, 1, 2, 2)
BN_EPS = 1e-6          # reference _BatchNorm2d(eps=1e-6, momentum=0.05)
BN_MOMENTUM = 0.95     # MindSpore keeps momentum * old + (1 - momentum) * batch
TOTAL_STRIDE = 8
# label distances of siamfc_loss.label_map: the reference's L1 ("block"), the MatConvNet / model zoo L2
LABEL_METRICS = ("l1", "l2")
# response upsampling of the tracker (the keys of src/tracker/siamfc_tracker.py UPSAMPLERS)
UPSAMPLE_METHODS = ("bicubic", "bilinear")


# -- config sections (src/config.py; the family record names them): keys, defaults, checks -----

@dataclass(frozen=True)
class SiamFCModelConfig(ModelConfig):
    arch: str = "siamfc"
    backbone: str = "alexnet_v1"
    response_scale: float = 0.001    # head: response_scale * xcorr (siamfc-pytorch out_scale)
    response_bias: bool = False      # + a learned scalar bias (SiamFC-TensorFlow, MatConvNet); reference: none

    RANGES: ClassVar[dict] = {"backbone": Range(choices=("alexnet_v1",)), "response_scale": POSITIVE}


@dataclass(frozen=True)
class SiamFCTrainConfig(TrainConfig):
    """Targets and loss (siamfc_loss.py); defaults are the reference's (siamfc-pytorch)."""
    # AlexNetV1's stages are conv1..conv5 and the reference trains them all from the start
    frozen_layers: Tuple[str, ...] = ()
    unfreeze_layers: Tuple[str, ...] = ()
    unfreeze_epoch: int = 0
    r_pos: float = 16.0             # label radius (search-crop pixels): 1 within it
    r_neg: float = 0.0              # 0.5 (ignored) band up to it; 0: none
    label_metric: str = "l1"        # l1 | l2 (see LABEL_METRICS)
    neg_weight: float = 1.0         # BalancedLoss weight of the negatives against the positives

    RANGES: ClassVar[dict] = {"r_pos": NON_NEGATIVE, "r_neg": NON_NEGATIVE,
                              "label_metric": Range(choices=LABEL_METRICS), "neg_weight": NON_NEGATIVE}


@dataclass(frozen=True)
class SiamFCTrackConfig(TrackConfig):
    """Tracking hyperparameters (src/tracker/siamfc_tracker.py); defaults are the reference's
    (``TrackerSiamFC.parse_args``), which are also SiamFC-3s of the original MatConvNet release."""
    instance_size: int = 255
    window_influence: float = 0.176
    scale_num: int = 3              # search scales per frame, one batch
    scale_step: float = 1.0375      # scale factors scale_step ** (k - scale_num // 2)
    scale_lr: float = 0.59          # size update rate
    scale_penalty: float = 0.9745   # multiplies the responses of the scales other than 1
    response_up: int = 16           # upsampling factor of the response map
    upsample: str = "bicubic"       # bicubic as the reference; bilinear as the model zoo's SiamFC
    # () follows the reference (no bound on the size); (0.2, 5.0) bounds the target size relative
    # to the first frame as SiamFC-TensorFlow (target scale) and the original release (s_x) do
    scale_clip: Tuple[float, ...] = ()
    # the reference's weights take RGB (it converts cv2.imread's BGR); a network trained on BGR
    # crops (pysot-style data) takes "bgr"
    channel_order: str = "rgb"
    # index of the first pixel in the boxes init takes and track returns: 1 as the reference
    # (got10k's toolkit), 0 as pysot's tools and eval.py
    box_origin: int = 1

    RANGES: ClassVar[dict] = {
        "scale_num": POSITIVE_INT, "scale_step": Range(low=1), "scale_lr": SHARE, "scale_penalty": SHARE,
        "response_up": POSITIVE_INT, "upsample": Range(choices=UPSAMPLE_METHODS),
        "scale_clip": Range(low=0, open_low=True, lengths=(0, 2), ascending=True),
        "channel_order": Range(choices=("rgb", "bgr")), "box_origin": Range(low=0, high=1)}


def layer_widths(width_mult=1.0):
    """Channels of the input and of conv1..conv5 at ``width_mult`` (even, so that the
    two groups of conv2/4/5 split them evenly); also SA-Siam's semantic AlexNet's."""
    return [3] + [max(2, int(ch * width_mult) // 2 * 2) for ch in CHANNELS]


def _conv(in_ch, out_ch, k, stride=1, group=1, bias=True):
    conv = _conv2d(in_ch, out_ch, k, stride=stride, group=group, bias=bias)
    # the reference init (ops.init_weights): xavier_uniform weights, zero bias
    conv.weight.set_data(ms.common.initializer.initializer("XavierUniform", conv.weight.shape, ms.float32))
    return conv


def _bn(ch):
    return nn.BatchNorm2d(ch, eps=BN_EPS, momentum=BN_MOMENTUM)


class AlexNetV1(nn.Cell):
    """127 -> (C, 6, 6), 255 -> 22x22, 239 -> 20x20; stride 8. ``width_mult`` narrows every
    layer (quick-start models); widths stay even so the two groups split them evenly.
    ``conv_bias=False`` drops the biases of conv1-4, which BN follows (SiamFC-TensorFlow's
    and SA-Siam's appearance net, src/models/sasiam.py); conv5 always has one."""

    def __init__(self, width_mult=1.0, conv_bias=True):
        super().__init__()
        c = layer_widths(width_mult)
        self.out_channels = c[5]
        g = GROUPS
        b = conv_bias
        self.conv1 = nn.SequentialCell([_conv(c[0], c[1], 11, 2, g[0], b), _bn(c[1]), nn.ReLU(),
                                        nn.MaxPool2d(3, 2, pad_mode="valid")])
        self.conv2 = nn.SequentialCell([_conv(c[1], c[2], 5, 1, g[1], b), _bn(c[2]), nn.ReLU(),
                                        nn.MaxPool2d(3, 2, pad_mode="valid")])
        self.conv3 = nn.SequentialCell([_conv(c[2], c[3], 3, 1, g[2], b), _bn(c[3]), nn.ReLU()])
        self.conv4 = nn.SequentialCell([_conv(c[3], c[4], 3, 1, g[3], b), _bn(c[4]), nn.ReLU()])
        self.conv5 = nn.SequentialCell([_conv(c[4], c[5], 3, 1, g[4])])

    def construct(self, x):
        return self.conv5(self.conv4(self.conv3(self.conv2(self.conv1(x)))))


def xcorr_fast(zf, xf):
    """Reference ``_fast_xcorr``: zf (Nz, C, h, w), xf (Nx, C, H, W), Nx a multiple of Nz.

    The search batch is folded into channels, ``(Nx/Nz, Nz*C, H, W)``, and one grouped
    convolution with ``groups=Nz`` correlates crop i with template ``i mod Nz``: Nz = 1
    gives one kernel for the whole batch (tracking, 3 scales), Nz = Nx one kernel per
    pair (training). Output (Nx, 1, H-h+1, W-w+1). (src/models/xcorr.py does not fit:
    its kernels are per sample, with no shared-template case.)
    """
    nz, c = zf.shape[0], zf.shape[1]
    nx = xf.shape[0]
    x = xf.reshape(-1, nz * c, xf.shape[2], xf.shape[3])
    out = ops.conv2d(x, zf, groups=nz)
    return out.reshape(nx, -1, out.shape[2], out.shape[3])


class SiamFCHead(nn.Cell):
    """``response_scale * xcorr(zf, xf)`` (+ a learned scalar bias when ``bias``)."""

    def __init__(self, response_scale=0.001, bias=False):
        super().__init__()
        self.response_scale = response_scale
        self.use_bias = bias
        if bias:
            self.bias = ms.Parameter(ms.Tensor([0.0], ms.float32), name="bias")

    def construct(self, zf, xf):
        out = xcorr_fast(zf, xf) * self.response_scale
        if self.use_bias:
            out = out + self.bias
        return out


class SiamFC(nn.Cell):
    """Backbone + head; see the module docstring for the methods."""

    def __init__(self, model_cfg):
        super().__init__()
        if model_cfg.backbone != "alexnet_v1":
            raise ValueError(f"model.arch 'siamfc' needs model.backbone 'alexnet_v1', got '{model_cfg.backbone}'")
        self.backbone = AlexNetV1(width_mult=model_cfg.width_mult)
        self.head = SiamFCHead(model_cfg.response_scale, model_cfg.response_bias)
        self.total_stride = TOTAL_STRIDE

    def template(self, z):
        """(zf,): a tuple of kernels, as every family's template graph returns (src/models/split.py)."""
        return (self.backbone(z),)

    def search(self, zf, x):
        """The raw response (B, 1, 17, 17) of B search crops against one template feature zf."""
        return self.head(zf, self.backbone(x))

    def track(self, x, zf):
        """(response,): the search graph's outputs as a tuple, as SearchNet returns them."""
        return (self.search(zf, x),)

    def construct(self, z, x):
        return self.head(self.backbone(z), self.backbone(x))


def build(cfg):
    """The SiamFC network for ``cfg`` (a Config; reads ``cfg.model``)."""
    return SiamFC(cfg.model)


# -- the SiamFC family (src/models/registry.py); factories import lazily, see there ----------
# Targets and loss: siamfc_loss.py; tracker: src/tracker/siamfc_tracker.py.

def _tracker(cfg, backend):
    from ..tracker.siamfc_tracker import SiamFCTracker
    return SiamFCTracker(backend, cfg.track, total_stride=TOTAL_STRIDE)


def _loss(cfg, network):
    from .siamfc_loss import SiamFCWithLoss
    return SiamFCWithLoss(network, cfg.train.neg_weight), ("logistic",)


# the response-map family parts a family built on SiamFC reuses (sasiam.py): label map targets,
# the peak-within-r_pos validator, the colour order of track.channel_order, the decoder
def response_targets(cfg, split):
    from .siamfc_loss import SiamFCTargets
    return SiamFCTargets.from_config(cfg)


def response_label_bytes(cfg):
    """Bytes of one row's label map (output_size^2 float32)."""
    return cfg.train.output_size ** 2 * 4


def response_validator(cfg, network, loss_cell):
    from ..training.validate import siamfc_validator
    return siamfc_validator(cfg, network, loss_cell)


def channel_order_color(cfg):
    return cfg.track.channel_order.upper()


def _graphs(cfg):
    """The template on one exemplar crop; the search graph on the frame's ``track.scale_num``
    search crops as one batch against that template (xcorr_fast with one kernel)."""
    from .split import SearchNet, TemplateNet
    t = cfg.track
    return (GraphSpec("template", TemplateNet, (("z", (1, 3, t.exemplar_size, t.exemplar_size)),), ("kernel0",)),
            GraphSpec("search", SearchNet, (("x", (t.scale_num, 3, t.instance_size, t.instance_size)),
                                            ("kernel0", None)), ("response",), batch_may_exceed_one=True))


def response_map_decoder(cfg):
    """The export JSON's decoder entry: the raw (scale_num, 1, r, r) response maps, upsampled
    ``response_up`` times with ``upsample`` (src/tracker/siamfc_tracker.py locate_peak)."""
    t = cfg.track
    return {"kind": "response_map", "response_size": (t.instance_size - t.exemplar_size) // TOTAL_STRIDE + 1,
            "total_stride": TOTAL_STRIDE, "response_up": t.response_up, "upsample": t.upsample,
            "scale_num": t.scale_num}


register(Family(
    name="siamfc", build_model=build, build_tracker=_tracker, build_loss=_loss, build_targets=response_targets,
    label_columns=("label",), label_bytes=response_label_bytes,
    build_validator=response_validator, graphs=_graphs, decoder=response_map_decoder,
    config_sections={"model": SiamFCModelConfig, "train": SiamFCTrainConfig, "track": SiamFCTrackConfig},
    # the reference crops with np.round (half to even), see siamfc_tracker.crop_and_resize
    crop_rounding="round_half_even", input_color=channel_order_color))

"""SiamFC tracking step (huanglianghua/siamfc-pytorch ``TrackerSiamFC``, the golden reference).

The reference runs on NumPy 2, whose promotion rules (NEP 50) differ from
NumPy 1's: e.g. ``np.float32 * 0.5`` stays float32 there and becomes float64
here. Every dtype below is therefore spelled out, so the arithmetic is the
reference's whatever NumPy runs it; the comments say which rule each cast
reproduces. The state is float32 (``center``, ``target_sz``) as the reference
keeps it; ``z_sz`` and ``x_sz`` start float32 and become float64 after the
first update, as there.

Conventions (the reference's by default, not pysot's): the init box is
1-indexed ``[x, y, w, h]`` and its centre becomes the 0-indexed ``(y, x)``
``(y - 1 + (h - 1)/2, x - 1 + (w - 1)/2)``; returned boxes are 1-indexed again
(``c + 1 - (s - 1)/2``), so input and output share one frame of reference.
``box_origin`` 0 reads and writes 0-indexed boxes instead (pysot's tools and
this project's eval.py hand trackers ``[cx - (w-1)/2, cy - (h-1)/2, w, h]`` in
0-indexed pixels), which moves every crop by one pixel: eval.py, demo.py and the
got10k adapter set ``tracker.box_origin = 0`` (src/evaluation/runner.py ``start``),
whatever the track section says; the section's ``box_origin`` is the default for
code that drives the tracker itself.

The post-processing (upsampling, penalties, window, peak, displacement,
state update) runs without the network: ``update_from_responses`` takes the
raw ``[scales, 17, 17]`` head outputs.
"""
import math

import cv2
import numpy as np
from scipy.special import expit

from ..config import check_values
from .base import SiameseTracker, three_channels
from .crop import resized_square
from src.crop_geometry import context_size, crop_side

UPSAMPLERS = {
    # cv2.resize(u, size, interpolation=cv2.INTER_CUBIC) as the reference (keyword: the model zoo's
    # SiamFC passes INTER_CUBIC as the positional ``dst`` argument and so gets bilinear)
    "bicubic": cv2.INTER_CUBIC,
    "bilinear": cv2.INTER_LINEAR,   # the model zoo's (MindSpore research/cv/SiamFC) behaviour
}


def crop_and_resize(image, center_yx, size, out_size, pad_color):
    """Square crop of side ``round(size)`` around the 0-indexed ``center_yx``, resized to ``out_size``.

    Not pysot's ``get_subwindow`` (crop.py): that one rounds ``center - (side + 1)/2`` half up and
    truncates the padding colour. The reference's ``ops.crop_and_resize`` arithmetic: side
    ``round(size)`` (half-even), corners
    ``np.round(center - (side - 1)/2)`` (half-even, in float32 because ``center`` is float32 and
    the offset a Python float), pixels outside the frame ``pad_color`` (the reference pads the
    whole uint8 frame with ``cv2.copyMakeBorder``; crop.resized_square allocates only the crop, or
    for a large padded crop samples only what the resize reads, same bytes), then
    ``cv2.resize(INTER_LINEAR)``. Returns the (out_size, out_size, 3) uint8 patch.
    """
    # a side of 0 would make the reference's cv2.resize fail; the smallest crop is one pixel
    side = max(1, round(float(size)))
    corner = np.round(np.asarray(center_yx, np.float32) - np.float32((side - 1) / 2)).astype(np.int64)
    return resized_square(image, int(corner[1]), int(corner[0]), side, out_size, pad_color)


def hanning(size):
    """``np.hanning(size)``'s formula, ``0.5 + 0.5 cos(pi n / (size - 1))``, through the C library's
    cos (``math.cos``). NumPy's float64 cos may take a SIMD path on AVX-512 CPUs, whose last bits
    differ from the C library's: this way the window is the same on every x86 machine and the same
    as the C++ app's (``Hanning`` in ascend310_infer/src/tracker.cc, ``std::cos``)."""
    if size == 1:
        return np.ones(1)
    return np.array([0.5 + 0.5 * math.cos(math.pi * n / (size - 1)) for n in range(1 - size, size, 2)])


def hann_window(size):
    """``outer(hanning, hanning)`` normalised to sum 1 (float64, as the reference)."""
    window = np.outer(hanning(size), hanning(size))
    return window / window.sum()


def locate_peak(responses, cfg, window=None):
    """Scale and position decision of one frame from the raw head outputs.

    ``responses``: (scales, r, r) raw scores. Returns ``(scale_id, (row, col), final map,
    upsampled maps)``: the maps are upsampled x``response_up`` (float32), scales other than the
    middle one multiplied by ``scale_penalty``, the scale with the highest maximum chosen, its
    map shifted to min 0, normalised to sum 1 and blended with the Hann window (float64).
    """
    responses = np.asarray(responses, np.float32)
    up = cfg.response_up * responses.shape[-1]
    interpolation = UPSAMPLERS[cfg.upsample]
    maps = np.stack([cv2.resize(np.ascontiguousarray(u), (up, up), interpolation=interpolation)
                     for u in responses])
    mid = cfg.scale_num // 2
    penalty = np.float32(cfg.scale_penalty)   # a Python float times a float32 array: a float32 product
    maps[:mid] *= penalty
    maps[mid + 1:] *= penalty
    scale_id = int(np.argmax(np.amax(maps, axis=(1, 2))))
    r = maps[scale_id].copy()
    r -= r.min()
    r /= r.sum() + np.float32(1e-16)          # float32 throughout (NumPy 2: a weak Python float)
    if window is None:
        window = hann_window(up)
    # a Python float times the float32 map (float32), plus the float64 window: a float64 map
    final = np.float32(1 - cfg.window_influence) * r + cfg.window_influence * window
    row, col = np.unravel_index(int(np.argmax(final)), final.shape)
    return scale_id, (int(row), int(col)), final, maps


class SiamFCTracker(SiameseTracker):
    """``init(image, [x, y, w, h])``, then ``track(image) -> ([x, y, w, h], score)``; boxes are
    ``box_origin``-indexed (default: the track section's ``box_origin``, 1 as the reference).

    ``track_cfg`` is the SiamFC track section (src/models/siamfc.py SiamFCTrackConfig). Images
    are BGR uint8 HxWx3 arrays as OpenCV reads them (grayscale HxW is expanded); they
    are turned into the network's ``channel_order``. The back-end's ``track`` gets the
    ``scale_num`` search crops as one batch (scales, 3, instance_size, instance_size)
    and returns the ``response`` (scales, 1, r, r). ``score`` is the sigmoid of the
    chosen scale's upsampled response at the peak. After ``track``, ``last_scale_id``
    and ``last_peak`` (row, col in the upsampled map) hold the decision.

    Of the base (pysot) defaults it keeps the flow, the box checks and the output
    reading; the state (float32 ``center`` (y, x) and ``target_sz`` (h, w), ``z_sz``,
    ``x_sz``), the crops, the padding colour, the update (no clipping to the image;
    ``scale_clip`` optional) and the box are the reference's.
    """

    output_names = ("response",)
    box_origins = (0, 1)

    def __init__(self, backend, track_cfg, total_stride=8, box_origin=None):
        super().__init__(backend, track_cfg, track_cfg.box_origin if box_origin is None else box_origin)
        cfg = self.cfg
        # a loaded config passed these checks already; a section built by hand
        # (SiamFCTrackConfig(upsample=...)) gets the same one-line ConfigError here
        check_values(cfg, "track")
        self.total_stride = total_stride
        n = cfg.scale_num
        # Python's float power is the C library's pow, as the C++ app's std::pow (NumPy's float64
        # power may take a SIMD path whose last bits depend on the CPU)
        self.scale_factors = np.array([cfg.scale_step ** float(e) for e in np.linspace(-(n // 2), n // 2, n)])
        self._windows = {}
        self.center = self.target_sz = self.init_sz = self.z_sz = self.x_sz = None
        self.last_scale_id = self.last_peak = None

    def _window(self, size):
        if size not in self._windows:
            self._windows[size] = hann_window(size)
        return self._windows[size]

    def _network_image(self, image):
        image = three_channels(image)
        return image[:, :, ::-1] if self.cfg.channel_order == "rgb" else image

    @staticmethod
    def _channel_mean(image):
        # the first frame's mean colour pads every later crop as well; the reference hands the float
        # mean to cv2.copyMakeBorder, which writes it rounded to the uint8 frame
        return np.clip(np.round(np.mean(image, axis=(0, 1))), 0, 255).astype(np.uint8)

    @property
    def pad_color(self):
        """The uint8 padding colour (in the network's channel order) of this target's crops."""
        return self.channel_average

    def init_state(self, box):
        """Target state from the ``[x, y, w, h]`` box (no image, no network)."""
        x, y, w, h = (float(v) for v in box)
        o = self.box_origin
        state = np.array([y - o + (h - 1) / 2, x - o + (w - 1) / 2, h, w], dtype=np.float32)
        self.center, self.target_sz = state[:2], state[2:]
        self.init_sz = self.target_sz.copy()
        # in float32 as the reference computes it under NumPy 2 (float32 state, weak Python floats)
        h, w = self.target_sz
        self.z_sz = context_size(w, h, np.float32(self.cfg.context_amount))
        self.x_sz = crop_side(self.z_sz, np.float32(self.cfg.instance_size), np.float32(self.cfg.exemplar_size))
        self.last_scale_id = self.last_peak = None

    def _template_side(self):
        return self.z_sz

    def _crop(self, image, side, out_size):
        z = crop_and_resize(image, self.center, side, out_size, self.channel_average)
        return np.ascontiguousarray(z.transpose(2, 0, 1)[None], np.float32)

    def _search_input(self, image):
        """The (scales, 3, instance, instance) float32 batch of search crops around the target."""
        crops = [self._crop(image, float(self.x_sz) * float(f), self.cfg.instance_size) for f in self.scale_factors]
        return np.concatenate(crops), None

    def _locate(self, outputs, crop):
        response = np.asarray(outputs["response"])
        n = self.cfg.scale_num
        side = response.shape[-1]
        if response.ndim not in (3, 4) or response.shape[0] != n or response.size != n * side * side:
            # e.g. a back-end that ran one scale: never read one scale as three
            raise ValueError(f"the search graph returned a response of shape {list(response.shape)}; "
                             f"the tracker needs ({n}, 1, r, r) for its {n} scales")
        return self._decide(response.reshape(n, *response.shape[-2:]))

    def _decide(self, responses):
        """((scale_id, peak, side of the upsampled map) or None where no decision can be read, score) of raw (scales, r, r) maps."""
        if not np.isfinite(responses).all():
            # a diverged network: no decision can be read, the target stays where it was
            return None, 0.0
        cfg = self.cfg
        scale_id, loc, _, maps = locate_peak(responses, cfg, self._window(cfg.response_up * responses.shape[-1]))
        penalty = 1.0 if scale_id == cfg.scale_num // 2 else cfg.scale_penalty
        return (scale_id, loc, maps.shape[-1]), float(expit(float(maps[scale_id][loc]) / penalty))

    def update_from_responses(self, responses):
        """Move the target by the raw (scales, r, r) head outputs; returns ``(box, score)``."""
        decision, score = self._decide(np.asarray(responses, np.float32))
        self._update(decision, None)
        return self.last_box, score

    def _update(self, decision, image_shape):
        """The reference's state update (no clipping to the image; ``image_shape`` unused)."""
        if decision is None:
            self.last_scale_id = self.last_peak = None
            return
        cfg = self.cfg
        scale_id, loc, up = decision
        f = float(self.scale_factors[scale_id])

        # float64 displacement from the map centre (up - 1)/2, through the previous x_sz at the
        # chosen scale, in the reference's order of operations
        disp_in_response = np.array(loc, np.float64) - (up - 1) / 2
        disp_in_instance = disp_in_response * self.total_stride / cfg.response_up
        disp_in_image = disp_in_instance * float(self.x_sz) * f / cfg.instance_size
        self.center = (self.center.astype(np.float64) + disp_in_image).astype(np.float32)

        scale = (1 - cfg.scale_lr) * 1.0 + cfg.scale_lr * f
        if cfg.scale_clip:
            lo, hi = cfg.scale_clip
            current = float(self.target_sz[0]) / float(self.init_sz[0])
            if not lo <= current * scale <= hi:   # only a clipped step changes (no rounding otherwise)
                scale = min(max(current * scale, lo), hi) / current
        # NumPy 2: a float32 array times a NumPy float64 is computed in float64, stored as float32
        self.target_sz = (self.target_sz.astype(np.float64) * scale).astype(np.float32)
        self.z_sz = float(self.z_sz) * scale
        self.x_sz = float(self.x_sz) * scale
        self.last_scale_id, self.last_peak = scale_id, loc

    @property
    def box(self):
        """The current ``[x, y, w, h]`` as the reference returns it (float32 arithmetic)."""
        o, one, two = np.float32(self.box_origin), np.float32(1), np.float32(2)
        (cy, cx), (h, w) = self.center, self.target_sz
        return np.array([cx + o - (w - one) / two, cy + o - (h - one) / two, w, h], dtype=np.float32)

    def _box(self):
        return self.box

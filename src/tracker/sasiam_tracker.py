"""SA-Siam tracking step: SiamFC's multi-scale tracker on the fused response of both branches.

The network side is src/models/sasiam.py: a two-input template graph (``z_a``, the
appearance exemplar; ``z_s``, the semantic exemplar) and a search graph whose
``response`` is ``w * appearance + (1 - w) * semantic`` on the raw 17x17 maps. Everything
after the response (upsampling, scale penalty, window, peak, state update, float32 state)
is SiamFCTracker's; the differences are the SA-Siam track section's (sasiam.py
``SASiamTrackConfig``), after SiamFC-TensorFlow's tracker which the reference
(microsoft/SA-Siam ``inference/tracker.py``) is (../shared/reference/siamfc_sasiam.md
sections 8, 10.2, 11):

* the template step crops two exemplars around the first frame's target: the 127 crop of
  side ``z_sz`` (SiamFC's exemplar) for the appearance branch, and the whole centre-scale
  search crop (side ``x_sz``, ``instance_size`` 255) for the semantic branch, whose channel
  attention needs the context around the target (MS ``inference_wrapper.py:166-186``);
* ``displacement_clip``: the peak's displacement is clipped to +-8 response cells;
* ``scale_clip`` (0.2, 5): the target size stays within [0.2, 5] x the first frame's;
* ``box_origin`` 0: BL's centre ``x + (w - 1)/2`` and box ``c - (s - 1)/2``.

* ``upsample`` "bicubic_tf_align_corners": the response maps are upsampled as TF 1's
  ``tf.image.resize_images(BICUBIC, align_corners=True)`` (BL ``inference_wrapper.py``),
  :func:`tf_resize_bicubic`, instead of cv2's half-pixel bicubic.

Not reproduced: BL's padding with the current frame's mean colour (SiamFC's frame-1 mean here).
"""
import dataclasses

import numpy as np
from scipy.special import expit

from ..models.sasiam import TF_BICUBIC
from .base import check_init_box
from .siamfc_tracker import SiamFCTracker, locate_peak

# TF 1 resize_bicubic_op.cc (align_corners, no half-pixel centres): Keys' cubic with a = -0.75,
# tabulated at 1024 steps of the fractional position
TF_CUBIC_A = -0.75
TF_TABLE_SIZE = 1024


def _tf_cubic_table():
    """TF's coefficients table: [i, 0] the weight at distance i/1024, [i, 1] at 1 + i/1024
    (computed in double, stored as float)."""
    x = np.arange(TF_TABLE_SIZE + 1, dtype=np.float32).astype(np.float64) / TF_TABLE_SIZE
    x = x.astype(np.float32).astype(np.float64)             # TF: float x = i * 1.0 / kTableSize
    a = TF_CUBIC_A
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    x1 = (x.astype(np.float32) + np.float32(1)).astype(np.float64)   # TF: x += 1.0 in float
    far = ((a * x1 - 5 * a) * x1 + 8 * a) * x1 - 4 * a
    return np.stack([near, far], axis=1).astype(np.float32)


def _tf_weights(in_size, out_size):
    """(indices (out, 4), weights (out, 4) float32) of TF's legacy GetWeightsAndIndices."""
    table = _tf_cubic_table()
    scale = np.float32(in_size - 1) / np.float32(out_size - 1) if out_size > 1 else np.float32(in_size) / out_size
    pos = np.arange(out_size, dtype=np.float32) * np.float32(scale)        # float32 product
    in_loc = pos.astype(np.int64)                                          # int64 in_loc = scale * out_loc
    delta = pos - in_loc.astype(np.float32)
    offset = np.rint(delta * np.float32(TF_TABLE_SIZE)).astype(np.int64)   # lrintf: half to even
    weights = np.stack([table[offset, 1], table[offset, 0], table[TF_TABLE_SIZE - offset, 0],
                        table[TF_TABLE_SIZE - offset, 1]], axis=1)
    indices = np.clip(in_loc[:, None] + np.arange(-1, 3)[None], 0, in_size - 1)
    return indices, weights


def tf_resize_bicubic(maps, size):
    """(n, size, size) float32: each (h, w) map of ``maps`` (n, h, w) resized as TF 1's
    ``resize_bicubic(align_corners=True)``: per output row, the four source rows weighed
    (``v0 w0 + v1 w1 + v2 w2 + v3 w3`` in float32), then the same along the columns."""
    maps = np.asarray(maps, np.float32)
    yi, yw = _tf_weights(maps.shape[1], size)
    xi, xw = _tf_weights(maps.shape[2], size)
    rows = maps[:, yi[:, 0]] * yw[None, :, 0:1]
    for k in range(1, 4):
        rows = rows + maps[:, yi[:, k]] * yw[None, :, k:k + 1]
    out = rows[:, :, xi[:, 0]] * xw[None, None, :, 0]
    for k in range(1, 4):
        out = out + rows[:, :, xi[:, k]] * xw[None, None, :, k]
    return out


class SASiamTracker(SiamFCTracker):
    """``init(image, [x, y, w, h])``, then ``track(image) -> ([x, y, w, h], score)``, as
    SiamFCTracker (see there for images, boxes and the decision attributes); ``track_cfg`` is
    the SA-Siam track section. The back-end runs the family's template graph on ``(z_a, z_s)``
    and its search graph on the scales' crops with both kernels."""

    def init(self, image, box):
        # SiameseTracker.init with two exemplar crops for the two-input template graph
        image = self._network_image(image)
        check_init_box(box, image.shape, self.box_origin)
        self.init_state(box)
        self.channel_average = self._channel_mean(image)
        z_a, z_s = self.exemplars(image)
        # run() gives {output name: array} in the declared order (kernel0, kernel1), which is the
        # order the back-ends' track() takes the kernels in
        self.kernels = tuple(self.backend.run("template", [z_a, z_s]).values())

    def exemplars(self, image):
        """(z_a (1, 3, exemplar, exemplar), z_s (1, 3, instance, instance)) float32 crops of the
        (network-order) ``image`` around the current target: the appearance exemplar of side
        ``z_sz`` and the centre-scale search crop of side ``x_sz``."""
        cfg = self.cfg
        return (self._crop(image, self._template_side(), cfg.exemplar_size),
                self._crop(image, float(self.x_sz), cfg.instance_size))

    def _decide(self, responses):
        """SiamFC's decision; with the TF upsampler the maps are upsampled here first and SiamFC's
        locate_peak runs on them at factor 1 (cv2.resize to the same size is a copy)."""
        cfg = self.cfg
        if cfg.upsample != TF_BICUBIC:
            return super()._decide(responses)
        responses = np.asarray(responses, np.float32)
        if not np.isfinite(responses).all():
            return super()._decide(responses)          # its no-decision answer
        up = cfg.response_up * responses.shape[-1]
        maps = tf_resize_bicubic(responses, up)
        scale_id, loc, _, maps = locate_peak(maps, dataclasses.replace(cfg, response_up=1, upsample="bicubic"),
                                             self._window(up))
        penalty = 1.0 if scale_id == cfg.scale_num // 2 else cfg.scale_penalty
        return (scale_id, loc, up), float(expit(float(maps[scale_id][loc]) / penalty))

    def _update(self, decision, image_shape):
        """SiamFC's update, the peak's displacement first clipped to ``displacement_clip`` cells."""
        clip = self.cfg.displacement_clip
        if decision is None or not clip:
            return super()._update(decision, image_shape)
        scale_id, loc, up = decision
        centre = (up - 1) / 2
        limit = clip * self.cfg.response_up          # cells of the raw map -> upsampled pixels
        # a clipped peak is a fractional position: SiamFC's update reads the displacement from it
        clipped = tuple(float(np.clip(p - centre, -limit, limit) + centre) for p in loc)
        super()._update((scale_id, clipped, up), image_shape)
        self.last_peak = loc                          # the peak as found, for callers

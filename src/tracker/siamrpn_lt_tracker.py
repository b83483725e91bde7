"""SiamRPN's long-term mode (pysot ``SiamRPNLTTracker``, its VOT2018-LT tracker).

``track.long_term: true`` makes ``build_tracker`` build this class for model.arch siamrpn. It
is SiamRPNTracker with pysot's re-detection after a loss:

* a frame whose best anchor's foreground score is below ``track.confidence_low`` leaves the
  target where it was (centre and size), and puts the tracker in the lost state; the next
  frames crop the search region at ``track.lost_instance_size`` (831: about 6.5 exemplar
  contexts wide instead of 2.3, typically the whole frame) and weigh the cosine window
  by ``track.lost_window_influence`` (pysot's constant 0.001) instead of
  ``track.window_influence``, so the best-scoring anchor anywhere in that region wins;
* a frame scoring above ``track.confidence_high`` returns to the normal search size and
  window on the next frame; in between, the state stays as it is (hysteresis);
* the score map, anchors and window of a crop size are pysot's (``score_size = (size -
  exemplar) // stride + 1 + base_size``, anchors centred on the crop, ``np.hanning`` window),
  built once per size (``anchor_grid``);
* as in pysot, the state keeps the unclipped centre and size; only the box reported
  (``last_box``) is clipped to the image, which the normal tracker does to its state.

``longterm_state`` (the search mode, ``confidence_low`` / ``confidence_high``, from one frame
to the next) and the base's ``lost`` (``lost_threshold`` for ``lost_frames`` frames, what a
caller is told) are separate signals with separate thresholds.

One deliberate difference: pysot resets the lost state only when the tracker object is made
(its test script reuses one tracker over every video); here ``init`` (a new target) resets it.

The crop changes size, so the search graph must take any input size: only the MindSpore Cell
back-end does (graph mode compiles each new size once). Exported graphs (MINDIR, ONNX) have a
fixed input shape, and the tracker refuses them.
"""
import numpy as np

from ..crop_geometry import context_size, search_side
from .base import center_to_rect
from .siamrpn_tracker import SiamRPNTracker


def refuse_fixed_shape_backend(backend, track_cfg):
    """A one-line ValueError for a back-end whose search graph has a fixed input size."""
    from .backends import EXPORTED_BACKENDS
    for cls, _ in EXPORTED_BACKENDS.values():
        if isinstance(backend, cls):
            raise ValueError(
                f"track.long_term needs --backend mindspore (a checkpoint): the exported "
                f"{backend.desc['file_format']} search graph in {backend.folder} takes a fixed "
                f"{track_cfg.instance_size}x{track_cfg.instance_size} crop, the long-term mode also crops "
                f"{track_cfg.lost_instance_size}x{track_cfg.lost_instance_size} (track.lost_instance_size)")


class SiamRPNLTTracker(SiamRPNTracker):
    """SiamRPNTracker with pysot's long-term re-detection (see the module docstring).

    ``longterm_state``: whether the next search runs at ``lost_instance_size`` (pysot's name);
    ``search_size``: the side the next search crop is resized to."""

    long_term = True

    def __init__(self, backend, track_cfg, anchor_cfg, box_origin=0):
        refuse_fixed_shape_backend(backend, track_cfg)
        super().__init__(backend, track_cfg, anchor_cfg, box_origin)
        self._grids = {track_cfg.instance_size: (self.score_size, self.anchors, self.window)}
        self.longterm_state = False
        self._reported = None

    def init(self, image, box):
        super().init(image, box)
        self.longterm_state = False
        self._reported = None

    @property
    def search_size(self):
        cfg = self.cfg
        return cfg.lost_instance_size if self.longterm_state else cfg.instance_size

    def grid(self, instance_size):
        """``anchor_grid(instance_size)``, built once per size."""
        if instance_size not in self._grids:
            self._grids[instance_size] = self.anchor_grid(instance_size)
        return self._grids[instance_size]

    def _search_input(self, image):
        """The search crop at ``search_size`` and ``(scale_z, s_x, lost state it was cut in)``
        (pysot: ``s_x = s_z * (instance_size / exemplar_size)``, rounded)."""
        cfg = self.cfg
        s_z = context_size(self.size[0], self.size[1], cfg.context_amount)
        scale_z = cfg.exemplar_size / s_z
        size = self.search_size
        s_x = round(search_side(s_z, size, cfg.exemplar_size))
        return self._crop(image, s_x, size), (scale_z, s_x, self.longterm_state)

    def _locate(self, outputs, crop):
        scale_z, _, searching = crop
        cfg = self.cfg
        size = cfg.lost_instance_size if searching else cfg.instance_size
        _, anchors, window = self.grid(size)
        influence = cfg.lost_window_influence if searching else cfg.window_influence
        box, score = self._pick(outputs, scale_z, anchors, window, influence)
        if score < cfg.confidence_low:      # pysot: below CONFIDENCE_LOW the target does not move
            box = np.array([*self.center_pos, *self.size])
        return box, score

    def finish_track(self, outputs, crop, image):
        box, score = super().finish_track(outputs, crop, image)
        cfg = self.cfg
        if score < cfg.confidence_low:
            self.longterm_state = True
        elif score > cfg.confidence_high:
            self.longterm_state = False
        return box, score

    def _update(self, box, image_shape):
        """pysot's long-term update: the unclipped centre and size are the state, the clipped
        ones the box reported."""
        super()._update(box, image_shape)
        self._reported = center_to_rect(*self.center_pos, *self.size)
        self.center_pos, self.size = np.array(box[:2], np.float64), np.array(box[2:], np.float64)

    def _box(self):
        return super()._box() if self._reported is None else self._reported

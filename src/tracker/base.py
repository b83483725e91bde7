"""The Siamese tracker base: what every family's tracker does the same way.

``SiameseTracker`` runs one target over a network back-end (backends.py):
``init(image, box)`` checks the box, turns a grayscale frame into three
channels, sets the target state, takes the frame's channel mean (the crops'
padding colour), crops the context around the target and runs the template
graph once for that target; ``track(image)`` crops the search region, runs the
search graph, reads its outputs by NAME from the back-end's dict, lets the
family decode them into a new state (``_locate``) and stores it
(``_update``). ``last_box`` and ``region()`` report the result.

Confidence and the lost-target state: after every ``track`` (``finish_track``),
``confidence`` is the frame's score, the one ``track`` returns, and ``lost`` says
whether it stayed below ``track.lost_threshold`` for ``track.lost_frames``
consecutive frames (one frame at or above the threshold clears it). What the score
is, per family (each family's ``_locate``):

* SiamRPN, SiamMask: the foreground probability (softmax over background /
  foreground) of the chosen anchor, in [0, 1]; 0.0 when no anchor is finite;
* SiamFC, SA-Siam: the sigmoid of the chosen scale's upsampled raw response at
  the peak (the scale penalty divided out), in (0, 1); 0.0 when the response is
  not finite. The raw response is a logit trained with a logistic loss, so 0.5
  is its decision boundary, as it is for SiamRPN's probability.

Both restart when a new target starts (``kernels`` assigned, which every
family's ``init`` does): ``confidence`` None, ``lost`` False.

The default state, crops and update are pysot's (``SiameseTracker`` /
``SiamRPNTracker`` in pysot): centre ``(x + (w - 1)/2, y + (h - 1)/2)`` and
size in float64, context crop ``get_subwindow`` (crop.py) with the family's
corner rounding, the centre clipped to the image and the size to [10, image
side] after every frame. SiamRPN and SiamMask keep them and add their anchor
decoding; SiamFC (siamfc-pytorch) overrides the state, the crops and the
update with its reference's float32 arithmetic and no clipping.

A family's tracker subclass provides:

* ``output_names``: the search graph's outputs it reads (keys of the back-end's dict);
* ``_locate(outputs, crop) -> (state, score)``: the decision of one frame, ``crop``
  being what ``_search_input`` returned beside the network input;
* optionally ``_track_extras(outputs, state, crop, image)``: what it reads besides the
  box, before the state moves (SiamMask's mask), and overrides of the pysot defaults.

Box origin: boxes are ``[x, y, w, h]`` whose first pixel has index
``box_origin``. The project's Python API, eval.py (src/evaluation/runner.py),
demo.py and the got10k adapter pass pysot's 0-indexed boxes and set
``tracker.box_origin = 0``; a family lists the origins it can read and write in
``box_origins`` (SiamRPN / SiamMask: 0 only; SiamFC: 0 and 1, its reference's
default being 1) and refuses others.
"""
from collections.abc import Mapping

import numpy as np

from ..crop_geometry import context_size, search_side
from .crop import get_subwindow, round_half_up


def check_init_box(box, image_shape, box_origin=0):
    """A clear error for boxes a tracker cannot start from (``box_origin``: the index of the
    box's first pixel, so a 1-indexed box at x = iw still touches the image)."""
    x, y, w, h = [float(v) for v in box]
    if not np.all(np.isfinite([x, y, w, h])):
        raise ValueError(f"init box {list(box)} has non-finite values")
    if w <= 0 or h <= 0:
        raise ValueError(f"init box {list(box)} has zero or negative area")
    ih, iw = image_shape[:2]
    x, y = x - box_origin, y - box_origin
    if x >= iw or y >= ih or x + w <= 0 or y + h <= 0:
        raise ValueError(f"init box {list(box)} lies outside the {iw}x{ih} image")


def three_channels(image):
    """A grayscale HxW frame as HxWx3 (the channel repeated); colour frames unchanged."""
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return image


def center_to_rect(cx, cy, w, h):
    """``[x, y, w, h]`` of the box with centre (cx, cy): ``x = cx - w / 2`` (pysot's
    output box; the init box's centre is ``x + (w - 1) / 2``, so the two are not inverses)."""
    return [cx - w / 2, cy - h / 2, w, h]


class SiameseTracker:
    """``init(image, [x, y, w, h])``, then ``track(image) -> ([x, y, w, h], score)``.

    Images are BGR uint8 HxWx3 arrays as OpenCV reads them (grayscale HxW is
    expanded). ``region()`` gives what the VOT protocol scores after a ``track``
    call. Everything that depends on the target (template kernels, mean colour,
    state) lives in the tracker object, so one back-end can serve several
    trackers at once.
    """

    #: names of the search graph's outputs the family reads from the back-end's dict
    output_names = ()
    #: indices of the first pixel the family's boxes may use (see the module docstring)
    box_origins = (0,)
    #: how the default (pysot) context crop rounds its corners
    crop_rounding = staticmethod(round_half_up)

    def __init__(self, backend, track_cfg, box_origin=0):
        self.backend = backend
        self.cfg = track_cfg
        self.box_origin = box_origin
        self.kernels = self.channel_average = None
        self.center_pos = self.size = None

    # -- the current target's template, confidence and lost state -----------------------------
    @property
    def kernels(self):
        """The template graph's outputs for the current target (None before ``init``)."""
        return self._kernels

    @kernels.setter
    def kernels(self, kernels):
        # new kernels are a new target: its confidence history starts here. The reset hangs on
        # the assignment rather than on init() because not every family's init is the base's
        # (SA-Siam's crops two exemplars), while every one assigns the kernels once.
        self._kernels = kernels
        self.confidence = None      # the last frame's score (see the module docstring)
        self.lost = False           # confidence < lost_threshold for lost_frames frames in a row
        self.low_frames = 0         # consecutive frames with confidence < lost_threshold so far

    def _observe(self, score):
        """Record a frame's score as its confidence and move the lost-target state."""
        self.confidence = float(score)
        self.low_frames = self.low_frames + 1 if self.confidence < self.cfg.lost_threshold else 0
        self.lost = self.low_frames >= self.cfg.lost_frames

    # -- box origin ------------------------------------------------------------------------
    @property
    def box_origin(self):
        """Index of the first pixel in the boxes ``init`` takes and ``track`` returns."""
        return self._box_origin

    @box_origin.setter
    def box_origin(self, origin):
        if isinstance(origin, bool) or origin not in self.box_origins:
            allowed = " or ".join(str(o) for o in self.box_origins)
            raise ValueError(f"{type(self).__name__} reads and writes boxes with box_origin {allowed}, "
                             f"not {origin!r}")
        self._box_origin = int(origin)

    # -- one target --------------------------------------------------------------------------
    def init(self, image, box):
        image = self._network_image(image)
        check_init_box(box, image.shape, self.box_origin)
        self.init_state(box)
        self.channel_average = self._channel_mean(image)
        # the template graph runs once per target; its kernels serve every later frame
        self.kernels = self.backend.template(self._crop(image, self._template_side(), self.cfg.exemplar_size))

    def track(self, image):
        if self.kernels is None:
            raise RuntimeError("track() called before init()")
        image = self._network_image(image)
        x, crop = self._search_input(image)
        return self.finish_track(self.backend.track(x, self.kernels), crop, image)

    def finish_track(self, outputs, crop, image):
        """The frame's decision from the search graph's ``outputs`` (a dict by name) for the
        search input ``_search_input(image)`` gave with ``crop``; ``image`` is the network's
        frame (``_network_image``). ``track`` is ``_search_input``, the network, then this:
        a caller that runs the network itself (several targets in one batch) calls the two
        halves around its own network call. Sets ``confidence`` and ``lost``."""
        outputs = self._read_outputs(outputs)
        state, score = self._locate(outputs, crop)
        self._track_extras(outputs, state, crop, image)
        self._update(state, image.shape)
        self._observe(score)
        return self.last_box, score

    @classmethod
    def finish_track_batch(cls, trackers, outputs_list, crops, images):
        """``finish_track`` of several targets of this class whose search outputs came from one
        batched call (MultiTargetTracker): [(box, score)] in their order. A family whose
        decision runs another graph overrides it to share that call (SiamMask's refine)."""
        return [t.finish_track(o, c, i) for t, o, c, i in zip(trackers, outputs_list, crops, images)]

    @property
    def last_box(self):
        """The current target box ``[x, y, w, h]`` (Python floats, origin ``box_origin``)."""
        return [float(v) for v in self._box()]

    def region(self):
        """The region to report for VOT after ``track``: the box (SiamMask: its rotated box)."""
        return self.last_box

    # -- the search graph's outputs, by name --------------------------------------------------
    def _read_outputs(self, outputs):
        if not isinstance(outputs, Mapping):
            raise TypeError(f"the back-end's track() returned a {type(outputs).__name__}; {type(self).__name__} "
                            "reads the search graph's outputs by name from a dict (src/tracker/backends.py)")
        missing = [n for n in self.output_names if n not in outputs]
        if missing:
            raise ValueError(f"the search graph's outputs {list(outputs)} lack {missing} "
                             f"({type(self).__name__} reads {list(self.output_names)})")
        return outputs

    # -- family hooks ------------------------------------------------------------------------
    def _locate(self, outputs, crop):
        raise NotImplementedError(f"{type(self).__name__} does not decode the search graph's outputs")

    def _track_extras(self, outputs, state, crop, image):
        """What the family reads besides the box, before the state moves (default: nothing)."""

    # -- pysot's defaults: images, state, crops, update ---------------------------------------
    def _network_image(self, image):
        """The frame as the network's crops are cut from it (pysot: BGR, three channels)."""
        return three_channels(image)

    @staticmethod
    def _channel_mean(image):
        """The padding colour of every crop of this target: the first frame's mean (float64;
        get_subwindow truncates it to uint8 as pysot's uint8 canvas does)."""
        return np.mean(image, axis=(0, 1))

    def init_state(self, box):
        """Target state from the ``[x, y, w, h]`` box (no image, no network)."""
        x, y, w, h = [float(v) for v in box]
        self.center_pos = np.array([x + (w - 1) / 2, y + (h - 1) / 2])
        self.size = np.array([w, h])

    def _crop(self, image, side, out_size):
        """(1, 3, out_size, out_size) float32 crop of side ``side`` around the target."""
        return get_subwindow(image, self.center_pos, out_size, side, self.channel_average, self.crop_rounding)

    def _template_side(self):
        return round(context_size(self.size[0], self.size[1], self.cfg.context_amount))

    def _search_input(self, image):
        """The search crop and ``(scale_z, s_x)``: the exemplar's scale and the crop's side in
        frame pixels (pysot's order of operations, see crop_geometry.search_side)."""
        cfg = self.cfg
        s_z = context_size(self.size[0], self.size[1], cfg.context_amount)
        scale_z = cfg.exemplar_size / s_z
        s_x = round(search_side(s_z, cfg.instance_size, cfg.exemplar_size))
        return self._crop(image, s_x, cfg.instance_size), (scale_z, s_x)

    def _update(self, box, image_shape):
        """Clip the centre to the image and the size to [10, image side]; store the state."""
        cx, cy, width, height = box
        ih, iw = image_shape[:2]
        self.center_pos = np.array([max(0, min(cx, iw)), max(0, min(cy, ih))])
        self.size = np.array([max(10, min(width, iw)), max(10, min(height, ih))])

    def _box(self):
        return center_to_rect(*self.center_pos, *self.size)

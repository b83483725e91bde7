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

Not reproduced (said in the report of the issue-14 work): BL's TF bicubic upsampling with
``align_corners=True`` (``track.upsample`` keeps SiamFC's choices; cv2 bicubic is the
default) and BL's padding with the current frame's mean colour (SiamFC's frame-1 mean here).
"""
import numpy as np

from .siamfc_tracker import SiamFCTracker


class SASiamTracker(SiamFCTracker):
    """``init(image, [x, y, w, h])``, then ``track(image) -> ([x, y, w, h], score)``, as
    SiamFCTracker (see there for images, boxes and the decision attributes); ``track_cfg`` is
    the SA-Siam track section. The back-end runs the family's template graph on ``(z_a, z_s)``
    and its search graph on the scales' crops with both kernels."""

    def init(self, image, box):
        # SiameseTracker.init with two exemplar crops for the two-input template graph
        image = self._network_image(image)
        from .base import check_init_box
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

"""Several targets on one network: one batched search-graph call per frame.

``MultiTargetTracker(cfg, backend)`` keeps one ordinary single-target tracker per target (the
family's, built by ``build_tracker`` over the same back-end), so every target's state, template
kernels, mean colour, confidence and lost flag live where the single-target code keeps them.
Per frame it cuts each target's search crop (``_search_input``), runs the search graph ONCE on
the stacked crops and kernels (the back-end's ``track_batch``, backends.py), and hands each
target its slice of the outputs (``finish_track``, base.py). The decision code is therefore
the single-target one; only the network call is shared.

Targets whose search inputs differ in shape (SiamRPN's long-term mode widens the search region
of a lost target) are grouped by shape, one network call per group.

On the Cell back-end each new batch size compiles the search graph once (graph mode): the
first frame after a target count is first seen costs about 0.5 s more (SiamRPN AlexNet) to
2 s (SiamMask), measured on 2 CPU cores. Batching saves per-call work, not convolution work:
on those 2 cores, idle, 2-8 SiamRPN targets ran 1.13-1.75x faster than independent trackers,
SiamMask about 1.0x (benchmarks/track_speed.py --targets; README "Benchmarks").
"""
from collections import OrderedDict

from . import build_tracker


class UnknownTarget(KeyError):
    """An id that is not tracked (a KeyError whose message reads as one line, unquoted)."""

    def __str__(self):
        return str(self.args[0])


class MultiTargetTracker:
    """``add(image, box) -> id``, ``remove(id)``, ``track(image) -> {id: (box, score, lost)}``.

    ``cfg`` is the model's config (its family builds the per-target trackers), ``backend`` one
    back-end that serves all targets. Ids are ints from 1, in the order targets were added, and
    are never reused. ``box_origin`` is the per-target trackers' (base.py).
    """

    def __init__(self, cfg, backend, box_origin=0):
        self.cfg, self.backend, self.box_origin = cfg, backend, box_origin
        self.targets = OrderedDict()
        self._next_id = 1

    def __len__(self):
        return len(self.targets)

    def __contains__(self, target_id):
        return target_id in self.targets

    def tracker(self, target_id):
        """The single-target tracker of ``target_id`` (its mask, region, confidence...)."""
        self._check_id(target_id)
        return self.targets[target_id]

    def add(self, image, box):
        """Start a target at ``box`` ([x, y, w, h]) in ``image``; its id. A box the tracker cannot
        start from raises here and leaves the other targets as they were."""
        tracker = build_tracker(self.cfg, self.backend)
        tracker.box_origin = self.box_origin
        tracker.init(image, box)           # raises before the target is registered
        target_id = self._next_id
        self._next_id += 1
        self.targets[target_id] = tracker
        return target_id

    def remove(self, target_id):
        self._check_id(target_id)
        del self.targets[target_id]

    def _check_id(self, target_id):
        if target_id not in self.targets:
            known = ", ".join(str(i) for i in self.targets) or "none"
            raise UnknownTarget(f"no target with id {target_id!r} (tracked ids: {known})")

    def track(self, image):
        """{id: (box [x, y, w, h], score, lost)} for every target on this frame."""
        groups = OrderedDict()                 # search-input shape -> [(id, tracker, x, crop, image)]
        for target_id, tracker in self.targets.items():
            frame = tracker._network_image(image)
            x, crop = tracker._search_input(frame)
            groups.setdefault(tuple(x.shape), []).append((target_id, tracker, x, crop, frame))
        results = {}
        for members in groups.values():
            outputs = self.backend.track_batch([m[2] for m in members], [m[1].kernels for m in members])
            trackers = [m[1] for m in members]
            per_target = [{name: a[i] for name, a in outputs.items()} for i in range(len(members))]
            crops, frames = [m[3] for m in members], [m[4] for m in members]
            # one class per group; SiamMask shares its refine call too (siammask_tracker.py)
            done = type(trackers[0]).finish_track_batch(trackers, per_target, crops, frames)
            for (target_id, tracker, *_), (box, score) in zip(members, done):
                results[target_id] = (box, score, tracker.lost)    # set by finish_track (base.py)
        return {target_id: results[target_id] for target_id in self.targets}

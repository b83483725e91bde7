"""Run this project's trackers inside the ``got10k`` toolkit's experiments.

    from src.tracker.got10k_adapter import Got10kTracker, offline_experiment_otb
    tracker = Got10kTracker(build_tracker(cfg, MindSporeBackend(net)), name="siamrpn_alex_dw")
    ExperimentGOT10k("data/GOT-10k", subset="val").run(tracker)   # or OTB, UAV123, NfS, ...

got10k hands trackers RGB PIL images; the project's trackers take BGR numpy
arrays as read by OpenCV, so the adapter converts. The first box is turned into
the tracker's init box as eval.py does (``init_rect_from_region``), so the
boxes equal eval.py's one-pass results on the same sequence (got10k itself
records the ground-truth box for frame 1), and the tracker is started as eval.py
starts it (``runner.start``: 0-indexed boxes, whatever the family's default box
origin). Known got10k 0.1.3 bugs
worked around here without touching site-packages: it imports ``six``
without declaring it (``six`` is in requirements.txt), and ``ExperimentOTB``
always tries to download missing sequences (``offline_experiment_otb``
builds one that does not). Its VOT report breaks on current NumPy; use
``eval.py`` (this project's VOT toolkit) for VOT.
"""
import os

import numpy as np
from got10k.datasets import OTB
from got10k.experiments import ExperimentOTB
from got10k.trackers import Tracker

from ..evaluation.geometry import init_rect_from_region
from ..evaluation.runner import start


def pil_to_bgr(image):
    """RGB PIL image (or HxWx3 RGB array) -> contiguous BGR uint8 array."""
    rgb = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image)
    return np.ascontiguousarray(rgb[:, :, ::-1])


class Got10kTracker(Tracker):
    """got10k ``Tracker`` over a project tracker (``init(bgr, box)``, ``track(bgr) -> (box, score)``).

    The project's trackers are deterministic, so got10k runs one repetition.
    """

    def __init__(self, tracker, name):
        super().__init__(name=name, is_deterministic=True)
        self.tracker = tracker

    def init(self, image, box):
        # eval.py's convention (src/evaluation/runner.py run_one_pass, pysot tools/test.py): the
        # ground-truth box goes through get_axis_aligned_bbox, i.e. [x + 0.5, y + 0.5, w, h] for a
        # rectangle, and the tracker reads it 0-indexed, so both give the same boxes on the same sequence
        start(self.tracker, pil_to_bgr(image), init_rect_from_region([float(v) for v in box]))

    def update(self, image):
        box, _ = self.tracker.track(pil_to_bgr(image))
        return np.asarray(box[:4], dtype=np.float64)


def offline_experiment_otb(root_dir, version=2015, result_dir="results", report_dir="reports"):
    """``ExperimentOTB`` over a local copy only (got10k's constructor always downloads)."""
    experiment = ExperimentOTB.__new__(ExperimentOTB)
    experiment.dataset = OTB(root_dir, version, download=False)
    experiment.result_dir = os.path.join(result_dir, "OTB" + str(version))
    experiment.report_dir = os.path.join(report_dir, "OTB" + str(version))
    experiment.nbins_iou = 21   # the values ExperimentOTB.__init__ sets
    experiment.nbins_ce = 51
    return experiment

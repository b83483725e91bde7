"""Run a tracker over a sequence under the official protocols (pysot tools/test.py).

* ``run_supervised``: VOT baseline. A frame whose prediction has zero overlap
  with the ground truth (rasterised, bounds = image size) is a failure; the
  tracker is re-initialised ``skip`` frames later. Frames in between are
  written as ``0`` and not even read. When the ground truth of the
  re-initialisation frame forms no box (zero area, NaN: see
  ``datasets.usable_regions``), re-initialisation moves on to the next frame
  whose ground truth does (a design choice; pysot would initialise from NaN);
  the frames passed over are written as ``0`` too. A tracked frame with such
  ground truth is scored against the polygon pysot builds from it, as pysot
  does: NaN or zero-area polygons overlap nothing (a failure), while e.g. a
  4-value row of negative width still makes a polygon with area.
* ``run_one_pass``: OTB / GOT-10k / LaSOT, initialised once.
* ``run_long_term``: VOT-LT (pysot tools/test.py, ``VOT2018-LT``): one pass,
  initialised once and never again, also while the target is absent (NaN
  ground truth, which the runner never reads after frame 0); per frame the box
  and the tracker's confidence are recorded.

Both initialise from the ground truth as pysot does: a polygon becomes the
axis-aligned box of the same area (``get_axis_aligned_bbox``) and the box
``[cx-(w-1)/2, cy-(h-1)/2, w, h]`` is passed to ``tracker.init``. Those boxes are
0-indexed (pysot's), so the runner sets ``tracker.box_origin = BOX_ORIGIN`` before
each ``init``: every family then reads them, and writes its result boxes, in that
convention (SiamFC's reference default is 1-indexed; see src/tracker/base.py).
The tracker is anything with ``init(image, box)``, ``track(image) -> (box,
score)``, ``region()`` (what VOT scores: the box, or SiamMask's rotated box) and a
settable ``box_origin``.
"""
import time

from .datasets import first_frame_error, supervised_region, usable_regions
from .geometry import init_rect_from_region
from .results import VOT_FAILURE, VOT_INIT, VOT_SKIPPED
from .vot_metrics import is_failure

# index of the first pixel in the boxes init_rect_from_region gives (pysot tools/test.py: 0)
BOX_ORIGIN = 0


def start(tracker, image, box):
    """``tracker.init(image, box)`` with ``box`` read as a BOX_ORIGIN-indexed box (eval.py,
    demo.py and the got10k adapter start their trackers through this)."""
    tracker.box_origin = BOX_ORIGIN
    tracker.init(image, box)


def run_supervised(tracker, video, skip=5):
    """Returns (entries, seconds per frame, failures). Entries are 1/2/0 codes or regions."""
    error = first_frame_error(video, supervised=True)
    if error is not None:           # load_dataset refuses such a dataset; a hand-made Video too
        raise error
    usable = usable_regions(video.gt, supervised=True)
    entries, times, failures = [], [], 0
    restart = 0
    bounds = None
    for idx in range(len(video)):
        if idx == restart and not usable[idx]:
            restart += 1
        if idx < restart:
            entries.append(VOT_SKIPPED)
            times.append(0.0)
            continue
        gt_poly = supervised_region(video.gt[idx])
        image = video.read_frame(idx)
        if bounds is None:
            bounds = (image.shape[1], image.shape[0])
        tic = time.perf_counter()
        if idx == restart:
            start(tracker, image, init_rect_from_region(gt_poly))
            entries.append(VOT_INIT)
        else:
            tracker.track(image)
            region = tracker.region()
            if is_failure(region, gt_poly, bounds):
                entries.append(VOT_FAILURE)
                failures += 1
                restart = idx + skip
            else:
                entries.append(list(region))
        times.append(time.perf_counter() - tic)
    return entries, times, failures


def run_one_pass(tracker, video):
    """Returns (boxes [x, y, w, h] per frame, seconds per frame)."""
    error = first_frame_error(video)
    if error is not None:
        raise error
    boxes, times = [], []
    for idx in range(len(video)):
        image = video.read_frame(idx)
        tic = time.perf_counter()
        if idx == 0:
            box = init_rect_from_region(video.gt[0] if len(video.gt) else video.init_rect)
            start(tracker, image, box)
        else:
            box, _ = tracker.track(image)
        boxes.append([float(v) for v in box])
        times.append(time.perf_counter() - tic)
    return boxes, times


def frame_confidence(tracker, score):
    """The confidence of the frame just tracked: ``tracker.confidence`` when the tracker has one
    (set by ``track``), else the score ``track`` returned (pysot records ``best_score``)."""
    confidence = getattr(tracker, "confidence", None)
    return float(score if confidence is None else confidence)


def run_long_term(tracker, video):
    """Returns (boxes [x, y, w, h] per frame, confidences per frame, seconds per frame).

    Frame 0 initialises the tracker from its ground truth; its box is that init box and its
    confidence None (pysot writes ``1`` and an empty line there: ``results.write_lt_result``).
    """
    error = first_frame_error(video)
    if error is not None:
        raise error
    boxes, confidences, times = [], [], []
    for idx in range(len(video)):
        image = video.read_frame(idx)
        tic = time.perf_counter()
        if idx == 0:
            box = init_rect_from_region(video.gt[0])
            start(tracker, image, box)
            confidence = None
        else:
            box, score = tracker.track(image)
            confidence = frame_confidence(tracker, score)
        boxes.append([float(v) for v in box])
        confidences.append(confidence)
        times.append(time.perf_counter() - tic)
    return boxes, confidences, times

"""Crop geometry of the Siamese trackers: the context size and the crop constants.

Every crop of the family is a square around the target whose side follows
from the target's context size ``s_z = sqrt((w + p)(h + p))``, ``p =
context_amount * (w + h)``: the exemplar crop is ``s_z`` wide and resized to
``exemplar_size`` (127), so the target always appears at scale
``exemplar_size / s_z``; a crop resized to any other side ``out`` is
``s_z * out / exemplar_size`` wide, which keeps that scale (the search region,
pysot's ``crop511`` training images). The dataset preparation
(``src/data/prepare``), the synthetic generator, the training loader (which
recomputes the target box inside a ``crop511`` image from this geometry
alone) and the trackers all read it from here, so they cannot drift apart.

This module sits at the package top because those users live in
``src/data`` and ``src/tracker``, neither of which should import the other.
Box coding against anchors is :mod:`src.models.box_coder`; VOT region and
polygon conversions are :mod:`src.evaluation.geometry`.

The C++ app keeps its own copy (``ascend310_infer/inc/tracker.h``
``ContextSize``, the search side in ``AnchorTracker::Search``, SiamFC's
``x_sz`` in ``SiamFCTracker::InitState``); a change here must be made there
too (``tests/test_infer_cpp.py`` and ``test_infer_cpp_siamfc.py`` run both
trackers and compare their boxes).
"""
import numpy as np

# pysot's / SiamMask's crop511 layout (their par_crop.py): 511 px crops with the
# target at scale EXEMPLAR_SIZE / s_z for context CONTEXT_AMOUNT. A prepared
# dataset is made with these, so the loader must undo them with the same values,
# whatever the tracker's track.context_amount is.
CROP511_SIZE = 511
EXEMPLAR_SIZE = 127
CONTEXT_AMOUNT = 0.5

# pysot's scale-change penalty measures box sizes with a fixed context of 0.5
# (its ``sz(w, h)``), not with track.context_amount.
PENALTY_CONTEXT = 0.5


def context_size(w, h, context_amount=CONTEXT_AMOUNT):
    """``s_z = sqrt((w + p)(h + p))`` with ``p = (w + h) * context_amount``.

    Scalars or arrays (element-wise); float64 for Python numbers. The order
    of operations is pysot's (and the C++ app's), so results match to the bit.
    """
    pad = (w + h) * context_amount
    return np.sqrt((w + pad) * (h + pad))


def crop_side(s_z, out_size, exemplar_size=EXEMPLAR_SIZE):
    """Side, in image pixels, of a crop resized to ``out_size`` that keeps the
    exemplar's scale ``exemplar_size / s_z``: ``s_z * out_size / exemplar_size``
    in that order of operations (the dataset crops,
    :func:`src.data.crop.crop_like_siamfc`, with which the prepared crops were
    made; siamfc-pytorch's ``x_sz`` is the same expression)."""
    return s_z * out_size / exemplar_size


def search_side(s_z, instance_size, exemplar_size):
    """Side of the SiamRPN / SiamMask tracker's search crop in frame pixels,
    unrounded: ``s_z * (instance_size / exemplar_size)``. The same quantity as
    :func:`crop_side`, but pysot divides first, which can round the last bit
    differently; the tracker's parity with pysot and the C++ app keeps that order."""
    return s_z * (instance_size / exemplar_size)

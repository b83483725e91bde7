"""Property-based tests (hypothesis) for the ground-truth parser and the box checks.

* any text of well-formed rows (4 or 8 numbers a line, comma / space / tab separated, any
  float including NaN and inf, CRLF or LF, trailing blank lines) parses back to exactly those
  numbers;
* any other bytes either parse to a consistent (N, k) array or raise ``DatasetError``, never
  another exception type (a traceback for the user);
* the vectorised ``usable_regions`` and the per-row ``region_problem`` agree on every row.
"""
import os
import tempfile

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from src.evaluation.datasets import DatasetError, read_groundtruth, region_problem, usable_regions

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_DIR = tempfile.mkdtemp(prefix="gt_properties_")
_PATH = os.path.join(_DIR, "groundtruth.txt")

numbers = st.floats(allow_nan=True, allow_infinity=True, width=64)
separators = st.sampled_from([",", " ", "\t", ", ", " ,\t", "  "])


def _write(data):
    with open(_PATH, "wb") as f:
        f.write(data)
    return _PATH


@st.composite
def groundtruth_texts(draw):
    """(text, rows): rows of 4 or 8 floats and a text a user's tool could have written for them."""
    k = draw(st.sampled_from([4, 8]))
    rows = draw(st.lists(st.lists(numbers, min_size=k, max_size=k), min_size=1, max_size=12))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = []
    for row in rows:
        seps = draw(st.lists(separators, min_size=k - 1, max_size=k - 1))
        fields = [draw(st.sampled_from([repr(v), str(v)])) for v in row]     # repr round-trips exactly
        text = fields[0] + "".join(s + f for s, f in zip(seps, fields[1:]))
        lines.append(draw(st.sampled_from(["", " ", "\t"])) + text + draw(st.sampled_from(["", " ", ","])))
    tail = draw(st.sampled_from(["", newline, newline * 3, newline + "  " + newline]))
    return newline.join(lines) + tail, rows


@SETTINGS
@given(groundtruth_texts())
def test_well_formed_rows_round_trip(case):
    text, rows = case
    gt = read_groundtruth(_write(text.encode()), "seq")
    np.testing.assert_array_equal(gt, np.array(rows, np.float64))          # NaN == NaN here


@SETTINGS
@given(st.one_of(st.binary(max_size=300),
                 st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
                 st.lists(st.sampled_from(["1", "2.5", "-3", "nan", "inf", "x", ",", " ", "\t", "\n", "\r",
                                           "1e999", "0x10", "--1", "1,,2", "\x00", "\u00a0", "\u2028"]),
                          max_size=40).map(lambda p: "".join(p).encode())))
def test_garbage_is_a_dataset_error_or_a_consistent_array(data):
    try:
        gt = read_groundtruth(_write(data), "seq")
    except DatasetError as e:
        message = str(e)
        assert message.startswith("seq: ") and _PATH in message and "\n" not in message
        return
    assert gt.dtype == np.float64 and gt.ndim == 2 and gt.shape[1] in (4, 8) and len(gt) >= 1


@SETTINGS
@given(st.sampled_from([4, 8]).flatmap(
    lambda k: st.lists(st.lists(st.one_of(numbers, st.sampled_from([0.0, 1.0, 5.0, -1.0])),
                                min_size=k, max_size=k), min_size=1, max_size=8)))
def test_vectorised_and_per_row_checks_agree(rows):
    gt = np.array(rows, np.float64)
    assert usable_regions(gt).tolist() == [region_problem(r) is None for r in gt]
    # the supervised (VOT) rule is at least as strict as the plain one
    assert not np.any(usable_regions(gt, supervised=True) & ~usable_regions(gt))

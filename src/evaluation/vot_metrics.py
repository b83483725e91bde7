"""VOT supervised-protocol metrics: accuracy, robustness and EAO as pysot computes them.

Ports of pysot ``toolkit/utils/statistics.py`` (``calculate_failures``,
``calculate_accuracy``, ``calculate_expected_overlap``) and
``toolkit/evaluation/{ar_benchmark,eao_benchmark}.py``. The numbers match pysot
to float rounding: the same overlap bounds (accuracy ``(W, H)``, EAO
``(W-1, H-1)``), the same frame-weighted aggregation, the float32 expected-overlap
curve and pysot's fragment weights.

Inputs are duck-typed: ``videos`` is an iterable of objects with ``name``,
``gt``, ``width``, ``height`` and ``tags`` (``datasets.Video``), and ``runs`` maps
a video name to its list of repetitions, each a trajectory as read from a
result file (a list of regions; ``[1]`` init, ``[2]`` failure, ``[0]`` skipped).
"""
import warnings

import numpy as np

from .region import vot_overlap, vot_overlaps

# (low, high, peak) sequence lengths of the EAO interval, 1-based (pysot EAOBenchmark).
EAO_RANGES = {
    "VOT2016": (108, 371, 168),
    "VOT2017": (100, 356, 160),
    "VOT2018": (100, 356, 160),
    "VOT2019": (46, 291, 128),
}
BURNIN = 10      # frames after each (re-)initialisation excluded from accuracy
SKIPPING = 5     # frames skipped after a failure before re-initialisation
DEFAULT_TAGS = ("all", "camera_motion", "illum_change", "motion_change", "size_change", "occlusion")


def eao_range_for(dataset_name):
    """(low, high, peak) for VOT2016-2019; other names must pass a range explicitly."""
    try:
        return EAO_RANGES[dataset_name]
    except KeyError:
        raise ValueError(f"{dataset_name} has no known EAO range (known: {', '.join(EAO_RANGES)}): "
                         f"pass --eao_range LOW HIGH (sequence lengths in frames)") from None


def check_eao_range(eao_range, lengths, dataset_name, flag="--eao_range"):
    """``(low, high)`` of ``eao_range`` (or the dataset's known range when None), checked.

    1 <= low <= high, and high <= the longest sequence: the expected-overlap
    curve is only defined up to the longest sequence (pysot silently averages
    over [low, min(high, longest)], a number for another interval; a low
    beyond it gives NaN). Shorter sequences may be shorter than low: in pysot
    their fragments are padded (with zeros after a failure) or undefined
    beyond their end, so they still count. ``lengths``: frames per sequence.
    """
    rng = eao_range_for(dataset_name) if eao_range is None else eao_range
    low, high = int(rng[0]), int(rng[1])
    given = f"{flag} {low} {high}" if eao_range is not None else f"the {dataset_name} EAO range [{low}, {high}]"
    if not 1 <= low <= high:
        raise ValueError(f"{given}: need 1 <= LOW <= HIGH (sequence lengths in frames)")
    longest = max(lengths, default=0)
    if high > longest:
        raise ValueError(f"{given}: the longest {dataset_name} sequence has {longest} frames; HIGH must be "
                         f"<= {longest} (pass --eao_range LOW HIGH within the sequence lengths)")
    return low, high


def is_failure(pred, gt, bounds):
    """The supervised-protocol failure test of pysot tools/test.py.

    ``bounds`` is the image ``(W, H)``. pysot keeps the box when
    ``vot_overlap(pred, gt, bounds) > 0`` and declares a failure otherwise, i.e.
    overlap == 0 (also NaN, which only degenerate empty regions produce).
    """
    return not vot_overlap(pred, gt, bounds) > 0


def _is_code(entry, code):
    return len(entry) == 1 and entry[0] == code


def failure_frames(trajectory):
    """0-based frames holding a failure code ``2`` (pysot ``calculate_failures``)."""
    return [i for i, x in enumerate(trajectory) if _is_code(x, 2)]


def sequence_overlaps(trajectory, gt, bounds, burnin=0):
    """Per-frame overlaps of one trajectory (pysot ``calculate_accuracy``, ignore_unknown).

    The ``burnin`` frames starting at each init code ``1`` are replaced by the
    code ``0`` (NaN overlap); codes give NaN. Length: min(len(traj), len(gt)).
    """
    traj = list(trajectory)
    if burnin > 0:
        for i, x in enumerate(trajectory):
            if _is_code(x, 1):
                for j in range(i, min(i + burnin, len(traj))):
                    traj[j] = [0]
    n = min(len(traj), len(gt))
    return vot_overlaps(traj[:n], gt[:n], bounds)


def accuracy_robustness(videos, runs, burnin=BURNIN):
    """pysot AccuracyRobustnessBenchmark + ``show_result`` aggregation.

    Returns ``{accuracy, robustness, lost_number, length, per_video}``:
    accuracy is the NaN-mean over the frames of all sequences (frame-weighted),
    lost_number the total failures (mean over repetitions), robustness
    ``100 * failures / frames``; ``per_video[name] = {accuracy, num_failures,
    length, overlaps}`` with overlaps averaged over repetitions.
    """
    per_video, all_overlaps, failures = {}, [], []
    for video in videos:
        bounds = (video.width, video.height)
        group = [sequence_overlaps(t, video.gt, bounds, burnin) for t in runs[video.name]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            overlaps = np.nanmean(group, axis=0)
            accuracy = float(np.nanmean(overlaps))
        fails = [len(failure_frames(t)) for t in runs[video.name]]
        per_video[video.name] = {"accuracy": accuracy, "num_failures": float(np.mean(fails)),
                                 "length": len(overlaps), "overlaps": overlaps}
        all_overlaps.append(overlaps)
        failures.append(fails)
    length = sum(len(o) for o in all_overlaps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        accuracy = float(np.nanmean(np.concatenate(all_overlaps)))
    return {"accuracy": accuracy,
            "robustness": float(np.mean(np.sum(np.array(failures), axis=0) / length) * 100),
            "lost_number": float(np.mean(np.sum(failures, axis=0))),
            "length": length, "per_video": per_video}


def _segments(overlaps, failures, skipping):
    """[(start, end, closed)] fragments of one run, pysot EAOBenchmark style.

    A run is cut at each failure + skipping (the re-initialisation frame); every
    fragment but the last ends *at* the next cut (inclusive) and is zero-padded
    to the full curve length, because after a failure the overlap counts as 0.
    """
    points = [0] + [f + skipping for f in failures if f + skipping <= len(overlaps)]
    segs = [(points[i], points[i + 1] + 1, True) for i in range(len(points) - 1)]
    return segs + [(points[-1], len(overlaps), False)]


def eao_fragments(videos, runs, tags=("all",), skipping=SKIPPING):
    """Fragment matrix (rows x max_len, NaN = undefined) and per-tag row weights.

    Mirrors pysot ``EAOBenchmark._calculate_eao`` before ``calculate_expected_overlap``,
    including its weights: ``seq_weight * sum(tag) / segment length`` with
    ``seq_weight = 1 / (repetitions + 1e-10)`` and a last-fragment length of
    ``traj_len - start + 1e-16``.
    """
    rows = []            # (video, overlaps, start, end, closed, has_failures)
    n_runs = 0
    for video in videos:
        n_runs = len(runs[video.name])
        bounds = (video.width - 1, video.height - 1)
        for traj in runs[video.name]:
            overlaps = sequence_overlaps(traj, video.gt, bounds)
            failures = failure_frames(traj)
            if failures:
                rows += [(video, overlaps, s, e, c, True) for s, e, c in _segments(overlaps, failures, skipping)]
            else:
                rows.append((video, overlaps, 0, len(overlaps), False, False))
    max_len = max(len(r[1]) for r in rows)
    seq_weight = 1 / (n_runs + 1e-10)
    fragments = np.full((len(rows), max_len), np.nan)
    weights = {tag: np.full(len(rows), np.nan) for tag in tags}
    for k, (video, overlaps, start, end, closed, has_failures) in enumerate(rows):
        fragment = np.array(overlaps[start:end])
        if has_failures:
            fragment[np.isnan(fragment)] = 0
            if closed:
                fragments[k, :] = 0
        fragments[k, :len(fragment)] = fragment
        traj_len = len(video.gt)
        for tag in tags:
            tag_sum = int(np.sum(video.tags[tag][start:end]))
            if not has_failures:
                denominator = end
            elif closed:
                denominator = end - start
            else:
                denominator = traj_len - start + 1e-16
            weights[tag][k] = seq_weight * (tag_sum / denominator)
    return fragments, weights


def expected_overlap_curve(fragments, fweights):
    """Expected overlap per sequence length (pysot ``calculate_expected_overlap``).

    Entry i (length i + 1) is the weighted mean, over fragments still defined at
    frame i, of their mean overlap over frames 1..i (frame 0 is the
    initialisation). float32 like pysot; entry 0 is 1.
    """
    max_len = fragments.shape[1]
    curve = np.zeros(max_len, np.float32)
    curve[0] = 1
    if max_len < 2:
        return curve
    lengths = np.arange(1, max_len)
    seq_mean = np.cumsum(fragments[:, 1:], axis=1) / lengths            # (rows, max_len - 1)
    defined = ~np.isnan(fragments[:, 1:])
    w = fweights[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        num = np.sum(np.where(defined, seq_mean * w, 0), axis=0)
        den = np.sum(np.where(defined, w, 0), axis=0)
        curve[1:] = np.where(defined.any(axis=0), num / den, 0)
    return curve


def eao_from_curve(curve, low, high):
    """Mean of the curve over sequence lengths low..high (pysot: weight[low-1:high] = 1)."""
    weight = np.zeros(len(curve))
    weight[low - 1:high] = 1
    valid = ~np.isnan(curve)
    # a tag that no frame carries has no curve: 0/0, NaN, reported as null (pysot gives NaN too)
    with np.errstate(invalid="ignore"):
        return float(np.sum(curve[valid] * weight[valid]) / np.sum(weight[valid]))


def expected_average_overlap(videos, runs, eao_range, tags=DEFAULT_TAGS, skipping=SKIPPING):
    """pysot EAOBenchmark: ``{'eao': {tag: value}, 'curves': {tag: float32 curve}}``.

    ``eao_range`` is ``(low, high)`` or ``(low, high, peak)``, 1-based lengths.
    """
    videos = list(videos)
    low, high = eao_range[0], eao_range[1]
    fragments, weights = eao_fragments(videos, runs, tags, skipping)
    curves = {tag: expected_overlap_curve(fragments, weights[tag]) for tag in tags}
    return {"eao": {tag: eao_from_curve(c, low, high) for tag, c in curves.items()}, "curves": curves}

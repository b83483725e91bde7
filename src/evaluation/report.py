"""Score trackers from result files and report them: dicts, pysot-style tables, PNG plots.

``score_vot`` / ``score_ope`` / ``score_got10k`` / ``score_lt`` read the official result layouts
(``results.py``) under ``results_dir`` = the dataset's results directory
(``results/<dataset>``, pysot's ``tracker_path``) and return plain dicts.
``format_*_table`` print what pysot's ``show_result`` prints (byte for byte,
including the optional colour codes of the per-video tables). Plots use
matplotlib's object API with the Agg canvas (no display, no global pyplot
state) and are written atomically.
"""
import os

import numpy as np

from . import lt_metrics, ope_metrics, results, vot_metrics

_RED, _RESET = "\x1b[31m", "\x1b[0m"   # colorama Fore.RED, Style.RESET_ALL


# -------------------------------------------------------------------- scoring
def _read_checked(read, path, tracker, video, **kw):
    """``read(path, n_frames=len(video))``; a malformed file is refused naming tracker and sequence
    (the reader's message names the file and line). A file of the wrong length is never scored."""
    try:
        return read(path, n_frames=len(video), **kw)
    except results.ResultsError as e:
        raise results.ResultsError(f"tracker {tracker}, sequence {video.name}: {e}") from None


def _vot_runs(dataset, results_dir, tracker):
    runs = {}
    for video in dataset:
        files = results.vot_result_files(results_dir, tracker, video.name)
        if not files:
            raise results.ResultsError(
                f"tracker {tracker}, sequence {video.name}: missing result file "
                f"{results.vot_result_path(results_dir, tracker, video.name)}")
        runs[video.name] = [_read_checked(results.read_vot_result, f, tracker, video) for f in files]
    return runs


def score_vot(dataset, results_dir, tracker_names, eao_range=None, tags=vot_metrics.DEFAULT_TAGS,
              burnin=vot_metrics.BURNIN, skipping=vot_metrics.SKIPPING):
    """Accuracy, robustness and EAO per tracker (pysot AR + EAO benchmarks).

    ``eao_range``: ``(low, high[, peak])``; default from the dataset name
    (VOT2016/2017/2018/2019). Returns ``{tracker: {accuracy, robustness,
    lost_number, length, eao, eao_per_tag, eao_curve, eao_range, per_video:
    {name: {accuracy, num_failures, length}}}}``.
    """
    if eao_range is None:
        eao_range = vot_metrics.eao_range_for(dataset.name)
    vot_metrics.check_eao_range(eao_range, [len(v) for v in dataset], dataset.name)
    eao_range = tuple(eao_range)
    scores = {}
    for tracker in tracker_names:
        runs = _vot_runs(dataset, results_dir, tracker)
        ar = vot_metrics.accuracy_robustness(dataset, runs, burnin)
        eao = vot_metrics.expected_average_overlap(dataset, runs, eao_range, tags, skipping)
        scores[tracker] = {
            "accuracy": ar["accuracy"], "robustness": ar["robustness"],
            "lost_number": ar["lost_number"], "length": ar["length"],
            "eao": eao["eao"]["all"] if "all" in eao["eao"] else None,
            "eao_per_tag": eao["eao"],
            "eao_curve": eao["curves"]["all"].astype(float).tolist() if "all" in eao["curves"] else None,
            "eao_range": list(eao_range),
            "per_video": {name: {k: v[k] for k in ("accuracy", "num_failures", "length")}
                          for name, v in ar["per_video"].items()},
        }
    return scores


def score_ope(dataset, results_dir, tracker_names):
    """Success AUC, precision@20px and norm precision@0.2 per tracker (pysot OPEBenchmark).

    Returns ``{tracker: {success_auc, precision, norm_precision, curves:
    {success, precision, norm_precision}, per_video: {name: {success_auc,
    precision, norm_precision, success_curve, precision_curve,
    norm_precision_curve}}}}`` (curves as lists).
    """
    scores = {}
    for tracker in tracker_names:
        per_video = {}
        for video in dataset:
            pred = _read_checked(results.read_ope_result, results.ope_result_path(results_dir, tracker, video.name),
                                 tracker, video)
            per_video[video.name] = ope_metrics.ope_sequence_curves(video.gt, pred, video.visible)
        summary = ope_metrics.ope_summary(per_video)
        scores[tracker] = {
            "success_auc": summary["success_auc"], "precision": summary["precision"],
            "norm_precision": summary["norm_precision"],
            "curves": {k: v.tolist() for k, v in summary["curves"].items()},
            "per_video": {name: {
                "success_auc": float(np.mean(c["success"])),
                "precision": float(c["precision"][ope_metrics.PRECISION_INDEX]),
                "norm_precision": float(c["norm_precision"][ope_metrics.PRECISION_INDEX]),
                **{f"{k}_curve": v.tolist() for k, v in c.items()}} for name, c in per_video.items()},
        }
    return scores


def score_got10k(dataset, results_dir, tracker_names):
    """AO, SR0.5, SR0.75, fps and success curve per tracker (got10k ExperimentGOT10k.report).

    Needs the full ground truth (GOT-10k val); the test split's is withheld.
    """
    scores = {}
    for tracker in tracker_names:
        all_ious, all_times, per_video = [], [], {}
        for video in dataset:
            if len(video.gt) != len(video):
                raise ValueError(f"{video.name}: ground truth has {len(video.gt)} of {len(video)} frames "
                                 "(GOT-10k test): evaluate on the official server")
            files = results.got10k_result_files(results_dir, tracker, video.name)
            if not files:
                raise results.ResultsError(
                    f"tracker {tracker}, sequence {video.name}: missing result file "
                    f"{results.got10k_result_path(results_dir, tracker, video.name)}")
            ious = np.concatenate([ope_metrics.got10k_sequence_ious(
                _read_checked(results.read_ope_result, f, tracker, video), video.gt, video.image_size, video.cover)
                for f in files])
            times = results.read_times(results.got10k_time_path(results_dir, tracker, video.name))
            m = ope_metrics.got10k_metrics(ious, times)
            per_video[video.name] = {k: m[k] for k in ("ao", "sr50", "sr75", "speed_fps")}
            per_video[video.name]["length"] = len(video.gt) - 1
            all_ious.append(ious)
            all_times.append(times)
        m = ope_metrics.got10k_metrics(np.concatenate(all_ious), np.concatenate(all_times))
        m["succ_curve"] = m["succ_curve"].tolist()
        scores[tracker] = {**m, "per_video": per_video}
    return scores


def score_lt(dataset, results_dir, tracker_names, resolution=lt_metrics.RESOLUTION):
    """VOT long-term precision, recall and F-score per tracker (pysot F1Benchmark).

    Reads ``<tracker>/longterm/<seq>/<seq>_001.txt`` and ``_001_confidence.value``.
    Returns ``{tracker: {precision, recall, f_score, threshold, n_thresholds, curves:
    {thresholds, precision, recall, f_score} (highest threshold first), per_video:
    {name: {precision, recall, f_score, threshold, n_visible, n_absent, length}}}}``.
    """
    scores = {}
    for tracker in tracker_names:
        runs = {video.name: _read_checked(results.read_lt_result,
                                          results.lt_result_path(results_dir, tracker, video.name), tracker, video)
                for video in dataset}
        s = lt_metrics.long_term_scores(dataset, runs, resolution)
        scores[tracker] = {
            "precision": s["precision"], "recall": s["recall"], "f_score": s["f_score"],
            "threshold": s["threshold"], "n_thresholds": len(s["thresholds"]),
            "curves": {"thresholds": s["thresholds"].tolist(), "precision": s["precision_curve"].tolist(),
                       "recall": s["recall_curve"].tolist(), "f_score": s["f_curve"].tolist()},
            "per_video": {name: {k: v[k] for k in ("precision", "recall", "f_score", "threshold", "n_visible",
                                                    "n_absent", "length")}
                          for name, v in s["per_video"].items()},
        }
    return scores


# --------------------------------------------------------------------- tables
def _ranked(scores, key):
    """Tracker names by descending ``key`` (stable for ties), top 20 as pysot prints."""
    return [name for name, _ in sorted(scores.items(), key=lambda x: x[1][key], reverse=True)][:20]


def _paint(text, red, color):
    return f"{_RED}{text}{_RESET}" if red and color else text


def _box(header, rows):
    bar = "-" * len(header)
    return [bar, header, bar, *rows, bar]


def format_vot_table(scores, show_video_level=False, color=False):
    """pysot ``AccuracyRobustnessBenchmark.show_result(ar, eao, show_video_level)`` output.

    Trackers sorted by EAO; the optional per-video table (< 10 trackers) shows
    accuracy and lost number, red (``color``) below 0.5 / above 0.
    """
    width = max(max(len(x) for x in scores) + 2, 12)
    header = f"|{{:^{width}}}|{{:^10}}|{{:^12}}|{{:^13}}|{{:^7}}|".format(
        "Tracker Name", "Accuracy", "Robustness", "Lost Number", "EAO")
    row = f"|{{:^{width}}}|{{:^10.3f}}|{{:^12.3f}}|{{:^13.1f}}|{{:^7.3f}}|"
    lines = _box(header, [row.format(t, s["accuracy"], s["robustness"], s["lost_number"], s["eao"])
                          for t, s in ((t, scores[t]) for t in _ranked(scores, "eao"))])
    if show_video_level and len(scores) < 10:
        def cells(v):
            return [("{:^8.3f}".format(v["accuracy"]), v["accuracy"] < 0.5),
                    ("{:^8.3f}".format(v["num_failures"]), v["num_failures"] > 0)]
        lines += _video_table(scores, 14, 17, "{:^8}|{:^8}|".format("Acc", "LN"), cells, color)
    return "\n".join(lines) + "\n"


def _video_table(scores, name_width, tracker_width, sub_header, cells, color):
    """pysot's per-video table: one column group per tracker, ``cells(video scores)``
    giving (text, paint red) pairs."""
    header1 = f"|{{:^{name_width}}}|".format("Tracker name") + "".join(
        f"{{:^{tracker_width}}}|".format(t) for t in scores)
    header2 = f"|{{:^{name_width}}}|".format("Video name") + sub_header * len(scores)
    bar = "-" * len(header1)
    lines = ["\n\n", bar, header1, bar, header2, bar]
    for video in next(iter(scores.values()))["per_video"]:
        row = "".join(_paint(text, red, color) + "|" for s in scores.values()
                      for text, red in cells(s["per_video"][video]))
        lines.append(f"|{{:^{name_width}}}|".format(video) + row)
    lines.append(bar)
    return lines


def format_ope_table(scores, show_video_level=False, color=False):
    """pysot ``OPEBenchmark.show_result(success, precision, norm_precision, show_video_level)`` output.

    Trackers sorted by success AUC; the per-video table shows the mean success
    and mean precision curve values, red (``color``) below 0.6.
    """
    width = max(max(len(x) for x in scores) + 2, 12)
    header = f"|{{:^{width}}}|{{:^9}}|{{:^16}}|{{:^11}}|".format(
        "Tracker name", "Success", "Norm Precision", "Precision")
    row = f"|{{:^{width}}}|{{:^9.3f}}|{{:^16.3f}}|{{:^11.3f}}|"
    lines = _box(header, [row.format(t, s["success_auc"], s["norm_precision"], s["precision"])
                          for t, s in ((t, scores[t]) for t in _ranked(scores, "success_auc"))])
    if show_video_level and len(scores) < 10:
        def cells(v):
            success, precision = np.mean(v["success_curve"]), np.mean(v["precision_curve"])
            return [("{:^9.3f}".format(success), success < 0.6), ("{:^11.3f}".format(precision), precision < 0.6)]
        lines += _video_table(scores, 21, 21, "{:^9}|{:^11}|".format("success", "precision"), cells, color)
    return "\n".join(lines) + "\n"


def format_lt_table(scores, show_video_level=False, color=False):
    """pysot ``F1Benchmark.show_result(result, show_video_level)`` output.

    Trackers sorted by F-score; the optional per-video table (< 10 trackers) shows each
    video's precision, recall and F at its own F maximum, red (``color``) below 0.5.
    """
    width = max(max(len(x) for x in scores) + 2, 12)
    header = f"|{{:^{width}}}|{{:^11}}|{{:^8}}|{{:^7}}|".format("Tracker Name", "Precision", "Recall", "F1")
    row = f"|{{:^{width}}}|{{:^11.3f}}|{{:^8.3f}}|{{:^7.3f}}|"
    lines = _box(header, [row.format(t, s["precision"], s["recall"], s["f_score"])
                          for t, s in ((t, scores[t]) for t in _ranked(scores, "f_score"))])
    if show_video_level and len(scores) < 10:
        def cells(v):
            return [("{:^11.3f}".format(v["precision"]), v["precision"] < 0.5),
                    ("{:^8.3f}".format(v["recall"]), v["recall"] < 0.5),
                    ("{:^7.3f}".format(v["f_score"]), v["f_score"] < 0.5)]
        lines += _video_table(scores, 14, 28, "{:^11}|{:^8}|{:^7}|".format("Precision", "Recall", "F1"),
                              cells, color)
    return "\n".join(lines) + "\n"


def format_got10k_table(scores):
    """GOT-10k summary in the same style: AO, SR0.50, SR0.75, fps; sorted by AO."""
    width = max(max(len(x) for x in scores) + 2, 12)
    header = f"|{{:^{width}}}|{{:^7}}|{{:^8}}|{{:^8}}|{{:^8}}|".format("Tracker name", "AO", "SR0.50", "SR0.75", "FPS")
    row = f"|{{:^{width}}}|{{:^7.3f}}|{{:^8.3f}}|{{:^8.3f}}|{{:^8.1f}}|"
    return "\n".join(_box(header, [row.format(t, scores[t]["ao"], scores[t]["sr50"], scores[t]["sr75"],
                                              scores[t]["speed_fps"]) for t in _ranked(scores, "ao")])) + "\n"


# ---------------------------------------------------------------------- plots
def _save_figure(fig, path, dpi=150):
    with results.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")


def _figure():
    from matplotlib.figure import Figure      # matplotlib only needed for plots
    fig = Figure(figsize=(6, 4.5))
    return fig, fig.add_subplot(1, 1, 1)


def _plot_name(kind, dataset_name):
    """``success_plot_OTB100.png``: the dataset in the name, so plots of two datasets can share a folder."""
    return f"{kind}_plot_{dataset_name}.png" if dataset_name else f"{kind}_plot.png"


def _curve_plot(scores, path, thresholds, curve, rank_key, xlabel, ylabel, title, legend_loc):
    fig, ax = _figure()
    for tracker in _ranked(scores, rank_key):
        label = f"[{scores[tracker][rank_key]:.3f}] {tracker}"
        ax.plot(thresholds, curve(scores[tracker]), linewidth=2, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, xlim=(thresholds[0], thresholds[-1]), ylim=(0, 1.0), title=title)
    ax.grid(True, alpha=0.4)
    ax.legend(loc=legend_loc, fontsize=8)
    _save_figure(fig, path)
    return path


def plot_ope_curves(scores, out_dir, dataset_name=""):
    """Success and precision plots of all trackers (pysot draw_success_precision style).

    Writes ``<out_dir>/success_plot_<dataset>.png`` and ``precision_plot_<dataset>.png``
    (without a dataset name: ``success_plot.png``, ...); returns both paths.
    """
    suffix = f" on {dataset_name}" if dataset_name else ""
    specs = [("success", ope_metrics.SUCCESS_THRESHOLDS, "success_auc", "Overlap threshold",
              "Success rate", "Success plots of OPE", "lower left"),
             ("precision", ope_metrics.PRECISION_THRESHOLDS, "precision", "Location error threshold (px)",
              "Precision", "Precision plots of OPE", "lower right")]
    return [_curve_plot(scores, os.path.join(out_dir, _plot_name(key, dataset_name)), thresholds,
                        lambda s, key=key: s["curves"][key], rank_key, xlabel, ylabel, title + suffix, loc)
            for key, thresholds, rank_key, xlabel, ylabel, title, loc in specs]


def plot_got10k_success(scores, out_dir, dataset_name=""):
    """GOT-10k success plot (got10k ``ExperimentGOT10k.plot_curves``: success rate over the
    101 IoU thresholds, legend with AO); writes ``<out_dir>/success_plot_<dataset>.png``."""
    title = f"Success plots on {dataset_name}" if dataset_name else "Success plots"
    return _curve_plot(scores, os.path.join(out_dir, _plot_name("success", dataset_name)),
                       ope_metrics.GOT10K_IOU_BINS, lambda s: s["succ_curve"], "ao", "Overlap threshold",
                       "Success rate", title, "lower left")


def plot_eao_curve(scores, path, dataset_name=""):
    """Expected overlap vs sequence length for all trackers, EAO interval shaded."""
    fig, ax = _figure()
    low, high = next(iter(scores.values()))["eao_range"][:2]
    ax.axvspan(low, high, color="0.85", label=f"EAO interval [{low}, {high}]")
    for tracker in _ranked(scores, "eao"):
        curve = scores[tracker]["eao_curve"]
        ax.plot(np.arange(1, len(curve) + 1), curve, linewidth=1.5,
                label=f"[{scores[tracker]['eao']:.3f}] {tracker}")
    ax.set(xlabel="Sequence length (frames)", ylabel="Expected overlap", ylim=(0, 1.0),
           title=f"Expected overlap curves on {dataset_name}" if dataset_name else "Expected overlap curves")
    ax.grid(True, alpha=0.4)
    ax.legend(loc="upper right", fontsize=8)
    _save_figure(fig, path)
    return path


def plot_lt_curves(scores, out_dir, dataset_name=""):
    """VOT-LT plots of all trackers: tracking precision vs recall over the confidence thresholds
    (the maximum-F point marked) and F-score vs threshold. The end thresholds -inf / inf (all
    positive / no confidences) are points of the precision-recall curve but have no place on a
    threshold axis. Writes ``precision_recall_plot_<dataset>.png`` and
    ``f_score_plot_<dataset>.png`` in ``out_dir``; returns both paths."""
    suffix = f" on {dataset_name}" if dataset_name else ""
    paths = [os.path.join(out_dir, _plot_name(k, dataset_name)) for k in ("precision_recall", "f_score")]
    fig, ax = _figure()
    for tracker in _ranked(scores, "f_score"):
        s = scores[tracker]
        line, = ax.plot(s["curves"]["recall"], s["curves"]["precision"], linewidth=2,
                        label=f"[{s['f_score']:.3f}] {tracker}")
        ax.plot([s["recall"]], [s["precision"]], "o", color=line.get_color())
    ax.set(xlabel="Tracking recall", ylabel="Tracking precision", xlim=(0, 1.0), ylim=(0, 1.0),
           title="Tracking precision/recall" + suffix)
    ax.grid(True, alpha=0.4)
    ax.legend(loc="lower left", fontsize=8)
    _save_figure(fig, paths[0])
    fig, ax = _figure()
    for tracker in _ranked(scores, "f_score"):
        s = scores[tracker]
        th, f = np.asarray(s["curves"]["thresholds"]), np.asarray(s["curves"]["f_score"])
        finite = np.isfinite(th)
        ax.plot(th[finite], f[finite], linewidth=2, label=f"[{s['f_score']:.3f}] {tracker}")
    ax.set(xlabel="Confidence threshold", ylabel="F-score", ylim=(0, 1.0), title="Tracking F-score" + suffix)
    ax.grid(True, alpha=0.4)
    ax.legend(loc="upper right", fontsize=8)
    _save_figure(fig, paths[1])
    return paths

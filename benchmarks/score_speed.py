"""Time to score a VOT-sized result set with src.evaluation (accuracy, robustness, EAO).

    python benchmarks/score_speed.py [--sequences 60] [--frames 350] [--seed 0] [--keep DIR]

Synthesises a VOT-like dataset (rotated-rectangle polygon ground truth on
VOT-sized images, one first frame per sequence, pysot JSON with tags) and one
tracker's supervised-protocol results (random-walk errors around the ground
truth with occasional drifts that cause failures; half the sequences as boxes,
half as polygons), written in the official layout to a temp dir. Then times
loading the dataset and ``score_vot`` (A/R with burn-in, EAO for 6 tags).
Goal: under 10 s for 60 x 350 frames.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from src.evaluation.datasets import VOT_TAGS, load_dataset  # noqa: E402
from src.evaluation.region import vot_overlaps  # noqa: E402
from src.evaluation.report import format_vot_table, score_vot  # noqa: E402
from src.evaluation.results import vot_result_path, write_vot_result  # noqa: E402

IMAGE_SIZES = [(640, 480), (1280, 720), (480, 360), (854, 480), (320, 240), (1024, 768)]


def _corners(cx, cy, w, h, angle):
    c, s = np.cos(angle), np.sin(angle)
    dx = np.stack([-w, w, w, -w], 1) / 2
    dy = np.stack([-h, -h, h, h], 1) / 2
    xs = cx[:, None] + dx * c[:, None] - dy * s[:, None]
    ys = cy[:, None] + dx * s[:, None] + dy * c[:, None]
    return np.round(np.stack([xs, ys], 2).reshape(len(cx), 8), 2)


def _random_walk(rng, n, scale, rho=0.95):
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = rho * x[t - 1] + rng.normal(0, scale)
    return x


def synth_sequence(rng, n, size):
    """Ground-truth polygons of a target moving smoothly inside a (w, h) image."""
    w_img, h_img = size
    side = rng.uniform(0.08, 0.3) * min(size)
    w, h = side * rng.uniform(0.6, 1.6) * np.exp(_random_walk(rng, n, 0.01)), side * np.exp(_random_walk(rng, n, 0.01))
    cx = np.clip(w_img / 2 + np.cumsum(rng.normal(0, 2, n)), w.max() / 2, w_img - w.max() / 2)
    cy = np.clip(h_img / 2 + np.cumsum(rng.normal(0, 2, n)), h.max() / 2, h_img - h.max() / 2)
    angle = _random_walk(rng, n, 0.02)
    return _corners(cx, cy, w, h, angle), (cx, cy, w, h, angle)


def synth_supervised_run(rng, gt_poly, params, size, as_polygon):
    """pysot tools/test.py protocol on a synthetic tracker: 1 / box / 2 / 0 lines."""
    cx, cy, w, h, angle = params
    n = len(cx)
    ex, ey = _random_walk(rng, n, 0.04) * w, _random_walk(rng, n, 0.04) * h
    drift = np.zeros(n)
    for start in rng.choice(n, size=rng.integers(0, 3), replace=False):   # drifts away for a while
        drift[start:start + rng.integers(1, 12)] = rng.uniform(1.5, 3.0)
    px, py = cx + ex + drift * w, cy + ey + drift * h
    pw, ph = w * np.exp(_random_walk(rng, n, 0.03)), h * np.exp(_random_walk(rng, n, 0.03))
    if as_polygon:
        pred = _corners(px, py, pw, ph, angle + _random_walk(rng, n, 0.02))
    else:
        pred = np.stack([px - pw / 2, py - ph / 2, pw, ph], 1)
    overlaps = vot_overlaps(pred, gt_poly, size)
    entries, frame_counter = [], 0
    for idx in range(n):
        if idx == frame_counter:
            entries.append(1)
        elif idx > frame_counter:
            if overlaps[idx] > 0:
                entries.append(pred[idx].tolist())
            else:
                entries.append(2)
                frame_counter = idx + 5
        else:
            entries.append(0)
    return entries


def build(root, n_seq, n_frames, seed):
    rng = np.random.default_rng(seed)
    data_dir, results_dir = os.path.join(root, "VOTSYN"), os.path.join(root, "results", "VOTSYN")
    meta = {}
    for k in range(n_seq):
        name, n = f"seq{k:03d}", int(n_frames + rng.integers(-50, 51))
        size = IMAGE_SIZES[k % len(IMAGE_SIZES)]
        gt, params = synth_sequence(rng, n, size)
        os.makedirs(os.path.join(data_dir, name, "color"))
        cv2.imwrite(os.path.join(data_dir, name, "color", "00000001.jpg"), np.zeros((size[1], size[0], 3), np.uint8))
        meta[name] = {"video_dir": name, "init_rect": [0, 0, 1, 1],
                      "img_names": [f"{name}/color/{t + 1:08d}.jpg" for t in range(n)],
                      "gt_rect": gt.tolist(),
                      **{tag: rng.integers(0, 2, n).tolist() for tag in VOT_TAGS}}
        write_vot_result(vot_result_path(results_dir, "SynTracker", name),
                         synth_supervised_run(rng, gt, params, size, as_polygon=k % 2 == 1))
    with open(os.path.join(data_dir, "VOTSYN.json"), "w") as f:
        json.dump(meta, f)
    return data_dir, results_dir


def time_scoring(sequences=60, frames=350, seed=0, keep=None):
    """Build the synthetic set, then time loading + scoring it.

    Returns (scores, frame count, (synthesis, load, score) seconds).
    """
    root = keep or tempfile.mkdtemp(prefix="score_speed_")
    try:
        t0 = time.perf_counter()
        data_dir, results_dir = build(root, sequences, frames, seed)
        t1 = time.perf_counter()
        dataset = load_dataset("VOTSYN", data_dir)
        _ = [v.image_size for v in dataset]      # first frames, as scoring needs them
        t2 = time.perf_counter()
        scores = score_vot(dataset, results_dir, ["SynTracker"], eao_range=(100, 356, 160))
        t3 = time.perf_counter()
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return scores, sum(len(v) for v in dataset), (t1 - t0, t2 - t1, t3 - t2), len(dataset)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequences", type=int, default=60)
    parser.add_argument("--frames", type=int, default=350, help="mean frames per sequence (+-50)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", default=None, help="write the synthetic set here and keep it")
    args = parser.parse_args()
    scores, frames, (t_synth, t_load, t_score), n_seq = time_scoring(args.sequences, args.frames, args.seed,
                                                                     args.keep)
    print(format_vot_table(scores), end="")
    print(f"{n_seq} sequences, {frames} frames, {scores['SynTracker']['lost_number']:.0f} failures")
    print(f"synthesis + writing: {t_synth:.2f} s (not scored)")
    print(f"load dataset:        {t_load:.2f} s")
    print(f"score A/R + EAO:     {t_score:.2f} s")
    print(f"total scoring time:  {t_load + t_score:.2f} s  (goal < 10 s)")


if __name__ == "__main__":
    main()

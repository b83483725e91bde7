"""Crop speed of ``python -m src.data.prepare``: 1 worker and N workers side by side.

    python benchmarks/prepare_speed.py [--workers N] [--videos 8] [--frames 25] [--keep DIR]

Generates a raw dataset in GOT-10k's layout in a temp dir (JPEG frames with
photo-like file sizes at ImageNet VID's 500x375 and at 1280x720, one moving
box per frame, so crops/s = images/s) and runs
:func:`src.data.prepare.runner.prepare` with the GOT-10k reader on it, with
1 worker (in this process, OpenCV with its own threads; and again with
OpenCV on one thread: the rate of one CPU) and with N workers (default: all
CPUs; OpenCV single-threaded in each). Prints crops/s for both and the hours a full
ImageNet VID train split would take at the measured rates.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from src.data.prepare.got10k import Got10kSource  # noqa: E402
from src.data.prepare.runner import prepare  # noqa: E402

SIZES = [(500, 375), (1280, 720)]
# ImageNet VID train: ~1.1 million boxes (an estimate: 3,862 snippets with ~1.12 M
# frames, about one box per frame after pysot's filters; pysot's readme gives no count)
VID_TRAIN_BOXES = 1.1e6


def photo_like(rng, w, h):
    """Smooth structure plus fine texture: JPEG sizes of real photos (~50-150 KB at 500x375)."""
    base = cv2.resize(rng.integers(0, 256, (h // 24, w // 24, 3)).astype(np.uint8), (w, h),
                      interpolation=cv2.INTER_CUBIC).astype(np.float32)
    return np.clip(base + rng.normal(0, 10, (h, w, 3)), 0, 255).astype(np.uint8)


def make_dataset(root, size, videos, frames, seed=0):
    """GOT-10k train split of one frame size; each sequence cycles through 5 distinct
    images (decoding cost is per file). The mean JPEG size in bytes."""
    rng = np.random.default_rng(seed)
    w, h = size
    images = [cv2.imencode(".jpg", photo_like(rng, w, h), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
              for _ in range(5)]
    names = [f"GOT-10k_Train_{v + 1:06d}" for v in range(videos)]
    for name in names:
        folder = os.path.join(root, "train", name)
        os.makedirs(folder)
        bw, bh = int(rng.uniform(0.1, 0.5) * w), int(rng.uniform(0.1, 0.5) * h)
        x = np.clip(w / 2 - bw / 2 + np.cumsum(rng.normal(0, 3, frames)), 0, w - bw).astype(int)
        y = np.clip(h / 2 - bh / 2 + np.cumsum(rng.normal(0, 3, frames)), 0, h - bh).astype(int)
        with open(os.path.join(folder, "groundtruth.txt"), "w") as fh:
            fh.writelines(f"{a}.0000,{b}.0000,{bw}.0000,{bh}.0000\n" for a, b in zip(x, y))
        for f in range(frames):
            with open(os.path.join(folder, f"{f + 1:08d}.jpg"), "wb") as fh:
                fh.write(images[f % len(images)])
    with open(os.path.join(root, "train", "list.txt"), "w") as fh:
        fh.write("\n".join(names) + "\n")
    return sum(len(b) for b in images) / len(images)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--videos", type=int, default=8, help="sequences per frame size")
    p.add_argument("--frames", type=int, default=25, help="frames per video")
    p.add_argument("--keep", help="generate and crop in this folder and keep it (default: a temp dir)")
    args = p.parse_args()
    root = args.keep or tempfile.mkdtemp(prefix="prepare_speed_")
    os.makedirs(root, exist_ok=True)
    rates = {}
    try:
        print(f"{args.videos} videos x {args.frames} frames per size, 1 box per frame; "
              f"{args.workers} workers = {os.cpu_count()} CPUs" if args.workers == os.cpu_count()
              else f"{args.videos} videos x {args.frames} frames per size; {args.workers} workers")
        print(f"{'frame size':>10} {'JPEG KB':>8} {'1 thread':>12} {'1 worker':>12} "
              f"{f'{args.workers} workers':>12} {'speed-up':>9}")
        for w, h in SIZES:
            raw = os.path.join(root, f"raw_{w}x{h}")
            t0 = time.time()
            kb = make_dataset(raw, (w, h), args.videos, args.frames) / 1024
            gen = time.time() - t0
            row, threads = [], cv2.getNumThreads()
            for name, workers, cv2_threads in (("single", 1, 1), ("one", 1, threads), ("many", args.workers, threads)):
                out = os.path.join(root, f"out_{w}x{h}_{name}")
                shutil.rmtree(out, ignore_errors=True)
                cv2.setNumThreads(cv2_threads)
                s = prepare(Got10kSource(raw, "train"), out, workers=workers, progress=False)
                row.append(s["crops"] / s["seconds"])
            cv2.setNumThreads(threads)
            rates[(w, h)] = row
            print(f"{f'{w}x{h}':>10} {kb:8.0f} {row[0]:10.1f}/s {row[1]:10.1f}/s {row[2]:10.1f}/s "
                  f"{row[2] / row[1]:8.2f}x"
                  f"   (generated in {gen:.1f} s)")
        print(f"ImageNet VID train (~{VID_TRAIN_BOXES / 1e6:.1f} M boxes, an estimate) at these rates:")
        for (w, h), (single, one, many) in rates.items():
            print(f"  all frames {w}x{h}: {VID_TRAIN_BOXES / one / 3600:.1f} h with 1 worker, "
                  f"{VID_TRAIN_BOXES / many / 3600:.1f} h with {args.workers}; "
                  f"~{VID_TRAIN_BOXES / (single * 16) / 60:.0f} min on 16 CPUs (1-thread rate x 16, if it scales)")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

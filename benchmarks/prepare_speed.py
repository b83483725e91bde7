"""Crop speed of ``python -m src.data.prepare``: 1 worker and N workers side by side.

    python benchmarks/prepare_speed.py [--workers N] [--videos 8] [--frames 25] [--keep DIR]

Generates a raw video dataset in a temp dir (JPEG frames with photo-like
file sizes at ImageNet VID's 500x375 and at 1280x720, one moving box per
frame, so crops/s = images/s) and runs :func:`src.data.prepare.runner.prepare`
on it with 1 worker (in this process, OpenCV with its own threads) and with
N workers (default: all CPUs). Prints crops/s for both and the hours a full
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

from src.data.prepare.core import Frame, Obj, Source, Video  # noqa: E402
from src.data.prepare.runner import prepare  # noqa: E402

SIZES = [(500, 375), (1280, 720)]
# ImageNet VID train: ~1.1 million boxes (an estimate: 3,862 snippets with ~1.12 M
# frames, about one box per frame after pysot's filters; pysot's readme gives no count)
VID_TRAIN_BOXES = 1.1e6


class BenchSource(Source):
    """``<src>/<video>/<frame:06d>.jpg`` and ``boxes.npy`` (frames x 4, x1 y1 x2 y2)."""
    name = "bench"

    def list_videos(self):
        return sorted(os.listdir(self.src))

    def load_video(self, key):
        boxes = np.load(os.path.join(self.src, key, "boxes.npy"))
        frames = [Frame(f, os.path.join(self.src, key, f"{f:06d}.jpg"), [Obj(0, [float(v) for v in box])])
                  for f, box in enumerate(boxes)]
        return Video(key, frames)


def photo_like(rng, w, h):
    """Smooth structure plus fine texture: JPEG sizes of real photos (~50-150 KB at 500x375)."""
    base = cv2.resize(rng.integers(0, 256, (h // 24, w // 24, 3)).astype(np.uint8), (w, h),
                      interpolation=cv2.INTER_CUBIC).astype(np.float32)
    return np.clip(base + rng.normal(0, 10, (h, w, 3)), 0, 255).astype(np.uint8)


def make_dataset(root, size, videos, frames, seed=0):
    """Frames of one size; each video cycles through 5 distinct images (decoding cost is per file)."""
    rng = np.random.default_rng(seed)
    w, h = size
    images = [cv2.imencode(".jpg", photo_like(rng, w, h), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
              for _ in range(5)]
    for v in range(videos):
        folder = os.path.join(root, f"video_{v:04d}")
        os.makedirs(folder)
        bw, bh = rng.uniform(0.1, 0.5) * w, rng.uniform(0.1, 0.5) * h
        cx = np.clip(w / 2 + np.cumsum(rng.normal(0, 3, frames)), bw / 2, w - bw / 2)
        cy = np.clip(h / 2 + np.cumsum(rng.normal(0, 3, frames)), bh / 2, h - bh / 2)
        np.save(os.path.join(folder, "boxes.npy"),
                np.round(np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1), 1))
        for f in range(frames):
            with open(os.path.join(folder, f"{f:06d}.jpg"), "wb") as fh:
                fh.write(images[f % len(images)])
    return sum(len(b) for b in images) / len(images)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--videos", type=int, default=8, help="videos per frame size")
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
        print(f"{'frame size':>10} {'JPEG KB':>8} {'1 worker':>12} {f'{args.workers} workers':>12} {'speed-up':>9}")
        for w, h in SIZES:
            raw = os.path.join(root, f"raw_{w}x{h}")
            t0 = time.time()
            kb = make_dataset(raw, (w, h), args.videos, args.frames) / 1024
            gen = time.time() - t0
            row = []
            for workers in (1, args.workers):
                out = os.path.join(root, f"out_{w}x{h}_{workers}")
                shutil.rmtree(out, ignore_errors=True)
                s = prepare(BenchSource(raw, "train"), out, workers=workers, progress=False)
                row.append(s["crops"] / s["seconds"])
            rates[(w, h)] = row
            print(f"{f'{w}x{h}':>10} {kb:8.0f} {row[0]:10.1f}/s {row[1]:10.1f}/s {row[1] / row[0]:8.2f}x"
                  f"   (generated in {gen:.1f} s)")
        print(f"ImageNet VID train (~{VID_TRAIN_BOXES / 1e6:.1f} M boxes, an estimate) at these rates:")
        for (w, h), (one, many) in rates.items():
            print(f"  all frames {w}x{h}: {VID_TRAIN_BOXES / one / 3600:.1f} h with 1 worker, "
                  f"{VID_TRAIN_BOXES / many / 3600:.1f} h with {args.workers}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

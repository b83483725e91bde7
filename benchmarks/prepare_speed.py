"""Crop speed of ``python -m src.data.prepare``: 1 worker and N workers side by side.

    python benchmarks/prepare_speed.py [--workers N] [--videos 8] [--frames 25] [--keep DIR]

Generates a raw dataset in GOT-10k's layout in a temp dir (JPEG frames with
photo-like file sizes at ImageNet VID's 500x375 and at 1280x720, one moving
box per frame, so crops/s = images/s) and runs
:func:`src.data.prepare.runner.prepare` with the GOT-10k reader on it, with
1 worker (in this process, OpenCV with its own threads; and again with
OpenCV on one thread: the rate of one CPU) and with N workers (default: all
CPUs; OpenCV single-threaded in each). When ../shared/golden/data/bag (a real
VOT sequence, 480x360) is there it is a third row: real frames, its polygons
turned into GOT-10k boxes. Prints crops/s, the mean size of a crop511 JPEG, and
what the published box counts of the public training sets would take at the
measured rates (time and disk: estimates, the counts are the datasets' own).
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
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BAG = os.path.join(ROOT, "..", "shared", "golden", "data", "bag")
# boxes in the training splits, as the datasets publish them (before the
# readers' filters, which drop a few per cent): ILSVRC2015 devkit readme
# (VID train 866,870; DET train 478,807 incl. the extra folders), COCO 2017
# instances_train2017 (860,001 objects), YouTube-VOS 2019 train (6,459 objects
# x ~30 annotated frames: an estimate, the frame count is not published)
PUBLISHED_BOXES = {"ImageNet VID train": 866870, "ImageNet DET train": 478807,
                   "COCO train2017": 860001, "YouTube-VOS 2019 train (estimate)": 6459 * 30}


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


def make_real(root, frames_per_video=25):
    """The VOT sequence ``bag`` as a GOT-10k train split: its frames linked, cut into
    sequences of ``frames_per_video`` (workers share out whole videos), polygons ->
    axis-aligned x,y,w,h. Its mean JPEG size in bytes."""
    frames = sorted(f for f in os.listdir(BAG) if f.endswith(".jpg"))
    with open(os.path.join(BAG, "groundtruth.txt")) as fh:
        polygons = [np.array(line.split(","), dtype=np.float64).reshape(-1, 2) for line in fh if line.strip()]
    names = []
    for start in range(0, len(polygons), frames_per_video):
        names.append(f"bag_{start // frames_per_video:03d}")
        folder = os.path.join(root, "train", names[-1])
        os.makedirs(folder)
        with open(os.path.join(folder, "groundtruth.txt"), "w") as fh:
            for i, poly in enumerate(polygons[start:start + frames_per_video]):
                (x1, y1), (x2, y2) = poly.min(axis=0), poly.max(axis=0)
                fh.write(f"{x1:.4f},{y1:.4f},{x2 - x1:.4f},{y2 - y1:.4f}\n")
                os.symlink(os.path.abspath(os.path.join(BAG, frames[start + i])),
                           os.path.join(folder, f"{i + 1:08d}.jpg"))
    with open(os.path.join(root, "train", "list.txt"), "w") as fh:
        fh.write("\n".join(names) + "\n")
    return float(np.mean([os.path.getsize(os.path.join(BAG, f)) for f in frames]))


def mean_crop_kb(out):
    sizes = [os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(out) for f in files
             if f.endswith(".x.jpg")]
    return sum(sizes) / len(sizes) / 1024


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
        print(f"{'frames':>16} {'JPEG KB':>8} {'crop KB':>8} {'1 thread':>12} {'1 worker':>12} "
              f"{f'{args.workers} workers':>12} {'speed-up':>9}")
        rows = [(f"{w}x{h}", (w, h)) for w, h in SIZES]
        if os.path.isdir(BAG):
            rows.append(("real (VOT bag)", None))
        crop_kb = {}
        for label, size in rows:
            raw = os.path.join(root, f"raw_{label.split()[0]}")
            t0 = time.time()
            kb = (make_dataset(raw, size, args.videos, args.frames) if size else make_real(raw)) / 1024
            gen = time.time() - t0
            row, threads = [], cv2.getNumThreads()
            for name, workers, cv2_threads in (("single", 1, 1), ("one", 1, threads), ("many", args.workers, threads)):
                out = os.path.join(root, f"out_{label.split()[0]}_{name}")
                shutil.rmtree(out, ignore_errors=True)
                cv2.setNumThreads(cv2_threads)
                s = prepare(Got10kSource(raw, "train"), out, workers=workers, progress=False)
                row.append(s["crops"] / s["seconds"])
            cv2.setNumThreads(threads)
            rates[label] = row
            crop_kb[label] = mean_crop_kb(out)
            print(f"{label:>16} {kb:8.0f} {crop_kb[label]:8.0f} {row[0]:10.1f}/s {row[1]:10.1f}/s "
                  f"{row[2]:10.1f}/s {row[2] / row[1]:8.2f}x   (generated in {gen:.1f} s)")
        print("published training-set boxes at these rates (estimates: time with "
              f"{args.workers} workers / on 16 CPUs at 16x the 1-thread rate, crop511 disk):")
        for dataset, boxes in PUBLISHED_BOXES.items():
            cells = [f"{label}: {boxes / many / 3600:.1f} h / {boxes / (single * 16) / 60:.0f} min / "
                     f"{boxes * crop_kb[label] / 1024 ** 2:.0f} GB"
                     for label, (single, _, many) in rates.items()]
            print(f"  {dataset} ({boxes:,} boxes): " + "; ".join(cells))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

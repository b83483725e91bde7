"""A tiny GOT-10k in its on-disk format (train: 2 sequences, val: 1).

Corner cases: an absent frame (absence.label 1), a fully occluded one
(cover.label 0), a zero-width box, a box leaving the frame, a box touching
the border, a fractional coordinate (truncated by ``int()``) and a
grayscale-JPEG sequence.
"""
import os

import cv2
import numpy as np


def texture(w, h, seed, gray=False):
    """A smooth random picture (crops of it are worth comparing), (H, W, 3) or (H, W) uint8."""
    rng = np.random.default_rng(seed)
    image = rng.uniform(0, 255, (h, w) if gray else (h, w, 3)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(image, (0, 0), 2.0) * 2 - 128, 0, 255).astype(np.uint8)


def write_sequence(folder, size, lines, absence=None, cover=None, gray=False, seed=0):
    os.makedirs(folder, exist_ok=True)
    for i in range(len(lines)):
        cv2.imwrite(os.path.join(folder, f"{i + 1:08d}.jpg"), texture(*size, seed + i, gray))
    with open(os.path.join(folder, "groundtruth.txt"), "w") as f:
        f.write("".join(line + "\n" for line in lines))
    for name, labels in (("absence.label", absence), ("cover.label", cover)):
        if labels is not None:
            with open(os.path.join(folder, name), "w") as f:
                f.write("".join(f"{v}\n" for v in labels))


# train/GOT-10k_Train_000001, 160x120: (groundtruth line, absence, cover, kept box or drop reason)
SEQ1 = [
    ("30.7000,20.0000,50.0000,40.0000", 0, 8, [30, 20, 80, 60]),     # x truncated to 30
    ("32.0000,22.0000,50.0000,40.0000", 1, 0, "absent"),
    ("34.0000,24.0000,50.0000,40.0000", 0, 0, "occluded"),
    ("36.0000,26.0000,0.0000,40.0000", 0, 8, "invalid"),
    ("130.0000,30.0000,40.0000,30.0000", 0, 8, "outside"),           # x + w = 170 > 160
    ("0.0000,70.0000,60.0000,50.0000", 0, 6, [0, 70, 60, 120]),      # touches left and bottom border
]
# train/GOT-10k_Train_000002, 64x48 grayscale JPEG, every frame kept
SEQ2 = [("10,8,30,20", 0, 8, [10, 8, 40, 28]), ("12,9,30,20", 0, 5, [12, 9, 42, 29]),
        ("14,10,30,20", 0, 1, [14, 10, 44, 30])]
# val/GOT-10k_Val_000001, 80x60
VAL1 = [("20,15,30,25", 0, 8, [20, 15, 50, 40]), ("22,15,30,25", 0, 8, [22, 15, 52, 40])]


def write(root):
    """Write the dataset under ``root``; returns ``{"train"|"val": {key: {"size": (W, H),
    "kept": {frame: box}, "dropped": {reason: n}}}}`` (keys ``<split>/<sequence>``)."""
    layout = {"train": [("GOT-10k_Train_000001", (160, 120), SEQ1, False),
                        ("GOT-10k_Train_000002", (64, 48), SEQ2, True)],
              "val": [("GOT-10k_Val_000001", (80, 60), VAL1, False)]}
    expected = {}
    for split, seqs in layout.items():
        expected[split] = {}
        for n, (name, size, rows, gray) in enumerate(seqs):
            write_sequence(os.path.join(root, split, name), size, [r[0] for r in rows],
                           [r[1] for r in rows], [r[2] for r in rows], gray, seed=10 * n)
            kept = {i: r[3] for i, r in enumerate(rows) if isinstance(r[3], list)}
            dropped = {}
            for r in rows:
                if isinstance(r[3], str):
                    dropped[r[3]] = dropped.get(r[3], 0) + 1
            expected[split][f"{split}/{name}"] = {"size": size, "kept": kept, "dropped": dropped}
        with open(os.path.join(root, split, "list.txt"), "w") as f:
            f.write("".join(name + "\n" for name, *_ in seqs))
    return expected

"""A tiny LaSOT in its on-disk format: airplane-1 (official test set), airplane-2 and
cat-5 (training set; cat-5 grayscale JPEG).

Corner cases: a fully occluded frame, an out-of-view frame, a zero-size box,
a box leaving the frame, a box touching the border.
"""
import os

import cv2

from raw_fixtures.got10k import texture

# (x,y,w,h line, full_occlusion, out_of_view, kept box or drop reason)
AIRPLANE2 = [  # 160x120
    ("40,30,50,40", 0, 0, [40, 30, 90, 70]),
    ("42,30,50,40", 1, 0, "occluded"),
    ("44,30,50,40", 0, 1, "out_of_view"),
    ("0,0,0,0", 0, 0, "invalid"),
    ("120,90,50,40", 0, 0, "outside"),              # x + w = 170 > 160
    ("110,80,50,40", 0, 0, [110, 80, 160, 120]),    # touches right and bottom border
]
CAT5 = [("10,8,30,20", 0, 0, [10, 8, 40, 28]), ("11,9,30,20", 0, 0, [11, 9, 41, 29]),
        ("12,10,30,20", 0, 0, [12, 10, 42, 30])]   # 64x48 grayscale
AIRPLANE1 = [("20,15,30,25", 0, 0, [20, 15, 50, 40]), ("22,15,30,25", 0, 0, [22, 15, 52, 40])]  # 80x60

SEQUENCES = [("airplane", "airplane-1", (80, 60), AIRPLANE1, False, "test"),
             ("airplane", "airplane-2", (160, 120), AIRPLANE2, False, "train"),
             ("cat", "cat-5", (64, 48), CAT5, True, "train")]


def write(root, testing_set=None):
    """Write the dataset under ``root`` (and ``root/testing_set.txt`` listing ``testing_set``
    when given); returns ``{"train"|"test": {key: {"size", "kept": {frame: box}, "dropped"}}}``
    by the official split."""
    expected = {"train": {}, "test": {}}
    for n, (cls, seq, size, rows, gray, split) in enumerate(SEQUENCES):
        folder = os.path.join(root, cls, seq)
        os.makedirs(os.path.join(folder, "img"), exist_ok=True)
        for i in range(len(rows)):
            cv2.imwrite(os.path.join(folder, "img", f"{i + 1:08d}.jpg"), texture(*size, 100 * n + i, gray))
        with open(os.path.join(folder, "groundtruth.txt"), "w") as f:
            f.write("".join(r[0] + "\n" for r in rows))
        for name, col in (("full_occlusion.txt", 1), ("out_of_view.txt", 2)):
            with open(os.path.join(folder, name), "w") as f:
                f.write(",".join(str(r[col]) for r in rows))
        dropped = {}
        for r in rows:
            if isinstance(r[3], str):
                dropped[r[3]] = dropped.get(r[3], 0) + 1
        expected[split][f"{cls}/{seq}"] = {
            "size": size, "kept": {i: r[3] for i, r in enumerate(rows) if isinstance(r[3], list)},
            "dropped": dropped}
    if testing_set is not None:
        with open(os.path.join(root, "testing_set.txt"), "w") as f:
            f.write("\n".join(testing_set))
    return expected

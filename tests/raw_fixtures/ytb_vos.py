"""A tiny YouTube-VOS train set in its on-disk format: meta.json, JPEGImages,
palette-PNG Annotations (pixel value = object id, DAVIS / YouTube-VOS palette).

Corner cases: three objects in one mask; object 4 listed for a frame where
it is absent; object 2 too small (<= 1000 pixels) in one frame and touching
the border in another; a stray 1-pixel speck of object 1 (no contour of 3
points: left out of its box); a grayscale-JPEG video whose second object is
always too small (it gets no track).
"""
import json
import os

import cv2
import numpy as np
from PIL import Image

from raw_fixtures.got10k import texture


def palette():
    """The VOC / DAVIS / YouTube-VOS colour map: id 1 (128, 0, 0), 2 (0, 128, 0), 4 (0, 0, 128), ..."""
    colours = []
    for i in range(256):
        r = g = b = 0
        for bit in range(8):
            r |= ((i >> (3 * bit)) & 1) << (7 - bit)
            g |= ((i >> (3 * bit + 1)) & 1) << (7 - bit)
            b |= ((i >> (3 * bit + 2)) & 1) << (7 - bit)
        colours += [r, g, b]
    return colours


# video -> (W, H, grayscale, {frame: {id: (x, y, w, h) rectangle}}, {id: frames listed in meta.json})
VIDEOS = {
    "0a1b2c3d4e": (160, 120, False, {
        "00000": {1: (20, 20, 40, 30), 4: (90, 60, 36, 32), 2: (120, 5, 20, 20)},
        "00005": {1: (25, 20, 40, 30), 2: (0, 80, 40, 30)},
        "00010": {1: (30, 20, 40, 30), 4: (92, 60, 36, 32)},
    }, {"1": ["00000", "00005", "00010"], "2": ["00000", "00005"], "4": ["00000", "00005", "00010"]}),
    "f9e8d7c6b5": (64, 48, True, {
        "00000": {1: (10, 8, 40, 30), 3: (52, 36, 10, 10)},
        "00005": {1: (12, 9, 40, 30), 3: (52, 36, 10, 10)},
    }, {"1": ["00000", "00005"], "3": ["00000", "00005"]}),
}
SPECK = ("0a1b2c3d4e", "00000", 1, (150, 110))   # one stray pixel of object 1

# what SiamMask's scripts make of it: track = rank of the id's grey level
# (cv2.imread(png, 0)): id 4 -> 14, id 1 -> 38, id 2 -> 75
TRACKS = {"train/0a1b2c3d4e": {4: 0, 1: 1, 2: 2}, "train/f9e8d7c6b5": {1: 0}}
DROPPED = {"train/0a1b2c3d4e": {"small": 1, "absent": 1}, "train/f9e8d7c6b5": {"small": 2}}


def label(video, frame):
    """The (H, W) id image of ``frame``."""
    w, h, _, frames, _ = VIDEOS[video]
    ids = np.zeros((h, w), np.uint8)
    for i, (x, y, bw, bh) in frames[frame].items():
        ids[y:y + bh, x:x + bw] = i
    if (video, frame) == SPECK[:2]:
        ids[SPECK[3][1], SPECK[3][0]] = SPECK[2]
    return ids


def write(root, videos=None):
    """Write ``root/train/{meta.json, JPEGImages, Annotations}`` (``videos``: a subset of
    :data:`VIDEOS`); returns the expected index ``{key: {track: {frame6: [x1, y1, x2, y2]}}}``."""
    data = os.path.join(root, "train")
    meta = {"videos": {}}
    expected = {}
    for n, video in enumerate(videos or VIDEOS):
        w, h, gray, frames, listed = VIDEOS[video]
        for sub in ("JPEGImages", "Annotations"):
            os.makedirs(os.path.join(data, sub, video), exist_ok=True)
        for k, frame in enumerate(frames):
            cv2.imwrite(os.path.join(data, "JPEGImages", video, frame + ".jpg"), texture(w, h, 10 * n + k, gray))
            png = Image.fromarray(label(video, frame), mode="P")
            png.putpalette(palette())
            png.save(os.path.join(data, "Annotations", video, frame + ".png"))
            for i, (x, y, bw, bh) in frames[frame].items():
                if bw * bh > 1000:
                    track = TRACKS[f"train/{video}"][i]
                    expected.setdefault(f"train/{video}", {}).setdefault(f"{track:02d}", {})[
                        f"{int(frame):06d}"] = [x, y, x + bw, y + bh]
        meta["videos"][video] = {"objects": {i: {"category": "thing", "frames": f} for i, f in listed.items()}}
    with open(os.path.join(data, "meta.json"), "w") as f:
        json.dump(meta, f)
    return expected

"""A tiny ImageNet VID (ILSVRC2015) in its on-disk format: ``write(root)`` -> the ``ILSVRC2015`` folder.

Corner cases (what pysot's gen_json.py keeps is in tests/test_prepare_vid_det.py):

* train_0000 video: three tracks; track 01 leaves at frame 2 and comes back
  (two pieces: pysot keeps only the last), track 02 is seen in one frame only
  (isolated), track 00 touches the left border (frame 2) and the right and
  bottom borders (frame 5);
* train_0001 video 00010000: grayscale JPEGs, a frame without objects, track
  ids 0 and 3, a zero-width box inside a track;
* train_0001 video 00010001: only isolated frames (nothing survives);
* one val video.
"""
import os

import cv2
import numpy as np

# video path below Annotations/VID/<split> -> (width, height, grayscale, frames);
# a frame is a list of (trackid, [xmin, ymin, xmax, ymax])
TRAIN = {
    "ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000": (96, 64, False, [
        [(0, [10, 12, 40, 44]), (1, [50, 8, 80, 30])],
        [(0, [12, 12, 42, 44]), (1, [52, 8, 82, 30])],
        [(0, [0, 14, 30, 46])],
        [(0, [14, 14, 44, 46]), (1, [56, 10, 86, 32])],
        [(0, [16, 14, 46, 46]), (1, [58, 10, 88, 32])],
        [(0, [60, 30, 95, 63]), (2, [20, 40, 40, 60])],
    ]),
    "ILSVRC2015_VID_train_0001/ILSVRC2015_train_00010000": (80, 60, True, [
        [],
        [(0, [10, 10, 30, 40]), (3, [40, 20, 70, 50])],
        [(0, [20, 10, 20, 40]), (3, [42, 20, 72, 50])],
        [(0, [14, 10, 34, 40])],
    ]),
    "ILSVRC2015_VID_train_0001/ILSVRC2015_train_00010001": (64, 48, False, [
        [(0, [5, 5, 30, 30])],
        [(1, [20, 10, 50, 40])],
    ]),
}
VAL = {
    "ILSVRC2015_val_00000000": (96, 64, False, [
        [(0, [30, 20, 60, 50])],
        [(0, [32, 20, 62, 50])],
        [(0, [34, 22, 64, 52])],
    ]),
}
SYNSET = "n02084071"


def image(width, height, seed, gray=False):
    """A smooth, textured picture (little JPEG noise, but every crop position looks different)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    planes = [128 + 60 * np.sin(x / (2 + c) + seed) * np.cos(y / (2.5 + c) - seed) + 0.5 * (x - y)
              for c in range(3)]
    picture = np.clip(np.stack(planes, axis=-1), 0, 255).astype(np.uint8)
    return cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY) if gray else picture


def frame_xml(folder, number, width, height, objects):
    """One VID annotation as ILSVRC2015 writes it (tab-indented, bndbox as xmax, xmin, ymax, ymin)."""
    parts = [f"<annotation>\n\t<folder>{folder}</folder>\n\t<filename>{number:06d}</filename>\n"
             f"\t<source>\n\t\t<database>ILSVRC_2015</database>\n\t</source>\n"
             f"\t<size>\n\t\t<width>{width}</width>\n\t\t<height>{height}</height>\n\t</size>\n"]
    for track, (x1, y1, x2, y2) in objects:
        parts.append(f"\t<object>\n\t\t<trackid>{track}</trackid>\n\t\t<name>{SYNSET}</name>\n"
                     f"\t\t<bndbox>\n\t\t\t<xmax>{x2}</xmax>\n\t\t\t<xmin>{x1}</xmin>\n"
                     f"\t\t\t<ymax>{y2}</ymax>\n\t\t\t<ymin>{y1}</ymin>\n\t\t</bndbox>\n"
                     f"\t\t<occluded>0</occluded>\n\t\t<generated>0</generated>\n\t</object>\n")
    parts.append("</annotation>\n")
    return "".join(parts)


def write_video(src, split, video, spec, seed):
    width, height, gray, frames = spec
    ann = os.path.join(src, "Annotations", "VID", split, video)
    data = os.path.join(src, "Data", "VID", split, video)
    os.makedirs(ann, exist_ok=True)
    os.makedirs(data, exist_ok=True)
    for number, objects in enumerate(frames):
        with open(os.path.join(ann, f"{number:06d}.xml"), "w") as f:
            f.write(frame_xml(video, number, width, height, objects))
        cv2.imwrite(os.path.join(data, f"{number:06d}.JPEG"), image(width, height, seed + number, gray))


def write(root):
    """Write the dataset under ``root/ILSVRC2015``; returns that folder (``--src``)."""
    src = os.path.join(str(root), "ILSVRC2015")
    for split, videos in (("train", TRAIN), ("val", VAL)):
        for i, (video, spec) in enumerate(videos.items()):
            write_video(src, split, video, spec, seed=10 * i)
    return src

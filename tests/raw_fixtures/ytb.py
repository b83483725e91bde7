"""A tiny YouTube-BoundingBoxes in its on-disk format: ``write(root)`` -> what pysot's yt_bb folder holds.

``yt_bb_detection_<split>.csv`` (no header, as Google's file) and one frame
per CSV line, ``yt_bb_detection_<split>/<class_id>/<youtube_id>_<ms>_<class_id>_<object_id>.jpg``
(youtube-bb-utility's names). Corner cases:

* one YouTube id with objects of two classes (two videos), two objects in
  one video, an object absent for a second (coordinates -1, as in the CSV);
* a line whose frame was not downloaded, a zero-width box, a box with
  xmax < xmin, a negative coordinate, a box touching the right and bottom borders;
* two lines of one object in the same second (7000 and 7500 ms: the later
  one is kept); 4:3 and 16:9 frames of different sizes.
"""
import os

import cv2

from .coco import texture

D_SETS = {"train": "yt_bb_detection_train", "val": "yt_bb_detection_validation"}
COLUMNS = "youtube_id,timestamp_ms,class_id,class_name,object_id,object_presence,xmin,xmax,ymin,ymax"

# (youtube_id, class_id, class_name, width, height) -> lines (ms, object_id, presence, xmin, xmax, ymin, ymax)
VIDEOS = {
    ("AAB6lO-XiKE", 0, "person", 160, 90): [
        (0, 0, "present", 0.1, 0.4, 0.2, 0.9),
        (0, 1, "present", 0.5, 0.7, 0.1, 0.5),
        (1000, 0, "present", 0.15, 0.45, 0.2, 0.9),
        (1000, 1, "present", 0.55, 0.75, 0.1, 0.5),
        (2000, 0, "absent", -1.0, -1.0, -1.0, -1.0),
        (2000, 1, "present", 0.6, 0.8, 0.15, 0.55),     # frame not downloaded
        (3000, 0, "present", 0.2, 0.5, 0.25, 0.95),
        (3000, 1, "present", 0.7, 1.0, 0.5, 1.0),       # touches the right and bottom borders
    ],
    ("AAB6lO-XiKE", 22, "dog", 160, 90): [
        (5000, 0, "present", 0.3, 0.6, 0.3, 0.8),
        (6000, 0, "present", 0.3, 0.3, 0.3, 0.8),       # zero width
        (7000, 0, "present", 0.2, 0.5, 0.3, 0.8),
        (7500, 0, "present", 0.25, 0.55, 0.35, 0.85),   # same second as 7000: replaces it
    ],
    ("b_Z9-Qx1y2w", 3, "bird", 96, 72): [
        (12000, 0, "present", 0.2, 0.6, 0.1, 0.7),
        (13000, 0, "present", 0.7, 0.4, 0.1, 0.7),       # xmax < xmin
        (14000, 0, "present", 0.25, 0.65, 0.15, 0.75),
        (15000, 0, "present", -0.05, 0.3, 0.1, 0.7),    # a negative coordinate (pysot drops it)
    ],
}
NOT_DOWNLOADED = {("AAB6lO-XiKE", 2000, 0, 1)}   # (youtube_id, ms, class_id, object_id)


def frame_file(root, split, youtube_id, ms, class_id, object_id):
    return os.path.join(root, D_SETS[split], str(class_id), f"{youtube_id}_{ms}_{class_id}_{object_id}.jpg")


def write(root, split="train", header=False, videos=None):
    """Write the dataset under ``root``; returns what the tests compare with.

    ``{"csv": path, "index": {key: {track: {frame: [x1, y1, x2, y2]}}}`` (pysot's
    kept boxes, in pixels), ``"images": {(key, track, frame): frame file}``,
    ``"dropped": {reason: n}``. ``header`` writes the column names as line 1
    (Google's file has none).
    """
    videos = VIDEOS if videos is None else videos
    d_set = D_SETS[split]
    os.makedirs(root, exist_ok=True)
    lines = [COLUMNS] if header else []
    index, images, dropped = {}, {}, {}
    for n, ((youtube_id, class_id, class_name, width, height), rows) in enumerate(videos.items()):
        key = f"{d_set}/{class_id}/{youtube_id}"
        for i, (ms, obj, presence, xmin, xmax, ymin, ymax) in enumerate(rows):
            lines.append(f"{youtube_id},{ms},{class_id},{class_name},{obj},{presence},{xmin},{xmax},{ymin},{ymax}")
            path = frame_file(root, split, youtube_id, ms, class_id, obj)
            # youtube-bb-utility cuts a frame for every line, absent objects included
            if (youtube_id, ms, class_id, obj) not in NOT_DOWNLOADED:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                cv2.imwrite(path, texture(width, height, seed=100 * n + i))
            reason = ("absent" if presence == "absent"
                      else "negative coordinate" if min(xmin, xmax, ymin, ymax) < 0
                      else "invalid box" if xmax <= xmin or ymax <= ymin
                      else "missing frame" if (youtube_id, ms, class_id, obj) in NOT_DOWNLOADED else None)
            if reason:
                dropped[reason] = dropped.get(reason, 0) + 1
                continue
            track, frame = f"{obj:02d}", f"{ms // 1000:06d}"
            if frame in index.get(key, {}).get(track, {}):
                dropped["same second"] = dropped.get("same second", 0) + 1
            index.setdefault(key, {}).setdefault(track, {})[frame] = [
                xmin * width, ymin * height, xmax * width, ymax * height]
            images[(key, track, frame)] = path
    csv_path = os.path.join(root, d_set + ".csv")
    with open(csv_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return {"root": root, "csv": csv_path, "index": index, "images": images, "dropped": dropped}

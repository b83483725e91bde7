"""YouTube-BoundingBoxes for ``python -m src.data.prepare ytb``.

Raw layout (``--src`` is the folder pysot's ``training_dataset/yt_bb`` readme
works in: the CSVs from research.google.com/youtube-bb, unzipped or not, and
the frames that youtube-bb-utility's ``download_detection.py`` cuts)::

    yt_bb_detection_train.csv[.gz]        (split train; val: yt_bb_detection_validation)
    yt_bb_detection_train/<class_id>/<youtube_id>_<timestamp_ms>_<class_id>_<object_id>.jpg

The CSV has no header (pysot reads it with ``header=None``; a header line
with the column names is skipped all the same) and one line per object and
annotated second: youtube_id, timestamp_ms, class_id, class_name, object_id,
object_presence ('present' / 'absent'), xmin, xmax, ymin, ymax, the box as
fractions of the frame size. Every line has its own frame file, also when two
objects share a timestamp.

What pysot's ``par_crop.py`` / ``gen_json.py`` make of it, and how it is done here:

* a video is a (class_id, youtube_id) pair: key ``yt_bb_detection_train/<class_id>/<youtube_id>``
  (pysot's key is the same path with a leading ``./``, from its ``dl_dir='.'``;
  the loader joins either with the crop folder to the same path);
* track ``'%02d' % object_id``; frame number ``timestamp_ms // 1000`` (the
  second: Python 2 integer division in par_crop.py, ``'%06d' % (ms / 1000)``
  in gen_json.py). Two lines of one object in the same second write the same
  crop; the later one wins there, as here ("same second");
* dropped: absent objects ("absent"); a negative coordinate
  ("negative coordinate") or x2 < x1 / y2 < y1 ("invalid box", with the
  zero-size boxes that pysot's loader drops, as ours); a line whose frame
  file is missing ("missing frame": pysot skips it, so do we);
* the box is the fractions times the frame's width / height. pysot's crops are
  made with these pixel boxes, but its gen_json.py writes the *fractions*
  into train.json: a bug (the loader takes only the box's aspect ratio from
  the index, and fractions distort it by H / W, 16:9 -> 0.56). Here the index
  holds the pixel boxes the crops were made with, like every other dataset:
  ``core.crop_video`` crops and indexes one box, so pysot's mismatch cannot
  be reproduced without a second box in the index;
* pysot trains YouTube-BB with ``frame_range`` 3 (one annotation a second).

The CSV (about 6 M lines for train) is parsed once in ``list_videos``, into
numpy columns that forked workers share without copying; ``load_video``
reads only the frame files' headers for their size.
"""
import csv
import gzip
import io
import math
import os
from array import array
from collections import Counter

import numpy as np
from PIL import Image

from src.data.prepare.core import Frame, Obj, PrepareError, Source, Video, box_invalid
from src.image_io import ImageError, read_image

D_SETS = {"train": "yt_bb_detection_train", "val": "yt_bb_detection_validation"}
COLUMNS = ("youtube_id", "timestamp_ms", "class_id", "class_name", "object_id",
           "object_presence", "xmin", "xmax", "ymin", "ymax")
PRESENCE = {"present": 1, "absent": 0}
EXIF_ORIENTATION = 0x0112
ARRAY_DTYPES = {"q": np.int64, "b": np.int8, "d": np.float64}
TRANSPOSED = (5, 6, 7, 8)   # EXIF orientations cv2.imread turns by 90 degrees


def open_text(path):
    """The CSV as text lines (.gz decompressed on the fly)."""
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, "r", encoding="utf-8", newline="")


def frame_size(path):
    """(width, height) of the frame as ``cv2.imread`` decodes it, from the file header.

    Only the header is read (the crop decodes the image once more); EXIF
    orientations 5-8 swap the sides because cv2 applies them. A header Pillow
    cannot read falls back to decoding, as pysot does (cv2.imread).
    """
    try:
        with Image.open(path) as image:
            width, height = image.size
            if image.getexif().get(EXIF_ORIENTATION, 1) in TRANSPOSED:
                width, height = height, width
            return width, height
    except Exception:  # noqa: BLE001  (PIL raises OSError, SyntaxError, ValueError, ...)
        height, width = read_image(path).shape[:2]
        return width, height


class YtbSource(Source):
    name = "ytb"
    unit = "video"

    def __init__(self, src, split):
        super().__init__(src, split)
        self.d_set = D_SETS[split]
        self.frame_dir = os.path.join(src, self.d_set)
        self._parsed = None

    # --- CSV (main process) ---------------------------------------------------

    def csv_path(self):
        for path in (os.path.join(self.src, self.d_set + ".csv"), os.path.join(self.src, self.d_set + ".csv.gz")):
            if os.path.isfile(path):
                return path
        raise PrepareError(f"ytb: annotation file not found: {os.path.join(self.src, self.d_set + '.csv')} "
                           f"(or .csv.gz)")

    def _parse_line(self, row, path, line):
        if len(row) != len(COLUMNS):
            raise PrepareError(f"{path}:{line}: expected {len(COLUMNS)} comma-separated fields "
                               f"({', '.join(COLUMNS)}), got {len(row)}")
        youtube_id, ms, class_id, _, object_id, presence = (v.strip() for v in row[:6])
        try:
            ms, class_id, object_id = int(ms), int(class_id), int(object_id)
        except ValueError:
            raise PrepareError(f"{path}:{line}: timestamp_ms, class_id and object_id must be integers, "
                               f"got {row[1]!r}, {row[2]!r}, {row[4]!r}") from None
        if ms < 0 or class_id < 0 or object_id < 0 or not youtube_id or "/" in youtube_id:
            raise PrepareError(f"{path}:{line}: bad youtube_id / timestamp_ms / class_id / object_id: "
                               f"{','.join(row[:5])}")
        if presence not in PRESENCE:
            raise PrepareError(f"{path}:{line}: object_presence must be 'present' or 'absent', got {row[5]!r}")
        try:
            coords = [float(v) for v in row[6:]]
        except ValueError:
            coords = []
        if len(coords) != 4 or not all(map(math.isfinite, coords)):
            raise PrepareError(f"{path}:{line}: xmin, xmax, ymin, ymax must be numbers, got {','.join(row[6:])}")
        return f"{self.d_set}/{class_id}/{youtube_id}", ms, object_id, PRESENCE[presence], coords

    def _parse(self):
        """{video key: slice of its CSV lines in ``self._columns``}; PrepareError naming file:line."""
        if self._parsed is not None:
            return self._parsed
        path = self.csv_path()
        if not os.path.isdir(self.frame_dir):
            raise PrepareError(f"ytb: frame folder not found: {self.frame_dir}")
        keys = {}
        # flat typed columns: a Python object per field would cost GBs for the 6 M lines of train
        cols = {"video": array("q"), "ms": array("q"), "object": array("q"), "present": array("b"),
                "coords": array("d")}
        try:
            with open_text(path) as f:
                for line, row in enumerate(csv.reader(f), 1):
                    if not row or (line == 1 and tuple(v.strip() for v in row) == COLUMNS):
                        continue
                    key, ms, object_id, present, coords = self._parse_line(row, path, line)
                    cols["video"].append(keys.setdefault(key, len(keys)))
                    cols["ms"].append(ms)
                    cols["object"].append(object_id)
                    cols["present"].append(present)
                    cols["coords"].extend(coords)
        except (OSError, EOFError, UnicodeDecodeError, csv.Error) as e:
            raise PrepareError(f"{path}: unreadable CSV: {e}") from None
        if not keys:
            raise PrepareError(f"{path}: no annotation line")
        video = np.frombuffer(cols.pop("video"), dtype=np.int64)
        order = np.argsort(video, kind="stable")     # each video's rows together, in file order
        bounds = np.searchsorted(video[order], np.arange(len(keys) + 1))
        columns = {name: np.frombuffer(col, dtype=ARRAY_DTYPES[col.typecode]) for name, col in cols.items()}
        columns["coords"] = columns["coords"].reshape(-1, 4)
        self._columns = {name: col[order] for name, col in columns.items()}
        self._parsed = {key: slice(int(bounds[i]), int(bounds[i + 1])) for key, i in keys.items()}
        return self._parsed

    def list_videos(self):
        return sorted(self._parse())

    # --- one video (worker) -----------------------------------------------------

    def frame_path(self, key, ms, object_id):
        """youtube-bb-utility's file name of one CSV line's frame (pysot par_crop.py looks for it)."""
        _, class_id, youtube_id = key.split("/")
        return os.path.join(self.frame_dir, class_id, f"{youtube_id}_{ms}_{class_id}_{object_id}.jpg")

    def load_video(self, key):
        rows = self._parse()[key]
        c = {name: column[rows] for name, column in self._columns.items()}
        video = Video(key, dropped=Counter())
        kept = {}   # (track, frame) -> Frame; a later line of the same second replaces it
        for ms, track, present, (xmin, xmax, ymin, ymax) in zip(c["ms"].tolist(), c["object"].tolist(),
                                                                 c["present"].tolist(), c["coords"].tolist()):
            if not present:
                video.dropped["absent"] += 1
                continue
            if min(xmin, xmax, ymin, ymax) < 0:
                video.dropped["negative coordinate"] += 1
                continue
            if box_invalid([xmin, ymin, xmax, ymax]):
                video.dropped["invalid box"] += 1
                continue
            path = self.frame_path(key, ms, track)
            if not os.path.isfile(path):
                video.dropped["missing frame"] += 1
                continue
            try:
                width, height = frame_size(path)
                box = [xmin * width, ymin * height, xmax * width, ymax * height]
            except ImageError:
                box = None      # unreadable: crop_video's read_image fails the same way and lists it as corrupt
            frame = ms // 1000
            if (track, frame) in kept:
                video.dropped["same second"] += 1
            kept[(track, frame)] = Frame(frame, path, [Obj(track, box)])
        video.frames = [kept[k] for k in sorted(kept, key=lambda k: (k[1], k[0]))]
        return video


SOURCE = YtbSource

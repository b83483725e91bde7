"""What every dataset reader of ``python -m src.data.prepare`` shares: the
description of one video, the reader interface, and the crop of one video.

A public dataset becomes pysot's / SiamMask's ``crop511`` layout in two steps,
as their ``par_crop.py`` + ``gen_json.py`` do, but in one pass:

1. a :class:`Source` (one module per dataset: ``vid.py``, ``coco.py``, ...)
   lists the videos (an image of COCO / DET is a one-frame video) and turns
   each into a :class:`Video`: frames, the boxes of their objects in
   original-image pixels, and the boxes dropped by the dataset's
   ``gen_json.py`` filters, counted by reason;
2. :func:`crop_video` writes every kept object as
   ``<out>/crop511/<video>/<frame:06d>.<track:02d>.x.jpg`` (and ``.m.png`` for
   sources with masks) and returns the video's index entry
   ``{track: {frame: [x1, y1, x2, y2]}}``.

Filtering happens before cropping (pysot crops everything and filters when
building the index): a dropped box never costs a crop, and the folder holds
exactly what the index lists. ``src/data/prepare/runner.py`` runs step 2 over
many processes, records finished videos for resuming and writes the index.
"""
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, List

import cv2
import numpy as np

from src.crop_geometry import CONTEXT_AMOUNT, CROP511_SIZE, EXEMPLAR_SIZE
from src.data.crop import crop_like_siamfc
from src.image_io import ImageError, read_image

INSTANCE_SIZE = CROP511_SIZE     # the default crop side (pysot / SiamMask par_crop.py: crop511)
# SiamMask par_crop.py: the 0/1 mask is warped like the image (bilinear,
# padding 0), thresholded and written as 0/255; the threshold is 0.2 in
# ytb_vos/par_crop.py, 0.5 in coco/par_crop.py (Source.mask_threshold)
MASK_THRESHOLD = 0.2
JPEG_QUALITY = 95       # cv2.imwrite's default, what pysot's crops were written with


class PrepareError(Exception):
    """Bad input (missing file, malformed annotation line, bad option): the
    message is one line naming the file (and line / entry)."""


@dataclass
class Obj:
    """One annotated object of a frame."""
    track: int          # track id: crop name '<frame:06d>.<track:02d>' and index key '<track:02d>'
    box: List[float]    # [x1, y1, x2, y2] in original-image pixels, as the index stores it
    mask: Any = None    # what Source.read_mask needs to build this object's mask (sources with masks)


@dataclass
class Frame:
    frame: int          # frame number in the crop name and index key
    image: str          # path of the source image
    objects: List[Obj] = field(default_factory=list)
    mask: Any = None    # a per-frame mask handle (e.g. YouTube-VOS's palette PNG path)


@dataclass
class Video:
    key: str            # index key and crop sub-folder, e.g. 'ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000'
    frames: List[Frame] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)   # filter reason -> boxes dropped
    # unreadable annotation files met while loading (e.g. a corrupt YouTube-VOS mask PNG): their
    # frames are left out and the messages join the record's "corrupt" list, as corrupt images do
    corrupt: List[str] = field(default_factory=list)


class Source:
    """One public dataset in its raw on-disk format (subclass per dataset).

    ``list_videos`` runs in the main process before any crop is made, so it is
    where a missing folder or annotation file, or a malformed single-file
    annotation (COCO JSON, YouTube-BB CSV, YouTube-VOS meta.json), is found:
    raise :class:`PrepareError` naming the file (and line). ``load_video``
    runs in the worker processes (forked: they share what ``list_videos``
    parsed); per-video annotation files (VID XML) are parsed there and a
    malformed one is a :class:`PrepareError` naming it too.
    """
    name = ""               # CLI name: vid, ytb, coco, det, ytb_vos, got10k, lasot
    has_mask = False        # writes <frame>.<track>.m.png beside each crop
    unit = "video"          # progress-bar unit ('image' for COCO / DET)
    options = {}            # reader options that change the output (non-default ones only; in the journal header)
    splits = ("train", "val")
    mask_threshold = MASK_THRESHOLD     # crop_mask's threshold for this dataset's masks

    def __init__(self, src, split):
        if split not in self.splits:
            raise PrepareError(f"{self.name}: no split '{split}' (choose from {', '.join(self.splits)})")
        if not os.path.isdir(src):
            raise PrepareError(f"{self.name}: source folder not found: {src}")
        self.src = src
        self.split = split

    def index_name(self):
        """File name of the index JSON in the output folder (pysot's name for this dataset)."""
        return f"{self.split}.json"

    def list_videos(self):
        """Video keys of the split, in a fixed order (this order is the index's)."""
        raise NotImplementedError

    def load_video(self, key):
        """The :class:`Video` of ``key``, its boxes already filtered."""
        raise NotImplementedError

    def read_mask(self, frame, obj, shape):
        """0/1 mask (H, W) of ``obj`` in ``frame`` (image ``shape`` = (H, W)); raises ImageError when unreadable."""
        raise NotImplementedError


def crop_name(frame, track):
    return f"{frame:06d}.{track:02d}"


def write_image_atomic(path, image, ext):
    """Encode ``image`` and move it to ``path`` in one rename: a kill leaves the
    old file or none, never a half-written crop that looks complete."""
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if ext == ".jpg" else []
    ok, data = cv2.imencode(ext, image, params)
    if not ok:
        raise PrepareError(f"could not encode {path}")
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data.tobytes())
    os.replace(tmp, path)


def crop_mask(mask, box, instance_size=INSTANCE_SIZE, threshold=MASK_THRESHOLD):
    """SiamMask's mask crop: the 0/1 mask warped like the image, thresholded, 0/255 uint8."""
    warped = crop_like_siamfc(mask.astype(np.float32), box, instance_size, padding=0,
                              context_amount=CONTEXT_AMOUNT, exemplar_size=EXEMPLAR_SIZE)
    return ((warped > threshold) * 255).astype(np.uint8)


def crop_video(source, key, crop_root, instance_size=INSTANCE_SIZE):
    """Crop every object of video ``key``; the video's record for the runner.

    Returns ``{"video", "tracks": {track: {frame: box}}, "dropped": {reason: n},
    "corrupt": [message], "crops": n}``. An unreadable image (or mask, or per-frame annotation
    file the source met in ``load_video``) is skipped and listed in ``corrupt``; its boxes are
    left out of the index.
    """
    video = source.load_video(key)
    out_dir = os.path.join(crop_root, video.key)
    tracks, corrupt, crops = {}, list(video.corrupt), 0
    for frame in video.frames:
        if not frame.objects:
            continue
        try:
            image = read_image(frame.image)    # 3-channel BGR, also for grayscale files (as cv2.imread)
        except ImageError as e:
            corrupt.append(str(e))
            continue
        # pysot par_crop.py: padding with the image's mean colour. cv2.mean, not
        # pysot's np.mean(axis=(0, 1)): same value (float64 sums) at 1/25 of the
        # time, which was 3/4 of a 1280x720 frame's cost.
        avg_chans = tuple(float(v) for v in cv2.mean(image)[:3])
        for obj in frame.objects:
            name = os.path.join(out_dir, crop_name(frame.frame, obj.track))
            if not crops:   # only videos with a crop get a folder
                os.makedirs(out_dir, exist_ok=True)
            if source.has_mask:
                try:
                    mask = source.read_mask(frame, obj, image.shape[:2])
                except ImageError as e:
                    corrupt.append(str(e))
                    continue
            x = crop_like_siamfc(image, obj.box, instance_size, padding=avg_chans,
                                 context_amount=CONTEXT_AMOUNT, exemplar_size=EXEMPLAR_SIZE)
            write_image_atomic(name + ".x.jpg", x, ".jpg")
            if source.has_mask:
                m = crop_mask(mask, obj.box, instance_size, source.mask_threshold)
                write_image_atomic(name + ".m.png", m, ".png")
            tracks.setdefault(f"{obj.track:02d}", {})[f"{frame.frame:06d}"] = [
                float(v) if isinstance(v, float) else int(v) for v in obj.box]
            crops += 1
    return {"video": video.key, "tracks": tracks, "dropped": dict(video.dropped),
            "corrupt": corrupt, "crops": crops}


# --- filters shared by several gen_json.py ---------------------------------

def box_invalid(box):
    """pysot gen_json: boxes with zero / negative width or height are dropped."""
    return not (box[2] > box[0] and box[3] > box[1])

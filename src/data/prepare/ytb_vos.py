"""YouTube-VOS 2018 / 2019 (train) with masks, as SiamMask's ``data/ytb_vos``.

Raw layout::

    <src>/train/meta.json                       {"videos": {video: {"objects": {id: {"frames": [...]}}}}}
    <src>/train/JPEGImages/<video>/<frame>.jpg
    <src>/train/Annotations/<video>/<frame>.png  palette PNG: pixel value = object id, 0 = background

What SiamMask's ``parse_ytb_vos.py`` + ``gen_json.py`` + ``par_crop.py`` do,
and so do we:

* the frames of a video are the union of its objects' ``frames`` in
  meta.json; the objects of a frame are the ids found in its mask (not the
  meta.json lists: an object listed for a frame but absent from its mask
  gets no box there, counted as ``absent``);
* an object in a frame is kept when it has more than 1000 pixels and at
  least one outer contour of 3 or more points (``cv2.findContours``,
  ``RETR_EXTERNAL``, ``CHAIN_APPROX_NONE``); its box spans those contours:
  ``[xmin, ymin, xmax + 1, ymax + 1]`` (SiamMask stores ``w = xmax - xmin + 1``
  and gen_json adds x to it);
* track ``i`` is the ``i``-th object of the video that is kept somewhere,
  in SiamMask's order (see :func:`_siammask_order`), not the object id;
* frame ``00005`` becomes ``000005``; the index key is ``train/<video>`` and
  the crops go to ``crop511/train/<video>``; the index is ``train.json``;
* SiamMask's ``train`` is the first 3000 videos of meta.json (the rest went to
  an ``instances_val.json`` that gen_json never reads): split ``val`` is
  that rest, indexed as ``val.json``.
"""
import functools
import io
import os
from collections import Counter

import cv2
import numpy as np

from src.data.prepare.core import Frame, Obj, PrepareError, Source, Video
from src.image_io import ImageError, check_image_bytes
from src.utils import read_json

MIN_PIXELS = 1000        # parse_ytb_vos.py: pixelCount > 1000
MIN_CONTOUR_POINTS = 3   # parse_ytb_vos.py: contours with len(flat coordinates) > 4
TRAIN_VIDEOS = 3000      # parse_ytb_vos.py: items[:3000] -> instances_train.json


def read_label(path):
    """The object ids (H, W) uint8 of a YouTube-VOS annotation PNG, and its palette (or None).

    Pillow gives the palette indices of a mode 'P' PNG, which are the ids;
    ``cv2.imread`` would turn them into colours. Raises ImageError.
    """
    from PIL import Image
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ImageError(f"unreadable mask {path}: {e.strerror or e}") from None
    reason = check_image_bytes(data)
    if reason:
        raise ImageError(f"corrupt mask {path}: {reason}")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.mode not in ("P", "L"):
                raise ImageError(f"mask {path} is not a palette PNG (mode {image.mode})")
            palette = image.getpalette() if image.mode == "P" else None
            return np.array(image, dtype=np.uint8), palette
    except ImageError:
        raise
    except Exception as e:  # noqa: BLE001  (PIL raises OSError, SyntaxError, ValueError, ...)
        raise ImageError(f"corrupt mask {path}: {e}") from None


@functools.lru_cache(maxsize=16)
def _gray_of_ids(palette):
    """What ``cv2.imread(png, 0)`` reads for each palette index (256 values)."""
    from PIL import Image
    strip = Image.fromarray(np.arange(256, dtype=np.uint8)[None], mode="P")
    strip.putpalette(list(palette))
    buf = io.BytesIO()
    strip.save(buf, format="PNG")
    gray = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)
    return tuple(int(v) for v in gray[0])


def _siammask_order(ids, palette):
    """Object ids in SiamMask's track order.

    SiamMask reads the mask with ``cv2.imread(png, 0)``: a palette PNG comes
    back as the grey level of each id's colour, and the tracks are numbered
    in increasing grey level (``sorted(set(instanceIds))``). With the
    YouTube-VOS palette that is not the id order (id 4, dark blue, is grey 14,
    before id 1, dark red, grey 38), so we sort by the same grey level to
    keep SiamMask's track numbers. Where two ids share a grey level (from id
    22 on in that palette) SiamMask merges them into one object, a clear bug
    we do not follow: they stay two tracks, ordered by id.
    """
    if palette is None:            # grayscale PNG: the value is the id and the grey level
        return sorted(ids)
    gray = _gray_of_ids(tuple(palette))
    return sorted(ids, key=lambda i: (gray[i], i))


def object_box(mask):
    """SiamMask's box of a 0/1 mask, [xmin, ymin, xmax + 1, ymax + 1], or None (no contour of 3+ points)."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    points = [c.reshape(-1, 2) for c in contours if len(c) >= MIN_CONTOUR_POINTS]
    if not points:
        return None
    points = np.concatenate(points)
    x1, y1 = points.min(axis=0)
    x2, y2 = points.max(axis=0)
    # floats: SiamMask's index holds float32 ``tolist()`` values (12.0)
    return [float(x1), float(y1), float(x2 + 1), float(y2 + 1)]


def _check_meta(meta, path):
    """PrepareError naming meta.json and the first entry that is not SiamMask's layout."""
    if not isinstance(meta, dict) or not isinstance(meta.get("videos"), dict):
        raise PrepareError(f"{path}: expected {{\"videos\": {{video: {{\"objects\": ...}}}}}}")
    for video, entry in meta["videos"].items():
        objects = entry.get("objects") if isinstance(entry, dict) else None
        if not isinstance(objects, dict):
            raise PrepareError(f"{path}: video '{video}' has no \"objects\" mapping")
        for obj, info in objects.items():
            frames = info.get("frames") if isinstance(info, dict) else None
            if not (isinstance(frames, list) and all(isinstance(f, str) and f.isdigit() for f in frames)):
                raise PrepareError(f"{path}: video '{video}' object '{obj}': \"frames\" must be a list "
                                   f"of frame names such as \"00005\"")


class YtbVosSource(Source):
    name = "ytb_vos"
    has_mask = True
    mask_threshold = 0.2        # ytb_vos/par_crop.py: mask > 0.2
    splits = ("train", "val")

    def __init__(self, src, split):
        super().__init__(src, split)
        self.data = os.path.join(src, "train")
        self.meta_path = os.path.join(self.data, "meta.json")
        self.videos = {}
        self._last_label = (None, None)

    def list_videos(self):
        for sub in ("JPEGImages", "Annotations"):
            if not os.path.isdir(os.path.join(self.data, sub)):
                raise PrepareError(f"ytb_vos: folder not found: {os.path.join(self.data, sub)}")
        try:
            meta = read_json(self.meta_path, PrepareError)
        except FileNotFoundError:
            raise PrepareError(f"ytb_vos: annotation file not found: {self.meta_path}") from None
        _check_meta(meta, self.meta_path)
        names = list(meta["videos"])  # meta.json order, as SiamMask's split
        names = names[:TRAIN_VIDEOS] if self.split == "train" else names[TRAIN_VIDEOS:]
        self.videos = {f"train/{v}": meta["videos"][v]["objects"] for v in names}
        return sorted(self.videos)   # gen_json dumps with sort_keys=True

    def load_video(self, key):
        if not self.videos:         # a process that did not run list_videos (not forked from it)
            self.list_videos()
        video = key.split("/", 1)[1]
        objects = self.videos[key]
        listed = {}   # frame name -> ids meta.json lists there
        for obj, info in objects.items():
            for name in info["frames"]:
                listed.setdefault(name, set()).add(obj)
        dropped = Counter()
        found = []    # (frame name, png, {id: box})
        seen, palette, corrupt = set(), None, []
        for name in sorted(listed):
            png = os.path.join(self.data, "Annotations", video, name + ".png")
            try:
                label, frame_palette = read_label(png)
            except ImageError as e:
                # a damaged mask loses its frame only, as a damaged image does (core.crop_video):
                # found in a pool worker, it must not end a run of thousands of videos
                corrupt.append(str(e))
                continue
            palette = palette or frame_palette
            present = [int(i) for i in np.unique(label) if i != 0]
            boxes = {}
            for i in present:
                mask = (label == i).astype(np.uint8)
                if mask.sum() <= MIN_PIXELS:
                    dropped["small"] += 1
                    continue
                box = object_box(mask)
                if box is None:
                    dropped["no_contour"] += 1
                else:
                    boxes[i] = box
            # listed by meta.json for this frame but not in its mask: no box (SiamMask never sees them)
            dropped["absent"] += sum(1 for obj in listed[name] if not (obj.isdigit() and int(obj) in present))
            seen.update(boxes)
            found.append((name, png, boxes))
        track = {i: t for t, i in enumerate(_siammask_order(seen, palette))}
        frames = []
        for name, png, boxes in found:
            frames.append(Frame(
                frame=int(name), image=os.path.join(self.data, "JPEGImages", video, name + ".jpg"),
                objects=[Obj(track=track[i], box=box, mask=i)
                         for i, box in sorted(boxes.items(), key=lambda kv: track[kv[0]])],
                mask=png))
        return Video(key=key, frames=frames, dropped=+dropped, corrupt=corrupt)

    def read_mask(self, frame, obj, shape):
        path, label = self._last_label
        if path != frame.mask:      # the objects of a frame share one PNG: decode it once
            label, _ = read_label(frame.mask)
            self._last_label = (frame.mask, label)
        if label.shape != tuple(shape):
            raise ImageError(f"mask {frame.mask} is {label.shape[1]}x{label.shape[0]}, "
                             f"its image {shape[1]}x{shape[0]}")
        return (label == obj.mask).astype(np.uint8)


SOURCE = YtbVosSource

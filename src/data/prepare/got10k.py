"""GOT-10k (train / val), as the pysot-derived trackers prepare it.

Raw layout (the official download)::

    <src>/<split>/list.txt                      one sequence name a line
    <src>/<split>/GOT-10k_Train_000001/00000001.jpg ...
                                     groundtruth.txt   x,y,w,h per frame
                                     absence.label     1: target absent
                                     cover.label       visible share 0..8, 0: fully occluded

pysot has no GOT-10k script; SiamBAN's ``training_dataset/got_10k``
(hqucv/siamban ``par_crop.py`` / ``gen_json.py``, also SiamCAR / SiamGAT's)
is the reference and what we follow:

* one track ``00`` per sequence; frame ``i`` (0-based line of
  groundtruth.txt, image ``{i+1:08d}.jpg``) is ``{i:06d}``;
* the box is ``[x, y, x + w, y + h]`` of the values truncated by ``int()``
  (SiamBAN's ``parse_got10k.py``; the boxes are whole pixels written as
  ``347.0000``, so this changes nothing on the real files);
* gen_json drops boxes with ``w <= 0`` or ``h <= 0`` (``invalid``) and boxes
  that leave the frame: ``x < 0``, ``y < 0``, ``x + w > W``, ``y + h > H``
  (``outside``; a box touching the border is kept);
* the index key is ``<split>/<sequence>``, the index ``train.json`` / ``val.json``.

SiamBAN ignores GOT-10k's visibility labels; we also drop frames whose target
is absent (``absence.label`` 1, ``absent``) or fully occluded (``cover.label``
0, ``occluded``), as pytracking's GOT-10k loader does (``target_visible =
~absence & (cover > 0)``): their boxes are guesses, and training a pair on an
invisible target teaches the network to find it in the background.
A missing label file drops nothing (the GOT-10k toolkit treats them as
optional too).
"""
import os
import re
from collections import Counter

from src.data.prepare.core import Frame, Obj, PrepareError, Source, Video

_SEPARATORS = re.compile(r"[,\s]+")


def read_lines(path):
    """Lines of a text annotation file (trailing blank lines left out); PrepareError when missing."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise PrepareError(f"annotation file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise PrepareError(f"unreadable annotation file {path}: {e}") from None
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def read_boxes(path):
    """x, y, w, h per line of ``groundtruth.txt`` (comma or blank separated), as pysot's
    ``[int(v) for v in line]``; PrepareError naming ``path:line`` for a line that is not 4 numbers."""
    boxes = []
    for n, line in enumerate(read_lines(path), 1):
        fields = [f for f in _SEPARATORS.split(line.strip()) if f]
        try:
            values = [float(f) for f in fields]
        except ValueError:
            values = []
        if len(values) != 4 or not all(abs(v) < float("inf") for v in values):
            raise PrepareError(f"{path}:{n}: expected 4 numbers x,y,w,h, got '{line.strip()[:60]}'")
        boxes.append([int(v) for v in values])
    return boxes


def read_flags(path, count, per_line=True, allowed=(0, 1)):
    """Integer labels of ``path`` (one a line, or comma separated on one line), ``count`` of
    them; None when the file is missing. PrepareError naming ``path:line`` when malformed."""
    if not os.path.isfile(path):
        return None
    lines = read_lines(path)
    if per_line:
        items = [(n, line.strip()) for n, line in enumerate(lines, 1)]
    else:
        items = [(n, f.strip()) for n, line in enumerate(lines, 1) for f in line.split(",") if f.strip()]
    flags = []
    for n, text in items:
        if not (text.lstrip("-").isdigit() and int(text) in allowed):
            raise PrepareError(f"{path}:{n}: expected one of {', '.join(map(str, allowed))}, got '{text[:20]}'")
        flags.append(int(text))
    if len(flags) != count:
        raise PrepareError(f"{path}: {len(flags)} labels for {count} boxes in groundtruth.txt")
    return flags


def image_size(paths):
    """(W, H) from the header of the first readable image of ``paths`` (SiamBAN reads the
    first frame's), or None; an unreadable image is reported when it is cropped."""
    from PIL import Image
    for path in paths:
        try:
            with Image.open(path) as image:
                return image.size
        except Exception:  # noqa: BLE001  (missing or corrupt: try the next frame)
            continue
    return None


def box_filter(box, size):
    """SiamBAN gen_json's reason to drop an x, y, w, h box in a frame of ``size`` (W, H), or None."""
    x, y, w, h = box
    if w <= 0 or h <= 0:
        return "invalid"
    if size is not None and (x < 0 or y < 0 or x + w > size[0] or y + h > size[1]):
        return "outside"
    return None


def sequence_video(key, images, boxes, drops):
    """The one-track :class:`Video` of a single-object sequence: frame ``i`` shows ``images[i]``
    with ``boxes[i]`` (x, y, w, h) unless ``drops[i]`` names a reason or the box filter does."""
    size = image_size(images[:4])
    frames, dropped = [], Counter()
    for i, (image, box) in enumerate(zip(images, boxes)):
        reason = drops[i] or box_filter(box, size)
        if reason:
            dropped[reason] += 1
            continue
        x, y, w, h = box
        frames.append(Frame(frame=i, image=image, objects=[Obj(track=0, box=[x, y, x + w, y + h])]))
    return Video(key=key, frames=frames, dropped=dropped)


class Got10kSource(Source):
    name = "got10k"
    splits = ("train", "val")

    def list_videos(self):
        root = os.path.join(self.src, self.split)
        list_path = os.path.join(root, "list.txt")
        names = []
        for n, line in enumerate(read_lines(list_path), 1):
            name = line.strip()
            if not name:
                continue
            if not os.path.isdir(os.path.join(root, name)):
                raise PrepareError(f"{list_path}:{n}: sequence folder not found: {os.path.join(root, name)}")
            names.append(f"{self.split}/{name}")
        if not names:
            raise PrepareError(f"{list_path}: no sequence listed")
        return names

    def load_video(self, key):
        folder = os.path.join(self.src, key)
        boxes = read_boxes(os.path.join(folder, "groundtruth.txt"))
        absence = read_flags(os.path.join(folder, "absence.label"), len(boxes))
        cover = read_flags(os.path.join(folder, "cover.label"), len(boxes), allowed=range(9))
        drops = [("absent" if absence and absence[i] == 1 else
                  "occluded" if cover and cover[i] == 0 else None) for i in range(len(boxes))]
        images = [os.path.join(folder, f"{i + 1:08d}.jpg") for i in range(len(boxes))]
        return sequence_video(key, images, boxes, drops)


SOURCE = Got10kSource

"""ImageNet VID (ILSVRC2015) for ``python -m src.data.prepare vid``.

Raw layout (``--src`` is the ``ILSVRC2015`` folder)::

    Annotations/VID/train/ILSVRC2015_VID_train_000[0-3]/<video>/<frame:06d>.xml
    Annotations/VID/val/<video>/<frame:06d>.xml
    Data/VID/{train,val}/...  the same paths with .JPEG

Index keys are SiamMask's (``data/vid/parse_vid.py``): the video's path below
``Annotations/VID/train``, with the val folder linked in as ``val``:
``ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000`` (train.json) and
``val/ILSVRC2015_val_00000000`` (val.json). pysot (``training_dataset/vid``)
links the same five folders as ``a`` .. ``e``, so a pysot-made ``crop511``
has the same videos under other first components::

    a = ILSVRC2015_VID_train_0000   b = ..._0001   c = ..._0002   d = ..._0003   e = val

Both layouts are read by the training loader as they are (it follows the
index's keys). Only ``ILSVRC2015_VID_train_<n>`` folders are listed for
train, so the links a .. e (and SiamMask's ``val``) that pysot's readme puts
inside ``Annotations/VID/train`` are not counted twice.

Which boxes survive (pysot / SiamMask ``gen_json.py``, identical):

* every ``<trackid>`` of a video is its own track ``'{:02d}'``; the frame
  number is the XML's ``<filename>`` (par_crop.py names the crops by it); the
  box is ``[xmin, ymin, xmax, ymax]`` as integers;
* no size / border / occlusion / class filter (all commented out there);
* a track's frames (positions in the sorted XML list) are split where a frame
  is skipped; pieces of one frame ("isolated frame") are dropped;
* only the **last** remaining piece of a track is kept ("earlier segment"):
  gen_json.py assigns every piece to the same ``snippets[video][track]``, so
  each overwrites the previous one. That looks like a bug (it throws away
  e.g. the first half of a track that leaves the view and comes back) but it
  is what every pysot / SiamMask model was trained on, so it is the default;
  ``all_segments=True`` keeps every piece (merged into the one track);
* an object whose track id appears twice in one frame: the last one wins
  ("duplicate track id"), as gen_json.py's lookup and par_crop.py's crop file;
* zero / negative-size boxes are dropped after the split ("invalid box"):
  pysot keeps them in the index but its loader (and ours) drops them, and no
  crop can be computed around them; dropping them afterwards leaves the
  same training set as pysot's.
"""
import glob
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter

from src.data.prepare.core import Frame, Obj, PrepareError, Source, Video, box_invalid

TRAIN_SUBSET = re.compile(r"ILSVRC2015_VID_train_\d+$")
VAL_PREFIX = "val/"
BOX_TAGS = ("xmin", "ymin", "xmax", "ymax")


# --- ILSVRC XML (shared with det.py) -----------------------------------------

def parse_xml(path):
    """Root element of an annotation file; PrepareError naming it (and the line) when malformed."""
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as e:      # message carries "line L, column C"
        raise PrepareError(f"{path}: malformed XML: {e}") from None
    except OSError as e:
        raise PrepareError(f"{path}: unreadable: {e.strerror or e}") from None


def int_field(element, tag, path, where):
    """Integer text of ``element``'s child ``tag`` (pysot: ``int(find(tag).text)``)."""
    node = element.find(tag)
    text = node.text.strip() if node is not None and node.text else ""
    if not text:
        raise PrepareError(f"{path}: {where}: no <{tag}>")
    try:
        return int(text)
    except ValueError:
        raise PrepareError(f"{path}: {where}: <{tag}> is not an integer: {text!r}") from None


def xml_objects(path, root, with_trackid):
    """[(track id, [xmin, ymin, xmax, ymax])] of the ``<object>`` elements, in file
    order; without ``with_trackid`` (DET) the id is the object's position."""
    objects = []
    for i, node in enumerate(root.findall("object")):
        where = f"<object> #{i + 1}"
        bndbox = node.find("bndbox")
        if bndbox is None:
            raise PrepareError(f"{path}: {where}: no <bndbox>")
        box = [int_field(bndbox, tag, path, where + " <bndbox>") for tag in BOX_TAGS]
        track = int_field(node, "trackid", path, where) if with_trackid else i
        objects.append((track, box))
    return objects


def require_dir(path, what):
    if not os.path.isdir(path):
        raise PrepareError(f"{what} folder not found: {path}")


def sub_dirs(path):
    return sorted(n for n in os.listdir(path) if os.path.isdir(os.path.join(path, n)))


# --- segments ----------------------------------------------------------------

def split_runs(positions):
    """Sorted positions cut where one is skipped (repeats stay together, as np.diff > 1)."""
    runs = []
    for p in positions:
        if runs and p - runs[-1][-1] <= 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


def kept_positions(positions, all_segments, dropped):
    """Positions of one track that gen_json.py keeps (see the module docstring)."""
    runs = split_runs(sorted(positions))
    long_runs = []
    for run in runs:
        if len(run) > 1:    # counted with repeats, as gen_json.py's len(seq)
            long_runs.append(run)
        else:
            dropped["isolated frame"] += 1
    if not all_segments and long_runs:
        for run in long_runs[:-1]:
            dropped["earlier segment"] += len(run)
        long_runs = long_runs[-1:]
    kept = set()
    for run in long_runs:
        if len(run) > len(set(run)):
            dropped["duplicate track id"] += len(run) - len(set(run))
        kept.update(run)
    return kept


class VidSource(Source):
    name = "vid"

    def __init__(self, src, split, all_segments=False):
        super().__init__(src, split)
        self.all_segments = all_segments
        self.options = {"all_segments": True} if all_segments else {}
        self.ann_dir = os.path.join(src, "Annotations", "VID", split)
        self.data_dir = os.path.join(src, "Data", "VID", split)

    def _rel(self, key):
        """Path of video ``key`` below the split folders."""
        return key[len(VAL_PREFIX):] if self.split == "val" else key

    def list_videos(self):
        require_dir(self.ann_dir, "vid: annotation")
        require_dir(self.data_dir, "vid: image")
        if self.split == "train":
            subsets = [s for s in sub_dirs(self.ann_dir) if TRAIN_SUBSET.match(s)]
            if not subsets:
                raise PrepareError(f"vid: no ILSVRC2015_VID_train_* folder in {self.ann_dir}")
            keys = [f"{s}/{v}" for s in subsets for v in sub_dirs(os.path.join(self.ann_dir, s))]
        else:
            keys = [VAL_PREFIX + v for v in sub_dirs(self.ann_dir)]
        if not keys:
            raise PrepareError(f"vid: no video folder in {self.ann_dir}")
        for key in keys:
            require_dir(os.path.join(self.data_dir, self._rel(key)), "vid: image")
        return keys

    def load_video(self, key):
        rel = self._rel(key)
        xmls = sorted(glob.glob(os.path.join(self.ann_dir, rel, "*.xml")))
        frames = []     # per XML position: (frame number, xml path, [(track, box)])
        for path in xmls:
            root = parse_xml(path)
            number = int_field(root, "filename", path, "<annotation>")
            frames.append((number, path, xml_objects(path, root, with_trackid=True)))
        positions = {}
        for pos, (_, _, objects) in enumerate(frames):
            for track, _ in objects:
                positions.setdefault(track, []).append(pos)
        video = Video(key, dropped=Counter())
        kept = {}       # position -> {track: box}
        for track, where in positions.items():
            for pos in kept_positions(where, self.all_segments, video.dropped):
                box = [b for t, b in frames[pos][2] if t == track][-1]
                if box_invalid(box):
                    video.dropped["invalid box"] += 1
                else:
                    kept.setdefault(pos, {})[track] = box
        seen = {}
        for pos in sorted(kept):
            number, path, _ = frames[pos]
            if number in seen:  # two XMLs would write the same crop files
                raise PrepareError(f"{path}: <filename> {number} also in {seen[number]}")
            seen[number] = path
            stem = os.path.splitext(os.path.basename(path))[0]
            frame = Frame(number, os.path.join(self.data_dir, rel, stem + ".JPEG"))
            frame.objects = [Obj(track, box) for track, box in sorted(kept[pos].items())]
            video.frames.append(frame)
        return video


SOURCE = VidSource

"""ImageNet DET (ILSVRC2015 DET) for ``python -m src.data.prepare det``.

Raw layout (``--src`` is the ``ILSVRC`` / ``ILSVRC2015`` folder)::

    Annotations/DET/train/ILSVRC2013_train/<synset>/<image>.xml
    Annotations/DET/train/ILSVRC2014_train_000[0-6]/<image>.xml
    Annotations/DET/val/<image>.xml
    Data/DET/{train,val}/...  the same paths with .JPEG

Every image is a one-frame "video" (frame 0) and every ``<object>`` a track
numbered by its position in the file (``'{:02d}'``), as pysot / SiamMask
``gen_json.py``. The index key is the subset folder and the file's stem, the
synset folder left out (image names are unique, they start with the synset):
``ILSVRC2013_train/n00007846_6247``, ``ILSVRC2014_train_0000/ILSVRC2014_train_00000663``
(SiamMask's keys) and ``val/ILSVRC2012_val_00000001``. pysot links the same
folders as ``a`` (ILSVRC2013_train), ``b`` .. ``h`` (ILSVRC2014_train_0000 ..
0006) and ``i`` (val); a pysot-made ``crop511`` is read as it is, and those
links inside ``Annotations/DET/train`` are not listed (no double count).

Filters: gen_json.py has none; zero / negative-size boxes are dropped here
("invalid box") because pysot's loader (and ours) drops them anyway and no
crop can be computed around them. A dropped object keeps its number for the
others (tracks 00 and 02 when object 1 is dropped), as in pysot. Images
without objects give an empty video (nothing cropped, not in the index).
``ILSVRC2013_train_extra*`` folders are left out as pysot does (SiamMask lists
them; ``include_extra=True`` adds them).
"""
import glob
import os
import re
from collections import Counter

from src.data.prepare.core import Frame, Obj, PrepareError, Source, Video, box_invalid
from src.data.prepare.vid import parse_xml, require_dir, sub_dirs, xml_objects

TRAIN_SUBSET = re.compile(r"ILSVRC2013_train$|ILSVRC2014_train_\d+$")
EXTRA_SUBSET = re.compile(r"ILSVRC2013_train_extra\d+$")
VAL_PREFIX = "val/"


class DetSource(Source):
    name = "det"
    unit = "image"

    def __init__(self, src, split, include_extra=False):
        super().__init__(src, split)
        self.include_extra = include_extra
        self.options = {"include_extra": True} if include_extra else {}
        self.ann_dir = os.path.join(src, "Annotations", "DET", split)
        self.data_dir = os.path.join(src, "Data", "DET", split)
        self.files = {}     # key -> annotation path (list_videos; workers share it by fork)

    def _xmls(self, folder):
        """Annotation files of a subset: flat, or one folder level down (ILSVRC2013_train's synsets)."""
        return sorted(glob.glob(os.path.join(folder, "*.xml")) + glob.glob(os.path.join(folder, "*", "*.xml")))

    def list_videos(self):
        require_dir(self.ann_dir, "det: annotation")
        require_dir(self.data_dir, "det: image")
        if self.split == "train":
            subsets = [s for s in sub_dirs(self.ann_dir)
                       if TRAIN_SUBSET.match(s) or (self.include_extra and EXTRA_SUBSET.match(s))]
            if not subsets:
                raise PrepareError(f"det: no ILSVRC2013_train / ILSVRC2014_train_* folder in {self.ann_dir}")
            for s in subsets:
                require_dir(os.path.join(self.data_dir, s), "det: image")
            groups = [(s + "/", os.path.join(self.ann_dir, s)) for s in subsets]
        else:
            groups = [(VAL_PREFIX, self.ann_dir)]
        self.files = {}
        for prefix, folder in groups:
            for path in self._xmls(folder):
                key = prefix + os.path.splitext(os.path.basename(path))[0]
                if key in self.files:   # both would write <out>/crop511/<key>/000000.00.x.jpg
                    raise PrepareError(f"{path}: image name also in {self.files[key]}")
                self.files[key] = path
        if not self.files:
            raise PrepareError(f"det: no annotation file in {self.ann_dir}")
        return sorted(self.files)

    def load_video(self, key):
        if not self.files:      # a worker that did not inherit list_videos' listing
            self.list_videos()
        path = self.files[key]
        objects = xml_objects(path, parse_xml(path), with_trackid=False)
        image = os.path.join(self.data_dir, os.path.relpath(os.path.splitext(path)[0], self.ann_dir) + ".JPEG")
        video = Video(key, dropped=Counter())
        frame = Frame(0, image)
        for track, box in objects:
            if box_invalid(box):
                video.dropped["invalid box"] += 1
            else:
                frame.objects.append(Obj(track, box))
        if frame.objects:
            video.frames.append(frame)
        return video


SOURCE = DetSource

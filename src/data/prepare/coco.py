"""COCO 2017 (boxes and masks) for ``python -m src.data.prepare coco``.

Raw layout (``--src`` is the folder of the unzipped downloads)::

    annotations/instances_train2017.json   (split val: instances_val2017.json)
    train2017/000000000009.jpg ...         (val2017/...)

pysot's ``training_dataset/coco`` and SiamMask's ``data/coco`` (par_crop.py,
gen_json.py), followed here:

* every image with annotations is a one-frame video, key
  ``train2017/<file name up to its first dot>`` (``train2017/000000000009``),
  frame 0; the index is ``train2017.json`` / ``val2017.json``;
* its annotations, read with pycocotools (``getAnnIds(imgIds=id,
  iscrowd=None)``: in file order, crowd regions included: neither original
  filters them), are tracks ``'%02d'`` numbered by their position;
* an annotation with width or height <= 0 is dropped ("invalid box") but
  keeps its number, so track ids can have gaps, as in pysot's index;
* the box is pysot's ``[x, y, x + w, y + h]``, for the index and the crop.
  SiamMask's gen_json.py writes ``[x, y, x + w - 1, y + h - 1]`` and crops
  around that box with size ``w``, ``h`` (its crop puts the +1 back): the
  same crop shifted by half a pixel, and a label 1 px smaller. One box for
  crop and index (core.crop_video) keeps crop, mask and label consistent;
* the mask (``.m.png``) is pycocotools' ``annToMask`` (polygons, and the
  uncompressed RLE of crowd regions), warped exactly like the image with
  padding 0 and thresholded at 0.5 (SiamMask data/coco par_crop.py; its
  YouTube-VOS script uses 0.2, core's default).

The JSON (about 450 MB for train) is parsed and checked in ``list_videos``
(main process); the workers share the parsed annotations.
"""
import contextlib
import io
import json
import math
import os
from collections import Counter

from pycocotools.coco import COCO

from src.data.prepare.core import Frame, Obj, PrepareError, Source, Video
from src.image_io import ImageError
from src.utils import is_json_number, read_json

SETS = {"train": "train2017", "val": "val2017"}
MASK_THRESHOLD = 0.5    # SiamMask data/coco/par_crop.py: crop(annToMask) > 0.5


def _is_id(value):
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _is_size(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _segmentation_ok(segm):
    """A polygon list [[x, y, ...], ...] or an RLE {"counts": str | [int], "size": [h, w]} (what annToMask reads)."""
    if isinstance(segm, list):
        # the coordinates themselves are left to pycocotools (a bad one: read_mask's error)
        return bool(segm) and all(isinstance(p, list) and p for p in segm)
    if isinstance(segm, dict):
        counts, size = segm.get("counts"), segm.get("size")
        return (isinstance(size, list) and len(size) == 2 and all(map(_is_size, size))
                and isinstance(counts, (str, list)))
    return False


def check_instances(data, path):
    """PrepareError naming ``path`` and the first entry pycocotools / the crop could not use."""
    if not isinstance(data, dict):
        raise PrepareError(f"{path}: expected a JSON object with 'images' and 'annotations', "
                           f"got a JSON {type(data).__name__}")
    for name in ("images", "annotations"):
        if not isinstance(data.get(name), list):
            raise PrepareError(f"{path}: no '{name}' list (is this an instances_*.json file?)")
    for i, img in enumerate(data["images"]):
        where = f"{path}: images[{i}]"
        if not isinstance(img, dict):
            raise PrepareError(f"{where}: expected an object, got {type(img).__name__}")
        for key, ok in (("id", _is_id), ("file_name", lambda v: isinstance(v, str) and v),
                        ("height", _is_size), ("width", _is_size)):
            if key not in img:
                raise PrepareError(f"{where}: missing key '{key}'")
            if not ok(img[key]):
                raise PrepareError(f"{where}: bad '{key}': {json.dumps(img[key])[:60]}")
    for i, ann in enumerate(data["annotations"]):
        where = f"{path}: annotations[{i}]"
        if not isinstance(ann, dict):
            raise PrepareError(f"{where}: expected an object, got {type(ann).__name__}")
        for key in ("id", "image_id", "bbox", "segmentation"):
            if key not in ann:
                raise PrepareError(f"{where}: missing key '{key}'")
        box = ann["bbox"]
        if not (isinstance(box, list) and len(box) == 4 and all(map(is_json_number, box))
                and all(map(math.isfinite, box))):
            raise PrepareError(f"{where}: 'bbox' must be [x, y, width, height], got {json.dumps(box)[:60]}")
        if not _segmentation_ok(ann["segmentation"]):
            raise PrepareError(f"{where}: 'segmentation' is neither polygons nor RLE: "
                               f"{json.dumps(ann['segmentation'])[:60]}")


def video_key(data_type, file_name):
    """pysot's ``join(dataType, file_name.split('/')[-1].split('.')[0])``."""
    return f"{data_type}/{file_name.split('/')[-1].split('.')[0]}"


class CocoSource(Source):
    name = "coco"
    has_mask = True
    unit = "image"
    mask_threshold = MASK_THRESHOLD

    def __init__(self, src, split):
        super().__init__(src, split)
        self.data_type = SETS[split]
        self.ann_file = os.path.join(src, "annotations", f"instances_{self.data_type}.json")
        self.image_dir = os.path.join(src, self.data_type)
        self._coco = None
        self._images = None     # key -> image record

    def index_name(self):
        return f"{self.data_type}.json"

    def _load(self):
        if self._coco is not None:
            return
        if not os.path.isfile(self.ann_file):
            raise PrepareError(f"coco: annotation file not found: {self.ann_file}")
        if not os.path.isdir(self.image_dir):
            raise PrepareError(f"coco: image folder not found: {self.image_dir}")
        data = read_json(self.ann_file, PrepareError)
        check_instances(data, self.ann_file)
        coco = COCO()   # index only images and annotations: categories are not needed
        coco.dataset = {"images": data["images"], "annotations": data["annotations"]}
        with contextlib.redirect_stdout(io.StringIO()):     # createIndex prints its progress
            coco.createIndex()
        images = {}
        for img in data["images"]:
            if not coco.getAnnIds(imgIds=img["id"], iscrowd=None):
                continue    # pysot's index has only images with annotations
            key = video_key(self.data_type, img["file_name"])
            if key in images:
                raise PrepareError(f"{self.ann_file}: images {images[key]['id']} and {img['id']} "
                                   f"both crop to {key} ({img['file_name']})")
            images[key] = img
        self._coco, self._images = coco, images

    def list_videos(self):
        self._load()
        return sorted(self._images)

    def load_video(self, key):
        self._load()
        img = self._images[key]
        video = Video(key, dropped=Counter())
        frame = Frame(0, os.path.join(self.image_dir, img["file_name"]))
        anns = self._coco.loadAnns(self._coco.getAnnIds(imgIds=img["id"], iscrowd=None))
        for track, ann in enumerate(anns):
            x, y, w, h = ann["bbox"]
            if w <= 0 or h <= 0:    # pysot: "lead nan error in cls"
                video.dropped["invalid box"] += 1
                continue
            frame.objects.append(Obj(track, [x, y, x + w, y + h], mask=ann))
        video.frames.append(frame)
        return video

    def read_mask(self, frame, obj, shape):
        ann = obj.mask
        try:
            mask = self._coco.annToMask(ann)
        except Exception as e:  # noqa: BLE001  (pycocotools raises TypeError, ValueError, ... on odd RLE)
            raise ImageError(f"{self.ann_file}: annotation id {ann['id']}: segmentation not decodable: {e}") from None
        if mask.shape != tuple(shape):
            raise ImageError(f"{frame.image}: image is {shape[1]}x{shape[0]} but {self.ann_file} gives "
                             f"{mask.shape[1]}x{mask.shape[0]} (annotation id {ann['id']})")
        return mask


SOURCE = CocoSource

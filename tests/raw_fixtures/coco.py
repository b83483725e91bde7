"""A tiny COCO 2017 in its on-disk format: ``write(root)`` -> ``annotations/instances_<set>.json`` + ``<set>/*.jpg``.

Corner cases (annotations interleaved across images, in file order):

* image 9 (160x120): a rectangle polygon, a two-part polygon, a zero-width
  box (dropped; its track number 02 stays unused), a crowd region as
  uncompressed RLE touching the right and bottom borders;
* image 25 (96x64, a grayscale JPEG): a triangle and a rectangle touching
  the left and bottom borders;
* image 30: no annotation (not a video); image 42: only a zero-height box.
"""
import json
import os

import cv2
import numpy as np

SETS = {"train": "train2017", "val": "val2017"}
# id -> (file name, width, height, grayscale)
IMAGES = {9: ("000000000009.jpg", 160, 120, False), 25: ("000000000025.jpg", 96, 64, True),
          30: ("000000000030.jpg", 64, 48, False), 42: ("000000000042.jpg", 80, 60, False)}
CATEGORIES = [{"supercategory": "person", "id": 1, "name": "person"},
              {"supercategory": "vehicle", "id": 3, "name": "car"},
              {"supercategory": "animal", "id": 18, "name": "dog"}]


def rect(x0, y0, x1, y1):
    """A rectangle polygon; pycocotools fills the pixels x0 <= x < x1, y0 <= y < y1."""
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def rect_mask(shape, *rects):
    mask = np.zeros(shape, np.uint8)
    for x0, y0, x1, y1 in rects:
        mask[y0:y1, x0:x1] = 1
    return mask


def uncompressed_rle(mask):
    """COCO's crowd segmentation: run lengths over the column-major pixels, zeros first."""
    flat = mask.flatten(order="F")
    edges = np.concatenate([[0], np.flatnonzero(np.diff(flat)) + 1, [flat.size]])
    counts = np.diff(edges).tolist()
    return {"counts": ([0] if flat[0] else []) + counts, "size": list(mask.shape)}


def texture(width, height, seed):
    """Smooth random colours: little JPEG noise, yet every crop position looks different."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(20, 235, size=(max(2, height // 12), max(2, width // 12), 3)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def annotations():
    """[(annotation, truth mask or None)]: the truth is exact for rectangles and RLE, None for the triangle."""
    s9, s25 = (120, 160), (64, 96)
    crowd = rect_mask(s9, (110, 70, 160, 120))
    crowd[90:100, 120:130] = 0      # a hole: RLE, not a box
    triangle = [10, 8, 50, 20, 30, 50]
    return [
        (dict(id=1001, image_id=9, category_id=1, iscrowd=0, area=2000.0, bbox=[20, 30, 40, 50],
              segmentation=[rect(20, 30, 60, 80)]), rect_mask(s9, (20, 30, 60, 80))),
        (dict(id=1002, image_id=25, category_id=18, iscrowd=0, area=680.0, bbox=[10, 8, 40, 42],
              segmentation=[triangle]), None),
        (dict(id=1003, image_id=9, category_id=3, iscrowd=0, area=1125.0, bbox=[100, 10, 50, 30],
              segmentation=[rect(100, 10, 130, 40), rect(135, 20, 150, 35)]),
         rect_mask(s9, (100, 10, 130, 40), (135, 20, 150, 35))),
        (dict(id=1004, image_id=9, category_id=1, iscrowd=0, area=0.0, bbox=[5, 5, 0, 10],
              segmentation=[[5, 5, 5, 5, 5, 15, 5, 15]]), None),
        (dict(id=1005, image_id=9, category_id=1, iscrowd=1, area=float(crowd.sum()), bbox=[110, 70, 50, 50],
              segmentation=uncompressed_rle(crowd)), crowd),
        (dict(id=1006, image_id=25, category_id=1, iscrowd=0, area=850.0, bbox=[0, 30, 25, 34],
              segmentation=[rect(0, 30, 25, 64)]), rect_mask(s25, (0, 30, 25, 64))),
        (dict(id=1007, image_id=42, category_id=3, iscrowd=0, area=0.0, bbox=[10, 10, 20, 0],
              segmentation=[[10, 10, 30, 10, 30, 10]]), None),
    ]


def write(root, split="train"):
    """Write the dataset under ``root``; returns what the tests compare with.

    ``{"json": path, "index": {key: {track: {"000000": [x, y, x + w, y + h]}}}``
    (pysot's index), ``"masks": {(key, track): truth mask or None}``,
    ``"polygons": {(key, track): segmentation}``, ``"images": {key: path}``,
    ``"dropped": {"invalid box": n}``.
    """
    data_type = SETS[split]
    os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
    os.makedirs(os.path.join(root, data_type), exist_ok=True)
    images = []
    for image_id, (name, width, height, gray) in IMAGES.items():
        picture = texture(width, height, seed=image_id)
        cv2.imwrite(os.path.join(root, data_type, name),
                    cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY) if gray else picture)
        images.append({"license": 1, "file_name": name, "coco_url": f"http://images.cocodataset.org/{data_type}/{name}",
                       "height": height, "width": width, "date_captured": "2013-11-14 17:02:52",
                       "flickr_url": "", "id": image_id})
    anns = annotations()
    data = {"info": {"description": "tiny COCO", "version": "1.0", "year": 2017},
            "licenses": [{"url": "", "id": 1, "name": "test"}],
            "images": images, "annotations": [a for a, _ in anns], "categories": CATEGORIES}
    path = os.path.join(root, "annotations", f"instances_{data_type}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f)
    index, masks, polygons, paths, dropped, track = {}, {}, {}, {}, 0, {}
    for ann, truth in anns:
        name = IMAGES[ann["image_id"]][0]
        key = f"{data_type}/{name.split('.')[0]}"
        number = track[key] = track.get(key, -1) + 1      # pysot: the annotation's position in its image
        paths[key] = os.path.join(root, data_type, name)
        index.setdefault(key, {})
        x, y, w, h = ann["bbox"]
        if w <= 0 or h <= 0:
            dropped += 1
            continue
        index[key][f"{number:02d}"] = {"000000": [x, y, x + w, y + h]}
        masks[(key, f"{number:02d}")] = truth
        polygons[(key, f"{number:02d}")] = ann["segmentation"]
    return {"root": root, "json": path, "index": index, "masks": masks, "polygons": polygons,
            "images": paths, "dropped": {"invalid box": dropped}}

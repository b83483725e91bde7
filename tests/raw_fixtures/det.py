"""A tiny ImageNet DET (ILSVRC2015 DET) in its on-disk format: ``write(root)`` -> the ``ILSVRC`` folder.

Corner cases: a box touching the left and bottom borders, a grayscale JPEG
with a zero-width box between two valid ones (tracks 00 and 02 remain), an
image without objects (ILSVRC2014_train_0000), one val image.
"""
import os

import cv2

from raw_fixtures.vid import image

# path below Annotations/DET/<split> without .xml -> (width, height, grayscale, [[xmin, ymin, xmax, ymax]])
TRAIN = {
    "ILSVRC2013_train/n00007846/n00007846_6247": (100, 80, False, [[0, 5, 40, 80], [50, 10, 90, 50]]),
    "ILSVRC2013_train/n01443537/n01443537_16": (80, 60, True, [[10, 10, 40, 40], [30, 30, 30, 50],
                                                              [45, 5, 75, 35]]),
    "ILSVRC2014_train_0000/ILSVRC2014_train_00000001": (64, 48, False, []),
}
VAL = {
    "ILSVRC2012_val_00000001": (96, 64, False, [[20, 12, 70, 50]]),
}


def image_xml(folder, filename, width, height, boxes, name="n00007846"):
    """One DET annotation as ILSVRC writes it (tab-indented, bndbox as xmin, ymin, xmax, ymax)."""
    parts = [f"<annotation>\n\t<folder>{folder}</folder>\n\t<filename>{filename}</filename>\n"
             f"\t<source>\n\t\t<database>ILSVRC_2014</database>\n\t</source>\n"
             f"\t<size>\n\t\t<width>{width}</width>\n\t\t<height>{height}</height>\n\t</size>\n"
             f"\t<segmented>0</segmented>\n"]
    for x1, y1, x2, y2 in boxes:
        parts.append(f"\t<object>\n\t\t<name>{name}</name>\n\t\t<pose>Unspecified</pose>\n"
                     f"\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n"
                     f"\t\t<bndbox>\n\t\t\t<xmin>{x1}</xmin>\n\t\t\t<ymin>{y1}</ymin>\n"
                     f"\t\t\t<xmax>{x2}</xmax>\n\t\t\t<ymax>{y2}</ymax>\n\t\t</bndbox>\n\t</object>\n")
    parts.append("</annotation>\n")
    return "".join(parts)


def write_image(src, split, rel, spec, seed):
    width, height, gray, boxes = spec
    ann = os.path.join(src, "Annotations", "DET", split, rel + ".xml")
    data = os.path.join(src, "Data", "DET", split, rel + ".JPEG")
    os.makedirs(os.path.dirname(ann), exist_ok=True)
    os.makedirs(os.path.dirname(data), exist_ok=True)
    folder = os.path.basename(os.path.dirname(rel)) or split
    with open(ann, "w") as f:
        f.write(image_xml(folder, os.path.basename(rel), width, height, boxes))
    cv2.imwrite(data, image(width, height, seed, gray))


def write(root):
    """Write the dataset under ``root/ILSVRC``; returns that folder (``--src``)."""
    src = os.path.join(str(root), "ILSVRC")
    for split, images in (("train", TRAIN), ("val", VAL)):
        for i, (rel, spec) in enumerate(images.items()):
            write_image(src, split, rel, spec, seed=7 * i + 1)
    return src

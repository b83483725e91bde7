"""LaSOT, as the pysot-derived trackers prepare it (SiamBAN ``training_dataset/lasot``).

Raw layout (the official per-class download)::

    <src>/<class>/<class>-<n>/img/00000001.jpg ...
                              groundtruth.txt      x,y,w,h (comma separated) per frame
                              full_occlusion.txt   0/1 per frame, comma separated on one line
                              out_of_view.txt      0/1 per frame, comma separated on one line

As SiamBAN's ``parse_lasot.py`` / ``gen_json.py`` (and GOT-10k, see
:mod:`src.data.prepare.got10k`): one track ``00``, frames from ``000000``,
``int()``-truncated boxes, ``invalid`` / ``outside`` boxes dropped, index key
``<class>/<class>-<n>``, classes and sequences in ``sorted(listdir)`` order.
Split ``train`` is the official training set (1120 sequences), ``test`` the
280 of the official ``testing_set.txt`` (SiamBAN indexes them as ``val.json``;
we call it ``test.json``: it is LaSOT's test set, not a validation set).
SiamBAN ignores the visibility files; we also drop fully occluded and
out-of-view frames (``occluded``, ``out_of_view``), as pytracking's LaSOT loader
(``target_visible = ~occlusion & ~out_of_view``): their boxes are not of a
visible target.
"""
import os

from src.data.prepare.core import PrepareError, Source
from src.data.prepare.got10k import read_boxes, read_flags, read_lines, sequence_video

# The official LaSOT protocol-II test split: testing_set.txt of the LaSOT
# toolkit (vision.cs.stonybrook.edu/~lasot), as shipped in hqucv/siamban
# training_dataset/lasot/LaSOT/testing_set.txt; 4 sequences of each of the 70 classes.
TEST_SEQUENCES = {f"{c}-{n}" for c, numbers in (
    ("airplane", "1 9 13 15"), ("basketball", "1 6 7 11"), ("bear", "2 4 6 17"),
    ("bicycle", "2 7 9 18"), ("bird", "2 3 15 17"), ("boat", "3 4 12 17"), ("book", "3 10 11 19"),
    ("bottle", "1 12 14 18"), ("bus", "2 5 17 19"), ("car", "2 6 9 17"), ("cat", "1 3 18 20"),
    ("cattle", "2 7 12 13"), ("chameleon", "3 6 11 20"), ("coin", "3 6 7 18"), ("crab", "3 6 12 18"),
    ("crocodile", "3 4 10 14"), ("cup", "1 4 7 17"), ("deer", "4 8 10 14"), ("dog", "1 7 15 19"),
    ("drone", "2 7 13 15"), ("electricfan", "1 10 18 20"), ("elephant", "1 12 16 18"),
    ("flag", "2 3 5 9"), ("fox", "2 3 5 20"), ("frog", "3 4 9 20"), ("gametarget", "1 2 7 13"),
    ("gecko", "1 5 16 19"), ("giraffe", "2 10 13 15"), ("goldfish", "3 7 8 10"),
    ("gorilla", "4 6 9 13"), ("guitar", "3 8 10 16"), ("hand", "2 3 9 16"), ("hat", "1 2 5 18"),
    ("helmet", "5 11 13 19"), ("hippo", "1 7 9 20"), ("horse", "1 4 12 15"),
    ("kangaroo", "2 5 11 14"), ("kite", "4 6 10 15"), ("leopard", "1 7 16 20"),
    ("licenseplate", "6 12 13 15"), ("lion", "1 5 12 20"), ("lizard", "1 3 6 13"),
    ("microphone", "2 6 14 16"), ("monkey", "3 4 9 17"), ("motorcycle", "1 3 9 18"),
    ("mouse", "1 8 9 17"), ("person", "1 5 10 12"), ("pig", "2 10 13 18"), ("pool", "3 7 12 15"),
    ("rabbit", "10 13 17 19"), ("racing", "10 15 16 20"), ("robot", "1 5 8 19"),
    ("rubicCube", "1 6 14 19"), ("sepia", "6 8 13 16"), ("shark", "2 3 5 6"), ("sheep", "3 5 7 9"),
    ("skateboard", "3 8 16 19"), ("spider", "14 16 18 20"), ("squirrel", "8 11 13 19"),
    ("surfboard", "4 5 8 12"), ("swing", "10 14 17 20"), ("tank", "6 9 14 16"),
    ("tiger", "4 6 12 18"), ("train", "1 7 11 20"), ("truck", "3 6 7 16"), ("turtle", "5 8 9 16"),
    ("umbrella", "2 9 17 19"), ("volleyball", "1 13 18 19"), ("yoyo", "7 15 17 19"),
    ("zebra", "10 14 16 17"),
) for n in numbers.split()}
TEST_LIST = "testing_set.txt"


class LasotSource(Source):
    name = "lasot"
    splits = ("train", "test")

    def index_name(self):
        return f"{self.split}.json"

    def test_sequences(self):
        """The test split: ``<src>/testing_set.txt`` when present (a newer list), else the official 280."""
        path = os.path.join(self.src, TEST_LIST)
        if not os.path.isfile(path):
            return TEST_SEQUENCES
        names = {line.strip() for line in read_lines(path) if line.strip()}
        if not names:
            raise PrepareError(f"{path}: no sequence listed")
        return names

    def list_videos(self):
        test = self.test_sequences()
        keys = []
        # SiamBAN: sorted(listdir) of the classes, skipping files such as testing_set.txt
        for cls in sorted(os.listdir(self.src)):
            class_dir = os.path.join(self.src, cls)
            if not os.path.isdir(class_dir):
                continue
            for seq in sorted(os.listdir(class_dir)):
                if not os.path.isdir(os.path.join(class_dir, seq)):
                    continue
                if (seq in test) != (self.split == "test"):
                    continue
                gt = os.path.join(class_dir, seq, "groundtruth.txt")
                if not os.path.isfile(gt):
                    raise PrepareError(f"lasot: annotation file not found: {gt}")
                keys.append(f"{cls}/{seq}")
        if not keys:
            raise PrepareError(f"lasot: no {self.split} sequence (<class>/<class>-<n>/groundtruth.txt) "
                               f"under {self.src}")
        return keys

    def load_video(self, key):
        folder = os.path.join(self.src, key)
        boxes = read_boxes(os.path.join(folder, "groundtruth.txt"))
        occlusion = read_flags(os.path.join(folder, "full_occlusion.txt"), len(boxes), per_line=False)
        out_of_view = read_flags(os.path.join(folder, "out_of_view.txt"), len(boxes), per_line=False)
        drops = [("occluded" if occlusion and occlusion[i] == 1 else
                  "out_of_view" if out_of_view and out_of_view[i] == 1 else None) for i in range(len(boxes))]
        images = [os.path.join(folder, "img", f"{i + 1:08d}.jpg") for i in range(len(boxes))]
        return sequence_video(key, images, boxes, drops)


SOURCE = LasotSource

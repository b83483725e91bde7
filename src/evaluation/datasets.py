"""Benchmark datasets: VOT, OTB, GOT-10k and LaSOT in their pysot-JSON or raw layouts.

Mirrors pysot ``toolkit/datasets/{vot,otb,lasot}.py`` (the ``Video`` fields the
benchmarks read) and the got10k toolkit's ``datasets/got10k.py``, with two
deliberate differences:

* image paths are resolved against the dataset root, not the current directory
  (pysot HEAD applies ``os.path.abspath`` to ``img_names``, so it only works when
  run from the dataset root);
* the image size is read lazily from the first frame (or taken from an explicit
  size / GOT-10k ``meta_info.ini``), so scoring needs only the first frame and
  the ground truth, and bad inputs raise ``DatasetError`` with a one-line
  message naming the sequence, the file and, for text files, the line.

Layouts (``root`` is the dataset directory):

* VOT: ``<root>/<NAME>.json`` (pysot), else ``<root>/list.txt`` with
  ``<seq>/color/*.jpg`` or ``<seq>/*.jpg``, ``groundtruth.txt`` (4 or 8 values a
  line) and optional ``<tag>.tag`` files (trailing zeros may be omitted).
* OTB: ``<root>/<NAME>.json`` or ``<NAME>_new.json``, else ``<seq>/img/*.jpg`` and
  ``groundtruth_rect.txt`` (comma, space or tab separated); sequences from
  ``list.txt`` or every sub-directory with a ground-truth file.
* GOT-10k (``GOT10k-val``, ``GOT10k-test``): ``<root>/list.txt``, ``<seq>/*.jpg``,
  ``groundtruth.txt`` (test: first line only), ``absence.label``, ``cover.label``,
  ``meta_info.ini``.
* LaSOT: ``<root>/LaSOT.json`` (pysot, with ``absent``), else
  ``<class>/<seq>/img/*.jpg``, ``groundtruth.txt``, ``full_occlusion.txt``,
  ``out_of_view.txt``; sequences from ``testing_set.txt`` or all class folders.
* DAVIS (``DAVIS2016``, ``DAVIS2017``, any ``DAVIS...`` name; video object
  segmentation): ``<root>/JPEGImages/480p/<seq>/%05d.jpg`` and
  ``<root>/Annotations/480p/<seq>/%05d.png``; sequences from
  ``ImageSets/<year>/val.txt`` (``train.txt`` / ``test-dev.txt`` for names
  ending in ``-train`` / ``-test-dev``), else ``list.txt``, else DAVIS 2016's
  own ``ImageSets/480p/val.txt`` (frame-pair lines), else (names without a
  year, e.g. ``DAVISSYN``) the only ``ImageSets/*/<split>.txt``. See
  ``DavisVideo`` for how masks are read.
"""
import json
import os
import re

import cv2
import numpy as np

from .geometry import poly_to_minmax_rect
from .results import read_label_png

VOT_TAGS = ("camera_motion", "illum_change", "motion_change", "size_change", "occlusion")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
_SEPARATORS = re.compile(r"[,\s]+")


class DatasetError(ValueError):
    """A dataset file is missing, inconsistent or malformed (one-line message)."""


# --------------------------------------------------------------------- videos
class Video:
    """One sequence: frames on disk, ground truth and per-frame annotations.

    Attributes: ``name``, ``img_names`` (absolute paths), ``gt`` (float64 array
    (N, 4) of ``[x, y, w, h]`` or (N, 8) polygons; GOT-10k test has only the first
    row), ``init_rect`` (``[x, y, w, h]`` of frame 1), ``tags`` (VOT: tag name ->
    int array of per-frame 0/1, including ``all`` and ``empty``), ``attrs``
    (OTB attribute names), ``visible`` (bool per frame or None: frames OPE metrics
    score, pysot LaSOT ``absent == 1``), ``cover`` (GOT-10k visible ratio labels
    or None). ``width``/``height`` come from ``image_size`` or the first frame.
    """

    def __init__(self, name, img_names, gt, init_rect=None, tags=None, attrs=(),
                 visible=None, cover=None, image_size=None):
        self.name = name
        self.img_names = [os.path.abspath(p) for p in img_names]
        self.gt = np.asarray(gt, dtype=np.float64)
        if init_rect is None and len(self.gt):
            init_rect = (list(self.gt[0]) if self.gt.shape[1] == 4
                         else poly_to_minmax_rect(self.gt[0]))
        self.init_rect = None if init_rect is None else [float(v) for v in init_rect]
        self.tags = tags or {}
        self.attrs = list(attrs)
        self.visible = visible
        self.cover = cover
        self._size = None if image_size is None else (int(image_size[0]), int(image_size[1]))

    def __len__(self):
        return len(self.img_names)

    def __repr__(self):
        return f"Video({self.name!r}, {len(self)} frames)"

    @property
    def image_size(self):
        """(width, height), read from the first frame on first use."""
        if self._size is None:
            h, w = self.read_frame(0).shape[:2]
            self._size = (w, h)
        return self._size

    @image_size.setter
    def image_size(self, size):
        self._size = (int(size[0]), int(size[1]))

    @property
    def width(self):
        return self.image_size[0]

    @property
    def height(self):
        return self.image_size[1]

    def read_frame(self, index):
        """Frame ``index`` as a 3-channel BGR uint8 image (grayscale is expanded)."""
        path = self.img_names[index]
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            what = "unreadable image" if os.path.isfile(path) else "missing frame file"
            raise DatasetError(f"{self.name}: {what} {path} (frame {index + 1})")
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        return img

    def frames(self):
        """Yield every frame in order (BGR uint8), reading one file at a time."""
        for i in range(len(self.img_names)):
            yield self.read_frame(i)

    def check_files(self):
        """Raise ``DatasetError`` for the first frame file that does not exist."""
        for i, path in enumerate(self.img_names):
            if not os.path.isfile(path):
                raise DatasetError(f"{self.name}: missing frame file {path} (frame {i + 1})")

    def select_tag(self, tag, start=0, end=None):
        """Per-frame 0/1 values of ``tag`` in [start, end) (pysot ``VOTVideo.select_tag``)."""
        return self.tags[tag][start:end]


class Dataset:
    """Ordered collection of ``Video`` objects; index by position or name."""

    def __init__(self, name, root, kind, videos):
        self.name, self.root, self.kind = name, os.path.abspath(root), kind
        self.videos = {v.name: v for v in videos}

    def __len__(self):
        return len(self.videos)

    def __iter__(self):
        return iter(self.videos.values())

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return list(self.videos.values())[key]
        return self.videos[key]

    def __repr__(self):
        return f"Dataset({self.name!r}, {self.kind}, {len(self)} videos)"

    @property
    def tags(self):
        """Tag names shared by all videos (VOT), ``all`` first."""
        names = None
        for v in self:
            names = list(v.tags) if names is None else [t for t in names if t in v.tags]
        return names or []


# ----------------------------------------------------------------- text files
def _read_lines(path, seq):
    if not os.path.isfile(path):
        raise DatasetError(f"{seq}: missing file {path}")
    with open(path) as f:
        lines = f.read().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _parse_numbers(text, seq, where):
    fields = [f for f in _SEPARATORS.split(text.strip()) if f]
    try:
        return [float(f) for f in fields]
    except ValueError:
        raise DatasetError(f"{seq}: {where}: non-numeric value in {text.strip()!r}") from None


def _check_count(values, allowed, seq, where, text):
    if len(values) not in allowed:
        expected = " or ".join(str(a) for a in allowed)
        raise DatasetError(f"{seq}: {where}: expected {expected} values, got {len(values)} "
                           f"in {str(text).strip()!r}")


def read_groundtruth(path, seq, allowed=(4, 8)):
    """(N, k) float64 boxes/polygons from a text file, one region per line.

    Separators: comma, space or tab. Every line must have the same count, one
    of ``allowed``; errors name the sequence, file and line.
    """
    rows = []
    for i, line in enumerate(_read_lines(path, seq)):
        where = f"{path}:{i + 1}"
        values = _parse_numbers(line, seq, where)
        _check_count(values, (len(rows[0]),) if rows else allowed, seq, where, line)
        rows.append(values)
    if not rows:
        raise DatasetError(f"{seq}: {path} is empty")
    return np.array(rows, dtype=np.float64)


def _read_label_column(path, seq, length, pad=False):
    """Integer labels, one per line (VOT ``.tag``; GOT-10k ``.label``).

    VOT tag files omit trailing zeros, so ``pad`` fills them in; a file longer than
    the sequence is an error either way.
    """
    lines = _read_lines(path, seq)
    values = []
    for i, line in enumerate(lines):
        try:
            values.append(int(float(line.strip())))
        except ValueError:
            raise DatasetError(f"{seq}: {path}:{i + 1}: expected an integer label, "
                               f"got {line.strip()!r}") from None
    if len(values) > length or (len(values) < length and not pad):
        raise DatasetError(f"{seq}: {path} has {len(values)} lines for {length} frames")
    return np.array(values + [0] * (length - len(values)), dtype=np.int64)


def _read_label_row(path, seq, length):
    """LaSOT ``full_occlusion.txt``/``out_of_view.txt``: one comma-separated line."""
    lines = _read_lines(path, seq)
    values = _parse_numbers(",".join(lines), seq, path)
    if len(values) != length:
        raise DatasetError(f"{seq}: {path} has {len(values)} values for {length} frames")
    return np.array(values, dtype=np.int64)


def _read_list(path, what):
    if not os.path.isfile(path):
        raise DatasetError(f"{what}: missing sequence list {path}")
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


# ---------------------------------------------------------------- frame lists
def list_frames(frame_dir, seq):
    """Sorted image files of a frame directory."""
    if not os.path.isdir(frame_dir):
        raise DatasetError(f"{seq}: missing frame directory {frame_dir}")
    names = sorted(n for n in os.listdir(frame_dir) if n.lower().endswith(IMAGE_EXTENSIONS))
    return [os.path.join(frame_dir, n) for n in names]


def _first_missing_frame(files, n_expected):
    """Name of the first missing file of a numbered sequence (00000001.jpg, ...), or None."""
    if not files:
        return None
    stems = [os.path.splitext(os.path.basename(f)) for f in files]
    if not all(s.isdigit() for s, _ in stems):
        return None
    numbers = [int(s) for s, _ in stems]
    first = min(numbers[0], 1)
    digits, ext = len(stems[0][0]), stems[0][1]
    present = set(numbers)
    for k in range(first, first + max(n_expected, len(files))):
        if k not in present:
            return os.path.join(os.path.dirname(files[0]), f"{k:0{digits}d}{ext}")
    return None


def check_frame_count(seq, files, frame_dir, n_gt, gt_path):
    """Frames must match ground-truth lines one to one; name the first gap if any."""
    missing = _first_missing_frame(files, n_gt)
    if missing is not None and (len(files) < n_gt or missing < files[-1]):
        raise DatasetError(f"{seq}: missing frame file {missing} "
                           f"({len(files)} frames for {n_gt} lines in {gt_path})")
    if len(files) != n_gt:
        raise DatasetError(f"{seq}: {len(files)} frames in {frame_dir} but {n_gt} "
                           f"ground-truth lines in {gt_path}")


# ----------------------------------------------------------------- pysot JSON
def _resolve_images(root, video_dir, img_names):
    """pysot JSON image names are relative to the root (or, in old JSONs, to root/video_dir)."""
    base = root
    if img_names and not os.path.exists(os.path.join(root, img_names[0])) and \
            os.path.exists(os.path.join(root, video_dir, img_names[0])):
        base = os.path.join(root, video_dir)
    return [os.path.join(base, n) for n in img_names]


def _json_gt(meta, seq, json_path, allowed):
    rows = meta.get("gt_rect")
    if rows is None:
        raise DatasetError(f"{seq}: {json_path}: no gt_rect")
    for i, row in enumerate(rows):
        where = f"{json_path}: gt_rect[{i}]"
        if not isinstance(row, (list, tuple)) or \
                not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row):
            raise DatasetError(f"{seq}: {where}: non-numeric value in {row!r}")
        _check_count(row, (len(rows[0]),) if i else allowed, seq, where, row)
    return np.array(rows, dtype=np.float64)


def _load_json(path, name):
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DatasetError(f"{name}: {path} is not valid JSON ({e})") from None


def _json_videos(root, json_path, name, kind, image_sizes):
    meta_data = _load_json(json_path, name)
    videos = []
    allowed = (4, 8) if kind == "vot" else (4,)
    for seq, meta in meta_data.items():
        gt = _json_gt(meta, seq, json_path, allowed)
        img_names = _resolve_images(root, meta.get("video_dir", seq), meta.get("img_names", []))
        if len(img_names) != len(gt):
            raise DatasetError(f"{seq}: {json_path}: {len(img_names)} img_names but "
                               f"{len(gt)} gt_rect entries")
        kwargs = {}
        if kind == "vot":
            kwargs["tags"] = _vot_tags({t: meta.get(t, []) for t in VOT_TAGS}, len(gt), seq, json_path)
        if kind == "lasot" and "absent" in meta:
            kwargs["visible"] = np.asarray(meta["absent"]) == 1    # pysot: absent == 1 means visible
        videos.append(Video(seq, img_names, gt, init_rect=meta.get("init_rect"),
                            attrs=meta.get("attr", []) or [],
                            image_size=(image_sizes or {}).get(seq), **kwargs))
    return videos


def _vot_tags(raw, length, seq, source):
    """'all', the five VOT tags (zero-padded to the sequence) and 'empty' (no tag set)."""
    tags = {"all": np.ones(length, np.int64)}
    for tag in VOT_TAGS:
        values = list(raw.get(tag, []))
        if len(values) > length:
            raise DatasetError(f"{seq}: {source}: tag {tag} has {len(values)} values for {length} frames")
        tags[tag] = np.array(values + [0] * (length - len(values)), dtype=np.int64)
    tags["empty"] = (np.sum([tags[t] for t in VOT_TAGS], axis=0) == 0).astype(np.int64)
    return tags


# ------------------------------------------------------------------ raw layouts
def _listed_or_found(root, list_name, find):
    """Sequence names from ``root/list_name`` if it exists, else ``find()`` (a folder scan)."""
    list_path = os.path.join(root, list_name)
    return _read_list(list_path, os.path.basename(root)) if os.path.isfile(list_path) else find()


def _sequence(seq, gt_path, frame_dir, allowed=(4,)):
    """(ground truth, frame files) of one sequence, checked to have one line per frame."""
    gt = read_groundtruth(gt_path, seq, allowed=allowed)
    files = list_frames(frame_dir, seq)
    check_frame_count(seq, files, frame_dir, len(gt), gt_path)
    return gt, files


def _vot_raw_videos(root, image_sizes):
    videos = []
    for seq in _read_list(os.path.join(root, "list.txt"), os.path.basename(root)):
        seq_dir = os.path.join(root, seq)
        color = os.path.join(seq_dir, "color")
        gt, files = _sequence(seq, os.path.join(seq_dir, "groundtruth.txt"),
                              color if os.path.isdir(color) else seq_dir, allowed=(4, 8))
        raw_tags = {}
        for tag in VOT_TAGS:
            path = os.path.join(seq_dir, f"{tag}.tag")
            if os.path.isfile(path):
                raw_tags[tag] = _read_label_column(path, seq, len(gt), pad=True).tolist()
        videos.append(Video(seq, files, gt, tags=_vot_tags(raw_tags, len(gt), seq, seq_dir),
                            image_size=(image_sizes or {}).get(seq)))
    return videos


def _otb_raw_videos(root, image_sizes):
    seqs = _listed_or_found(root, "list.txt", lambda: sorted(
        d for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, "groundtruth_rect.txt"))))
    if not seqs:
        raise DatasetError(f"{root}: no sequences (no JSON, list.txt or */groundtruth_rect.txt)")
    videos = []
    for seq in seqs:
        gt, files = _sequence(seq, os.path.join(root, seq, "groundtruth_rect.txt"), os.path.join(root, seq, "img"))
        videos.append(Video(seq, files, gt, image_size=(image_sizes or {}).get(seq)))
    return videos


def _got10k_resolution(seq_dir):
    """(w, h) from GOT-10k ``meta_info.ini`` (``resolution: (1280, 720)``), or None."""
    path = os.path.join(seq_dir, "meta_info.ini")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        m = re.search(r"^resolution:\s*\((\d+),\s*(\d+)\)", f.read(), re.M)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _got10k_videos(root, test_split, image_sizes):
    if not os.path.isfile(os.path.join(root, "list.txt")):
        split_dir = os.path.join(root, "test" if test_split else "val")
        if os.path.isfile(os.path.join(split_dir, "list.txt")):
            root = split_dir
    videos = []
    for seq in _read_list(os.path.join(root, "list.txt"), os.path.basename(root)):
        seq_dir = os.path.join(root, seq)
        gt_path = os.path.join(seq_dir, "groundtruth.txt")
        gt = read_groundtruth(gt_path, seq, allowed=(4,))
        files = list_frames(seq_dir, seq)
        if not (test_split and len(gt) == 1):   # test split: only the first box is public
            check_frame_count(seq, files, seq_dir, len(gt), gt_path)
        labels = {}
        for label in ("cover", "absence"):
            path = os.path.join(seq_dir, f"{label}.label")
            if os.path.isfile(path):
                labels[label] = _read_label_column(path, seq, len(files))
        visible = None if "absence" not in labels else labels["absence"] == 0
        size = (image_sizes or {}).get(seq) or _got10k_resolution(seq_dir)
        videos.append(Video(seq, files, gt, visible=visible, cover=labels.get("cover"),
                            image_size=size))
    return videos


def _lasot_raw_videos(root, image_sizes):
    seqs = _listed_or_found(root, "testing_set.txt", lambda: sorted(
        s for c in sorted(os.listdir(root)) if os.path.isdir(os.path.join(root, c))
        for s in os.listdir(os.path.join(root, c)) if os.path.isfile(os.path.join(root, c, s, "groundtruth.txt"))))
    videos = []
    for seq in seqs:
        seq_dir = os.path.join(root, seq.rsplit("-", 1)[0], seq)
        gt, files = _sequence(seq, os.path.join(seq_dir, "groundtruth.txt"), os.path.join(seq_dir, "img"))
        hidden = np.zeros(len(gt), bool)
        for label in ("full_occlusion", "out_of_view"):
            path = os.path.join(seq_dir, f"{label}.txt")
            if os.path.isfile(path):
                hidden |= _read_label_row(path, seq, len(gt)) > 0
        videos.append(Video(seq, files, gt, visible=~hidden, image_size=(image_sizes or {}).get(seq)))
    return videos


# ------------------------------------------------------------- DAVIS (VOS)
DAVIS_VOID = 255


class DavisVideo(Video):
    """A DAVIS sequence: frames, one annotation PNG per frame and the target objects.

    Extra attributes: ``anno_names`` (annotation PNG per frame, or only the
    first frame's for test splits), ``multi_object`` and ``object_ids``.

    * Single-object (DAVIS 2016, and any dataset whose annotations are 0/255):
      every non-zero pixel is the object (as SiamMask reads DAVIS 2016, which
      also merges the objects of DAVIS 2017-style palette annotations);
      ``object_ids == [1]``.
    * Multi-object (DAVIS 2017; palette PNGs of object ids): ``object_ids`` are
      the ids in the first-frame annotation; the void label 255 counts as
      background (the DAVIS semi-supervised evaluation does the same).

    ``gt`` is empty and ``init_rect`` None: trackers start from ``init_boxes``.
    """

    def __init__(self, name, img_names, anno_names, multi_object, object_ids, image_size=None):
        self.anno_names = [os.path.abspath(p) for p in anno_names]
        self.multi_object = bool(multi_object)
        self.object_ids = [int(i) for i in object_ids]
        self._init_boxes = None
        super().__init__(name, img_names, np.zeros((0, 4)), init_rect=None, image_size=image_size)

    @property
    def fully_annotated(self):
        """False for test splits, where only the first frame's annotation is public."""
        return len(self.anno_names) == len(self.img_names)

    def frame_stem(self, index):
        """File name of frame ``index`` without extension (``00000``): the result mask's name."""
        return os.path.splitext(os.path.basename(self.img_names[index]))[0]

    def target_name(self, object_id):
        """``<seq>`` for single-object sequences, DAVIS 2017's ``<seq>_<id>`` otherwise."""
        return f"{self.name}_{object_id}" if self.multi_object else self.name

    def read_label(self, index):
        """Annotation of frame ``index`` as (H, W) uint8: 0/1 (single object) or object ids (void -> 0)."""
        path = self.anno_names[index]
        if not os.path.isfile(path):
            raise DatasetError(f"{self.name}: missing annotation file {path} (frame {index + 1})")
        try:
            labels = read_label_png(path)
        except ValueError as e:
            raise DatasetError(f"{self.name}: {path}: {e}") from None
        if labels is None:
            raise DatasetError(f"{self.name}: unreadable annotation {path} (frame {index + 1})")
        if (labels.shape[1], labels.shape[0]) != self.image_size:
            raise DatasetError(f"{self.name}: annotation {path} is {labels.shape[1]}x{labels.shape[0]} "
                               f"but the frames are {self.width}x{self.height}")
        if not self.multi_object:
            return (labels > 0).astype(np.uint8)
        labels = labels.copy()
        labels[labels == DAVIS_VOID] = 0
        return labels

    def object_masks(self, index):
        """{object id: bool (H, W) mask} of frame ``index``."""
        labels = self.read_label(index)
        return {k: (labels == k if self.multi_object else labels > 0) for k in self.object_ids}

    @property
    def init_boxes(self):
        """{object id: [x, y, w, h]}: ``cv2.boundingRect`` of the object's first-frame mask."""
        if self._init_boxes is None:
            self._init_boxes = {k: [float(v) for v in cv2.boundingRect(m.astype(np.uint8))]
                                for k, m in self.object_masks(0).items()}
        return self._init_boxes


def _davis_split(name):
    """'val', 'train' or 'test-dev' from the dataset name's suffix (DAVIS2017-test-dev); val by default."""
    key = re.sub(r"[-_ ]", "", name.lower())
    if key.endswith("testdev"):
        return "test-dev"
    return "train" if key.endswith("train") else "val"


def _davis_sequences(root, name):
    """Sequence names from the first list that exists (see the module docstring for the order)."""
    split = _davis_split(name)
    year = re.search(r"(20\d\d)", name)
    sets_dir = os.path.join(root, "ImageSets")
    expected = os.path.join(sets_dir, year.group(1) if year else "<year>", f"{split}.txt")
    candidates = [expected] if year else []
    candidates += [os.path.join(root, "list.txt"), os.path.join(sets_dir, "480p", f"{split}.txt")]
    found = [p for p in candidates if os.path.isfile(p)]
    if not found and not year:
        found = sorted(p for p in (os.path.join(sets_dir, d, f"{split}.txt")
                                   for d in (os.listdir(sets_dir) if os.path.isdir(sets_dir) else []))
                       if os.path.isfile(p))
        if len(found) > 1:
            raise DatasetError(f"{name}: several sequence lists ({', '.join(found)}): put the year in "
                               f"the dataset name, e.g. DAVIS2017")
    if not found:
        raise DatasetError(f"{name}: missing sequence list {expected} (or {os.path.join(root, 'list.txt')})")
    seqs = []
    for line in _read_list(found[0], name):
        # DAVIS 2016's ImageSets/480p lists frame pairs: /JPEGImages/480p/<seq>/00000.jpg /Annotations/...
        seq = line.split()[0].strip("/").split("/")[-2] if "/" in line else line
        if seq not in seqs:
            seqs.append(seq)
    if not seqs:
        raise DatasetError(f"{name}: {found[0]} lists no sequences")
    return seqs


def _image_size(path):
    """(w, h) from an image file's header (no decoding), or None when it cannot be read."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError, SyntaxError):
        return None


def _check_davis_sizes(seq, files, annos):
    """All frames and annotations must have the first frame's size; returns it as (w, h)."""
    size = None
    for what, paths in (("image", files), ("annotation", annos)):
        for k, path in enumerate(paths, start=1):
            other = _image_size(path)
            if other is None:
                raise DatasetError(f"{seq}: unreadable {what} {path} (frame {k})")
            if size is None:
                size = other
            elif other != size:
                raise DatasetError(f"{seq}: {what} {path} is {other[0]}x{other[1]} but frame 1 "
                                   f"({files[0]}) is {size[0]}x{size[1]}")
    return size


def _davis_files(root, seq, test_split):
    """Frame and annotation paths of one sequence, checked against each other."""
    frame_dir = os.path.join(root, "JPEGImages", "480p", seq)
    anno_dir = os.path.join(root, "Annotations", "480p", seq)
    files = list_frames(frame_dir, seq)
    if not files:
        raise DatasetError(f"{seq}: no frames in {frame_dir}")
    missing = _first_missing_frame(files, len(files))
    if missing is not None and missing < files[-1]:
        raise DatasetError(f"{seq}: missing frame file {missing}")
    if not os.path.isdir(anno_dir):
        raise DatasetError(f"{seq}: missing annotation directory {anno_dir}")
    stems = [os.path.splitext(os.path.basename(f))[0] for f in files]
    annos = [os.path.join(anno_dir, f"{stem}.png") for stem in stems]
    orphans = sorted(set(n for n in os.listdir(anno_dir) if n.lower().endswith(".png"))
                     - {os.path.basename(a) for a in annos})
    if orphans:
        raise DatasetError(f"{seq}: annotation {os.path.join(anno_dir, orphans[0])} has no frame in {frame_dir}")
    if test_split:          # DAVIS test-dev: only the first frame is annotated
        annos = annos[:1]
    for k, path in enumerate(annos):
        if not os.path.isfile(path):
            raise DatasetError(f"{seq}: missing annotation file {path} (frame {k + 1} of {len(files)})")
    return files, annos


def _davis_videos(root, name):
    """DAVIS sequences, single-object for DAVIS2016, else as the annotations say.

    Names with 2016 are single-object (SiamMask's DAVIS 2016 protocol, also on
    DAVIS 2017's multi-object PNGs); other datasets are multi-object when a
    first-frame annotation holds a value other than 0 and 255 (object ids, as
    every DAVIS 2017 sequence does), else single-object (0/255 masks).
    """
    year = re.search(r"(20\d\d)", name)
    test_split = _davis_split(name) == "test-dev"
    raw = []
    for seq in _davis_sequences(root, name):
        files, annos = _davis_files(root, seq, test_split)
        size = _check_davis_sizes(seq, files, annos)
        try:
            first = read_label_png(annos[0])
        except ValueError as e:
            raise DatasetError(f"{seq}: {annos[0]}: {e}") from None
        if first is None:
            raise DatasetError(f"{seq}: unreadable annotation {annos[0]} (frame 1)")
        raw.append((seq, files, annos, size, first))
    multi = not (year and year.group(1) == "2016") and \
        any(set(np.unique(first).tolist()) - {0, DAVIS_VOID} for *_, first in raw)
    videos = []
    for seq, files, annos, size, first in raw:
        if multi:
            ids = [int(i) for i in np.unique(first) if i not in (0, DAVIS_VOID)]
        else:
            ids = [1] if first.any() else []
        if not ids:
            raise DatasetError(f"{seq}: no object in the first-frame annotation {annos[0]}")
        videos.append(DavisVideo(seq, files, annos, multi, ids, size))
    return videos


# ---------------------------------------------------------------------- entry
def dataset_kind(name):
    """'vot', 'otb', 'got10k', 'lasot' or 'davis' from a dataset name (VOTSYN is VOT-like, OTBSYN
    OTB-like, DAVISSYN DAVIS-like)."""
    key = name.upper().replace("-", "").replace("_", "")
    if key.startswith("VOT") and "LT" not in key:
        return "vot"
    if key.startswith(("OTB", "CVPR13")):
        return "otb"
    if key.startswith("GOT10K"):
        return "got10k"
    if key.startswith("LASOT"):
        return "lasot"
    if key.startswith("DAVIS"):
        return "davis"
    raise DatasetError(f"unknown dataset name {name!r}: expected VOT20xx (or VOT-like), OTB100/OTB2015/"
                       f"OTB50 (or OTB-like), GOT10k-val, GOT10k-test, LaSOT or DAVIS2016/DAVIS2017 "
                       f"(or DAVIS-like); or pass kind=")


def _find_json(root, name):
    for candidate in (f"{name}.json", f"{name}_new.json"):
        path = os.path.join(root, candidate)
        if os.path.isfile(path):
            return path
    return None


def load_dataset(name, root, kind=None, image_sizes=None):
    """Load a benchmark dataset (see the module docstring for the layouts).

    ``kind`` overrides the guess from ``name``; ``image_sizes`` maps sequence
    names to ``(w, h)`` so scoring does not need any frame on disk.
    """
    kind = kind or dataset_kind(name)
    if not os.path.isdir(root):
        raise DatasetError(f"{name}: dataset root {root} does not exist")
    json_path = _find_json(root, name) if kind in ("vot", "otb", "lasot") else None
    if json_path:
        videos = _json_videos(root, json_path, name, kind, image_sizes)
    elif kind == "vot":
        videos = _vot_raw_videos(root, image_sizes)
    elif kind == "otb":
        videos = _otb_raw_videos(root, image_sizes)
    elif kind == "got10k":
        videos = _got10k_videos(root, name.lower().endswith("test"), image_sizes)
    elif kind == "davis":
        videos = _davis_videos(root, name)
    else:
        videos = _lasot_raw_videos(root, image_sizes)
    return Dataset(name, root, kind, videos)

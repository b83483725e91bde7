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
  ``out_of_view.txt`` (or the same files in ``<root>/<seq>/`` without class
  folders); sequences from ``testing_set.txt`` or a scan of the root.
* VOT long-term (``VOT2018-LT``, ``VOT2019-LT``, ``VOTLTSYN``: any ``VOT...`` name
  with ``LT``): ``<root>/<NAME>.json`` (pysot ``VOTLTDataset``), else ``list.txt``
  with ``<seq>/color/*.jpg`` or ``<seq>/*.jpg`` and ``groundtruth.txt``; a row
  that is all NaN (``nan,nan,nan,nan``; NaN in the JSON's ``gt_rect``) means the
  target is absent in that frame (``Video.visible`` False there, counted in
  ``notes["absent_frames"]``). A row with some values NaN and others not is an
  error naming the sequence and line.
* DAVIS (``DAVIS2016``, ``DAVIS2017``, any ``DAVIS...`` name; video object
  segmentation): ``<root>/JPEGImages/480p/<seq>/%05d.jpg`` and
  ``<root>/Annotations/480p/<seq>/%05d.png``; sequences from
  ``ImageSets/<year>/val.txt`` (``train.txt`` / ``test-dev.txt`` for names
  ending in ``-train`` / ``-test-dev``), else ``list.txt``, else DAVIS 2016's
  own ``ImageSets/480p/val.txt`` (frame-pair lines), else (names without a
  year, e.g. ``DAVISSYN``) the only ``ImageSets/*/<split>.txt``. See
  ``DavisVideo`` for how masks are read.

When a pysot JSON exists it is the ground truth (as in pysot), also when raw
``groundtruth.txt`` files lie beside it; ``Dataset.notes["gt_source"]`` and a
log line say so.

Validation (``load_dataset`` checks everything but the pixels before any
tracking starts):

* the sequence list, every ground-truth file (parsed), every label/tag file,
  the frame files (listed for raw layouts; with ``check_frames=True`` every
  ``img_names`` entry of a JSON is checked to exist; nothing is decoded:
  ``Video.read_frame`` refuses a truncated or corrupt frame when it is read);
* an empty dataset (empty list, empty JSON, empty folder) is an error;
* sequences a list or JSON names but that are not on disk (a partial download)
  are left out, listed in ``notes["missing_sequences"]`` and logged;
  ``missing="error"`` refuses instead. Missing *frames* of a present sequence
  are always an error. A dataset with no sequence on disk is an error.
* The first frame's ground truth must give a usable init box (finite, positive
  width and height; a polygon with positive area; for VOT 4-value rows, the
  VOT polygon ``[x, y, ..., x+w-1, ...]`` pysot builds must have area too, so
  w = 1 or h = 1 is refused): otherwise one line names the sequence, file and line (JSON:
  ``gt_rect[i]``).
* Later frames whose ground truth forms no box (absent targets written as
  ``0,0,0,0`` or NaN, negative sizes, zero-area polygons) are kept and scored
  as pysot scores them (OPE: IoU -1 / centre error -1, see ``ope_metrics``;
  VOT: zero overlap, i.e. a failure when tracked), but counted per sequence in
  ``notes["unusable_gt_frames"]`` and logged. VOT re-initialisation (a design
  choice: pysot would initialise from NaN there and the tracker would fail or
  raise): ``runner.run_supervised`` re-initialises at the next frame whose
  ground truth is usable, writing skipped codes (0) until then; EAO (cut at
  failure + 5 as in pysot) counts those frames as zero overlap, like the
  frames skipped after any failure, and accuracy ignores them.
* GOT-10k: a non-finite ground-truth value on a scored frame (frame 2.. with
  ``cover > 0``) is refused: the got10k toolkit would average it into a NaN AO.

``Dataset.notes`` is JSON-serialisable (eval.py stores it in eval.json):
``{"gt_source": {...}, "listed_sequences": n, "missing_sequences": [...],
"unusable_gt_frames": {seq: count}}``, and for long-term sets ``"absent_frames": {seq: count}``.
"""
import logging
import math
import os
import re

import cv2
import numpy as np

from ..image_io import ImageError, read_image
from ..utils import is_json_number, read_json
from .geometry import poly_to_minmax_rect, rect_to_vot_polygon
from .results import read_label_png

VOT_TAGS = ("camera_motion", "illum_change", "motion_change", "size_change", "occlusion")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
_SEPARATORS = re.compile(r"[,\s]+")
MISSING_POLICIES = ("warn", "error")
logger = logging.getLogger("src.evaluation")


class DatasetError(ValueError):
    """A dataset file is missing, inconsistent or malformed (one-line message)."""


# ------------------------------------------------------- ground-truth regions
def supervised_region(row):
    """The polygon the VOT supervised protocol uses for one ground-truth row (pysot tools/test.py):
    8 values as they are, 4 values as ``rect_to_vot_polygon``."""
    return [float(v) for v in row] if len(row) == 8 else rect_to_vot_polygon(row)


def region_problem(region):
    """Why ``region`` (``[x, y, w, h]`` or an 8-value polygon) gives no usable box, or None.

    A tracker is initialised with ``geometry.init_rect_from_region(region)``: it
    needs finite values and a positive size; a polygon needs a positive area
    (pysot's same-area box divides by the min-max box's area).
    """
    values = np.asarray(region, np.float64).ravel()
    if not np.all(np.isfinite(values)):
        return "has a non-finite value"
    if values.size == 4:
        return None if values[2] > 0 and values[3] > 0 else "has a zero or negative width or height"
    xs, ys = values[0::2], values[1::2]
    if not (_polygon_areas(values[None])[0] > 0 and xs.max() > xs.min() and ys.max() > ys.min()):
        return "is a degenerate polygon (zero area)"
    return None


def _polygon_areas(polys):
    """Shoelace areas of (N, 2k) polygons."""
    xs, ys = polys[:, 0::2], polys[:, 1::2]
    with np.errstate(invalid="ignore", over="ignore"):     # inf/NaN rows are refused by the caller
        return 0.5 * np.abs(np.sum(xs * np.roll(ys, -1, axis=1) - ys * np.roll(xs, -1, axis=1), axis=1))


def usable_regions(gt, supervised=False):
    """Bool per row of ``gt``: does ``region_problem`` accept it (vectorised).

    ``supervised``: 4-value rows must also make a usable VOT polygon (``supervised_region``).
    """
    gt = np.asarray(gt, np.float64)
    if len(gt) == 0:
        return np.zeros(0, bool)
    ok = np.all(np.isfinite(gt), axis=1)
    with np.errstate(invalid="ignore"):
        if gt.shape[1] == 4:
            ok &= (gt[:, 2] > 0) & (gt[:, 3] > 0)
            if not supervised:
                return ok
            gt = np.array([supervised_region(r) for r in gt], np.float64)
        xs, ys = gt[:, 0::2], gt[:, 1::2]
        return ok & (_polygon_areas(gt) > 0) & (xs.max(1) > xs.min(1)) & (ys.max(1) > ys.min(1))


def first_frame_error(video, supervised=False):
    """``DatasetError`` (not raised) when a tracker cannot start from ``video``'s first
    ground-truth row, else None. The message names the sequence, file and line."""
    if len(video.gt) == 0:
        return None
    row = video.gt[0]
    problem = region_problem(row)
    if problem is None and supervised and len(row) == 4 and region_problem(supervised_region(row)):
        problem = ("gives a VOT polygon of zero area (pysot's supervised protocol turns [x, y, w, h] into "
                   "corners x+w-1, y+h-1, which have no area when w or h is 1)")
    if problem is None:
        return None
    shown = "[" + ", ".join(f"{v:g}" for v in row) + "]"
    what = "box" if len(row) == 4 else "polygon"
    return DatasetError(f"{video.name}: {video.gt_where(0)}: first-frame {what} {shown} {problem}; "
                        f"a tracker cannot be initialised from it")


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
    ``gt_file`` is where the ground truth was read (a text file, one row a line,
    or, with ``gt_in_json``, a pysot JSON's ``gt_rect``).
    """

    def __init__(self, name, img_names, gt, init_rect=None, tags=None, attrs=(),
                 visible=None, cover=None, image_size=None, gt_file=None, gt_in_json=False):
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
        self.gt_file, self.gt_in_json = gt_file, gt_in_json
        self._size = None if image_size is None else (int(image_size[0]), int(image_size[1]))

    def __len__(self):
        return len(self.img_names)

    def __repr__(self):
        return f"Video({self.name!r}, {len(self)} frames)"

    def gt_where(self, index):
        """Where ground-truth row ``index`` comes from: ``file:line`` or ``file: gt_rect[index]``."""
        if self.gt_file is None:
            return f"ground truth row {index + 1}"
        return f"{self.gt_file}: gt_rect[{index}]" if self.gt_in_json else f"{self.gt_file}:{index + 1}"

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
        """Frame ``index`` as a 3-channel BGR uint8 image (grayscale is expanded).

        A missing, truncated or corrupt file is a ``DatasetError`` naming the
        sequence, the file and the frame (``image_io.read_image``: cv2 alone would
        decode a truncated JPEG with grey rows and no error).
        """
        path = self.img_names[index]
        if not os.path.isfile(path):
            raise DatasetError(f"{self.name}: missing frame file {path} (frame {index + 1})")
        try:
            img = read_image(path, cv2.IMREAD_COLOR)
        except ImageError as e:
            raise DatasetError(f"{self.name}: {e} (frame {index + 1})") from None
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        return img

    def frames(self):
        """Yield every frame in order (BGR uint8), reading one file at a time."""
        for i in range(len(self.img_names)):
            yield self.read_frame(i)

    def check_files(self):
        """Raise ``DatasetError`` for the first frame file that does not exist (nothing is decoded)."""
        for i, path in enumerate(self.img_names):
            if not os.path.isfile(path):
                raise DatasetError(f"{self.name}: missing frame file {path} "
                                   f"(frame {i + 1} of {len(self.img_names)})")

    def select_tag(self, tag, start=0, end=None):
        """Per-frame 0/1 values of ``tag`` in [start, end) (pysot ``VOTVideo.select_tag``)."""
        return self.tags[tag][start:end]


class Dataset:
    """Ordered collection of ``Video`` objects; index by position or name.

    ``notes``: what loading found and the numbers depend on (JSON-serialisable;
    see the module docstring).
    """

    def __init__(self, name, root, kind, videos, notes=None):
        self.name, self.root, self.kind = name, os.path.abspath(root), kind
        self.videos = {v.name: v for v in videos}
        self.notes = notes if notes is not None else {}

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

    def check_files(self):
        """Every frame file of every sequence exists (``Video.check_files``; no decoding)."""
        for video in self:
            video.check_files()

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
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except UnicodeDecodeError as e:
        raise DatasetError(f"{seq}: {path} is not a text file (byte {e.start} is not UTF-8)") from None
    except OSError as e:
        raise DatasetError(f"{seq}: cannot read {path}: {e.strerror or e}") from None
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
    of ``allowed``; errors name the sequence, file and line. Values that form
    no box (NaN, 0,0,0,0) are kept: ``load_dataset`` decides which frames may
    hold them.
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


def _integer_label(value, seq, where, text):
    """An integer-valued label (``1``, ``0.0``); NaN, inf and fractions are errors."""
    if not (math.isfinite(value) and value == int(value)):
        raise DatasetError(f"{seq}: {where}: expected an integer label, got {str(text).strip()!r}")
    return int(value)


def _read_label_column(path, seq, length, pad=False):
    """Integer labels, one per line (VOT ``.tag``; GOT-10k ``.label``).

    VOT tag files omit trailing zeros, so ``pad`` fills them in; a file longer than
    the sequence is an error either way.
    """
    lines = _read_lines(path, seq)
    values = []
    for i, line in enumerate(lines):
        where = f"{path}:{i + 1}"
        try:
            number = float(line.strip())
        except ValueError:
            raise DatasetError(f"{seq}: {where}: expected an integer label, got {line.strip()!r}") from None
        values.append(_integer_label(number, seq, where, line))
    if len(values) > length or (len(values) < length and not pad):
        raise DatasetError(f"{seq}: {path} has {len(values)} lines for {length} frames")
    return np.array(values + [0] * (length - len(values)), dtype=np.int64)


def _read_label_row(path, seq, length):
    """LaSOT ``full_occlusion.txt``/``out_of_view.txt``: one comma-separated line."""
    lines = _read_lines(path, seq)
    values = _parse_numbers(",".join(lines), seq, path)
    if len(values) != length:
        raise DatasetError(f"{seq}: {path} has {len(values)} values for {length} frames")
    return np.array([_integer_label(v, seq, f"{path}: value {k + 1}", v) for k, v in enumerate(values)],
                    dtype=np.int64)


def _read_list(path, what):
    if not os.path.isfile(path):
        raise DatasetError(f"{what}: missing sequence list {path}")
    return [line.strip() for line in _read_lines(path, what) if line.strip()]


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


# ------------------------------------------------------------ sequence lists
class _Listing:
    """The sequences a dataset names (``names``, from ``source``) and which of them are on disk."""

    def __init__(self, names, source, present=None):
        self.names, self.source = list(names), source
        self.present = present or (lambda seq: True)


def _select_present(name, listing, missing):
    """(names on disk, names missing): an empty listing, duplicates, no sequence on disk
    and (``missing='error'``) any missing sequence are errors."""
    if not listing.names:
        raise DatasetError(f"{name}: {listing.source} lists no sequences")
    seen = set()
    for seq in listing.names:
        if seq in seen:
            raise DatasetError(f"{name}: {listing.source} lists sequence {seq} twice")
        seen.add(seq)
    absent = [s for s in listing.names if not listing.present(s)]
    if absent and len(absent) == len(listing.names):
        raise DatasetError(f"{name}: none of the {len(absent)} sequences listed in {listing.source} is on "
                           f"disk (first: {absent[0]}): is --dataset_path the dataset folder?")
    if absent and missing == "error":
        raise DatasetError(f"{name}: sequence {absent[0]} listed in {listing.source} is not on disk "
                           f"({len(absent)} of {len(listing.names)} listed sequences are missing)")
    return [s for s in listing.names if s not in set(absent)], absent


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
    if not isinstance(rows, list) or not rows:
        raise DatasetError(f"{seq}: {json_path}: gt_rect must be a non-empty list of boxes, got {rows!r:.60}")
    for i, row in enumerate(rows):
        where = f"{json_path}: gt_rect[{i}]"
        if not isinstance(row, (list, tuple)) or not all(is_json_number(v) for v in row):
            raise DatasetError(f"{seq}: {where}: non-numeric value in {row!r}")
        _check_count(row, (len(rows[0]),) if i else allowed, seq, where, row)
    return np.array(rows, dtype=np.float64)


def _json_labels(meta, key, seq, json_path, length, pad):
    """Per-frame integer labels stored in a pysot JSON (VOT tags, LaSOT ``absent``)."""
    values = meta.get(key, [])
    if not isinstance(values, list):
        raise DatasetError(f"{seq}: {json_path}: {key} must be a list of per-frame labels")
    for k, v in enumerate(values):
        if not (is_json_number(v) and math.isfinite(v) and v == int(v)):
            raise DatasetError(f"{seq}: {json_path}: {key}[{k}]: expected an integer label, got {v!r}")
    if len(values) > length or (len(values) < length and not pad):
        raise DatasetError(f"{seq}: {json_path}: {key} has {len(values)} values for {length} frames")
    return [int(v) for v in values]


def _load_json(path, name):
    return read_json(path, DatasetError, prefix=f"{name}: ")


def _json_listing(root, json_path, name):
    meta_data = _load_json(json_path, name)
    if not isinstance(meta_data, dict):
        raise DatasetError(f"{name}: {json_path}: expected an object of sequences, got {type(meta_data).__name__}")
    for seq, meta in meta_data.items():
        if not isinstance(meta, dict):
            raise DatasetError(f"{seq}: {json_path}: expected an object with img_names and gt_rect, "
                               f"got {type(meta).__name__}")
        names = meta.get("img_names", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise DatasetError(f"{seq}: {json_path}: img_names must be a list of file names")
        if not isinstance(meta.get("video_dir", seq), str):
            raise DatasetError(f"{seq}: {json_path}: video_dir must be a string")

    def present(seq):
        meta = meta_data[seq]
        video_dir = meta.get("video_dir", seq)
        first = _resolve_images(root, video_dir, meta.get("img_names", [])[:1])
        return os.path.isdir(os.path.join(root, video_dir)) or bool(first and os.path.exists(first[0]))
    return meta_data, _Listing(meta_data, json_path, present)


def _json_videos(root, json_path, name, kind, image_sizes, seqs, meta_data):
    videos = []
    allowed = (4, 8) if kind in ("vot", "votlt") else (4,)
    for seq in seqs:
        meta = meta_data[seq]
        gt = _json_gt(meta, seq, json_path, allowed)
        img_names = _resolve_images(root, meta.get("video_dir", seq), meta.get("img_names", []))
        if len(img_names) != len(gt):
            raise DatasetError(f"{seq}: {json_path}: {len(img_names)} img_names but "
                               f"{len(gt)} gt_rect entries")
        init_rect = meta.get("init_rect")
        if init_rect is not None and not (isinstance(init_rect, list) and len(init_rect) == 4
                                          and all(is_json_number(v) for v in init_rect)):
            raise DatasetError(f"{seq}: {json_path}: init_rect must be 4 numbers, got {init_rect!r:.60}")
        attrs = meta.get("attr", []) or []
        if not isinstance(attrs, list):
            raise DatasetError(f"{seq}: {json_path}: attr must be a list of attribute names")
        kwargs = {}
        if kind == "vot":
            kwargs["tags"] = _vot_tags({t: _json_labels(meta, t, seq, json_path, len(gt), pad=True)
                                        for t in VOT_TAGS}, len(gt), seq, json_path)
        if kind == "votlt":
            kwargs["visible"] = _long_term_visible(seq, gt, lambda i: f"{json_path}: gt_rect[{i}]")
        if kind == "lasot" and "absent" in meta:
            absent = _json_labels(meta, "absent", seq, json_path, len(gt), pad=False)
            kwargs["visible"] = np.asarray(absent) == 1    # pysot: absent == 1 means visible
        videos.append(Video(seq, img_names, gt, init_rect=init_rect, attrs=attrs,
                            image_size=(image_sizes or {}).get(seq), gt_file=json_path,
                            gt_in_json=True, **kwargs))
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
def _list_file_or_scan(root, list_name, scan, scan_source):
    """Listing from ``root/list_name`` if it exists (sequences it names may be missing), else ``scan()``."""
    list_path = os.path.join(root, list_name)
    if os.path.isfile(list_path):
        return _Listing(_read_list(list_path, os.path.basename(root)), list_path)
    return _Listing(scan(), scan_source)


def _sequence(seq, gt_path, frame_dir, allowed=(4,)):
    """(ground truth, frame files) of one sequence, checked to have one line per frame."""
    gt = read_groundtruth(gt_path, seq, allowed=allowed)
    files = list_frames(frame_dir, seq)
    check_frame_count(seq, files, frame_dir, len(gt), gt_path)
    return gt, files


def _vot_listing(root):
    return _Listing(_read_list(os.path.join(root, "list.txt"), os.path.basename(root)),
                    os.path.join(root, "list.txt"), lambda seq: os.path.isdir(os.path.join(root, seq)))


def _vot_raw_videos(root, image_sizes, seqs, long_term=False):
    """VOT sequence folders; ``long_term`` (VOT-LT): all-NaN rows are the absent target, and
    the short-term attribute tags are not read."""
    videos = []
    for seq in seqs:
        seq_dir = os.path.join(root, seq)
        color = os.path.join(seq_dir, "color")
        gt_path = os.path.join(seq_dir, "groundtruth.txt")
        gt, files = _sequence(seq, gt_path, color if os.path.isdir(color) else seq_dir, allowed=(4, 8))
        common = dict(image_size=(image_sizes or {}).get(seq), gt_file=gt_path)
        if long_term:
            visible = _long_term_visible(seq, gt, lambda i: f"{gt_path}:{i + 1}")
            videos.append(Video(seq, files, gt, visible=visible, **common))
            continue
        raw_tags = {}
        for tag in VOT_TAGS:
            path = os.path.join(seq_dir, f"{tag}.tag")
            if os.path.isfile(path):
                raw_tags[tag] = _read_label_column(path, seq, len(gt), pad=True).tolist()
        videos.append(Video(seq, files, gt, tags=_vot_tags(raw_tags, len(gt), seq, seq_dir), **common))
    return videos


def _long_term_visible(seq, gt, where):
    """Bool per row: the target is in view. An all-NaN row is an absent target (VOT-LT); a
    row mixing NaN and numbers is refused (``where(i)`` names the row's file and line)."""
    nan = np.isnan(gt)
    partial = np.flatnonzero(nan.any(axis=1) & ~nan.all(axis=1))
    if len(partial):
        i = int(partial[0])
        shown = ",".join(f"{v:g}" for v in gt[i])
        raise DatasetError(f"{seq}: {where(i)}: row {shown} mixes NaN and numbers; a long-term ground-truth "
                           f"row is a box or all NaN (target absent)")
    return ~nan.all(axis=1)


def _otb_listing(root):
    listing = _list_file_or_scan(root, "list.txt", lambda: sorted(
        d for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, "groundtruth_rect.txt"))),
        f"{root} (no JSON, list.txt or */groundtruth_rect.txt)")
    listing.present = lambda seq: os.path.isdir(os.path.join(root, seq))
    return listing


def _otb_raw_videos(root, image_sizes, seqs):
    videos = []
    for seq in seqs:
        gt_path = os.path.join(root, seq, "groundtruth_rect.txt")
        gt, files = _sequence(seq, gt_path, os.path.join(root, seq, "img"))
        videos.append(Video(seq, files, gt, image_size=(image_sizes or {}).get(seq), gt_file=gt_path))
    return videos


def _got10k_resolution(seq_dir):
    """(w, h) from GOT-10k ``meta_info.ini`` (``resolution: (1280, 720)``), or None."""
    path = os.path.join(seq_dir, "meta_info.ini")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        m = re.search(r"^resolution:\s*\((\d+),\s*(\d+)\)", f.read(), re.M)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _got10k_root(root, test_split):
    """The folder holding list.txt: ``root`` or its ``val`` / ``test`` sub-folder."""
    if not os.path.isfile(os.path.join(root, "list.txt")):
        split_dir = os.path.join(root, "test" if test_split else "val")
        if os.path.isfile(os.path.join(split_dir, "list.txt")):
            return split_dir
    return root


def _got10k_listing(root):
    return _Listing(_read_list(os.path.join(root, "list.txt"), os.path.basename(root)),
                    os.path.join(root, "list.txt"), lambda seq: os.path.isdir(os.path.join(root, seq)))


def _got10k_videos(root, test_split, image_sizes, seqs):
    videos = []
    for seq in seqs:
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
                            image_size=size, gt_file=gt_path))
    return videos


def _check_got10k_scored_frames(video):
    """GOT-10k scores frames 2.. with ``cover > 0`` (all, without cover.label); a non-finite
    value there would make the AO NaN (the got10k toolkit averages it in)."""
    if len(video.gt) < 2:
        return
    scored = np.ones(len(video.gt), bool) if video.cover is None else np.asarray(video.cover) > 0
    scored[0] = False
    bad = np.flatnonzero(scored & ~np.all(np.isfinite(video.gt), axis=1))
    if len(bad):
        i = int(bad[0])
        raise DatasetError(f"{video.name}: {video.gt_where(i)}: non-finite ground truth on a scored frame "
                           f"(cover > 0; {len(bad)} such frames): GOT-10k's AO would be NaN")


def _lasot_seq_dir(root, seq):
    """``<root>/<class>/<seq>`` (LaSOT's layout, class = name up to the last '-') or ``<root>/<seq>``."""
    nested = os.path.join(root, seq.rsplit("-", 1)[0], seq)
    flat = os.path.join(root, seq)
    return nested if os.path.isdir(nested) or not os.path.isdir(flat) else flat


def _lasot_scan(root):
    """Sequences with a groundtruth.txt: in class folders and directly under the root."""
    seqs = []
    for entry in sorted(os.listdir(root)):
        path = os.path.join(root, entry)
        if os.path.isfile(os.path.join(path, "groundtruth.txt")):
            seqs.append(entry)                               # <root>/<seq> (no class folder)
        elif os.path.isdir(path):
            seqs += sorted(s for s in os.listdir(path) if os.path.isfile(os.path.join(path, s, "groundtruth.txt")))
    return seqs


def _lasot_listing(root):
    listing = _list_file_or_scan(root, "testing_set.txt", lambda: _lasot_scan(root),
                                 f"{root} (no LaSOT.json, testing_set.txt or [<class>/]<seq>/groundtruth.txt)")
    listing.present = lambda seq: os.path.isdir(_lasot_seq_dir(root, seq))
    return listing


def _lasot_raw_videos(root, image_sizes, seqs):
    videos = []
    for seq in seqs:
        seq_dir = _lasot_seq_dir(root, seq)
        gt_path = os.path.join(seq_dir, "groundtruth.txt")
        gt, files = _sequence(seq, gt_path, os.path.join(seq_dir, "img"))
        hidden = np.zeros(len(gt), bool)
        for label in ("full_occlusion", "out_of_view"):
            path = os.path.join(seq_dir, f"{label}.txt")
            if os.path.isfile(path):
                hidden |= _read_label_row(path, seq, len(gt)) > 0
        videos.append(Video(seq, files, gt, visible=~hidden, image_size=(image_sizes or {}).get(seq),
                            gt_file=gt_path))
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


def _davis_listing(root, name):
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
    return _Listing(seqs, found[0], lambda seq: any(
        os.path.isdir(os.path.join(root, sub, "480p", seq)) for sub in ("JPEGImages", "Annotations")))


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


def _davis_videos(root, name, seqs):
    """DAVIS sequences, single-object for DAVIS2016, else as the annotations say.

    Names with 2016 are single-object (SiamMask's DAVIS 2016 protocol, also on
    DAVIS 2017's multi-object PNGs); other datasets are multi-object when a
    first-frame annotation holds a value other than 0 and 255 (object ids, as
    every DAVIS 2017 sequence does), else single-object (0/255 masks).
    """
    year = re.search(r"(20\d\d)", name)
    test_split = _davis_split(name) == "test-dev"
    raw = []
    for seq in seqs:
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
    """'vot', 'votlt', 'otb', 'got10k', 'lasot' or 'davis' from a dataset name (VOTSYN is VOT-like,
    VOT2018-LT, VOT2019-LT and VOTLTSYN long-term, OTBSYN OTB-like, DAVISSYN DAVIS-like)."""
    key = name.upper().replace("-", "").replace("_", "")
    if key.startswith("VOT") and "LT" in key:
        return "votlt"
    if key.startswith("VOT"):
        return "vot"
    if key.startswith(("OTB", "CVPR13")):
        return "otb"
    if key.startswith("GOT10K"):
        return "got10k"
    if key.startswith("LASOT"):
        return "lasot"
    if key.startswith("DAVIS"):
        return "davis"
    raise DatasetError(f"unknown dataset name {name!r}: expected VOT20xx (or VOT-like), VOT2018-LT/"
                       f"VOT2019-LT (or VOT-LT-like), OTB100/OTB2015/"
                       f"OTB50 (or OTB-like), GOT10k-val, GOT10k-test, LaSOT or DAVIS2016/DAVIS2017 "
                       f"(or DAVIS-like); or pass kind=")


def _find_json(root, name):
    for candidate in (f"{name}.json", f"{name}_new.json"):
        path = os.path.join(root, candidate)
        if os.path.isfile(path):
            return path
    return None


_GT_FILE = {"vot": "groundtruth.txt", "votlt": "groundtruth.txt", "otb": "groundtruth_rect.txt",
            "got10k": "groundtruth.txt",
            "lasot": "groundtruth.txt"}


def _gt_source(kind, root, json_path, videos):
    """notes["gt_source"]: the per-sequence files, or the JSON, how many raw ground-truth files lie
    beside it (not read for scoring) and which of those differ from the JSON's ``gt_rect``."""
    if kind == "davis":
        return {"kind": "annotations", "files": "Annotations/480p/<seq>/*.png"}
    if not json_path:
        return {"kind": "text", "files": f"<seq>/{_GT_FILE[kind]}"}
    beside, differ = 0, []
    for video in videos:
        # the raw layouts keep the ground truth beside the frames folder (<seq>/color, <class>/<seq>/img)
        frame_dir = os.path.dirname(video.img_names[0]) if len(video) else os.path.join(root, video.name)
        seq_dir = os.path.dirname(frame_dir) if os.path.basename(frame_dir) in ("color", "img") else frame_dir
        path = os.path.join(seq_dir, _GT_FILE[kind])
        if not os.path.isfile(path):
            continue
        beside += 1
        try:
            text_gt = read_groundtruth(path, video.name, allowed=(video.gt.shape[1],))
        except DatasetError:
            text_gt = None
        # JSONs may round the values: agree within 1e-4 px (NaN where the JSON has NaN)
        if text_gt is None or text_gt.shape != video.gt.shape or \
                not np.allclose(text_gt, video.gt, rtol=0, atol=1e-4, equal_nan=True):
            differ.append(video.name)
    return {"kind": "json", "path": os.path.abspath(json_path), "text_files_beside": beside,
            "text_file_name": _GT_FILE[kind], "text_files_differing": differ}


def _check_ground_truth(kind, videos):
    """First-frame boxes must be usable; returns {seq: count of later frames whose ground truth
    forms no box} (only sequences with such frames)."""
    supervised = kind == "vot"
    unusable = {}
    for video in videos:
        if len(video.gt) == 0:          # DAVIS: masks, checked by the DAVIS loader
            continue
        error = first_frame_error(video, supervised)
        if error is not None:
            raise error
        if kind == "got10k":
            _check_got10k_scored_frames(video)
        bad = ~usable_regions(video.gt, supervised)
        if kind == "votlt":             # absent targets are counted apart (notes["absent_frames"])
            bad &= np.asarray(video.visible, bool)
        count = int(np.sum(bad))
        if count:
            unusable[video.name] = count
    return unusable


def _shorten(names, n=5):
    return ", ".join(names[:n]) + (f" (+{len(names) - n} more)" if len(names) > n else "")


def _log_notes(name, kind, notes):
    source = notes["gt_source"]
    if source["kind"] == "json" and source["text_files_beside"]:
        differ = source["text_files_differing"]
        agreement = (f"{len(differ)} of them differ from it: {_shorten(differ)}" if differ
                     else "they agree with it")
        logger.warning("%s: ground truth read from %s (pysot JSON), not from the %s files of %d sequences "
                       "beside it (%s)", name, source["path"], source["text_file_name"],
                       source["text_files_beside"], agreement)
    elif source["kind"] == "json":
        logger.info("%s: ground truth read from %s (pysot JSON)", name, source["path"])
    missing = notes["missing_sequences"]
    if missing:
        logger.warning("%s: %d of %d listed sequences are not on disk and are left out, scores cover the "
                       "other %d (eval.py --require_all_sequences refuses instead): %s", name, len(missing),
                       notes["listed_sequences"],
                       notes["listed_sequences"] - len(missing), _shorten(missing))
    unusable = notes["unusable_gt_frames"]
    if unusable:
        how = ("zero overlap there (a failure when tracked); re-initialisation waits for the next usable frame"
               if kind == "vot" else "scored as pysot scores absent targets")
        if kind == "votlt":
            how = "scored as pysot scores them: visible frames whose overlap is 0"
        logger.warning("%s: %d frames in %d sequences have ground truth that forms no box (absent target, "
                       "NaN, zero or negative size): %s; %s", name, sum(unusable.values()), len(unusable),
                       _shorten([f"{s} ({c})" for s, c in unusable.items()]), how)
    absent = notes.get("absent_frames")
    if absent:
        logger.info("%s: the target is absent (NaN ground truth) in %d frames of %d sequences", name,
                    sum(absent.values()), len(absent))


def load_dataset(name, root, kind=None, image_sizes=None, missing="warn", check_frames=False):
    """Load and check a benchmark dataset (see the module docstring for layouts and checks).

    ``kind`` overrides the guess from ``name``; ``image_sizes`` maps sequence
    names to ``(w, h)`` so scoring does not need any frame on disk (such a
    sequence counts as present). ``missing``: ``"warn"`` leaves out listed sequences that are not on disk
    (``notes["missing_sequences"]``), ``"error"`` refuses. ``check_frames``:
    also check that every frame a pysot JSON names exists (raw layouts list
    their frames from disk anyway); give it before tracking, not for scoring,
    which needs only the first frames.
    """
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing={missing!r}: expected one of {', '.join(MISSING_POLICIES)}")
    kind = kind or dataset_kind(name)
    if not os.path.isdir(root):
        raise DatasetError(f"{name}: dataset root {root} does not exist")
    json_path = _find_json(root, name) if kind in ("vot", "votlt", "otb", "lasot") else None
    meta_data = None
    test_split = name.lower().endswith("test")
    seq_root = _got10k_root(root, test_split) if kind == "got10k" else root
    if json_path:
        meta_data, listing = _json_listing(root, json_path, name)
    elif kind in ("vot", "votlt"):
        listing = _vot_listing(root)
    elif kind == "otb":
        listing = _otb_listing(root)
    elif kind == "got10k":
        listing = _got10k_listing(seq_root)
    elif kind == "davis":
        listing = _davis_listing(root, name)
    else:
        listing = _lasot_listing(root)
    if image_sizes:                 # scoring with given sizes needs no frame on disk
        on_disk = listing.present
        listing.present = lambda seq: seq in image_sizes or on_disk(seq)
    seqs, absent = _select_present(name, listing, missing)
    if json_path:
        videos = _json_videos(root, json_path, name, kind, image_sizes, seqs, meta_data)
    elif kind == "vot":
        videos = _vot_raw_videos(root, image_sizes, seqs)
    elif kind == "votlt":
        videos = _vot_raw_videos(root, image_sizes, seqs, long_term=True)
    elif kind == "otb":
        videos = _otb_raw_videos(root, image_sizes, seqs)
    elif kind == "got10k":
        videos = _got10k_videos(seq_root, test_split, image_sizes, seqs)
    elif kind == "davis":
        videos = _davis_videos(root, name, seqs)
    else:
        videos = _lasot_raw_videos(root, image_sizes, seqs)
    unusable = _check_ground_truth(kind, videos)
    if check_frames and json_path:
        for video in videos:
            video.check_files()
    notes = {"gt_source": _gt_source(kind, root, json_path, videos),
             "listed_sequences": len(listing.names), "missing_sequences": absent,
             "unusable_gt_frames": unusable}
    if kind == "votlt":
        notes["absent_frames"] = {v.name: int(np.sum(~v.visible)) for v in videos if not np.all(v.visible)}
    _log_notes(name, kind, notes)
    return Dataset(name, root, kind, videos, notes)

"""Tracker result files in the official layouts, written atomically.

Layouts under a dataset's results directory ``<results>/<dataset>`` (pysot's
``tracker_path``):

* VOT supervised (pysot tools/test.py): ``<tracker>/baseline/<seq>/<seq>_001.txt``,
  one line per frame: ``1`` init, ``2`` failure, ``0`` skipped, else the box or
  polygon as ``','.join(vot_float2str("%.4f", v))``.
* OPE (OTB, LaSOT, ...): ``<tracker>/<seq>.txt``, ``','.join(str(v))`` per frame.
* GOT-10k: ``<tracker>/<seq>/<seq>_001.txt`` (as OPE) and ``<seq>_time.txt``
  (``"{:.6f}"`` seconds per frame), as pysot tools/test.py writes them.
* VOT long-term (pysot tools/test.py, ``VOT2018-LT`` branch):
  ``<tracker>/longterm/<seq>/<seq>_001.txt`` (first line ``1``, then
  ``','.join(str(v))`` of each box), ``<seq>_001_confidence.value`` (first line
  empty, then ``"{:.6f}"`` per frame; pysot's reader skips the first line) and
  ``<seq>_time.txt``.
* VOS (DAVIS): ``<tracker>/<seq>/<frame>.png`` per frame, named like the frame
  image (``00000.png``, ...), as the DAVIS evaluation and SiamMask's
  ``--save_mask`` write them: single-object sequences as 0/255 grayscale,
  multi-object ones as palette PNGs holding the object ids; plus
  ``<seq>_time.txt`` (seconds per frame, all objects).

Writers go through a hidden temp file in the target directory and
``os.replace``, so an interrupted run leaves either the old file or a complete
new one; ``is_complete`` lets a resumed evaluation skip finished sequences.
A VOS sequence folder is built as a hidden temp folder beside it and renamed
into place once every mask and the time file are written.
"""
import contextlib
import glob
import os
import re
import shutil
import tempfile
import uuid

import cv2
import numpy as np

from .region import vot_float2str

VOT_INIT, VOT_FAILURE, VOT_SKIPPED = 1, 2, 0
_SEPARATORS = re.compile(r"[,\s]+")
_UMASK = os.umask(0)
os.umask(_UMASK)


class ResultsError(ValueError):
    """A result file is missing or malformed (one-line message naming file and line)."""


# ------------------------------------------------------------------ atomic IO
@contextlib.contextmanager
def atomic_path(path):
    """Yield a temp path beside ``path``; rename it to ``path`` if the block succeeds.

    For writers that want a file name (e.g. ``matplotlib.savefig``); the temp
    file is removed when the block raises.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)       # mkstemp creates 0600; give the usual permissions
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_text(path, text):
    """Write ``text`` to ``path`` atomically (temp file, fsync, rename)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


def is_complete(path, expected_lines, first_may_be_empty=False):
    """True when ``path`` holds exactly ``expected_lines`` non-empty, newline-terminated lines.

    Used to resume an interrupted evaluation: a sequence whose result file is
    complete is skipped. (Atomic writers never leave partial files; this also
    rejects files cut short by other tools.) ``first_may_be_empty``: the first
    line may be empty (a long-term confidence file).
    """
    if not os.path.isfile(path):
        return False
    with open(path) as f:
        text = f.read()
    if not text.endswith("\n"):
        return False
    lines = text[:-1].split("\n")
    checked = lines[1:] if first_may_be_empty else lines
    return len(lines) == expected_lines and all(line.strip() for line in checked)


# ----------------------------------------------------------------------- paths
def vot_result_path(results_dir, tracker, seq, repetition=1):
    return os.path.join(results_dir, tracker, "baseline", seq, f"{seq}_{repetition:03d}.txt")


def ope_result_path(results_dir, tracker, seq):
    return os.path.join(results_dir, tracker, f"{seq}.txt")


def got10k_result_path(results_dir, tracker, seq, repetition=1):
    return os.path.join(results_dir, tracker, seq, f"{seq}_{repetition:03d}.txt")


def got10k_time_path(results_dir, tracker, seq):
    return os.path.join(results_dir, tracker, seq, f"{seq}_time.txt")


def lt_result_path(results_dir, tracker, seq, repetition=1):
    return os.path.join(results_dir, tracker, "longterm", seq, f"{seq}_{repetition:03d}.txt")


def lt_confidence_path(results_dir, tracker, seq, repetition=1):
    return os.path.join(results_dir, tracker, "longterm", seq, f"{seq}_{repetition:03d}_confidence.value")


def lt_time_path(results_dir, tracker, seq):
    return os.path.join(results_dir, tracker, "longterm", seq, f"{seq}_time.txt")


# --------------------------------------------------------------------- writers
def format_vot_line(entry):
    """One VOT result line: an int code as ``{:d}``, a region as ``%.4f`` of C floats."""
    if isinstance(entry, (int, np.integer)):
        return "{:d}".format(int(entry))
    return ",".join(vot_float2str("%.4f", v) for v in entry)


def format_ope_line(box):
    """One OPE/GOT-10k result line: ``','.join(str(v))`` as pysot tools/test.py writes it."""
    return ",".join(str(v) for v in box)


def write_vot_result(path, entries):
    """Write a supervised (baseline) trajectory: ints 1/2/0 or boxes/polygons."""
    atomic_write_text(path, "".join(format_vot_line(e) + "\n" for e in entries))


def write_ope_result(path, boxes):
    """Write one ``[x, y, w, h]`` line per frame."""
    atomic_write_text(path, "".join(format_ope_line(b) + "\n" for b in boxes))


def write_got10k_result(results_dir, tracker, seq, boxes, times):
    """Write ``<seq>_001.txt`` (boxes) then ``<seq>_time.txt`` (seconds per frame)."""
    write_ope_result(got10k_result_path(results_dir, tracker, seq), boxes)
    atomic_write_text(got10k_time_path(results_dir, tracker, seq),
                      "".join("{:.6f}\n".format(t) for t in times))


def write_lt_result(results_dir, tracker, seq, boxes, confidences):
    """Write a long-term run as pysot tools/test.py does: ``<seq>_001_confidence.value``, then
    ``<seq>_001.txt`` (written last: a complete result file means a complete run).

    ``boxes[0]`` / ``confidences[0]`` belong to the initialisation frame and are written as
    ``1`` and an empty line; later boxes as ``','.join(str(v))``, confidences ``"{:.6f}"``.
    """
    if len(boxes) != len(confidences):
        raise ValueError(f"{seq}: {len(boxes)} boxes but {len(confidences)} confidences")
    lines = ["{:d}".format(VOT_INIT)] + [format_ope_line(b) for b in boxes[1:]]
    values = [""] + ["{:.6f}".format(float(c)) for c in confidences[1:]]
    atomic_write_text(lt_confidence_path(results_dir, tracker, seq), "".join(v + "\n" for v in values))
    atomic_write_text(lt_result_path(results_dir, tracker, seq), "".join(line + "\n" for line in lines))


# --------------------------------------------------------------------- readers
def _read_lines(path):
    """Lines of a text result file as ``wc -l`` counts them (``\\n``-separated; a ``\\r`` before
    it is dropped, so Windows line ends read the same)."""
    if not os.path.isfile(path):
        raise ResultsError(f"missing result file {path}")
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except UnicodeDecodeError as e:
        line = e.object[:e.start].count(b"\n") + 1
        raise ResultsError(f"{path}:{line}: not text (byte {e.object[e.start]:#04x} is not UTF-8)") from None
    except OSError as e:
        raise ResultsError(f"{path}: cannot be read ({e.strerror or e})") from None
    if text.endswith("\n"):
        text = text[:-1]
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")] if text else []


def _read_rows(path, n_frames=None, finite=True):
    """Rows of floats, one per line (every value finite unless ``finite`` is False).

    ``n_frames``: the line count the file must have (one line per frame)."""
    lines = _read_lines(path)
    if n_frames is not None and len(lines) != n_frames:
        if not lines:
            where = "the file is empty"
        elif len(lines) > n_frames:
            where = f"{len(lines) - n_frames} too many, from line {n_frames + 1}"
        else:
            where = f"it ends after line {len(lines)}"
        raise ResultsError(f"{path}: {len(lines)} lines for a sequence of {n_frames} frames ({where})")
    rows = []
    for i, line in enumerate(lines):
        fields = [x for x in _SEPARATORS.split(line.strip()) if x]
        if not fields:
            raise ResultsError(f"{path}:{i + 1}: empty line")
        try:
            row = [float(x) for x in fields]
        except ValueError:
            raise ResultsError(f"{path}:{i + 1}: non-numeric value in {line.strip()[:80]!r}") from None
        if finite and not all(np.isfinite(row)):
            raise ResultsError(f"{path}:{i + 1}: non-finite value in {line.strip()[:80]!r}")
        rows.append(row)
    return rows


_CODE_NAMES = {VOT_INIT: "1 (initialisation)", VOT_FAILURE: "2 (failure)", VOT_SKIPPED: "0 (skipped)"}


def read_vot_result(path, n_frames=None):
    """Supervised trajectory as pysot reads it: a list of float lists (``[1.0]`` = init).

    Checked line by line: a single value is a code 1 (init), 2 (failure) or 0
    (skipped); anything else is a region of 4 values (box) or an even number
    >= 6 (polygon). The codes must follow the supervised protocol (loosely:
    the skip length is not checked): the first line is 1; after a 2 or a 0
    comes a 0 or a 1; a 0 only follows a 2 or a 0. ``n_frames``: the sequence
    length, which the line count must equal.
    """
    rows = _read_rows(path, n_frames)
    previous = None
    for i, row in enumerate(rows):
        where = f"{path}:{i + 1}"
        if len(row) == 1:
            code = row[0]
            if code not in _CODE_NAMES:
                raise ResultsError(f"{where}: {row[0]:g} is not a VOT code (1 init, 2 failure, 0 skipped) "
                                   f"nor a region")
            code = int(code)
        elif len(row) == 4 or (len(row) >= 6 and len(row) % 2 == 0):
            code = None
        else:
            raise ResultsError(f"{where}: expected a code, 4 values or a polygon, got {len(row)} values")
        if i == 0 and code != VOT_INIT:
            raise ResultsError(f"{where}: a supervised trajectory starts with 1 (initialisation), "
                               f"got {line_text(row)}")
        if previous in (VOT_FAILURE, VOT_SKIPPED) and code not in (VOT_SKIPPED, VOT_INIT):
            raise ResultsError(f"{where}: after {_CODE_NAMES[previous]} comes 0 (skipped) or "
                               f"1 (re-initialisation), got {line_text(row)}")
        if code == VOT_SKIPPED and previous not in (VOT_FAILURE, VOT_SKIPPED):
            raise ResultsError(f"{where}: 0 (skipped) only follows a failure (2) or another 0")
        previous = code
    return rows


def line_text(row):
    """A parsed row as short text for messages (``1``, ``a region of 4 values``)."""
    return f"{row[0]:g}" if len(row) == 1 else f"a region of {len(row)} values"


def read_ope_result(path, n_values=4, n_frames=None):
    """(N, 4) float64 boxes of an OPE or GOT-10k result file (``n_frames``: the required line count)."""
    rows = _read_rows(path, n_frames)
    for i, row in enumerate(rows):
        if len(row) != n_values:
            raise ResultsError(f"{path}:{i + 1}: expected {n_values} values, got {len(row)}")
    return np.array(rows, dtype=np.float64).reshape(-1, n_values)


def read_lt_result(path, n_frames=None, confidence_path=None):
    """(trajectory, confidences) of a long-term result, as pysot ``VOTLTVideo.load_tracker`` reads it.

    The trajectory is a list of float lists: ``[1.0]`` on the first line (pysot writes the
    initialisation as ``1``), then one ``[x, y, w, h]`` per frame. The confidences come from
    ``confidence_path`` (default: ``<seq>_001_confidence.value`` beside ``path``): its first
    line is not read (pysot's reader skips it; it writes it empty) and counts as NaN, every
    other line is one finite number. Both files must have ``n_frames`` lines.
    """
    rows = _read_rows(path, n_frames)
    for i, row in enumerate(rows):
        if i == 0 and row != [float(VOT_INIT)]:
            raise ResultsError(f"{path}:1: a long-term trajectory starts with 1 (initialisation), "
                               f"got {line_text(row)}")
        if i > 0 and len(row) != 4:
            raise ResultsError(f"{path}:{i + 1}: expected 4 values [x, y, w, h], got {len(row)}")
    if confidence_path is None:
        confidence_path = path[:-len(".txt")] + "_confidence.value" if path.endswith(".txt") else path
    lines = _read_lines(confidence_path)
    if not lines and os.path.getsize(confidence_path) > 0:
        lines = [""]                # "\n": the first (empty) line of a one-frame sequence
    if n_frames is not None and len(lines) != n_frames:
        raise ResultsError(f"{confidence_path}: {len(lines)} lines for a sequence of {n_frames} frames")
    confidences = [float("nan")]
    for i, line in enumerate(lines[1:], start=2):
        try:
            value = float(line.strip())
        except ValueError:
            raise ResultsError(f"{confidence_path}:{i}: expected one confidence value, "
                               f"got {line.strip()[:80]!r}") from None
        if not np.isfinite(value):
            raise ResultsError(f"{confidence_path}:{i}: non-finite confidence {line.strip()!r}")
        confidences.append(value)
    return rows, np.array(confidences, dtype=np.float64)


def read_times(path):
    """Per-frame times of a GOT-10k ``_time.txt`` (NaN and non-positive dropped, as got10k)."""
    if not os.path.isfile(path):
        return np.zeros(0)
    times = np.array([r[0] for r in _read_rows(path, finite=False) if r], dtype=np.float64)
    return times[~np.isnan(times) & (times > 0)]


def vot_result_files(results_dir, tracker, seq):
    """Repetition files of one sequence (pysot: all 15 if present, else the first).

    pysot globs ``*0*.txt``, which can also pick up ``<seq>_time.txt``; only
    ``<seq>_NNN.txt`` are taken here.
    """
    seq_dir = glob.escape(os.path.join(results_dir, tracker, "baseline", seq))
    files = sorted(glob.glob(os.path.join(seq_dir, glob.escape(seq) + "_[0-9][0-9][0-9].txt")))
    return files if len(files) == 15 else files[:1]


def got10k_result_files(results_dir, tracker, seq):
    """All repetition files ``<seq>_NNN.txt`` of a GOT-10k sequence (got10k ``report`` globs them all)."""
    seq_dir = glob.escape(os.path.join(results_dir, tracker, seq))
    return sorted(glob.glob(os.path.join(seq_dir, glob.escape(seq) + "_[0-9]*.txt")))


# ------------------------------------------------------------ VOS mask results
def vos_result_dir(results_dir, tracker, seq):
    return os.path.join(results_dir, tracker, seq)


def vos_mask_path(result_dir, stem):
    return os.path.join(result_dir, f"{stem}.png")


def vos_time_path(result_dir, seq):
    return os.path.join(result_dir, f"{seq}_time.txt")


def davis_palette():
    """The DAVIS / PASCAL VOC colour map: 256 RGB triplets (1 dark red, 2 green, ...)."""
    palette = np.zeros((256, 3), np.uint8)
    for i in range(256):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette[i] = (r, g, b)
    return palette


def encode_mask_png(labels, palette=False):
    """PNG bytes of an (H, W) uint8 label image: grayscale, or palette with the DAVIS colours."""
    labels = np.ascontiguousarray(labels, dtype=np.uint8)
    if not palette:
        ok, data = cv2.imencode(".png", labels)
        if not ok:
            raise RuntimeError("cv2.imencode(.png) failed")
        return data.tobytes()
    import io

    from PIL import Image
    image = Image.frombytes("P", (labels.shape[1], labels.shape[0]), labels.tobytes())
    image.putpalette(davis_palette().ravel().tolist())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _write_synced(path, data):
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_vos_result(result_dir, seq, stems, labels, times, palette=False):
    """Write one sequence's masks ``<stem>.png`` and ``<seq>_time.txt`` as a whole.

    Everything goes into a hidden temp folder beside ``result_dir`` that is
    renamed into place at the end (an older folder is replaced), so a
    sequence folder either is complete or does not exist.
    """
    if len(stems) != len(labels):
        raise ValueError(f"{seq}: {len(labels)} masks for {len(stems)} frames")
    parent = os.path.dirname(os.path.abspath(result_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(result_dir)}.", suffix=".tmp", dir=parent)
    os.chmod(tmp, 0o777 & ~_UMASK)
    try:
        for stem, mask in zip(stems, labels):
            _write_synced(vos_mask_path(tmp, stem), encode_mask_png(mask, palette))
        _write_synced(vos_time_path(tmp, seq), "".join("{:.6f}\n".format(t) for t in times).encode())
        if os.path.exists(result_dir):
            old = os.path.join(parent, f".{os.path.basename(result_dir)}.old-{uuid.uuid4().hex[:8]}")
            os.rename(result_dir, old)
            os.rename(tmp, result_dir)
            shutil.rmtree(old)
        else:
            os.rename(tmp, result_dir)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)


def is_complete_vos(result_dir, seq, stems):
    """True when the folder holds a mask for every frame stem and a complete time file."""
    return (os.path.isdir(result_dir) and is_complete(vos_time_path(result_dir, seq), len(stems))
            and all(os.path.isfile(vos_mask_path(result_dir, s)) for s in stems))


def read_label_png(path):
    """(H, W) array of a PNG's values: palette indices for palette PNGs, else the gray levels.

    Returns None when the file is not a readable image; raises ``ValueError`` for
    colour images (the caller names the file).
    """
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            mode = image.mode
            array = np.array(image)
    except (OSError, UnidentifiedImageError, SyntaxError):
        return None
    if mode == "1":
        return array.astype(np.uint8)
    if array.ndim == 3:
        if array.shape[2] in (3, 4) and (array[..., :3] == array[..., :1]).all():
            return array[..., 0]
        raise ValueError(f"a {mode} colour image, expected a grayscale or palette PNG of object ids")
    if array.dtype != np.uint8:
        if array.min() < 0 or array.max() > 255:
            raise ValueError(f"values {array.min()}..{array.max()} do not fit object ids 0..255")
        array = array.astype(np.uint8)
    return array


def read_vos_mask(path, size=None, object_ids=None):
    """One result mask as an (H, W) uint8 label image, checked.

    ``size`` = (w, h) it must have; ``object_ids``: for multi-object sequences,
    the ids it may contain besides 0 (single-object results are read as any
    value > 0 = object).
    """
    if not os.path.isfile(path):
        raise ResultsError(f"missing result mask {path}")
    try:
        labels = read_label_png(path)
    except ValueError as e:
        raise ResultsError(f"{path}: {e}") from None
    if labels is None:
        raise ResultsError(f"unreadable result mask {path}")
    if size is not None and (labels.shape[1], labels.shape[0]) != tuple(size):
        raise ResultsError(f"{path}: mask is {labels.shape[1]}x{labels.shape[0]}, "
                           f"the frame is {size[0]}x{size[1]}")
    if object_ids is not None:
        extra = sorted(set(np.unique(labels).tolist()) - {0} - {int(i) for i in object_ids})
        if extra:
            raise ResultsError(f"{path}: object id {extra[0]} is not an object of the sequence "
                               f"(ids {', '.join(str(int(i)) for i in object_ids)})")
    return labels

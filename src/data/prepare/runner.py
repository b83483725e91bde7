"""Run :func:`~src.data.prepare.core.crop_video` over a whole split: many
processes, one progress bar, a journal for resuming, the index at the end.

Output folder ``OUT``::

    crop511/<video>/<frame:06d>.<track:02d>.x.jpg   the crops (core.crop_video)
    <index>                       e.g. train.json: {video: {track: {frame: box}}}, pysot's json.dump style
    <stem>.journal.jsonl          line 1 the settings, then one record per finished video
    <stem>.report.json            settings, counts (videos, crops, dropped boxes, corrupt images), time

The journal is what makes a run resumable after ``kill -9``: only the main
process appends to it, one line per finished video, flushed at once, so a
kill loses at most the videos in flight (redone on the next run) and, at
worst, tears the last line (ignored and cut off). The index is derived from
the journal alone and written last, through a temp file, so a folder with an
index is a finished one.
"""
import ctypes
import json
import multiprocessing
import os
import signal
import time
from collections import Counter

import cv2
from tqdm import tqdm

from src.data.prepare.core import INSTANCE_SIZE, PrepareError, crop_video

JOURNAL_FORMAT = 1
CROP_DIR = "crop511"
RECORD_KEYS = {"key": str, "video": str, "tracks": dict, "dropped": dict, "corrupt": list, "crops": int}
# settings a journal is only valid for (the header's other fields are informative)
SETTINGS = ("dataset", "split", "instance_size", "src", "options")

# The source of the running job. Set before the pool forks so that every
# worker shares what list_videos parsed (a 1 GB COCO JSON is parsed once),
# instead of pickling it to each process.
_JOB = None


def paths(out_root, index_name):
    stem = os.path.splitext(index_name)[0]
    return {"index": os.path.join(out_root, index_name),
            "journal": os.path.join(out_root, f"{stem}.journal.jsonl"),
            "report": os.path.join(out_root, f"{stem}.report.json"),
            "crops": os.path.join(out_root, CROP_DIR)}


def settings_of(source, instance_size):
    return {"format": JOURNAL_FORMAT, "dataset": source.name, "split": source.split,
            "instance_size": instance_size, "src": os.path.abspath(source.src), "options": dict(source.options),
            "index": source.index_name(), "unit": source.unit}


# --- journal ----------------------------------------------------------------

def _check_record(rec, where):
    if not isinstance(rec, dict) or any(not isinstance(rec.get(k), t) or isinstance(rec.get(k), bool)
                                        for k, t in RECORD_KEYS.items()):
        raise PrepareError(f"{where}: not a video record (expected keys {', '.join(RECORD_KEYS)}); "
                           "use --restart to discard the journal")


def read_journal(path):
    """(header, records) of a journal; (None, []) when there is none (or only a torn header).

    A last line without its newline is what ``kill -9`` in the middle of a
    write leaves: it is ignored and cut off the file, so that the next append
    starts a new line. Any other line that is not JSON is an error naming
    ``file:line``.
    """
    if not os.path.exists(path):
        return None, []
    with open(path, "rb") as f:
        data = f.read()
    complete = data.rfind(b"\n") + 1
    if complete < len(data):   # torn last line
        with open(path, "r+b") as f:
            f.truncate(complete)
    lines = data[:complete].split(b"\n")[:-1]
    if not lines:
        return None, []
    parsed = []
    for n, line in enumerate(lines, 1):
        try:
            parsed.append(json.loads(line))
        except ValueError:
            raise PrepareError(f"{path}:{n}: not a JSON line; use --restart to discard the journal") from None
    header, records = parsed[0], parsed[1:]
    if not isinstance(header, dict) or header.get("format") != JOURNAL_FORMAT \
            or any(k not in header for k in SETTINGS):
        raise PrepareError(f"{path}:1: not a prepare journal header; use --restart to discard the journal")
    for n, rec in enumerate(records, 2):
        _check_record(rec, f"{path}:{n}")
    return header, records


def _settings_differ(header, settings, path, out_root):
    diffs = [f"{k} {header[k]!r}, not {settings[k]!r}" for k in SETTINGS if header[k] != settings[k]]
    if diffs:
        raise PrepareError(f"{path} was written with other settings ({'; '.join(diffs)}): "
                           f"use --restart to discard it or another --out than {out_root}")


class Journal:
    """Append-only record of finished videos (main process only)."""

    def __init__(self, path, header):
        new = not os.path.exists(path) or os.path.getsize(path) == 0
        self.f = open(path, "a", encoding="utf-8")
        if new:
            self.write(header)

    def write(self, obj):
        # one write() per line: a kill tears at most this line, never an earlier one
        self.f.write(json.dumps(obj, sort_keys=True) + "\n")
        self.f.flush()

    def close(self):
        self.f.close()


# --- workers ----------------------------------------------------------------

def _die_with_parent(parent):
    """Pool workers get SIGKILL when the main process dies (kill -9 included),
    instead of lingering as orphans that keep writing crops."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):   # not Linux / no glibc: orphans end when the queue is gone
        pass
    if os.getppid() != parent:          # the parent died before prctl took effect
        os._exit(1)
    # Ctrl-C reaches the whole process group; the main process decides what happens
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _fork_pool(workers):
    """A fork-context pool whose workers run OpenCV single-threaded (the caller
    restores ``cv2.setNumThreads`` once the pool is gone).

    Each worker is one of N processes, so OpenCV's own threads would only
    compete. It has to be set in the parent, and kept while the pool may fork
    replacements: a child that calls cv2.setNumThreads, or inherits a thread
    pool the parent has used, can hang for ever (the pool's threads do not
    exist in the child).
    """
    cv2.setNumThreads(1)
    return multiprocessing.get_context("fork").Pool(workers, _die_with_parent, (os.getpid(),))


def _remove_temp_files(folder):
    """Half-written crops (core.write_image_atomic's ``*.tmp<pid>``) of a video killed mid-way."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return
    for name in names:
        if ".tmp" in name:
            os.remove(os.path.join(folder, name))


def _work(key):
    source, crop_root, instance_size = _JOB
    try:
        _remove_temp_files(os.path.join(crop_root, key))
        rec = crop_video(source, key, crop_root, instance_size)
    except PrepareError as e:
        return False, str(e)
    except OSError as e:   # disk full, permission denied: stop with one line too
        return False, f"{key}: {e.strerror or e}{f' ({e.filename})' if e.filename else ''}"
    rec["key"] = key
    return True, rec


# --- index and report -------------------------------------------------------

def write_atomic(path, text):
    """Replace ``path`` by ``text`` in one rename; left untouched when it already holds exactly that."""
    data = text.encode("utf-8")
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.read() == data:
                return
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def build_index(records):
    """pysot's index: every video with at least one track."""
    return {rec["video"]: rec["tracks"] for rec in records if rec["tracks"]}


def summarize(records):
    dropped, corrupt = Counter(), []
    for rec in records:
        dropped.update(rec["dropped"])
        corrupt.extend(rec["corrupt"])
    return {"videos": len(records), "indexed": sum(1 for r in records if r["tracks"]),
            "crops": sum(r["crops"] for r in records),
            "dropped": dict(sorted(dropped.items())), "dropped_total": sum(dropped.values()),
            "corrupt": len(corrupt), "corrupt_images": corrupt}


def finish(out_root, header, records, extra):
    """Write the index and the report; the summary dict (also the report's content)."""
    p = paths(out_root, header["index"])
    write_atomic(p["index"], json.dumps(build_index(records), indent=4, sort_keys=True))
    summary = {"settings": {k: header[k] for k in SETTINGS}, "index": p["index"],
               "unit": header.get("unit", "video"), **extra,
               **summarize(records)}
    write_atomic(p["report"], json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


# --- entry points -----------------------------------------------------------

def prepare(source, out_root, workers=1, instance_size=INSTANCE_SIZE, restart=False, limit=None,
            progress=True):
    """Crop every video of ``source`` into ``out_root``; the summary dict (see the report file).

    Videos already in the journal are not redone. Raises PrepareError (one
    line) for bad input; the journal then keeps the videos finished so far.
    """
    global _JOB
    start = time.time()
    settings = settings_of(source, instance_size)
    p = paths(out_root, settings["index"])
    os.makedirs(p["crops"], exist_ok=True)
    if restart and os.path.exists(p["journal"]):
        os.remove(p["journal"])
    header, records = read_journal(p["journal"])
    if header is not None:
        _settings_differ(header, settings, p["journal"], out_root)

    keys = list(source.list_videos())
    if limit is not None:
        keys = keys[:limit]
    done = {rec["key"]: rec for rec in records}
    todo = [k for k in keys if k not in done]
    workers = max(1, min(workers, len(todo)))

    journal = Journal(p["journal"], settings)
    bar = tqdm(total=len(keys), initial=len(keys) - len(todo), unit=source.unit, smoothing=0.05,
               dynamic_ncols=True, disable=not progress,
               desc=f"{source.name} {source.split}")
    pool, cv2_threads = None, cv2.getNumThreads()
    try:
        _JOB = (source, p["crops"], instance_size)
        if workers == 1:
            results = map(_work, todo)
        else:
            # image datasets: ~1 crop per task, so hand out tasks in chunks to keep the pipe from being the limit
            chunk = max(1, min(32, len(todo) // (workers * 8))) if source.unit == "image" else 1
            pool = _fork_pool(workers)
            results = pool.imap_unordered(_work, todo, chunk)
        for ok, rec in results:
            if not ok:
                raise PrepareError(rec)
            journal.write(rec)
            done[rec["key"]] = rec
            bar.update(1)
        if pool is not None:
            pool.close()
            pool.join()
            pool = None
    finally:
        if pool is not None:   # an error or Ctrl-C: stop the workers now, keep the journal
            pool.terminate()
            pool.join()
        cv2.setNumThreads(cv2_threads)
        _JOB = None
        bar.close()
        journal.close()
    extra = {"workers": workers, "limit": limit, "listed": len(keys), "resumed": len(keys) - len(todo),
             "cropped_now": len(todo), "seconds": round(time.time() - start, 3)}
    return finish(out_root, settings, [done[k] for k in keys], extra)


def find_journal(out_root, dataset, split):
    """Path and content of the journal of ``dataset`` / ``split`` in ``out_root``."""
    found = []
    for name in sorted(os.listdir(out_root)) if os.path.isdir(out_root) else []:
        if name.endswith(".journal.jsonl"):
            path = os.path.join(out_root, name)
            header, records = read_journal(path)
            if header is not None and header["dataset"] == dataset and header["split"] == split:
                found.append((path, header, records))
    if not found:
        raise PrepareError(f"no journal of {dataset} {split} in {out_root} (nothing to rebuild the index from)")
    if len(found) > 1:
        raise PrepareError(f"several journals of {dataset} {split} in {out_root}: "
                           f"{', '.join(os.path.basename(f[0]) for f in found)}")
    return found[0]


def rebuild_index(out_root, dataset, split):
    """Index and report again from the journal alone (no raw dataset needed)."""
    start = time.time()
    _, header, records = find_journal(out_root, dataset, split)
    latest = {}
    for rec in records:
        latest[rec["key"]] = rec
    extra = {"workers": 0, "limit": None, "listed": None, "resumed": len(latest), "cropped_now": 0,
             "rebuilt_from_journal": True, "seconds": round(time.time() - start, 3)}
    return finish(out_root, header, list(latest.values()), extra)

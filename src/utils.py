"""Small helpers shared by the entry points."""
import argparse
import json
import logging
import sys


def str2bool(value):
    """Model-zoo style boolean flags: ``--run_distribute True``."""
    if isinstance(value, bool):
        return value
    if value.lower() in ("true", "1", "yes", "y"):
        return True
    if value.lower() in ("false", "0", "no", "n"):
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got '{value}'")


def setup_logging(log_file=None, rank=0):
    handlers = [logging.StreamHandler(sys.stdout)]
    if log_file:
        handlers.append(logging.FileHandler(log_file))
    fmt = f"%(asctime)s [rank {rank}] %(levelname)s %(name)s: %(message)s" if rank else \
        "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.INFO, format=fmt, handlers=handlers, force=True)


def ensure_output_dir(path, flag="--output_dir"):
    """Create the output folder ``path`` (and parents); a one-line ``ValueError`` naming ``flag``
    when it, or a parent, is an existing file or cannot be created."""
    import os
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{flag} {path} is a file, not a folder")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:   # a parent is a file, read-only file system, permission denied
        raise ValueError(f"{flag} {path}: cannot create the folder ({e.strerror or e})") from None
    return path


def is_json_number(value):
    """A JSON number as ``json.load`` returns it: int or float, not bool (``True`` is an int in Python)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_json(path, error=ValueError, prefix=""):
    """The parsed JSON file ``path``, for every loader of JSON inputs (indices, annotations, dataset
    listings), so a bad file reads the same wherever it is found: ``error`` with the one line
    ``<prefix><path>: invalid JSON at line L column C: <what>`` (or ``not a JSON text file``,
    ``unreadable (...)``). A missing file raises FileNotFoundError unchanged: callers name what
    the missing file is (``coco: annotation file not found: ...``)."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise
    except json.JSONDecodeError as e:
        raise error(f"{prefix}{path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except UnicodeDecodeError:
        raise error(f"{prefix}{path}: not a JSON text file (not UTF-8)") from None
    except OSError as e:   # a folder, permission denied
        raise error(f"{prefix}{path}: unreadable ({e.strerror or e})") from None

"""Small helpers shared by the entry points."""
import argparse
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

"""``python -m src.data.prepare DATASET --src RAW_ROOT --out OUT_ROOT``: crop a public dataset to crop511.

    python -m src.data.prepare vid --src /data/ILSVRC2015 --out /data/vid --workers 16
    python -m src.data.prepare vid --src /data/ILSVRC2015 --out /data/vid     # again: resumes
    python -m src.data.prepare vid --out /data/vid --rebuild_index            # index from the journal

User errors (bad flag values, missing folders, malformed annotations) are one
line on stderr and exit code 1; see :mod:`src.data.prepare.runner` for the
output folder and the journal.
"""
import argparse
import os
import sys

from src.data.prepare import SOURCES, get_source
from src.data.prepare.core import INSTANCE_SIZE, PrepareError
from src.data.prepare import runner
from src.utils import ensure_output_dir

SHOWN_CORRUPT = 5
# options of one dataset's reader (keyword arguments of its Source): flag -> (dataset, help)
SOURCE_FLAGS = {
    "all_segments": ("vid", "keep every segment of a track that leaves and re-enters the video "
                            "(pysot's gen_json.py keeps only the last one; default: as pysot)"),
    "include_extra": ("det", "also the ILSVRC2013_train_extra* folders (SiamMask lists them, pysot does not; "
                             "default: as pysot)"),
}


def build_parser():
    p = argparse.ArgumentParser(prog="python -m src.data.prepare", description=__doc__.split("\n")[0])
    p.add_argument("dataset", help=f"one of {', '.join(SOURCES)}")
    p.add_argument("--src", help="raw dataset folder (as downloaded and extracted)")
    p.add_argument("--out", required=True, help="output folder: crop511/, the index JSON, journal, report")
    p.add_argument("--split", default="train",
                   help="default train; val for most datasets, test for lasot")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="crop processes (default: all CPUs; 1 runs in this process)")
    p.add_argument("--instance_size", type=int, default=INSTANCE_SIZE, help="crop side (default 511, pysot's)")
    p.add_argument("--limit", type=int, default=None, help="only the first N videos (to try the tool out)")
    p.add_argument("--restart", action="store_true",
                   help="discard the journal of an earlier run in --out and crop everything again")
    p.add_argument("--rebuild_index", action="store_true",
                   help="write the index and report again from the journal alone (no --src needed)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    for flag, (dataset, text) in SOURCE_FLAGS.items():
        p.add_argument(f"--{flag}", action="store_true", help=f"{dataset} only: {text}")
    return p


def _count(n):
    return f"{n:,}"


def _duration(seconds):
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def report_lines(summary):
    """What the end-of-run printout says (also used by the tests)."""
    s, unit = summary["settings"], summary["unit"]
    lines = [f"{s['dataset']} {s['split']}: {_count(summary['videos'])} {unit}s "
             f"({_count(summary['indexed'])} with tracks), {_count(summary['crops'])} crops -> {summary['index']}"]
    if summary.get("listed") is not None:
        lines.append(f"cropped {_count(summary['cropped_now'])} {unit}s now, {_count(summary['resumed'])} "
                     f"were done before, in {_duration(summary['seconds'])}")
    if summary["dropped_total"]:
        reasons = ", ".join(f"{k} {_count(v)}" for k, v in sorted(summary["dropped"].items(), key=lambda kv: -kv[1]))
        lines.append(f"dropped {_count(summary['dropped_total'])} boxes: {reasons}")
    else:
        lines.append("dropped no boxes")
    if summary["corrupt"]:
        shown = summary["corrupt_images"][:SHOWN_CORRUPT]
        more = summary["corrupt"] - len(shown)
        lines.append(f"skipped {_count(summary['corrupt'])} unreadable images (their boxes are not in the index):")
        lines += [f"  {m}" for m in shown] + ([f"  ... and {_count(more)} more (see the report)"] if more else [])
    return lines


def run(args):
    for flag, value, least in (("--workers", args.workers, 1), ("--limit", args.limit, 1),
                               ("--instance_size", args.instance_size, 2)):
        if value is not None and value < least:
            raise PrepareError(f"{flag} must be at least {least}, got {value}")
    source_cls = get_source(args.dataset)
    if args.rebuild_index:   # reads --out only, creates nothing
        return runner.rebuild_index(args.out, source_cls.name or args.dataset, args.split)
    if not args.src:
        raise PrepareError("--src RAW_ROOT is required (the raw dataset folder); "
                           "only --rebuild_index works without it")
    options = {}
    for flag, (dataset, _) in SOURCE_FLAGS.items():
        if getattr(args, flag):
            if args.dataset != dataset:
                raise PrepareError(f"--{flag} is an option of {dataset}, not of {args.dataset}")
            options[flag] = True
    source = source_cls(args.src, args.split, **options)
    try:
        ensure_output_dir(args.out, "--out")
    except ValueError as e:
        raise PrepareError(str(e)) from None
    summary = runner.prepare(source, args.out, workers=args.workers, instance_size=args.instance_size,
                             restart=args.restart, limit=args.limit, progress=not args.quiet)
    return summary


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        summary = run(args)
    except PrepareError as e:
        print(f"prepare: {e}", file=sys.stderr)
        return 1
    except ImportError as e:
        if (e.name or "").startswith("src."):   # a dataset module of this package is missing
            print(f"prepare: {args.dataset}: {e}", file=sys.stderr)
        else:                                   # its extra dependency (pycocotools) is not installed
            print(f"prepare: {args.dataset} needs {e.name or e}: pip install -r requirements.txt", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("prepare: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    print("\n".join(report_lines(summary)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

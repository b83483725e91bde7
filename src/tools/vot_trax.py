"""TraX server: the official VOT toolkit (vot-toolkit 0.9.0) runs a zoo tracker as a process.

    python -m src.tools.vot_trax --ckpt CKPT [--config YAML] [--track.penalty_k 0.2 ...]
    python -m src.tools.vot_trax --backend onnx|mindir --model_dir EXPORT_DIR
    python -m src.tools.vot_trax ... --output mask     (SiamMask: report its mask, VOT2020+ stacks)

scripts/make_vot_workspace.sh writes a vot workspace whose trackers.ini runs this. The
tracker is built as eval.py builds it (``backends.load_tracker_model`` + ``build_tracker``)
and started through ``runner.start``, so a toolkit run tracks exactly as eval.py's runner:
the initial region, rectangle or polygon, becomes the same init box
(``geometry.init_rect_from_region`` of ``datasets.supervised_region``), and every frame
reports ``tracker.region()``: a rectangle, or SiamMask's rotated box as a polygon (with
``--output mask`` its mask). Coordinates pass unchanged (0-indexed, ``runner.BOX_ORIGIN``).

Only the ``trax`` module (PyPI vot-trax) is needed in this environment; it runs with the
project's NumPy 1.26 (``pip install --no-deps vot-trax==4.0.2``, see requirements-vot.txt).
Every error is one line on stderr and a non-zero exit status.

    .venv-vot/bin/python -m src.tools.vot_trax --toolkit evaluate --workspace WS zoo

runs the toolkit's own command line (``vot evaluate|analysis|report ...``) in the toolkit
environment with one fix: vot-toolkit 0.9.0's ``SupervisedExperiment.execute`` (the VOT
2013-2019 baseline: re-initialisation 5 frames after a failure) passes one ``ObjectStatus``
to ``runtime.initialize`` and reads one back from ``runtime.update``, while its TraX runtime
takes and returns lists of objects (a single-object tracker is refused at initialisation,
"multiple objects were provided", and a multi-object one fails on the list). The fix wraps
the runtime of that experiment alone so that one object goes in and out as a list
(``toolkit_main``); scoring and everything else is the toolkit's as installed.
"""
import argparse
import os
import sys

REQUIREMENTS = "requirements-vot.txt"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="TraX server for the VOT toolkit (one tracker per session)")
    p.add_argument("--ckpt", default=None, help="checkpoint (back-end mindspore)")
    p.add_argument("--config", default=None, help="experiment YAML (default: the one stored in the model)")
    p.add_argument("--backend", default="mindspore", choices=["mindspore", "mindir", "onnx"])
    p.add_argument("--model_dir", default=None, help="with --backend mindir|onnx: the export folder")
    p.add_argument("--hp_preset", default=None, help="hyperparameter preset, as eval.py's")
    p.add_argument("--output", default="region", choices=["region", "mask"],
                   help="region: tracker.region() (rectangle or polygon); mask: the tracker's mask "
                        "(SiamMask only)")
    p.add_argument("--box_as_polygon", action="store_true",
                   help="report a box x, y, w, h as the polygon (x, y)..(x + w, y + h): the region pysot's "
                        "(and eval.py's) overlap rasterises for a box; the toolkit rasterises a rectangle "
                        "as the w x h pixels from (x, y), a polygon as pysot does up to edge rules")
    p.add_argument("--device_target", default="CPU", choices=["CPU", "GPU", "Ascend"])
    p.add_argument("--device_id", type=int, default=None)
    return p.parse_known_args(argv)


def protect_stdout():
    """Keep the TraX stream to itself: libtrax talks over the saved stdin/stdout descriptors
    (its TRAX_IN / TRAX_OUT variables), and fd 1 becomes stderr so a library that prints
    (MindSpore, tqdm) cannot put a line in the middle of a protocol message."""
    if os.environ.get("TRAX_SOCKET"):
        return
    os.environ.setdefault("TRAX_IN", str(os.dup(0)))
    os.environ.setdefault("TRAX_OUT", str(os.dup(1)))
    sys.stdout.flush()
    os.dup2(2, 1)


def import_trax():
    try:
        import trax
        import trax.server  # noqa: F401
    except (ImportError, OSError) as e:
        raise SystemExit(f"vot_trax: cannot import the trax module ({e}): install it with "
                         f"`pip install --no-deps vot-trax==4.0.2` (see {REQUIREMENTS})") from None
    return trax


def model_source(args):
    """The checkpoint or export folder the arguments name, checked before anything heavy loads."""
    if args.backend == "mindspore":
        if not args.ckpt or args.model_dir:
            raise ValueError("--backend mindspore takes --ckpt CKPT (not --model_dir)")
        source = args.ckpt
    else:
        if not args.model_dir or args.ckpt:
            raise ValueError(f"--backend {args.backend} takes --model_dir EXPORT_DIR (not --ckpt)")
        source = args.model_dir
    if not os.path.exists(source):
        what = "checkpoint" if args.backend == "mindspore" else "export folder"
        raise FileNotFoundError(f"{what} not found: {source}")
    return source


def load(args, rest, source):
    """A factory of trackers of the model at ``source`` (checked: it loads, and --output mask
    has a mask tracker); errors are ValueError / OSError / ConfigError."""
    from src.evaluation.evaluate import produces_masks
    from src.tracker import build_tracker
    from src.tracker.backends import load_tracker_model
    from src.tracker.presets import cli_overrides
    overrides = cli_overrides(rest, args.hp_preset)
    cfg, backend, _ = load_tracker_model(args.backend, source, args.config, overrides)
    if args.output == "mask" and not produces_masks(build_tracker(cfg, backend)):
        raise ValueError(f"--output mask: model.arch {cfg.model.arch} produces no masks (SiamMask does)")
    return lambda: build_tracker(cfg, backend)


def init_box(trax, region):
    """The init box eval.py's runner gives for the same ground truth (runner.run_supervised)."""
    import numpy as np
    from src.evaluation.datasets import supervised_region
    from src.evaluation.geometry import init_rect_from_region
    if region.type == trax.Region.POLYGON:
        row = [c for i in range(region.size()) for c in region.get(i)]
        if len(row) != 8:       # pysot's same-area box is defined on 4-point polygons
            xs, ys = row[0::2], row[1::2]
            row = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    elif region.type == trax.Region.MASK:
        ys, xs = np.nonzero(region.array(normalize=True))
        if not len(xs):
            raise ValueError("initial mask is empty")
        row = [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]
    else:
        row = list(region.bounds())
    return init_rect_from_region(supervised_region(row))


def report(trax, tracker, output, box_as_polygon=False):
    """The trax region of the frame just tracked."""
    import numpy as np
    if output == "mask":
        return trax.Mask.create(np.asarray(tracker.last_mask > 0, np.uint8))
    region = [float(v) for v in tracker.region()]
    if len(region) == 4 and box_as_polygon:
        from src.evaluation.geometry import rect_to_polygon
        region = [float(v) for v in rect_to_polygon(region)]
    if len(region) == 4:
        return trax.Rectangle.create(*region)
    return trax.Polygon.create(list(zip(region[0::2], region[1::2])))


def read_image(image):
    from src.image_io import read_image as read
    import cv2
    img = read(image.path(), cv2.IMREAD_COLOR)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return img


def serve(trax, make_tracker, output, box_as_polygon=False):
    from src.evaluation.runner import start
    formats = [trax.Region.RECTANGLE, trax.Region.POLYGON] + ([trax.Region.MASK] if output == "mask" else [])
    # multiobject: vot-toolkit 0.9.0 passes even a single-target initialisation as a list of
    # (region, properties) objects (vot/tracker/trax.py TraxTrackerRuntime.initialize refuses a
    # single-object tracker there); each object gets its own tracker, as eval.py's VOS runner does
    with trax.Server(formats, [trax.Image.PATH], tracker_name="mindspore-siamese-zoo",
                     tracker_family="siamese", multiobject=True) as server:
        trackers = []
        while True:
            request = server.wait()
            if request.type == trax.TraxStatus.QUIT:
                break
            image = read_image(request.image[trax.ImageChannel.COLOR])
            if request.type == trax.TraxStatus.INITIALIZE:
                trackers, replies = [], []
                for region, _ in request.objects:
                    tracker = make_tracker()
                    start(tracker, image, init_box(trax, region))
                    trackers.append(tracker)
                    replies.append((region, {}))  # the toolkit records the init frame as initialisation
            else:
                if request.objects:
                    raise ValueError("objects added after initialisation are not supported")
                replies = []
                for tracker in trackers:
                    tracker.track(image)
                    replies.append((report(trax, tracker, output, box_as_polygon), {}))
            server.status(replies)


def _single_target_runtime(runtime):
    """An OnlineTrackerRuntime that gives SupervisedExperiment.execute what it reads (one
    object) over a runtime that takes and returns lists (TraxTrackerRuntime)."""
    from vot.tracker import ObjectStatus, OnlineTrackerRuntime

    class SingleTarget(OnlineTrackerRuntime):
        def __init__(self, inner):
            super().__init__(inner.tracker)
            self._inner = inner

        @property
        def multiobject(self):
            return self._inner.multiobject

        def stop(self):
            self._inner.stop()

        def restart(self):
            self._inner.restart()

        def initialize(self, frame, new=None, properties=None):
            status, elapsed = self._inner.initialize(frame, [new] if isinstance(new, ObjectStatus) else new)
            return status[0], elapsed

        def update(self, frame, new=None, properties=None):
            status, elapsed = self._inner.update(frame, [] if new is None else new)
            return status[0], elapsed

    return SingleTarget(runtime)


def toolkit_main(argv):
    """The vot command line (vot.utilities.cli.main) with the supervised-experiment fix."""
    try:
        from vot.experiment.multirun import SupervisedExperiment
        from vot.utilities import cli
    except ImportError as e:
        raise SystemExit(f"vot_trax --toolkit: cannot import the VOT toolkit ({e}): run it with the "
                         f"toolkit environment's Python (python3 -m venv .venv-vot && "
                         f".venv-vot/bin/pip install -r {REQUIREMENTS})") from None
    get_runtime = SupervisedExperiment._get_runtime

    def patched(self, tracker, sequence, multiobject=False):
        return _single_target_runtime(get_runtime(self, tracker, sequence, multiobject))

    SupervisedExperiment._get_runtime = patched
    sys.argv = ["vot", *argv]
    cli.main()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--toolkit"]:
        return toolkit_main(argv[1:])
    args, rest = parse_args(argv)
    protect_stdout()
    trax = import_trax()
    import src  # noqa: F401  (CPU convolution fix before mindspore loads)
    from src.config import ConfigError
    from src.image_io import ImageError
    try:
        source = model_source(args)
        from src.device import setup_context
        setup_context(args.device_target, args.device_id)
        make_tracker = load(args, rest, source)
    except (ConfigError, OSError, ValueError, KeyError) as e:
        sys.exit(f"vot_trax: {e}")
    try:
        serve(trax, make_tracker, args.output, args.box_as_polygon)
    except (trax.TraxException, ImageError, ValueError) as e:
        sys.exit(f"vot_trax: {e}")


if __name__ == "__main__":
    main()

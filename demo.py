"""Track one target (or several) through a video or a folder of frames and save what the tracker saw.

    python demo.py --ckpt CKPT --video PATH [--init_box x,y,w,h] [--output_dir ./demo_out]
    python demo.py --backend onnx --model_dir export/onnx --video clip.mp4 --init_box 120,80,60,40
    python demo.py --backend openvino --model_dir export/onnx --video clip.mp4 [--precision_mode bf16]
    python demo.py --ckpt CKPT --video clip.mp4 --init_box 120,80,60,40 --init_box 300,90,50,50

The counterpart of pysot's tools/demo.py and SiamMask's demo.py, for machines without a
display: instead of a window it writes ``OUTPUT_DIR/<name>/``:

* ``<name>.mp4`` – the frames with the box (and SiamMask's mask and rotated box) drawn;
* ``boxes.txt`` – ``x,y,w,h`` per frame (the first is the init box), and for SiamMask
  ``polygons.txt`` (the rotated box, 8 values) and ``masks/%05d.png`` (0/255; frame 0,
  the init frame, has a box and an empty mask).

``--video`` is a video file (anything OpenCV reads) or a folder of images (sorted by
name; a VOT ``color/`` or OTB ``img/`` folder works). Without ``--init_box`` the first
line of a ground-truth file beside the frames (``groundtruth.txt``,
``groundtruth_rect.txt``) gives the init box, as in pysot's evaluation. The folder is
built under a temporary name and renamed when complete.

``--init_box`` given more than once tracks every box as a target of its own, all through one
batched network call per frame (src/tracker/multi.py; on an export, up to the targets it was
exported for: ``export_mindir.py --targets N``). Target ``k``
(the k-th ``--init_box``, from 1) gets ``target_<k>/`` with the files above (``boxes.txt``,
and for SiamMask ``polygons.txt`` and ``masks/``), and the video draws every target in its
own colour, labelled with its id (and "lost" while its tracker has lost it).
"""
import argparse
import os
import re
import shutil
import sys

import src  # noqa: F401  (CPU convolution fix before mindspore loads)
from src.config import ConfigError
from src.tracker.presets import cli_overrides
from src.utils import str2bool

GT_FILES = ("groundtruth.txt", "groundtruth_rect.txt")
MASK_COLOUR = (0, 0, 255)      # BGR
BOX_COLOUR = (0, 255, 0)


#: colours (BGR) of targets 2, 3, ... when several are tracked (target 1 keeps BOX_COLOUR)
TARGET_COLOURS = ((255, 128, 0), (0, 200, 255), (255, 0, 255), (255, 255, 0), (128, 0, 255), (0, 128, 255))
LOST_COLOUR = (0, 0, 255)


class DemoError(ValueError):
    """Bad demo input; the message names the file or flag on one line."""


class _InitBoxes(argparse.Action):
    """Repeatable ``--init_box``: ``init_box`` keeps the first value (one target, as before),
    ``init_boxes`` all of them in order."""

    def __call__(self, parser, namespace, values, option_string=None):
        boxes = list(getattr(namespace, "init_boxes", None) or []) + [values]
        namespace.init_boxes = boxes
        setattr(namespace, self.dest, boxes[0])


def _glue_negative_values(argv, flags=("--init_box",)):
    """``--init_box -20,-10,50,50`` -> ``--init_box=-20,-10,50,50``.

    argparse reads a value that starts with '-' as an option unless the whole value looks
    like one negative number, so a box whose x is negative failed with "expected one
    argument" unless written with '='.
    """
    out, i = [], 0
    while i < len(argv):
        if argv[i] in flags and i + 1 < len(argv) and re.match(r"-[\d.]", argv[i + 1]):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--video", required=True, help="video file, or folder of frames")
    p.add_argument("--init_box", default=None, action=_InitBoxes,
                   help="x,y,w,h of the target in the first frame (0-indexed pixels, as pysot); "
                        "repeat it to track several targets")
    p.add_argument("--ckpt", default=None, help="checkpoint (--backend mindspore)")
    p.add_argument("--backend", default="mindspore", choices=["mindspore", "mindir", "onnx", "openvino"],
                   help="openvino: the ONNX export through OpenVINO's CPU runtime")
    p.add_argument("--model_dir", default=None,
                   help="with --backend mindir|onnx|openvino: export_mindir.py's folder")
    p.add_argument("--precision_mode", default=None, choices=["f32", "bf16"],
                   help="with --backend openvino: f32 (default) or bf16 (CPUs with native bf16 only)")
    p.add_argument("--config", default=None, help="experiment YAML (default: the one stored with the model)")
    p.add_argument("--hp_preset", default=None, help="named tracking hyperparameters (see eval.py)")
    p.add_argument("--output_dir", default="./demo_out")
    p.add_argument("--name", default=None, help="output folder name (default: the video's name)")
    p.add_argument("--save_video", type=str2bool, default=True, help="write the annotated <name>.mp4")
    p.add_argument("--fps", type=float, default=0, help="frame rate of the written video (default: the source's, or 25)")
    p.add_argument("--device_target", default="CPU", choices=["CPU", "GPU", "Ascend"])
    p.add_argument("--device_id", type=int, default=None)
    p.set_defaults(init_boxes=None)
    return p.parse_known_args(_glue_negative_values(sys.argv[1:] if argv is None else list(argv)))


def parse_box(text, what="--init_box"):
    try:
        box = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        box = []
    if len(box) != 4 or box[2] <= 0 or box[3] <= 0:
        raise DemoError(f"{what} must be x,y,w,h with w, h > 0, got '{text}'")
    return box


class FrameSource:
    """Frames of a video file or an image folder, read one at a time (BGR uint8)."""

    def __init__(self, path):
        import cv2

        from src.evaluation.datasets import IMAGE_EXTENSIONS, Video, list_frames
        self.path, self.folder, self.capture, self.fps = path, None, None, 0.0
        if os.path.isdir(path):
            # eval.py's frame listing and reading (one-line errors naming the file and frame)
            name = default_name(path)
            self.folder = Video(name, list_frames(path, name), [])
            if not len(self.folder):
                raise DemoError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {path}")
        elif os.path.isfile(path):
            self.capture = cv2.VideoCapture(path)
            if not self.capture.isOpened():
                raise DemoError(f"OpenCV cannot read the video {path}")
            self.fps = self.capture.get(cv2.CAP_PROP_FPS) or 0.0
        else:
            raise DemoError(f"video not found: {path}")

    def __len__(self):
        import cv2
        if self.folder is not None:
            return len(self.folder)
        return max(int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)

    def __iter__(self):
        if self.folder is not None:
            yield from self.folder.frames()
            return
        while True:
            ok, image = self.capture.read()
            if not ok:
                return
            yield image


def box_from_groundtruth(video_path):
    """The init box from the first line of a ground-truth file in the frame folder or its parent."""
    from src.evaluation.datasets import read_groundtruth
    from src.evaluation.geometry import init_rect_from_region
    folder = video_path if os.path.isdir(video_path) else os.path.dirname(os.path.abspath(video_path))
    for where in (folder, os.path.dirname(os.path.abspath(folder))):
        for name in GT_FILES:
            path = os.path.join(where, name)
            if os.path.isfile(path):
                # pysot's evaluation convention for rectangles and polygons alike
                return init_rect_from_region(read_groundtruth(path, os.path.basename(folder))[0]), path
    raise DemoError(f"give --init_box x,y,w,h: no {' or '.join(GT_FILES)} beside {video_path} to take it from")


def default_name(video_path):
    """The video's file name, or the frame folder's (its sequence's for VOT color/, OTB img/)."""
    path = os.path.normpath(os.path.abspath(video_path))
    if os.path.isdir(path) and os.path.basename(path) in ("color", "img"):
        path = os.path.dirname(path)
    return os.path.splitext(os.path.basename(path))[0]


def draw(image, box, polygon=None, mask=None, colour=BOX_COLOUR):
    import cv2
    import numpy as np
    out = image.copy()
    if mask is not None:
        tint = out.astype(np.float32)
        tint[mask > 0] = 0.5 * tint[mask > 0] + 0.5 * np.array(MASK_COLOUR, np.float32)
        out = tint.astype(np.uint8)
    if polygon is not None:
        pts = np.round(np.asarray(polygon, np.float64).reshape(-1, 1, 2)).astype(np.int32)
        cv2.polylines(out, [pts], True, colour, 2)
    else:
        x, y, w, h = (int(round(v)) for v in box)
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, 2)
    return out


def draw_targets(image, targets):
    """Every target of ``targets`` ([(id, box, polygon, mask, lost)]) drawn in its own colour,
    labelled with its id (labels last, so no target's shape hides another's label)."""
    import cv2
    import numpy as np
    out, labels = image, []
    for k, (target_id, box, polygon, mask, lost) in enumerate(targets):
        colour = LOST_COLOUR if lost else (BOX_COLOUR, *TARGET_COLOURS)[k % (1 + len(TARGET_COLOURS))]
        out = draw(out, box, polygon, mask, colour)
        corners = np.asarray(polygon if polygon is not None else
                             [box[0], box[1], box[0] + box[2], box[1] + box[3]], np.float64).reshape(-1, 2)
        labels.append((f"{target_id} lost" if lost else str(target_id), corners, colour))
    for text, corners, colour in labels:
        # on a patch of the target's colour, above the shape's top-left corner (inside it where
        # the shape touches the frame's top)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        x = int(np.clip(round(corners[:, 0].min()), 0, max(out.shape[1] - tw - 2, 0)))
        top = int(round(corners[:, 1].min()))
        y = top - 2 if top - th - base - 2 >= 0 else max(top, 0) + th + base + 2
        cv2.rectangle(out, (x, y - th - base), (x + tw + 2, y), colour, cv2.FILLED)
        cv2.putText(out, text, (x + 1, y - base), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def run(args, overrides):
    import cv2
    import numpy as np
    from tqdm import tqdm

    from src.device import setup_context
    from src.evaluation.geometry import rect_to_polygon
    from src.evaluation.results import format_vot_line
    from src.evaluation.runner import start
    from src.tracker import build_tracker
    from src.tracker.backends import load_tracker_model
    from src.tracker.backends import check_precision_mode
    from src.tracker.multi import MultiTargetTracker

    check_precision_mode(args.backend, args.precision_mode)
    source = FrameSource(args.video)
    texts = getattr(args, "init_boxes", None) or ([args.init_box] if args.init_box else [])
    if texts:
        init_boxes, init_from = [parse_box(t) for t in texts], "--init_box"
    else:
        init_box, init_from = box_from_groundtruth(args.video)
        init_boxes = [init_box]
    several = len(init_boxes) > 1
    model = args.ckpt if args.backend == "mindspore" else args.model_dir
    if not model:
        raise DemoError("give --ckpt" if args.backend == "mindspore" else
                        f"--backend {args.backend} runs exported graphs: give --model_dir")
    setup_context(args.device_target, args.device_id)
    cfg, backend, _ = load_tracker_model(args.backend, model, args.config, overrides, args.precision_mode)
    # an export runs at most its JSON's "targets" per search call (export_mindir.py --targets N)
    limit = getattr(backend, "targets", None) if args.backend != "mindspore" else None
    if several and limit is not None and len(init_boxes) > limit:
        raise DemoError(f"{len(init_boxes)} --init_box, but the export in {model} takes at most {limit} target"
                        f"{'s' if limit > 1 else ''} per search call: re-export with export_mindir.py --targets "
                        f"{len(init_boxes)}, or use --ckpt with --backend mindspore")
    # one target: its own tracker, as always; several: one batched network call per frame
    tracker = build_tracker(cfg, backend)
    multi = MultiTargetTracker(cfg, backend) if several else None
    masks = hasattr(tracker, "last_mask")

    name = args.name or default_name(args.video)
    final = os.path.join(args.output_dir, name)
    tmp = os.path.join(args.output_dir, f".{name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    # one target writes into the folder itself, target k of several into target_<k>/
    folders = [os.path.join(tmp, f"target_{k}") for k in range(1, len(init_boxes) + 1)] if several else [tmp]
    for folder in folders:
        os.makedirs(os.path.join(folder, "masks") if masks else folder)
    writer, boxes, polygons = None, [[] for _ in folders], [[] for _ in folders]
    try:
        progress = tqdm(source, total=len(source) or None, desc=f"{cfg.name} on {name}", unit="frame")
        for i, image in enumerate(progress):
            if i == 0:
                # --init_box and the ground truth's box are pysot's 0-indexed [x, y, w, h], as eval.py's
                if several:
                    ids = [multi.add(image, box) for box in init_boxes]
                else:
                    start(tracker, image, init_boxes[0])
                    ids = [None]
                # the init box (as a polygon for SiamMask), no mask yet
                frame = [(list(box), list(rect_to_polygon(box)) if masks else None, None, False)
                         for box in init_boxes]
            else:
                if several:
                    results = multi.track(image)
                    states = [(multi.tracker(t), *results[t]) for t in ids]
                else:
                    states = [(tracker, *tracker.track(image), False)]
                frame = [(box, t.region() if masks else None, t.last_mask if masks else None, lost)
                         for t, box, _, lost in states]
                progress.set_postfix(score=" ".join(f"{s:.3f}" for _, _, s, _ in states), refresh=False)
            for k, (box, polygon, mask, _) in enumerate(frame):
                boxes[k].append(format_vot_line(box))
                if masks:
                    polygons[k].append(format_vot_line(polygon))
                    binary = np.zeros(image.shape[:2], np.uint8) if mask is None else (mask > 0).astype(np.uint8) * 255
                    cv2.imwrite(os.path.join(folders[k], "masks", f"{i:05d}.png"), binary)
            if args.save_video:
                if writer is None:
                    fps = args.fps or source.fps or 25.0
                    writer = cv2.VideoWriter(os.path.join(tmp, f"{name}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                             (image.shape[1], image.shape[0]))
                    if not writer.isOpened():
                        raise DemoError("OpenCV cannot write mp4 video here (no mp4v encoder); use --save_video False")
                if several:
                    writer.write(draw_targets(image, [(t, *f) for t, f in zip(ids, frame)]))
                else:
                    writer.write(draw(image, *frame[0][:3]))
        if not boxes[0]:
            raise DemoError(f"no frames in {args.video}")
    except BaseException:
        if writer is not None:
            writer.release()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if writer is not None:
        writer.release()
    for k, folder in enumerate(folders):
        with open(os.path.join(folder, "boxes.txt"), "w") as f:
            f.write("\n".join(boxes[k]) + "\n")
        if masks:
            with open(os.path.join(folder, "polygons.txt"), "w") as f:
                f.write("\n".join(polygons[k]) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    if several:
        print(f"{len(boxes[0])} frames tracked for {len(init_boxes)} targets from {init_from} "
              f"{[[round(v, 2) for v in b] for b in init_boxes]}; results in {final}")
    else:
        print(f"{len(boxes[0])} frames tracked from {init_from} {[round(v, 2) for v in init_boxes[0]]}; "
              f"results in {final}")
    return final


def main(argv=None):
    args, rest = parse_args(argv)
    from src.evaluation.datasets import DatasetError
    try:
        return run(args, cli_overrides(rest, args.hp_preset))
    except (ConfigError, DatasetError, DemoError, FileNotFoundError, ValueError) as e:
        sys.exit(f"demo.py: {e}")


if __name__ == "__main__":
    main()

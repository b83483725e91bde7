"""Tracking speed on this machine: the Python tracker on each back-end and the C++ application.

    python benchmarks/track_speed.py [--configs configs/siamrpn_alex_dw.yaml ...]
        [--frames 20] [--rounds 3] [--image_size 640x480] [--cpp_build DIR] [--skip_scoring]
    python benchmarks/track_speed.py --targets 1,2,4,8 [--configs ...] [--frames 20] [--rounds 3]

For each model (default: SiamRPN AlexNet-dw, SiamMask without refine, SiamMask
with refine, SiamFC AlexNetV1, SA-Siam (configs/sasiam_semantic.yaml: both branches,
fused); random weights, speed does not depend on them) it prints, side by side, in one run:

* the Python tracker on the MindSpore Cell: time per frame spent in the
  network graphs (search graph, plus the refine graph for SiamMask sharp;
  timed around the tracker's own calls), of the end-to-end tracker step (crop, network,
  decoding, penalties, window, update; SiamMask: refine crops, mask warp-back,
  contour, rotated box; SiamFC: the three scale crops as one search batch, x16
  bicubic upsampling of each response, scale penalty, window; SA-Siam: the same on the
  fused response of both branches, TF's aligned-corner bicubic), and the tracker
  overhead relative to the network (goal for SiamRPN <= 15%);
* frames per second of the same Python tracker on the exported graphs:
  MINDIR through MindSpore, ONNX through onnxruntime;
* frames per second of the C++ application (ascend310_infer, CPU build:
  OpenVINO on the ONNX graphs) on the same frames, and its speed-up over the
  Python MindSpore tracker (goal for SiamRPN >= 2x); where the CPU has native
  bf16, also with --precision_mode bf16 (the default f32 is what matches the
  Python tracker).

All trackers run the same frames from the same initial box. Each figure is the
median, over --rounds rounds, of the median over the frames after three
warm-up steps; every round times all the trackers of a model one after the
other, so a change in machine load between them hits them alike. The C++ application is
built with ascend310_infer/build.sh into --cpp_build (incremental). It then
times scoring a VOT-sized result set (60 sequences x ~350 frames; goal < 10 s).

``--targets 1,2,4,8`` times several targets instead (Cell back-end only; no exports, C++ app or
scoring): for each model and each N, N targets spread over the frame tracked by one
MultiTargetTracker (src/tracker/multi.py: one batched search call a frame) and by N independent
single-target trackers on the same frames, as frames/s and target-frames/s (N x frames/s), and
the batched tracker's speed-up. Same medians as above; each round times both, one after the other.

``--large_target`` times the frame-size-independent overhead instead (Cell back-end only): one
target a third of the frame wide and high (at 1280x720 a 427x240 box, a search crop of ~1,300
pixels that overflows the frame), its state put back to that box before every step so random
weights cannot shrink it; prints network and step time, the overhead and the search crop's side
(goal: overhead <= 5% of the network at 1280x720).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import src  # noqa: E402,F401  (CPU convolution fix before mindspore loads)


def _frames(n, width, height, seed=0):
    """A textured scene panning under a fixed camera: n BGR frames."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(seed)
    scene = cv2.GaussianBlur(rng.integers(0, 255, (height * 2, width * 2, 3), dtype=np.uint8), (0, 0), 3)
    return [np.ascontiguousarray(scene[i:i + height, 2 * i:2 * i + width]) for i in range(n)]


def _init_box(width, height):
    return [width / 2 - 40, height / 2 - 30, 80, 60]


class _TimedBackend:
    """The backend with the time spent in its per-frame graph calls (search, refine) recorded,
    so network and tracker time are measured on the very same calls and inputs."""

    def __init__(self, backend):
        self._backend = backend
        self.seconds = 0.0

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def _timed(self, call, *args):
        t0 = time.perf_counter()
        out = call(*args)
        self.seconds += time.perf_counter() - t0
        return out

    def track(self, *args):
        return self._timed(self._backend.track, *args)

    def refine(self, *args):
        return self._timed(self._backend.refine, *args)


def time_tracker(cfg, backend, frames):
    """Median (network, tracker) seconds per frame: the time of the tracker's own graph calls
    (search graph, plus refine for SiamMask sharp) and of the whole tracker step around them."""
    import numpy as np

    from src.tracker import build_tracker

    timed = _TimedBackend(backend)
    tracker = build_tracker(cfg, timed)
    height, width = frames[0].shape[:2]
    tracker.init(frames[0], _init_box(width, height))
    for _ in range(3):                                        # compile and warm up
        tracker.track(frames[1])
    network, full = [], []
    for frame in frames[1:]:
        timed.seconds = 0.0
        t0 = time.perf_counter()
        tracker.track(frame)
        full.append(time.perf_counter() - t0)
        network.append(timed.seconds)
    return float(np.median(network)), float(np.median(full))


def time_large_target(cfg, backend, frames):
    """Median (network, step) seconds per frame and the search crop's side for one target a
    third of the frame, centred; the state is reset to that box before each step."""
    import numpy as np

    from src.tracker import build_tracker

    timed = _TimedBackend(backend)
    tracker = build_tracker(cfg, timed)
    height, width = frames[0].shape[:2]
    box = [width / 3, height / 3, width / 3, height / 3]
    tracker.init(frames[0], box)
    network, full = [], []
    for i, frame in enumerate(frames[1:4] + frames[1:]):
        tracker.init_state(box)
        timed.seconds = 0.0
        t0 = time.perf_counter()
        tracker.track(frame)
        if i >= 3:                                            # after compile and warm-up
            full.append(time.perf_counter() - t0)
            network.append(timed.seconds)
    tracker.init_state(box)
    geometry = tracker._search_input(frames[1])[1]     # pysot families: (scale_z, s_x, ...)
    side = geometry[1] if isinstance(geometry, tuple) else float("nan")
    return float(np.median(network)), float(np.median(full)), float(side)


def run_large_target(args, frames):
    """The --large_target table."""
    import mindspore as ms
    import numpy as np

    from src.config import load_config
    from src.models import build_model
    from src.tracker.backends import MindSporeBackend
    print(f"{'model':<31} {'crop side':>9} {'network ms':>10} {'step ms':>10} {'overhead ms':>11} {'overhead':>9}")
    for path in args.configs:
        cfg = load_config(path)
        ms.set_seed(0)
        backend = MindSporeBackend(build_model(cfg))
        with np.errstate(all="ignore"):             # random weights overflow exp(); timing is unaffected
            rounds = [time_large_target(cfg, backend, frames) for _ in range(args.rounds)]
        network, full, side = np.median(rounds, axis=0)
        name = f"{cfg.name} ({search_label(cfg)})"
        print(f"{name:<31} {side:9.0f} {network * 1e3:10.1f} {full * 1e3:10.1f} {(full - network) * 1e3:11.2f} "
              f"{(full - network) / network * 100:8.1f}%", flush=True)
    print("goal: step overhead <= 5% of the network at 1280x720 with a target a third of the frame")


def _target_boxes(n, width, height):
    """n boxes of 60x45 on a grid over the frame, apart enough not to overlap."""
    import numpy as np
    cols = int(np.ceil(np.sqrt(n * width / height)))
    rows = int(np.ceil(n / cols))
    return [[(k % cols + 0.5) * width / cols - 30, (k // cols + 0.5) * height / rows - 22, 60, 45] for k in range(n)]


def time_targets(cfg, backend, frames, n):
    """Median seconds per frame of n targets: (one MultiTargetTracker, n independent trackers)."""
    import numpy as np

    from src.tracker import build_tracker
    from src.tracker.multi import MultiTargetTracker

    height, width = frames[0].shape[:2]
    boxes = _target_boxes(n, width, height)
    multi = MultiTargetTracker(cfg, backend)
    for box in boxes:
        multi.add(frames[0], box)
    singles = [build_tracker(cfg, backend) for _ in boxes]
    for tracker, box in zip(singles, boxes):
        tracker.box_origin = 0
        tracker.init(frames[0], box)
    steps = {"batched": multi.track, "independent": lambda f: [t.track(f) for t in singles]}
    medians = {}
    for name, step in steps.items():
        for _ in range(3):                                    # compile (this batch size) and warm up
            step(frames[1])
        times = []
        for frame in frames[1:]:
            t0 = time.perf_counter()
            step(frame)
            times.append(time.perf_counter() - t0)
        medians[name] = float(np.median(times))
    return medians["batched"], medians["independent"]


def run_targets(args, frames, counts):
    """The --targets table."""
    import mindspore as ms
    import numpy as np

    from src.config import load_config
    from src.models import build_model
    from src.tracker.backends import MindSporeBackend
    print(f"{'':<31} {'':>7} {'batched (one search call)':^25} | {'N independent trackers':^25} |")
    print(f"{'model':<31} {'targets':>7} {'frames/s':>12} {'target-fr/s':>12} | {'frames/s':>12} "
          f"{'target-fr/s':>12} | {'speed-up':>8}")
    for path in args.configs:
        cfg = load_config(path)
        ms.set_seed(0)
        backend = MindSporeBackend(build_model(cfg))
        for n in counts:
            with np.errstate(all="ignore"):     # random weights overflow exp(); timing is unaffected
                batched, independent = np.median([time_targets(cfg, backend, frames, n)
                                                  for _ in range(args.rounds)], axis=0)
            name = f"{cfg.name} ({search_label(cfg)})"
            print(f"{name:<31} {n:>7} {1 / batched:12.2f} {n / batched:12.2f} | {1 / independent:12.2f} "
                  f"{n / independent:12.2f} | {independent / batched:7.2f}x", flush=True)


def _counts(text):
    try:
        counts = [int(v) for v in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"--targets takes target counts like 1,2,4,8, got '{text}'")
    return counts


def search_label(cfg):
    """'search 255' or, where the family's search graph takes several crops a frame (SiamFC's
    scales), 'search 3x255', from the family's graph declaration."""
    from src.models.registry import graph_specs
    shape = next(iter(graph_specs(cfg)["search"].shaped_inputs.values()))
    return f"search {shape[0]}x{shape[-1]}" if shape[0] > 1 else f"search {shape[-1]}"


def build_cpp(build_dir):
    """Build (incrementally) the C++ application's CPU back-end; returns (main path, None) or (None, why)."""
    proc = subprocess.run(["bash", os.path.join(ROOT, "ascend310_infer", "build.sh"), "cpu", build_dir],
                          capture_output=True, text=True, env={**os.environ, "PYTHON": sys.executable})
    if proc.returncode != 0:
        return None, (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1]
    return os.path.join(build_dir, "main"), None


def write_cpp_inputs(frames, folder):
    """The frames as lossless PNGs and a one-sequence manifest starting from the Python tracker's box."""
    import cv2

    from preprocess import MANIFEST_FORMAT, MANIFEST_VERSION, manifest_sequence
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, frame in enumerate(frames):
        paths.append(os.path.join(folder, f"{i:08d}.png"))
        cv2.imwrite(paths[-1], frame)
    height, width = frames[0].shape[:2]
    x, y, w, h = _init_box(width, height)
    # an axis-aligned polygon whose init_rect_from_region is exactly [x, y, w, h]
    polygon = [x, y, x + w - 1, y, x + w - 1, y + h - 1, x, y + h - 1]
    manifest = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, "dataset": "bench", "protocol": "vot",
                "sequences": [manifest_sequence("bench", paths, [polygon] * len(paths))]}
    path = os.path.join(folder, "manifest.json")
    with open(path, "w") as f:
        json.dump(manifest, f)
    return path


def cpu_has_bf16():
    """Whether OpenVINO's CPU plugin runs bf16 natively here (the C++ app's --precision_mode bf16)."""
    import openvino as ov
    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def time_cpp(main, export_dir, manifest, n_frames, precision="f32"):
    """(network, tracker) median seconds per frame of the C++ application's benchmark mode."""
    # as run_infer_310.sh runs it: without the MindSpore workaround ONEDNN_MAX_CPU_ISA=AVX2
    # (src/__init__.py), which would also cap OpenVINO's kernels at about half speed
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
    proc = subprocess.run([main, f"--model_path={export_dir}", f"--manifest={manifest}",
                           f"--benchmark_frames={n_frames}", f"--precision_mode={precision}"], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"ascend310_infer failed: {proc.stderr.strip()}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["median_network_ms"] / 1e3, result["median_track_ms"] / 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=["configs/siamrpn_alex_dw.yaml",
                                                         "configs/siammask_base.yaml",
                                                         "configs/siammask_sharp.yaml",
                                                         "configs/siamfc_alexnet.yaml",
                                                         "configs/sasiam_semantic.yaml"])
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--image_size", default="640x480")
    parser.add_argument("--cpp_build", default=os.path.join(ROOT, "ascend310_infer", "out", "cpu"),
                        help="build folder of the C++ application (built here if needed)")
    parser.add_argument("--skip_scoring", action="store_true")
    parser.add_argument("--targets", type=_counts, default=None,
                        help="target counts (1,2,4,8): time batched vs independent trackers instead")
    parser.add_argument("--large_target", action="store_true",
                        help="time the step overhead for one target a third of the frame instead")
    args = parser.parse_args()

    import mindspore as ms
    import numpy as np

    from src.config import load_config
    from src.export import export_graphs
    from src.models import build_model
    from src.tracker.backends import MindSporeBackend, load_exported
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")
    width, height = (int(v) for v in args.image_size.split("x"))
    frames = _frames(args.frames + 1, width, height)
    from benchmarks import machine
    if args.targets:
        print(f"{machine()}; {width}x{height} frames, random weights, "
              f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA')}; median of {args.frames} frames, "
              f"median of {args.rounds} rounds")
        return run_targets(args, frames, args.targets)
    if args.large_target:
        print(f"{machine()}; {width}x{height} frames, random weights, one target a third of the frame; "
              f"median of {args.frames} frames, median of {args.rounds} rounds")
        return run_large_target(args, frames)
    cpp_main, cpp_missing = build_cpp(args.cpp_build)
    print(f"{machine()}; {width}x{height} frames, random weights (speed does not depend on them), "
          f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA')}; median of {args.frames} frames, "
          f"median of {args.rounds} rounds")
    if cpp_missing:
        print(f"C++ application not built: {cpp_missing}")
    bf16 = bool(cpp_main) and cpu_has_bf16()
    print(f"{'':<31} {'Python tracker, MindSpore Cell':^39} | {'Python tracker fps':^19} | "
          f"{'C++ app (OpenVINO CPU), f32':^31} | {'C++ app, bf16':^19}")
    print(f"{'model':<31} {'network ms':>10} {'tracker ms':>10} {'overhead':>9} {'fps':>7} | "
          f"{'MINDIR':>9} {'ONNX':>9} | {'network ms':>10} {'fps':>7} {'vs Cell':>11} | {'fps':>7} {'vs Cell':>11}")
    with tempfile.TemporaryDirectory(prefix="track_speed_") as tmp:
        manifest = write_cpp_inputs(frames, os.path.join(tmp, "frames")) if cpp_main else None
        for path in args.configs:
            cfg = load_config(path)
            ms.set_seed(0)
            net = build_model(cfg)
            backends = {"Cell": MindSporeBackend(net)}
            for fmt in ("MINDIR", "ONNX"):
                export_dir = os.path.join(tmp, f"{cfg.name}_{fmt}")
                export_graphs(cfg, net, export_dir, fmt)
                backends[fmt] = load_exported(export_dir, fmt.lower())[1]
            rounds = {name: [] for name in [*backends, "C++", "C++ bf16"]}
            cpp_failed = None
            for _ in range(args.rounds):
                with np.errstate(all="ignore"):     # random weights overflow exp(); timing is unaffected
                    for name, backend in backends.items():
                        rounds[name].append(time_tracker(cfg, backend, frames))
                try:
                    if cpp_main and cpp_failed is None:
                        rounds["C++"].append(time_cpp(cpp_main, os.path.join(tmp, f"{cfg.name}_ONNX"),
                                                      manifest, args.frames))
                    if bf16 and cpp_failed is None:
                        rounds["C++ bf16"].append(time_cpp(cpp_main, os.path.join(tmp, f"{cfg.name}_ONNX"),
                                                           manifest, args.frames, "bf16"))
                except RuntimeError as e:   # one model the app refuses: its row says why, the rest run
                    cpp_failed = str(e).splitlines()[-1]
            (network, full), fps = np.median(rounds["Cell"], axis=0), {}
            for fmt in ("MINDIR", "ONNX"):
                fps[fmt] = 1 / np.median([r[1] for r in rounds[fmt]])
            cpp, cpp_bf16 = "n/a", "n/a (no native bf16)" if cpp_main else "n/a"
            if cpp_failed is not None:
                cpp, cpp_bf16 = f"n/a ({cpp_failed})", "n/a"
            elif cpp_main:
                cpp_network, cpp_full = np.median(rounds["C++"], axis=0)
                cpp = f"{cpp_network * 1e3:10.1f} {1 / cpp_full:7.1f} {full / cpp_full:10.1f}x"
            if bf16 and cpp_failed is None:
                bf16_full = np.median([r[1] for r in rounds["C++ bf16"]])
                cpp_bf16 = f"{1 / bf16_full:7.1f} {full / bf16_full:10.1f}x"
            name = f"{cfg.name} ({search_label(cfg)})"
            print(f"{name:<31} {network * 1e3:10.1f} {full * 1e3:10.1f} {(full - network) / network * 100:8.1f}% "
                  f"{1 / full:7.1f} | {fps['MINDIR']:9.1f} {fps['ONNX']:9.1f} | {cpp} | {cpp_bf16}", flush=True)
    print("goals: Python tracker overhead <= 15% of the network (SiamRPN); C++ app >= 2x the Python "
          "MindSpore tracker (SiamRPN)")
    if not args.skip_scoring:
        from benchmarks.score_speed import time_scoring
        _, n_frames, (_, t_load, t_score), n_seq = time_scoring()
        print(f"scoring a VOT-sized result set ({n_seq} sequences, {n_frames} frames; A/R/EAO): "
              f"{t_load + t_score:.2f} s (goal < 10 s)")


if __name__ == "__main__":
    main()

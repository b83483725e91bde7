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
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# whether the ISA cap below comes from src/__init__.py (not the user): the torch worker then runs
# without it, as pysot does
_ISA_FROM_SRC = "ONEDNN_MAX_CPU_ISA" not in os.environ
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
    from src.tracker.backends import openvino_cpu_capabilities
    return "BF16" in openvino_cpu_capabilities()


def time_cpp(main, export_dir, manifest, n_frames, precision="f32"):
    """(network, tracker) median seconds per frame of the C++ application's benchmark mode, and
    the application's peak RSS in MB (its own, from wait4)."""
    # as run_infer_310.sh runs it: without the MindSpore workaround ONEDNN_MAX_CPU_ISA=AVX2
    # (src/__init__.py), which would also cap OpenVINO's kernels at about half speed
    env = {k: v for k, v in os.environ.items() if k != src.ISA_VAR}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([main, f"--model_path={export_dir}", f"--manifest={manifest}",
                                 f"--benchmark_frames={n_frames}", f"--precision_mode={precision}"],
                                stdout=out, stderr=err, env=env)
        # its peak RSS: VmHWM only grows, so the last reading before it exits is the peak up to
        # then (polled every 20 ms: the benchmark loop's steady state, not the last milliseconds)
        rss = None
        while proc.poll() is None:
            rss = _peak_rss_mb(proc.pid) or rss
            time.sleep(0.02)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"ascend310_infer failed: {stderr.strip()}")
    result = json.loads(stdout.strip().splitlines()[-1])
    return result["median_network_ms"] / 1e3, result["median_track_ms"] / 1e3, rss


# -- the default table: every back-end in its own worker process --------------------------------
#
# Each Python back-end runs in a process of its own (multiprocessing, spawn: a fresh interpreter),
# started once per model and driven round by round over a pipe, so its peak RSS
# (getrusage(RUSAGE_SELF) in the worker) is that back-end's alone (interpreter, imports, graphs,
# runtime buffers), the rounds stay interleaved across back-ends, and each graph compiles once.

PYTHON_BACKENDS = ("Cell", "MINDIR", "ONNX", "OpenVINO", "torch")
TORCH_RTOL = 1e-4          # max |torch - Cell| / max |Cell| per output, below which the networks agree


def _peak_rss_mb(pid="self"):
    """VmHWM of a process in MB: the peak RSS of its current program only. (getrusage's
    ru_maxrss is no use here: Linux carries it across fork and exec, so every worker and the C++
    app would report at least the parent's RSS.) None where /proc cannot say."""
    try:
        with open(f"/proc/{pid}/status") as f:
            kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        return None
    return kb / 1024


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _open_backend(kind, job):
    """(cfg, back-end, info) of one worker; ``job`` names the config, the checkpoint, the
    exports and the torch weights the parent wrote."""
    import numpy as np

    from src.config import load_config
    cfg = load_config(job["config"])
    if kind == "torch":
        from benchmarks.torch_reference import TorchBackend, build_reference, require_torch
        torch = require_torch()
        torch.set_num_threads(job["threads"])
        with np.load(job["weights"]) as data:
            params = {k: data[k] for k in data.files if k != "__bn_modules__"}
            bn = [str(v) for v in data["__bn_modules__"]]
        backend = TorchBackend(cfg, build_reference(cfg, params, bn))
        return cfg, backend, {"threads": torch.get_num_threads(), "version": torch.__version__}
    import mindspore as ms
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")
    threads = ms.get_context("runtime_num_threads")
    if kind == "Cell":
        from src.models import build_model
        from src.tracker.backends import MindSporeBackend
        net = build_model(cfg)
        with np.load(job["weights"]) as data:
            params = {k: ms.Parameter(ms.Tensor(data[k]), name=k) for k in data.files if k != "__bn_modules__"}
        left = ms.load_param_into_net(net, params, strict_load=True)
        if any(left):       # (parameters not loaded, file entries not used): not the parent's weights
            raise ValueError(f"the Cell did not take the parent's weights: {left[0][:3]} {left[1][:3]}")
        return cfg, MindSporeBackend(net), {"threads": threads}
    from src.tracker.backends import load_exported
    folder = job["exports"]["MINDIR" if kind == "MINDIR" else "ONNX"]
    backend = load_exported(folder, kind.lower())[1]
    return cfg, backend, {"threads": "default" if kind != "MINDIR" else threads}


def _worker(conn, kind, job):
    """One back-end's process: 'outputs' (graph outputs on fixed crops), 'check' (torch: compare
    with the Cell's), 'round' (time_tracker), 'quit' (peak RSS). Every reply is (status, value);
    a failure is ("error", one line) and ends the worker."""
    import numpy as np
    try:
        if kind == "torch" and job["isa_from_src"]:
            # pysot users run torch without the MindSpore workaround (src/__init__.py), which would
            # cap torch's oneDNN too on AVX-512 CPUs; no MindSpore kernel runs in this process
            os.environ.pop(src.ISA_VAR, None)
        # MindSpore with it: every worker runs the trackers (import_module: a plain `import
        # src.tracker.backends` here would make `src` a local name of this function)
        importlib.import_module("src.tracker.backends")
        if kind == "torch":
            from benchmarks.torch_reference import require_torch
            require_torch()
        imports = _peak_rss_mb()          # the interpreter and the imports alone, before any model
        cfg, backend, info = _open_backend(kind, job)
        conn.send(("ok", {**info, "import_rss": imports}))
        while True:
            cmd, arg = conn.recv()
            if cmd == "quit":
                conn.send(("ok", _peak_rss_mb()))
                return
            with np.errstate(all="ignore"):     # random weights overflow exp(); timing is unaffected
                if cmd == "outputs" or cmd == "check":
                    from benchmarks.torch_reference import compare, graph_outputs, reference_inputs
                    ours = graph_outputs(cfg, backend, *reference_inputs(cfg))
                    conn.send(("ok", ours if cmd == "outputs" else compare(arg, ours)))
                elif cmd == "round":
                    conn.send(("ok", time_tracker(cfg, backend, job["frames"])))
    except Exception as e:      # the row says why; the other back-ends go on
        conn.send(("error", f"{type(e).__name__}: {_first_line(e)}"))


class _Worker:
    """The parent's end of one back-end worker."""

    def __init__(self, kind, job):
        import multiprocessing as mp
        ctx = mp.get_context("spawn")
        self.kind, self.error = kind, None
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, kind, job), daemon=True)
        self.proc.start()
        child.close()
        self.info = self._reply()

    def _reply(self):
        try:
            status, value = self.conn.recv()
        except EOFError:
            status, value = "error", f"worker exited ({self.proc.exitcode})"
        if status == "error":
            self.error = value
            return None
        return value

    def ask(self, cmd, arg=None):
        if self.error:
            return None
        self.conn.send((cmd, arg))
        return self._reply()

    def close(self):
        rss = self.ask("quit")
        self.proc.join(timeout=30)
        if self.proc.is_alive():
            self.proc.kill()
        return rss


def _gemm_worker(conn, threads, isa_from_src):
    """Best-of FP32 (and bf16) GEMM GFLOP/s on ``threads`` threads, in a fresh process."""
    try:
        import numpy as np
        n, repeats = 4096, 5
        a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
        b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)

        def best(fn):
            fn()
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            return 2 * n ** 3 / min(times) / 1e9

        result = {"numpy": best(lambda: a @ b), "n": n, "repeats": repeats}
        try:
            if isa_from_src:
                os.environ.pop(src.ISA_VAR, None)          # as the torch worker: no MindSpore cap
            import torch
        except ImportError:
            torch = None
        if torch is not None:
            torch.set_num_threads(threads)
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            result["torch"] = best(lambda: torch.mm(ta, tb))
            if cpu_bf16_flags():
                ha, hb = ta.bfloat16(), tb.bfloat16()
                result["torch bf16"] = best(lambda: torch.mm(ha, hb))
        conn.send(("ok", result))
    except Exception as e:
        conn.send(("error", f"{type(e).__name__}: {_first_line(e)}"))


def measure_gemm(threads, isa_from_src):
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    conn, child = ctx.Pipe()
    proc = ctx.Process(target=_gemm_worker, args=(child, threads, isa_from_src), daemon=True)
    proc.start()
    status, value = conn.recv()
    proc.join()
    if status == "error":
        raise RuntimeError(f"GEMM peak: {value}")
    return value


def cpu_bf16_flags():
    """The native bf16 flags of /proc/cpuinfo (avx512_bf16, amx_bf16); empty when none."""
    flags = src.cpu_flags()
    return [f for f in ("avx512_bf16", "amx_bf16") if f in flags]


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _row(name, network, full, rss, ref, bound, imports=None):
    """One back-end's line of the table; ``ref``: {"Cell": step s, "torch": step s}."""
    ratio = lambda key: f"{ref[key] / full:7.2f}x" if ref.get(key) else f"{'n/a':>8}"   # noqa: E731
    net = f"{network * 1e3:10.1f}" if network is not None else f"{'n/a':>10}"
    over = f"{(full - network) / network * 100:8.1f}%" if network else f"{'n/a':>9}"
    rss_text = f"{rss:8.0f}" if rss else f"{'n/a':>8}"
    imports_text = f"{imports:8.0f}" if imports else f"{'-':>8}"
    print(f"  {name:<20} {net} {full * 1e3:9.1f} {over} {1 / full:7.1f} {ratio('Cell')} {ratio('torch')} "
          f"{100 / full / bound:7.1f}% {rss_text} {imports_text}", flush=True)


def _skip(name, why):
    print(f"  {name:<20} n/a: {why}", flush=True)


def run_backends(args, frames, cpp_main, bf16, manifest, tmp, isa_from_src):
    """The default table: per model, every back-end's fps, network and step time, peak RSS, and
    its share of the fps bound peak / (2 x MACs per frame)."""
    import mindspore as ms
    import numpy as np

    from benchmarks.macs import count_graph_macs, per_frame_macs
    from benchmarks.torch_reference import cell_weights, supports
    from src.config import load_config
    from src.export import export_graphs
    from src.models import build_model

    threads = ms.get_context("runtime_num_threads")
    gemm = measure_gemm(threads, isa_from_src)
    peak = max(v for k, v in gemm.items() if k in ("numpy", "torch"))
    print(f"FP32 GEMM peak ({gemm['n']}x{gemm['n']} matmul, best of {gemm['repeats']}): "
          + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in gemm.items() if k in ("numpy", "torch"))
          + f" (torch on {threads} threads, numpy on OpenBLAS's default) -> peak {peak:.0f} GFLOP/s")
    flags = cpu_bf16_flags()
    if flags:
        bf = gemm.get("torch bf16")
        print(f"bf16: CPU flags {' '.join(flags)}; " + (f"torch bf16 GEMM {bf:.0f} GFLOP/s" if bf else
                                                         "torch missing: bf16 peak not measured"))
    else:
        print("bf16: no native bf16 on this CPU (neither avx512_bf16 nor amx_bf16 in /proc/cpuinfo): "
              "no bf16 peak, no bf16 rows")
    print(f"threads: MindSpore runtime_num_threads {threads}, torch.set_num_threads({threads}); onnxruntime "
          f"and OpenVINO their defaults (one per physical core); the torch worker runs without "
          f"{src.ISA_VAR} (as pysot would)")
    print("columns: network and step (whole tracker step) ms, step overhead over the network, fps = 1/step, "
          "speed ratios (>1: faster than Cell / torch), % of the f32 fps bound, peak RSS of the back-end's "
          "own process (MB) and, of it, the interpreter with the imports alone (every Python worker "
          "imports the tracker code, MindSpore with it; the torch worker torch too)")
    for path in args.configs:
        cfg = load_config(path)
        ms.set_seed(0)
        net = build_model(cfg)
        name = f"{cfg.name} ({search_label(cfg)})"
        try:
            macs = count_graph_macs(cfg, net)
        except Exception as e:      # a family whose graphs the counter cannot run: say so, time anyway
            macs = None
            print(f"{name}: MACs not counted ({_first_line(e)})")
        ms.set_context(mode=ms.GRAPH_MODE)
        work = os.path.join(tmp, cfg.name)
        os.makedirs(work, exist_ok=True)
        job = {"config": path, "weights": os.path.join(work, "weights.npz"), "frames": frames,
               "threads": threads, "isa_from_src": isa_from_src, "exports": {}}
        params, bn = cell_weights(net)          # what the Cell and torch workers load
        np.savez(job["weights"], __bn_modules__=np.array(bn), **params)
        del params
        for fmt in ("MINDIR", "ONNX"):
            job["exports"][fmt] = os.path.join(work, fmt)
            export_graphs(cfg, net, job["exports"][fmt], fmt)
        torch_ok = supports(cfg)
        del net
        if macs:
            frame_macs = per_frame_macs(macs)
            bound = peak * 1e9 / (2 * frame_macs)
            print(f"\n{name}: {frame_macs / 1e9:.2f} G MACs a frame ("
                  + " + ".join(f"{k} {v / 1e9:.2f} G" for k, v in macs.items() if k != "template")
                  + f"; template {macs['template'] / 1e9:.2f} G once per target); "
                    f"f32 fps bound {bound:.1f} at {peak:.0f} GFLOP/s")
        else:
            bound = float("nan")
            print(f"\n{name}:")
        workers, skipped = {}, {}
        for kind in PYTHON_BACKENDS:
            if kind == "torch" and torch_ok is not True:
                skipped[kind] = torch_ok
                continue
            worker = _Worker(kind, job)
            if worker.error:
                skipped[kind] = worker.error
                worker.close()
            else:
                workers[kind] = worker
        if "torch" in workers:
            cell_outputs = workers["Cell"].ask("outputs") if "Cell" in workers else None
            result = workers["torch"].ask("check", cell_outputs) if cell_outputs else None
            if result is None:
                skipped["torch"] = workers["torch"].error or "no Cell outputs to check against"
            else:
                worst, where, rows = result
                diffs = ", ".join(f"{n} {d:.3g}/{s:.3g}" for n, d, s in rows)
                print(f"  torch vs Cell outputs (max |diff| / max |Cell| per output): {diffs}")
                print(f"  worst relative difference {worst:.2e} ({where}); tolerance {TORCH_RTOL:g}")
                if not worst <= TORCH_RTOL:
                    skipped["torch"] = f"outputs differ from the Cell's ({worst:.2e} at {where}): not timed"
            if "torch" in skipped:
                workers.pop("torch").close()
        rounds = {kind: [] for kind in [*workers, "C++", "C++ bf16"]}
        cpp_rss, cpp_failed = {"C++": 0, "C++ bf16": 0}, None
        for _ in range(args.rounds):
            for kind, worker in workers.items():
                value = worker.ask("round")
                if value is not None:
                    rounds[kind].append(value)
            for kind, precision in (("C++", "f32"), ("C++ bf16", "bf16")):
                if not cpp_main or cpp_failed or (precision == "bf16" and not bf16):
                    continue
                try:
                    network, full, rss = time_cpp(cpp_main, job["exports"]["ONNX"], manifest, args.frames,
                                                  precision)
                    rounds[kind].append((network, full))
                    cpp_rss[kind] = max(cpp_rss[kind], rss)
                except RuntimeError as e:   # one model the app refuses: its row says why, the rest run
                    cpp_failed = str(e).splitlines()[-1]
        imports = {kind: worker.info.get("import_rss") for kind, worker in workers.items()}
        rss = {kind: worker.close() for kind, worker in workers.items()}
        medians = {k: np.median(v, axis=0) for k, v in rounds.items() if v}
        ref = {k: medians[k][1] for k in ("Cell", "torch") if k in medians}
        print(f"  {'back-end':<20} {'network ms':>10} {'step ms':>9} {'overhead':>9} {'fps':>7} "
              f"{'vs Cell':>8} {'vs torch':>8} {'% bound':>8} {'RSS MB':>8} {'imports':>8}")
        labels = {"Cell": "MindSpore Cell", "MINDIR": "MINDIR (MindSpore)", "ONNX": "ONNX Runtime",
                  "OpenVINO": "OpenVINO (Python)", "torch": "PyTorch reference"}
        for kind in PYTHON_BACKENDS:
            if kind in medians:
                _row(labels[kind], *medians[kind], rss.get(kind), ref, bound, imports.get(kind))
            else:
                why = skipped.get(kind) or (workers[kind].error if kind in workers else None)
                _skip(labels[kind], why or "no result")
        for kind, label in (("C++", "C++ app f32"), ("C++ bf16", "C++ app bf16")):
            if kind in medians:
                _row(label, *medians[kind], cpp_rss[kind], ref, bound)
            elif cpp_failed:
                _skip(label, cpp_failed)
            elif not cpp_main:
                _skip(label, "not built")
            elif kind == "C++ bf16":
                _skip(label, "no native bf16 on this CPU")


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
          f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA')} for MindSpore; median of {args.frames} "
          f"frames after 3 warm-up steps, median of {args.rounds} interleaved rounds; load average "
          f"{load_average()} at the start")
    if cpp_missing:
        print(f"C++ application not built: {cpp_missing}")
    bf16 = bool(cpp_main) and cpu_has_bf16()
    with tempfile.TemporaryDirectory(prefix="track_speed_") as tmp:
        manifest = write_cpp_inputs(frames, os.path.join(tmp, "frames")) if cpp_main else None
        run_backends(args, frames, cpp_main, bf16, manifest, tmp, _ISA_FROM_SRC)
    print(f"load average {load_average()} at the end")
    print("goals: Python tracker overhead <= 15% of the network (SiamRPN); C++ app >= 2x the Python "
          "MindSpore tracker (SiamRPN); MindSpore Cell >= 1.0x the PyTorch reference")
    if not args.skip_scoring:
        from benchmarks.score_speed import time_scoring
        _, n_frames, (_, t_load, t_score), n_seq = time_scoring()
        print(f"scoring a VOT-sized result set ({n_seq} sequences, {n_frames} frames; A/R/EAO): "
              f"{t_load + t_score:.2f} s (goal < 10 s)")


if __name__ == "__main__":
    main()

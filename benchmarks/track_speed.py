"""Tracking speed on this machine: network alone vs the whole tracker step.

    python benchmarks/track_speed.py [--configs configs/siamrpn_alex_dw.yaml ...]
        [--frames 30] [--image_size 640x480]

For each model (default: SiamRPN AlexNet-dw, SiamMask without refine, SiamMask
with refine) it prints, side by side, the time per frame of the network
graphs alone (search graph, plus the refine graph for SiamMask sharp; inputs
already made), of the end-to-end tracker step (crop, network, decoding,
penalties, window, update; SiamMask: refine crops, mask warp-back, contour,
rotated box), and the tracker overhead relative to the network (goal for
SiamRPN <= 15%). It then times scoring a VOT-sized result set (60 sequences
x ~350 frames; goal < 10 s).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import src  # noqa: E402,F401  (CPU convolution fix before mindspore loads)


def _frames(n, width, height, seed=0):
    """A textured scene panning under a fixed camera: n BGR frames."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(seed)
    scene = cv2.GaussianBlur(rng.integers(0, 255, (height * 2, width * 2, 3), dtype=np.uint8), (0, 0), 3)
    return [np.ascontiguousarray(scene[i:i + height, 2 * i:2 * i + width]) for i in range(n)]


def time_tracker(cfg, n_frames, width, height):
    """Median (network, tracker) seconds per frame, measured interleaved."""
    import numpy as np

    from src.models import build_model
    from src.tracker import build_tracker
    from src.tracker.backends import MindSporeBackend
    from src.tracker.crop import get_subwindow

    backend = MindSporeBackend(build_model(cfg))
    tracker = build_tracker(cfg, backend)
    frames = _frames(n_frames + 1, width, height)
    tracker.init(frames[0], [width / 2 - 40, height / 2 - 30, 80, 60])
    x = get_subwindow(frames[0], tracker.center_pos, cfg.track.instance_size, 300, tracker.channel_average)
    refine_args = None
    if backend.refine_net is not None:
        from src.models.siammask import refine_inputs
        _, _, _, f0, f1, f2, corr = backend.track(x, tracker.kernels)
        refine_args = refine_inputs(f0, f1, f2, corr, 12, 12)

    def network_only():
        backend.track(x, tracker.kernels)
        if refine_args is not None:
            backend.refine(*refine_args)

    for _ in range(3):                                        # compile and warm up both paths
        network_only()
        tracker.track(frames[1])
    # interleaved, so drifts in machine load hit both measurements alike
    network, full = [], []
    for frame in frames[1:]:
        t0 = time.perf_counter()
        network_only()
        t1 = time.perf_counter()
        tracker.track(frame)
        t2 = time.perf_counter()
        network.append(t1 - t0)
        full.append(t2 - t1)
    return float(np.median(network)), float(np.median(full))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=["configs/siamrpn_alex_dw.yaml",
                                                         "configs/siammask_base.yaml",
                                                         "configs/siammask_sharp.yaml"])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--image_size", default="640x480")
    parser.add_argument("--skip_scoring", action="store_true")
    args = parser.parse_args()

    import mindspore as ms
    import numpy as np

    from src.config import load_config
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")
    width, height = (int(v) for v in args.image_size.split("x"))
    print(f"CPU, {width}x{height} frames, random weights (speed does not depend on them), "
          f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA')}")
    print(f"{'model':<28} {'network ms':>10} {'tracker ms':>10} {'overhead':>9} {'tracker fps':>11}")
    for path in args.configs:
        cfg = load_config(path)
        with np.errstate(all="ignore"):     # random weights overflow exp(); timing is unaffected
            network, full = time_tracker(cfg, args.frames, width, height)
        name = f"{cfg.name} (search {cfg.track.instance_size})"
        print(f"{name:<28} {network * 1e3:10.1f} {full * 1e3:10.1f} "
              f"{(full - network) / network * 100:8.1f}% {1 / full:11.1f}")
    if not args.skip_scoring:
        from benchmarks.score_speed import time_scoring
        _, frames, (_, t_load, t_score), n_seq = time_scoring()
        print(f"scoring a VOT-sized result set ({n_seq} sequences, {frames} frames; A/R/EAO): "
              f"{t_load + t_score:.2f} s (goal < 10 s)")


if __name__ == "__main__":
    main()

"""Start-up cost of ``--backend openvino`` on an ONNX export and on the OpenVINO IR export of
the same network (export_mindir.py --file_format ONNX / OPENVINO), side by side in one run.

    python benchmarks/openvino_load.py [--configs configs/siamrpn_alex_dw.yaml ...] [--rounds 5]

For each config (random weights: load time does not depend on them) it exports both formats,
then times, alternately, ``load_exported(folder, "openvino")`` (read every graph, check it
against the JSON, compile it for the CPU plugin): the median of --rounds loads each, and the
IR's speed-up. It also prints the exports' sizes on disk. Tracking speed is the same network
either way (benchmarks/track_speed.py times it).
"""
import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import src  # noqa: E402,F401  (CPU convolution fix before mindspore loads)


def folder_mb(folder):
    return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)) / 2 ** 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=["configs/siamrpn_alex_dw.yaml",
                                                         "configs/siammask_sharp.yaml"])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import mindspore as ms
    import numpy as np

    from src.config import load_config
    from src.export import export_graphs
    from src.models import build_model
    from src.tracker.backends import load_exported

    from benchmarks import machine
    print(f"{machine()}; median of {args.rounds} loads, alternating ONNX and IR")
    print(f"{'model':<16} {'ONNX load s':>11} {'IR load s':>10} {'IR speed-up':>11} {'ONNX MB':>8} {'IR MB':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.configs:
            cfg = load_config(os.path.join(ROOT, path) if not os.path.isabs(path) else path)
            ms.set_seed(0)
            net = build_model(cfg)
            folders = {}
            for fmt in ("ONNX", "OPENVINO"):
                folders[fmt] = os.path.join(tmp, cfg.name, fmt)
                export_graphs(cfg, net, folders[fmt], fmt)
            del net
            times = {fmt: [] for fmt in folders}
            for _ in range(args.rounds):
                for fmt, folder in folders.items():
                    start = time.perf_counter()
                    backend = load_exported(folder, "openvino")[1]
                    times[fmt].append(time.perf_counter() - start)
                    del backend
            onnx, ir = (float(np.median(times[f])) for f in ("ONNX", "OPENVINO"))
            print(f"{cfg.name:<16} {onnx:>11.2f} {ir:>10.2f} {onnx / ir:>10.2f}x "
                  f"{folder_mb(folders['ONNX']):>8.1f} {folder_mb(folders['OPENVINO']):>6.1f}")


if __name__ == "__main__":
    main()

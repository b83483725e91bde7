"""How MindSpore's CPU convolutions scale from 1 to 2 threads, against PyTorch's, on the same shapes.

    python benchmarks/conv_threads.py [--repeats 10] [--mindspore_python VENV/bin/python]

Each (framework, threads) pair runs in its own fresh process (MindSpore fixes its thread count
when its runtime starts), timing single convolutions with SiamRPN AlexNet-dw's search shapes (287
input). It prints the median time per layer, and each framework's 1 → 2 thread speed-up: this is
where the Cell loses to PyTorch on 2 cores (README, "Benchmarks"). Add ONEDNN_VERBOSE=1 to see
MindSpore's oneDNN primitive time, which stays at its 1-thread value with 2 threads. --mindspore_python runs the MindSpore workers
with another interpreter (a virtual environment with another MindSpore version; src/__init__.py
needs only the standard library).
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# (in channels, out channels, kernel, stride, input size): pysot AlexNet-dw at a 287 search crop
SHAPES = [(3, 96, 11, 2, 287), (96, 256, 5, 1, 67), (256, 384, 3, 1, 31), (384, 384, 3, 1, 29),
          (384, 256, 3, 1, 27)]


def _time(run, repeats):
    """Median ms of ``repeats`` calls after three warm-up calls."""
    import time

    import numpy as np
    for _ in range(3):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3


def worker(framework, threads, repeats):
    import numpy as np
    rng = np.random.default_rng(0)
    out = []
    if framework == "mindspore":
        import src  # noqa: F401  (the ISA cap before mindspore loads, as every entry point)
        import mindspore as ms
        from mindspore import nn
        ms.set_context(mode=ms.GRAPH_MODE, runtime_num_threads=threads)
        ms.set_device("CPU")
        for cin, cout, k, s, hw in SHAPES:
            conv = nn.Conv2d(cin, cout, k, stride=s, pad_mode="valid", has_bias=True)
            x = ms.Tensor(rng.random((1, cin, hw, hw), dtype=np.float32))
            out.append(_time(lambda: conv(x).asnumpy(), repeats))
        out.append(ms.__version__)
    else:
        import torch
        torch.set_num_threads(threads)
        with torch.no_grad():
            for cin, cout, k, s, hw in SHAPES:
                conv = torch.nn.Conv2d(cin, cout, k, stride=s).eval()
                x = torch.from_numpy(rng.random((1, cin, hw, hw), dtype=np.float32))
                out.append(_time(lambda: conv(x).numpy(), repeats))
        out.append(torch.__version__)
    print(json.dumps(out))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--mindspore_python", default=sys.executable,
                        help="interpreter for the MindSpore workers (default: this one)")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), args.repeats)
        return
    results, versions = {}, {}
    for threads in (1, 2):
        for framework in ("mindspore", "torch"):
            python = args.mindspore_python if framework == "mindspore" else sys.executable
            proc = subprocess.run([python, __file__, "--repeats", str(args.repeats),
                                   "--worker", framework, str(threads)],
                                  capture_output=True, text=True, check=False)
            if proc.returncode:
                tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                print(f"{framework} on {threads} thread(s) failed: {tail}")
                continue
            *times, versions[framework] = json.loads(proc.stdout.strip().splitlines()[-1])
            results[framework, threads] = times
    from benchmarks import machine
    print(f"{machine()}; MindSpore {versions.get('mindspore', '?')}, PyTorch {versions.get('torch', '?')}; "
          f"median of {args.repeats} single-convolution calls (ms), batch 1; "
          f"load average {os.getloadavg()[0]:.2f} at the end")
    print(f"{'layer':26s} {'MS 1t':>7s} {'MS 2t':>7s} {'MS 1→2':>7s} {'torch 1t':>8s} {'torch 2t':>8s}"
          f" {'torch 1→2':>9s} {'torch/MS 2t':>11s}")
    rows = list(zip(*[results.get(key, [float("nan")] * len(SHAPES)) for key in
                      (("mindspore", 1), ("mindspore", 2), ("torch", 1), ("torch", 2))]))
    names = [f"{cin}->{cout} k{k} s{s} @{hw}" for cin, cout, k, s, hw in SHAPES]
    for name, (m1, m2, t1, t2) in zip(names + ["all five"], rows + [tuple(sum(col) for col in zip(*rows))]):
        print(f"{name:26s} {m1:7.1f} {m2:7.1f} {m1 / m2:6.2f}x {t1:8.1f} {t2:8.1f} {t1 / t2:8.2f}x {t2 / m2:11.2f}")


if __name__ == "__main__":
    main()

"""One short check of the GPU path, run as one command (scripts/run_gpu_check.sh calls this).

    python -m benchmarks.gpu_check [--device_target GPU|CPU] [--quick] [--data_dir DIR]
        [--golden_dir DIR] [--steps N] [--batch_size N] [--budget_s S] [--output_dir DIR]

Stages, each in its own process (a stage that crashes, hangs or fails on the device is one
row of the table, and the others still run), in this order until --budget_s is spent, each
for at most STAGE_TIMEOUT_S:

1. environment: the device, MindSpore, and one convolution on it;
2. parity: converted golden weights (../shared/golden, or --golden_dir) against the PyTorch
   reference outputs, the comparisons of tests/test_models_parity.py and
   tests/test_siammask_parity.py. On a GPU twice: convolutions in plain float32 (TF32 off)
   against FP32_TOL, and with MindSpore's GPU default (TF32 convolutions) against TF32_TOL;
3. training throughput: src.training.throughput.measure (train.py's step and loader) for
   SiamRPN AlexNet-dw at batch 32, O0 and O2, on synthetic crop511 data;
4. train.py for a few steps at O2 with --export_after_train MINDIR: the MINDIR written from
   that checkpoint on the device, loaded back and run there, against the Cell on the same inputs;
5. tracking fps of the Cell (benchmarks/track_speed.py time_tracker; SiamRPN AlexNet-dw and
   SiamMask sharp, random weights) on --data_dir (the VOT bag sequence:
   ../shared/golden/data/bag) or, without it, on a synthetic sequence;
6. training throughput of SiamMask base (ResNet-50) at batch 32, O0 and O2.

It prints one summary table (also written to OUTPUT_DIR/summary.md and summary.json). Exit
status 0 when every stage that ran passed, 1 otherwise, 2 for a usage error. ``--quick``
(for CI, with --device_target CPU) runs each stage on small settings: a narrow SiamRPN, two
training steps at batch 2, one parity case, 8 tracked frames.
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

# Tolerances: max |got - want| / max |want| per tensor, as the CPU parity tests measure it.
# float32 with another summation order (GPU reductions, cuDNN algorithms) moves results by about
# 1e-6 of the tensor's range on these networks (golden README: 2 threads 1.8e-6, oneDNN off 2.3e-6);
# 1e-4 is the CPU tests' bound.
FP32_TOL = 1e-4
# TF32 (MindSpore's GPU default for convolutions) rounds both operands to a 10-bit mantissa
# (unit roundoff 2^-11 = 4.9e-4) before multiplying; through the 5 to 50 stacked convolutions
# of these networks that gives errors of about 1e-3 of a tensor's range. 1e-2 still fails a
# wrong kernel (wrong padding or layout gives errors of order 1).
TF32_TOL = 1e-2

STAGE_TIMEOUT_S = 150          # one stage that hangs (a kernel JIT-compiling for minutes) leaves time for the rest
TRAIN_CONFIGS = ("configs/siamrpn_alex_dw.yaml", "configs/siammask_base.yaml")
TRACK_CONFIGS = ("configs/siamrpn_alex_dw.yaml", "configs/siammask_sharp.yaml")
QUICK_CONFIG = "configs/quickstart_siamrpn.yaml"
TRAINPY_CONFIG = "configs/quickstart_siamrpn.yaml"     # its data layout is the synthetic set's
# golden parity cases (tests/test_models_parity.py CASES): arch, weights, io folder, search sizes
SIAMRPN_CASES = {
    "pysot_dw": ("siamrpn_alex_dw", "siamrpn_alex_dwxcorr/model.pth.xz", "siamrpn_alex_dwxcorr", (287, 255)),
    "pysot_up": ("siamrpn_alex_up", "siamrpn_upchannel/model.pth.xz", "siamrpn_upchannel", (255, 271)),
}
SEARCH_OUTPUTS = ("cls", "loc", "mask", "f0", "f1", "f2", "corr_feature")


class CheckError(Exception):
    """A stage that cannot run or whose result is wrong; one line."""


def _rel_err(got, want):
    import numpy as np
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        raise CheckError(f"shape {list(got.shape)}, expected {list(want.shape)}")
    return float(np.abs(got - want).max() / max(float(np.abs(want).max()), 1e-30))


def _setup(device_target):
    from src.device import setup_context
    try:
        setup_context(device_target)
    except ValueError as e:
        raise CheckError(str(e)) from None


# ------------------------------------------------------------------ stages (one process each)

def stage_environment(p):
    import mindspore as ms
    import numpy as np
    from mindspore import nn
    _setup(p["device_target"])
    conv = nn.Conv2d(3, 8, 3, pad_mode="valid", has_bias=True)
    out = conv(ms.Tensor(np.ones((1, 3, 9, 9), np.float32))).asnumpy()
    if out.shape != (1, 8, 7, 7) or not np.isfinite(out).all():
        raise CheckError(f"a 3x3 convolution on {p['device_target']} gave shape {out.shape} or non-finite values")
    info = {"mindspore": ms.__version__, "device": p["device_target"]}
    if p["device_target"] == "GPU":
        info["gpu"] = _nvidia_smi()
    return {"ok": True, "figure": ", ".join(f"{k} {v}" for k, v in info.items()), **info}


def _nvidia_smi():
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "nvidia-smi did not answer"
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else "none"


def stage_parity(p):
    _setup(p["device_target"])
    if p["device_target"] == "GPU":       # before any network is built
        from mindspore.device_context.gpu import op_precision
        op_precision.conv_allow_tf32(p["tf32"])
    tol = TF32_TOL if p["tf32"] else FP32_TOL
    golden = p["golden_dir"]
    tmp = tempfile.mkdtemp(prefix="gpu_check_parity_")
    worst = {}
    cases = ["pysot_dw"] if p["quick"] else [*SIAMRPN_CASES, "siammask_sharp"]
    for case in cases:
        errors = _siammask_errors(golden, tmp) if case == "siammask_sharp" else _siamrpn_errors(case, golden, tmp, p["quick"])
        name, err = max(errors.items(), key=lambda kv: kv[1])
        worst[case] = (name, err)
    bad = {c: v for c, v in worst.items() if not v[1] <= tol}
    figure = "; ".join(f"{c} worst {n} {e:.1e}" for c, (n, e) in worst.items()) + f" (tol {tol:.0e})"
    return {"ok": not bad, "figure": figure, "tol": tol, "worst": {c: list(v) for c, v in worst.items()}}


def _converted(arch, weights, golden, tmp):
    from src.config import load_config
    from src.models import build_model
    from src.tools.convert_pth import convert
    import mindspore as ms
    dst = os.path.join(tmp, f"{arch}.ckpt")
    unmapped, missing = convert(arch, os.path.join(golden, weights), dst)
    if unmapped or missing:
        raise CheckError(f"{weights}: unmapped {unmapped[:3]}, missing {missing[:3]}")
    net = build_model(load_config(os.path.join(ROOT, "configs", f"{arch}.yaml")))
    not_loaded, _ = ms.load_param_into_net(net, ms.load_checkpoint(dst))
    if not_loaded:
        raise CheckError(f"{weights}: parameters not loaded: {not_loaded[:3]}")
    net.set_train(False)
    return net


def _siamrpn_errors(case, golden, tmp, quick=False):
    import mindspore as ms
    import numpy as np
    from src.models.split import SearchNet, TemplateNet
    arch, weights, io_dir, sizes = SIAMRPN_CASES[case]
    net = _converted(arch, weights, golden, tmp)
    io = np.load(os.path.join(golden, io_dir, "io.npz"))
    # --quick: the end outputs at one search size only (each shape compiles its own graphs)
    errors = {} if quick else {"zf": _rel_err(net.backbone(ms.Tensor(io["template"])).asnumpy(), io["zf"])}
    kernels = TemplateNet(net)(ms.Tensor(io["template"]))
    for s in sizes[:1] if quick else sizes:
        x = ms.Tensor(io[f"search_{s}"])
        if not quick:
            errors[f"xf_{s}"] = _rel_err(net.backbone(x).asnumpy(), io[f"xf_{s}"])
        cls, loc = SearchNet(net)(x, *kernels)
        errors[f"cls_{s}"] = _rel_err(cls.asnumpy(), io[f"cls_{s}"])
        errors[f"loc_{s}"] = _rel_err(loc.asnumpy(), io[f"loc_{s}"])
    return errors


def _siammask_errors(golden, tmp):
    import mindspore as ms
    import numpy as np
    from src.models.siammask import refine_inputs
    from src.models.split import RefineNet, SearchNet, TemplateNet
    net = _converted("siammask_sharp", "siammask_sharp/model.pth.xz", golden, tmp)
    io = dict(np.load(os.path.join(golden, "siammask_sharp", "io.npz")))
    errors = {"zf": _rel_err(net.neck(net.backbone(ms.Tensor(io["template"]))[3]).asnumpy(), io["zf"]),
              "xf": _rel_err(net.neck(net.backbone(ms.Tensor(io["search"]))[3]).asnumpy(), io["xf"])}
    kernels = TemplateNet(net)(ms.Tensor(io["template"]))
    outs = dict(zip(SEARCH_OUTPUTS, (o.asnumpy() for o in SearchNet(net)(ms.Tensor(io["search"]), *kernels))))
    errors.update({name: _rel_err(outs[name], io[name]) for name in SEARCH_OUTPUTS})
    for y, x in io["refine_positions_yx"]:
        p = refine_inputs(outs["f0"], outs["f1"], outs["f2"], outs["corr_feature"], y, x)
        got = RefineNet(net)(*(ms.Tensor(a) for a in p)).asnumpy()
        errors[f"refine_y{y}_x{x}"] = _rel_err(got, io[f"refine_y{y}_x{x}"])
    return errors


def _training_config(path, p):
    from src.config import load_config, replace
    from src.training.throughput import SYNTHETIC
    overrides = {"train.batch_size": p["batch_size"], "data.train": [SYNTHETIC]}
    if p["quick"]:
        overrides.update({"model.width_mult": 0.125, "model.feature_channels": 16})
    return replace(load_config(os.path.join(ROOT, path)), **overrides)


def stage_train(p):
    import math
    from src.device import effective_amp_level
    from src.training.throughput import measure
    _setup(p["device_target"])
    cfg = _training_config(p["config"], p)
    amp = effective_amp_level(p["device_target"], p["amp_level"])
    lines = []
    compile_s, step_rate, end_to_end = measure(cfg, p["data_path"], p["steps"], num_workers=p["num_workers"],
                                               log=lines.append, amp_level=amp)
    last = next((line for line in reversed(lines) if line.startswith("last step: loss")), "")
    loss = float(last.split()[3]) if last else float("nan")
    ok = math.isfinite(step_rate) and step_rate > 0 and math.isfinite(loss)
    return {"ok": ok, "figure": f"step {step_rate:.1f} pairs/s, end to end {end_to_end:.1f} pairs/s, "
                                f"compile {compile_s:.0f} s, last loss {loss:.3f}",
            "compile_s": compile_s, "step_pairs_per_s": step_rate, "end_to_end_pairs_per_s": end_to_end,
            "last_loss": loss, "amp_level": amp}


def stage_trainpy(p):
    import numpy as np
    import train
    from src.export import sample_io
    from src.tracker.backends import load_exported
    from src.training.checkpoint import epoch_checkpoints, load_model_checkpoint
    out = os.path.join(p["output_dir"], "trainpy")
    steps = 2 if p["quick"] else 20
    argv = ["--config", os.path.join(ROOT, TRAINPY_CONFIG), "--data_path", p["data_path"], "--output_dir", out,
            "--device_target", p["device_target"], "--amp_level", p["amp_level"], "--export_after_train", "True",
            "--export_format", "MINDIR", "--train.epochs", "1", "--train.batch_size", str(p["batch_size"]),
            "--data.videos_per_epoch", str(p["batch_size"] * steps), "--data.val_pairs", str(p["batch_size"]),
            "--data.num_workers", str(p["num_workers"]), *(["--data.val", "[]"] if p["quick"] else [])]
    try:
        train.main(argv)
    except SystemExit as e:
        raise CheckError(str(e.code)) from None
    with open(os.path.join(out, "metrics.json")) as f:
        metrics = json.load(f)
    loss = metrics["1"]["loss"]
    ckpt = epoch_checkpoints(out, "quickstart_siamrpn")[0][1]
    cfg, net = load_model_checkpoint(ckpt)
    desc, graphs = load_exported(os.path.join(out, "export"), "mindir")
    io = sample_io(cfg, net)                     # the Cell's outputs on the same inputs
    kernels = graphs.template(io["template"][2][0])
    errors = [_rel_err(k.asnumpy(), want) for k, want in zip(kernels, io["template"][4])]
    outputs = graphs.track(io["search"][2][0], kernels)     # {name: array}, in the declared order
    errors += [_rel_err(got, want) for got, want in zip(outputs.values(), io["search"][4])]
    tol = TF32_TOL if p["device_target"] == "GPU" else FP32_TOL     # both sides run the device's default kernels
    worst = max(errors)
    return {"ok": bool(np.isfinite(loss)) and worst <= tol, "loss": loss, "mindir_vs_cell": worst, "tol": tol,
            "figure": f"{steps} steps, loss {loss:.3f}, {len(desc['graphs'])} MINDIR graphs; "
                      f"MINDIR vs Cell worst {worst:.1e} (tol {tol:.0e})"}


def stage_track(p):
    import numpy as np
    from benchmarks.track_speed import time_tracker
    from src.config import load_config, replace
    from src.evaluation.datasets import list_frames
    from src.image_io import read_image
    from src.models import build_model
    from src.tracker.backends import MindSporeBackend
    _setup(p["device_target"])
    folder = p["frames_dir"]
    names = list_frames(folder, os.path.basename(folder))[: p["frames"]]
    frames = [read_image(n) for n in names]
    results, figures = {}, []
    configs = [QUICK_CONFIG] if p["quick"] else list(TRACK_CONFIGS)
    for path in configs:
        cfg = load_config(os.path.join(ROOT, path))
        if p["quick"]:
            cfg = replace(cfg, **{"model.width_mult": 0.125, "model.feature_channels": 16})
        network_s, full_s = time_tracker(cfg, MindSporeBackend(build_model(cfg)), frames)
        results[cfg.name] = {"fps": 1.0 / full_s, "network_ms": network_s * 1e3}
        figures.append(f"{cfg.name} {1.0 / full_s:.1f} fps (network {network_s * 1e3:.1f} ms)")
    ok = all(np.isfinite(r["fps"]) and r["fps"] > 0 for r in results.values())
    return {"ok": ok, "figure": "; ".join(figures) + f" on {len(frames)} frames of {p['frames_label']}",
            "models": results}


STAGES = {"environment": stage_environment, "parity": stage_parity, "train": stage_train,
          "trainpy": stage_trainpy, "track": stage_track}


def _call_stage(name, params):
    """The stage's result, or its error as one line."""
    try:
        return STAGES[name](params)
    except CheckError as e:
        return {"ok": False, "error": str(e)}
    except Exception as e:      # noqa: BLE001  (the device's own errors become one table row)
        text = next((line.strip() for line in str(e).splitlines() if line.strip()), "")
        return {"ok": False, "error": f"{type(e).__name__}: {text}"[:300]}


def _stage_main(name, params_json, result_file):
    """Child process: run one stage, write its result as JSON."""
    result = _call_stage(name, json.loads(params_json))
    with open(result_file, "w") as f:
        json.dump(result, f)


# ------------------------------------------------------------------ orchestration

def _run_stage(name, params, timeout, log_dir):
    """Runs one stage in a child process (in this one with --quick, where a process start would
    cost more than the stage); returns (result dict, seconds)."""
    if params["quick"]:
        t0 = time.perf_counter()
        return _call_stage(name, params), time.perf_counter() - t0
    fd, result_file = tempfile.mkstemp(prefix=f"{name}-", suffix=".json", dir=log_dir)
    os.close(fd)
    log = os.path.join(log_dir, f"{name}-{params.get('label', '')}.log".replace("/", "_"))
    t0 = time.perf_counter()
    with open(log, "w") as f:
        try:
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--_stage", name, "--_params",
                                   json.dumps(params), "--_result", result_file],
                                  stdout=f, stderr=subprocess.STDOUT, timeout=timeout, cwd=ROOT)
        except subprocess.TimeoutExpired:
            return {"ok": False, "error": f"timed out after {timeout:.0f} s (log {log})"}, time.perf_counter() - t0
    seconds = time.perf_counter() - t0
    try:
        with open(result_file) as f:
            result = json.load(f)
    except (OSError, ValueError):
        result = {"ok": False, "error": f"exited with status {proc.returncode} without a result (log {log})"}
    os.remove(result_file)
    return result, seconds


def device_refusal(device_target):
    """Why the check cannot run on ``device_target`` here (one line), or None."""
    if device_target != "GPU":
        return None
    import shutil
    if not shutil.which("nvidia-smi"):
        return "nvidia-smi not found: no NVIDIA driver on this machine (run with --device_target CPU --quick)"
    from src.device import device_available
    import mindspore as ms
    if not device_available("GPU"):
        return (f"MindSpore {ms.__version__} loaded no GPU plugin: it needs the CUDA 11 libraries its GPU "
                "plugin links (libcudart.so.11.0, libcublas.so.11, libcudnn.so.8, ...) on LD_LIBRARY_PATH "
                "(see scripts/run_gpu_check.sh --wheels)")
    return None


def plan(args):
    """[(stage, label, params)] in priority order."""
    base = {"device_target": args.device_target, "quick": args.quick, "batch_size": args.batch_size,
            "num_workers": args.num_workers, "data_path": args.synthetic_dir, "output_dir": args.output_dir}
    gpu = args.device_target == "GPU"
    stages = [("environment", "", dict(base))]
    if args.golden_dir:
        for tf32 in ((False, True) if gpu else (False,)):
            stages.append(("parity", "TF32 convolutions" if tf32 else "float32", {**base, "tf32": tf32,
                                                                                  "golden_dir": args.golden_dir}))
    amps = ("O0", "O2") if gpu else ("O0",)         # CPU trains in float32 only (src/device.py)

    def train(config):
        return [("train", f"{os.path.basename(config)[:-5]} {amp}, batch {args.batch_size}, {args.steps} steps",
                 {**base, "config": config, "amp_level": amp, "steps": args.steps}) for amp in amps]

    # SiamRPN training, the export and tracking come before SiamMask training (the slowest stage),
    # so that a short budget still covers every kind of check
    stages += train(QUICK_CONFIG if args.quick else TRAIN_CONFIGS[0])
    stages.append(("trainpy", f"train.py {'O2' if gpu else 'O0'} -> MINDIR export",
                   {**base, "amp_level": "O2" if gpu else "O0"}))
    stages.append(("track", "Cell", {**base, "frames_dir": args.frames_dir, "frames": args.frames,
                                     "frames_label": args.frames_label}))
    if not args.quick:
        stages += train(TRAIN_CONFIGS[1])
    return stages


def _table(rows):
    lines = ["| stage | setting | result | figures |", "| --- | --- | --- | --- |"]
    for stage, label, result, seconds in rows:
        status = "ok" if result.get("ok") else ("not run" if result.get("skipped") else "FAILED")
        text = result.get("figure") or result.get("error") or result.get("skipped", "")
        lines.append(f"| {stage} | {label} | {status} ({seconds:.0f} s) | {text} |")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="gpu_check", description=__doc__.split("\n\n")[0])
    p.add_argument("--device_target", default="GPU", choices=["GPU", "CPU"])
    p.add_argument("--quick", action="store_true", help="small settings (CI, with --device_target CPU)")
    p.add_argument("--data_dir", default=None,
                   help="frames to track: a VOT sequence folder (e.g. ../shared/golden/data/bag); default synthetic")
    p.add_argument("--golden_dir", default=None, help="golden reference data (default ../shared/golden if present)")
    p.add_argument("--steps", type=int, default=None, help="timed training steps (default 200; --quick 2)")
    p.add_argument("--batch_size", type=int, default=None, help="training batch (default 32; --quick 2)")
    p.add_argument("--frames", type=int, default=None, help="frames to track (default 60; --quick 8)")
    p.add_argument("--num_workers", type=int, default=None, help="loader workers (default min(8, cores); --quick 1)")
    p.add_argument("--budget_s", type=float, default=480, help="stop starting stages after this (default 480)")
    p.add_argument("--output_dir", default=None, help="logs, data and summary (default: a temporary folder)")
    p.add_argument("--_stage", help=argparse.SUPPRESS)
    p.add_argument("--_params", help=argparse.SUPPRESS)
    p.add_argument("--_result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._stage:
        return args
    quick = args.quick
    defaults = {"steps": 2 if quick else 200, "batch_size": 2 if quick else 32, "frames": 8 if quick else 60,
                "num_workers": 1 if quick else min(8, os.cpu_count() or 1)}
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
        elif getattr(args, key) < (0 if key == "num_workers" else 1):
            p.error(f"--{key} must be at least {0 if key == 'num_workers' else 1}, got {getattr(args, key)}")
    if args.budget_s <= 0:
        p.error(f"--budget_s must be positive, got {args.budget_s}")
    if args.data_dir is not None and not os.path.isdir(args.data_dir):
        p.error(f"--data_dir: folder not found: {args.data_dir}")
    if args.golden_dir is None:
        default = os.path.normpath(os.path.join(ROOT, "..", "shared", "golden"))
        args.golden_dir = default if os.path.isdir(default) else None
    elif not os.path.isdir(args.golden_dir):
        p.error(f"--golden_dir: folder not found: {args.golden_dir}")
    if args.output_dir is not None and os.path.exists(args.output_dir) and not os.path.isdir(args.output_dir):
        p.error(f"--output_dir {args.output_dir} is a file")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args._stage:
        return _stage_main(args._stage, args._params, args._result)
    t_start = time.perf_counter()
    refusal = device_refusal(args.device_target)
    if refusal:
        sys.exit(f"gpu_check: {refusal}")
    args.output_dir = os.path.abspath(args.output_dir or tempfile.mkdtemp(prefix="gpu_check_"))
    os.makedirs(os.path.join(args.output_dir, "logs"), exist_ok=True)
    from src.data.synthetic import generate
    args.synthetic_dir = os.path.join(args.output_dir, "data")
    if not os.path.isdir(os.path.join(args.synthetic_dir, "train")):
        small = args.quick            # --quick trains a few pairs: a few videos are enough
        generate(args.synthetic_dir, seed=0, train_videos=4 if small else 20, train_frames=10 if small else 20,
                 val_videos=2, test_videos=1, test_frames=max(args.frames, 8))
    if args.data_dir:
        frames_dir = os.path.join(args.data_dir, "color")
        args.frames_dir = frames_dir if os.path.isdir(frames_dir) else args.data_dir
        args.frames_label = os.path.basename(os.path.normpath(args.data_dir))
    else:
        vot = os.path.join(args.synthetic_dir, "test", "VOTSYN")
        seq = sorted(d for d in os.listdir(vot) if os.path.isdir(os.path.join(vot, d)))[0]
        args.frames_dir, args.frames_label = os.path.join(vot, seq, "color"), f"synthetic {seq}"

    rows = []
    print(f"gpu_check: {args.device_target}{' (quick)' if args.quick else ''}, output in {args.output_dir}",
          flush=True)
    for i, (stage, label, params) in enumerate(plan(args)):
        left = args.budget_s - (time.perf_counter() - t_start)
        if left < 5:
            rows.append((stage, label, {"ok": False, "skipped": f"time budget (--budget_s {args.budget_s:g}) spent"},
                         0.0))
            continue
        result, seconds = _run_stage(stage, {**params, "label": f"{i:02d}"}, min(left, STAGE_TIMEOUT_S),
                                     os.path.join(args.output_dir, "logs"))
        rows.append((stage, label, result, seconds))
        print(f"gpu_check: {stage} {label}: {'ok' if result.get('ok') else 'FAILED'} ({seconds:.0f} s)", flush=True)
        if stage == "environment" and not result.get("ok"):
            break                 # nothing else can run on this device
    if not args.golden_dir:
        rows.insert(1, ("parity", "", {"ok": False, "skipped": "no golden data (--golden_dir)"}, 0.0))
    table = _table(rows)
    with open(os.path.join(args.output_dir, "summary.md"), "w") as f:
        f.write(table + "\n")
    with open(os.path.join(args.output_dir, "summary.json"), "w") as f:
        json.dump([{"stage": s, "setting": label, "seconds": sec, **r} for s, label, r, sec in rows], f, indent=1)
    print(table)
    ran = [r for _, _, r, _ in rows if not r.get("skipped")]
    failed = [r for r in ran if not r.get("ok")]
    print(f"gpu_check: {len(ran) - len(failed)} of {len(rows)} stages passed, {len(failed)} failed, "
          f"{len(rows) - len(ran)} not run; {time.perf_counter() - t_start:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""scripts/run_gpu_check.sh and benchmarks/gpu_check.py, the GPU check, on a machine without a GPU.

* usage errors and the refusals (no driver; a driver but a MindSpore that loads no GPU plugin)
  are one line each, before any work and without output left behind;
* a stage that fails or hangs is one row of the table with its one-line error;
* the CPU fall-back (--device_target CPU --quick) runs every stage and prints the summary table,
  in under a minute of CPU time.
"""
import json
import os
import resource
import subprocess
import sys

from conftest import GOLDEN, ROOT, synthetic_test_sets

SCRIPT = os.path.join(ROOT, "scripts", "run_gpu_check.sh")


def _script(*args, env=None, timeout=120):
    return subprocess.run(["bash", SCRIPT, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env={**os.environ, "PYTHON": sys.executable, **(env or {})})


def _last_line(proc):
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert proc.returncode != 0 and lines and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return lines[-1]


def test_usage_errors_and_refusals_are_one_line(tmp_path, capsys):
    from benchmarks import gpu_check
    out = tmp_path / "out"
    cases = [
        (["--device_target", "TPU"], "run_gpu_check.sh: --device_target must be GPU or CPU, got 'TPU'"),
        (["--device_target", "CPU", "--wheels", tmp_path / "nope"],
         f"run_gpu_check.sh: --wheels: folder not found: {tmp_path / 'nope'}"),
        (["--device_target", "CPU", "--wheels", tmp_path], f"run_gpu_check.sh: --wheels: no mindspore-*.whl in {tmp_path}"),
        (["--device_target", "CPU", "--steps", "0"], "gpu_check: error: --steps must be at least 1, got 0"),
    ]
    for args, message in cases:
        proc = _script(*args, *([] if "--output_dir" in args else ["--output_dir", out]))
        assert message in _last_line(proc), (args, proc.stderr[-800:])
    # the script hands its flags to gpu_check (the --steps case above, end to end); gpu_check's
    # other flag checks through its main in this process (each script run imports MindSpore twice)
    cases = [
        (["--device_target", "CPU", "--budget_s", "-1"], "gpu_check: error: --budget_s must be positive"),
        (["--device_target", "CPU", "--data_dir", tmp_path / "none"],
         f"gpu_check: error: --data_dir: folder not found: {tmp_path / 'none'}"),
        (["--device_target", "CPU", "--golden_dir", tmp_path / "none"], "gpu_check: error: --golden_dir: folder not found"),
        (["--device_target", "CPU", "--output_dir", SCRIPT], f"gpu_check: error: --output_dir {SCRIPT} is a file"),
    ]
    for args, message in cases:
        capsys.readouterr()
        argv = [*map(str, args), *([] if "--output_dir" in args else ["--output_dir", str(out)])]
        try:
            gpu_check.main(argv)
        except SystemExit as e:
            code = e.code
        else:
            code = 0
        err = capsys.readouterr().err
        lines = [line for line in err.strip().splitlines() if line.strip()]
        assert code not in (0, None) and lines and "Traceback" not in err, (args, err[-800:])
        assert message in lines[-1], (args, err[-800:])
    # no driver here: refused before MindSpore is even imported
    no_driver = _script(env={"PATH": "/usr/bin:/bin"})
    assert _last_line(no_driver) == ("run_gpu_check.sh: nvidia-smi not found: no NVIDIA driver on this machine "
                                     "(CPU fall-back: --device_target CPU --quick)")
    assert not no_driver.stdout
    # a driver (a stand-in nvidia-smi) but this MindSpore has no usable GPU plugin: one line from gpu_check
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "nvidia-smi").write_text('#!/bin/sh\necho "GPU 0: NVIDIA H200 (UUID: GPU-0)"\n')
    (fake / "nvidia-smi").chmod(0o755)
    proc = _script("--output_dir", out, env={"PATH": f"{fake}:{os.environ['PATH']}"})
    assert _last_line(proc).startswith("gpu_check: MindSpore 2.10.0 loaded no GPU plugin: it needs the CUDA 11 "
                                       "libraries its GPU plugin links (libcudart.so.11.0")
    assert not out.exists()


def test_gpu_plan_covers_every_check():
    """What a GPU run would do, planned here: parity twice (float32 and TF32), both networks at O0 and
    O2 at batch 32, the train.py export and tracking, SiamMask training last."""
    from benchmarks import gpu_check
    args = gpu_check.parse_args(["--device_target", "GPU", "--golden_dir", ROOT])
    args.synthetic_dir, args.frames_dir, args.frames_label = "data", "frames", "bag"
    assert (args.steps, args.batch_size, args.frames, args.budget_s) == (200, 32, 60, 480)
    plan = [(stage, label) for stage, label, _ in gpu_check.plan(args)]
    assert plan == [("environment", ""), ("parity", "float32"), ("parity", "TF32 convolutions"),
                    ("train", "siamrpn_alex_dw O0, batch 32, 200 steps"),
                    ("train", "siamrpn_alex_dw O2, batch 32, 200 steps"),
                    ("trainpy", "train.py O2 -> MINDIR export"), ("track", "Cell"),
                    ("train", "siammask_base O0, batch 32, 200 steps"),
                    ("train", "siammask_base O2, batch 32, 200 steps")]
    params = {label: p for _, label, p in gpu_check.plan(args)}
    assert params["TF32 convolutions"]["tf32"] is True and params["float32"]["tf32"] is False
    assert params["siammask_base O2, batch 32, 200 steps"]["amp_level"] == "O2"


def test_failing_or_hanging_stage_is_one_row(tmp_path):
    from benchmarks import gpu_check
    params = {"device_target": "CPU", "quick": True, "golden_dir": str(tmp_path), "tf32": False}
    result = gpu_check._call_stage("parity", params)             # no golden files in that folder
    assert result["ok"] is False and "siamrpn_alex_dwxcorr/model.pth.xz" in result["error"]
    assert "\n" not in result["error"]
    (tmp_path / "logs").mkdir()
    result, seconds = gpu_check._run_stage("environment", {**params, "quick": False, "label": "t"}, 0.5,
                                           str(tmp_path / "logs"))
    assert result == {"ok": False, "error": f"timed out after 0 s (log {tmp_path / 'logs' / 'environment-t.log'})"}
    rows = [("parity", "float32", {"ok": False, "error": "boom"}, 1.0),
            ("train", "x", {"ok": True, "figure": "5 pairs/s"}, 2.0),
            ("track", "Cell", {"ok": False, "skipped": "time budget (--budget_s 1) spent"}, 0.0)]
    assert gpu_check._table(rows).splitlines()[2:] == ["| parity | float32 | FAILED (1 s) | boom |",
                                                      "| train | x | ok (2 s) | 5 pairs/s |",
                                                      "| track | Cell | not run (0 s) | time budget (--budget_s 1) spent |"]


def test_cpu_fallback_prints_the_summary_table(tmp_path):
    synthetic_test_sets(tmp_path, seed=1, videos=1, frames=10)
    sequence = tmp_path / "data" / "test" / "VOTSYN" / "syn_test_0000"      # a VOT sequence folder, as bag is
    out = tmp_path / "check"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = _script("--device_target", "CPU", "--quick", "--data_dir", sequence, "--output_dir", out, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    table = proc.stdout[proc.stdout.index("| stage | setting | result | figures |"):].splitlines()
    rows = [line for line in table if line.startswith("| ") and not line.startswith(("| stage", "| ---"))]
    assert [r.split(" | ")[0][2:] for r in rows] == ["environment", "parity", "train", "trainpy", "track"]
    golden = os.path.isdir(os.path.join(GOLDEN, "siamrpn_alex_dwxcorr"))
    for row in rows:
        if row.startswith("| parity") and not golden:
            assert "| not run" in row and "no golden data" in row
        else:
            assert " | ok (" in row, row
    summary = json.loads((out / "summary.json").read_text())
    assert (out / "summary.md").read_text().strip() == "\n".join(table[:2 + len(rows)]).strip()
    train = next(s for s in summary if s["stage"] == "train")
    assert train["step_pairs_per_s"] > 0 and train["amp_level"] == "O0"
    track = next(s for s in summary if s["stage"] == "track")
    assert "on 8 frames of syn_test_0000" in track["figure"] and track["models"]["quickstart_siamrpn"]["fps"] > 0
    trainpy = next(s for s in summary if s["stage"] == "trainpy")
    assert trainpy["mindir_vs_cell"] <= trainpy["tol"] == 1e-4
    if golden:
        parity = next(s for s in summary if s["stage"] == "parity")
        assert parity["worst"]["pysot_dw"][1] <= 1e-4
    assert proc.stdout.strip().splitlines()[-1].startswith(f"gpu_check: {len(rows) - (not golden)} of {len(rows)} "
                                                         "stages passed, 0 failed")
    # CPU seconds, not wall time: the machine may be shared. On an idle 2-core machine the wall
    # time is about the same (the stages run one after the other, each mostly on one core).
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"gpu_check --quick on CPU: {cpu:.0f} s of CPU time")
    assert cpu < 60, cpu

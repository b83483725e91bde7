#!/usr/bin/env bash
# One short check of the GPU path (at most ~8 minutes: --budget_s 480), ready for a GPU machine:
#   bash scripts/run_gpu_check.sh [--device_target GPU|CPU] [--quick] [--data_dir DIR] [--golden_dir DIR]
#        [--wheels DIR] [--steps N] [--batch_size N] [--frames N] [--budget_s S] [--output_dir DIR]
# It refuses in one line when the GPU path cannot run here; otherwise benchmarks/gpu_check.py
# runs the golden parity comparisons (float32 and TF32 convolutions), SiamRPN and SiamMask
# training throughput (batch 32, O0 and O2), train.py at O2 with a MINDIR export of its checkpoint
# run back on the device, and tracking fps of the Cell, then prints one summary table.
#   --data_dir    frames to track (the VOT bag sequence: ../shared/golden/data/bag); default synthetic
#   --golden_dir  golden reference data for the parity rows (default ../shared/golden when present)
#   --wheels DIR  install the wheels in DIR first (no network needed): mindspore-2.10.0 (its x86_64
#                 wheel holds the GPU plugin) and the CUDA 11 libraries the plugin links
#                 (nvidia-cuda-runtime-cu11, nvidia-cublas-cu11, nvidia-cudnn-cu11 8.x, nvidia-cufft-cu11,
#                 nvidia-curand-cu11, nvidia-cusolver-cu11, nvidia-cusparse-cu11, nvidia-cuda-nvrtc-cu11)
#   --device_target CPU --quick   the CPU fall-back with small settings (what CI runs)
# Environment: PYTHON (python3), GPU_CHECK_SITE (where --wheels installs, /tmp/gpu_check_site).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

fail() {
  echo "run_gpu_check.sh: $*" >&2
  exit 1
}
usage() {
  echo "Usage: bash scripts/run_gpu_check.sh [--device_target GPU|CPU] [--quick] [--data_dir DIR] [--golden_dir DIR]" \
    "[--wheels DIR] [--steps N] [--batch_size N] [--frames N] [--budget_s S] [--output_dir DIR]" >&2
  exit 2
}

TARGET=GPU
WHEELS=""
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --wheels) [ $# -ge 2 ] || usage; WHEELS=$2; shift 2 ;;
    --wheels=*) WHEELS=${1#*=}; shift ;;
    --device_target) [ $# -ge 2 ] || usage; TARGET=$2; ARGS+=("$1" "$2"); shift 2 ;;
    --device_target=*) TARGET=${1#*=}; ARGS+=("$1"); shift ;;
    -h | --help) usage ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
case "$TARGET" in
  GPU | CPU) ;;
  *) fail "--device_target must be GPU or CPU, got '$TARGET'" ;;
esac

if [ "$TARGET" = GPU ]; then
  command -v nvidia-smi >/dev/null 2>&1 ||
    fail "nvidia-smi not found: no NVIDIA driver on this machine (CPU fall-back: --device_target CPU --quick)"
  nvidia-smi -L >/dev/null 2>&1 || fail "nvidia-smi lists no GPU ($(nvidia-smi -L 2>&1 | head -n 1))"
  # MindSpore 2.10's GPU kernels are SASS for sm_60..sm_80 plus compute_86 PTX (its plugin is built
  # with CUDA 11.6, before Hopper): on an H100/H200 the driver JIT-compiles the PTX. Lazy loading
  # compiles only the kernels used; the large cache keeps them for a re-run on the same machine.
  export CUDA_MODULE_LOADING=${CUDA_MODULE_LOADING:-LAZY}
  export CUDA_CACHE_MAXSIZE=${CUDA_CACHE_MAXSIZE:-4294967296}
fi

if [ -n "$WHEELS" ]; then
  [ -d "$WHEELS" ] || fail "--wheels: folder not found: $WHEELS"
  compgen -G "$WHEELS/mindspore-*.whl" >/dev/null || fail "--wheels: no mindspore-*.whl in $WHEELS"
  SITE=${GPU_CHECK_SITE:-/tmp/gpu_check_site}
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --target "$SITE" "$WHEELS"/*.whl ||
    fail "pip could not install the wheels in $WHEELS into $SITE"
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
  # the nvidia-*-cu11 wheels' libraries, which MindSpore's GPU plugin loads by soname
  for lib in "$SITE"/nvidia/*/lib; do
    [ -d "$lib" ] && LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  done
  export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}
fi

if ! why=$("$PYTHON" -c "import mindspore" 2>&1 >/dev/null); then
  fail "MindSpore is not importable by $PYTHON ($(echo "$why" | tail -n 1)); pip install mindspore==2.10.0 or give --wheels DIR"
fi
export PYTHONUNBUFFERED=1
exec "$PYTHON" -m benchmarks.gpu_check "${ARGS[@]}"

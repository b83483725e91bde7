#!/usr/bin/env bash
# Data-parallel training on GPUs of this machine through msrun (model-zoo style):
#   bash scripts/run_distribute_train_gpu.sh DEVICE_NUM DATA_PATH [CONFIG] [OUTPUT_DIR] [--key value ...]
# msrun starts DEVICE_NUM train.py processes (rank r on GPU r); their logs are
# OUTPUT_DIR/msrun_log/worker_<r>.log, msrun's own in OUTPUT_DIR/msrun.log. Rank 0 writes
# checkpoints and metrics.json to OUTPUT_DIR; rerunning the command resumes from them.
# The job runs in the background; WAIT=1 runs it in the foreground and exits with its status.
# MASTER_PORT: msrun's port (default: a free one). DRY_RUN=1 prints the command only.
# Defaults: configs/siamrpn_alex_dw.yaml, ./output/distribute_<target>.
# scripts/run_distribute_train_cpu.sh runs the same on CPU processes (DEVICE_TARGET=CPU).
set -euo pipefail
DEVICE_TARGET=${DEVICE_TARGET:-GPU}
SCRIPT=${SCRIPT_NAME:-scripts/run_distribute_train_gpu.sh}
if [ $# -lt 2 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "Usage: bash $SCRIPT DEVICE_NUM DATA_PATH [CONFIG] [OUTPUT_DIR] [--key value ...]  (DEVICE_NUM >= 1)" >&2
  exit 1
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEVICE_NUM=$1
[ -d "$2" ] || { echo "data path not found: $2" >&2; exit 1; }
DATA_PATH=$(realpath "$2")
LOWER_TARGET=$(echo "$DEVICE_TARGET" | tr '[:upper:]' '[:lower:]')
CONFIG=$(realpath -m "${3:-$ROOT/configs/siamrpn_alex_dw.yaml}")
OUTPUT_DIR=$(realpath -m "${4:-$ROOT/output/distribute_$LOWER_TARGET}")
shift $(( $# < 4 ? $# : 4 ))
[ -f "$CONFIG" ] || { echo "config not found: $CONFIG" >&2; exit 1; }
cd "$ROOT"
MASTER_PORT=${MASTER_PORT:-$(python -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')}
CMD=(msrun --worker_num="$DEVICE_NUM" --local_worker_num="$DEVICE_NUM" --master_port="$MASTER_PORT"
     --log_dir="$OUTPUT_DIR/msrun_log" --join=True "$ROOT/train.py" --config "$CONFIG" --data_path "$DATA_PATH"
     --output_dir "$OUTPUT_DIR" --device_target "$DEVICE_TARGET" --run_distribute True "$@")
if [ -n "${DRY_RUN:-}" ]; then
  echo "${CMD[*]}"
  exit 0
fi
mkdir -p "$OUTPUT_DIR"
if [ -n "${WAIT:-}" ]; then
  "${CMD[@]}" 2>&1 | tee "$OUTPUT_DIR/msrun.log"
  exit "${PIPESTATUS[0]}"
fi
nohup "${CMD[@]}" > "$OUTPUT_DIR/msrun.log" 2>&1 &
echo "$DEVICE_NUM $DEVICE_TARGET processes started (msrun pid $!); logs: $OUTPUT_DIR/msrun_log/worker_<rank>.log"

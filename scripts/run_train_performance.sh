#!/usr/bin/env bash
# Training throughput ("FPS" = training pairs per second) of a config, model-zoo style:
# a short run of the real training step (loader, loss, clip/skip SGD step) after one
# untimed compile step.
#   bash scripts/run_train_performance.sh [DATA_PATH|-] [CONFIG] [STEPS] [BATCH_SIZE] [DEVICE_TARGET] [DEVICE_ID]
# DATA_PATH omitted or "-": a small synthetic crop511 set with masks is generated in a
# temporary folder. Defaults: configs/quickstart_siammask.yaml, 10 steps, the config's
# batch size, CPU. Example (SiamMask base stage at batch 8 on CPU):
#   bash scripts/run_train_performance.sh - configs/siammask_base.yaml 5 8
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA_PATH=${1:--}
CONFIG=$(realpath "${2:-$ROOT/configs/quickstart_siammask.yaml}")
STEPS=${3:-10}
BATCH_SIZE=${4:-}
DEVICE_TARGET=${5:-CPU}
export DEVICE_ID=${6:-${DEVICE_ID:-0}}
[ -f "$CONFIG" ] || { echo "config not found: $CONFIG" >&2; exit 1; }
ARGS=(--config "$CONFIG" --steps "$STEPS" --device_target "$DEVICE_TARGET")
if [ "$DATA_PATH" != "-" ]; then
  [ -d "$DATA_PATH" ] || { echo "data path not found: $DATA_PATH" >&2; exit 1; }
  ARGS+=(--data_path "$(realpath "$DATA_PATH")")
fi
[ -n "$BATCH_SIZE" ] && ARGS+=(--batch_size "$BATCH_SIZE")
cd "$ROOT"
python -m src.training.throughput "${ARGS[@]}"

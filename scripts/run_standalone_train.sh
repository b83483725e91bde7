#!/usr/bin/env bash
# Single-device training (model-zoo style).
#   bash scripts/run_standalone_train.sh DATA_PATH [CONFIG] [OUTPUT_DIR] [DEVICE_TARGET] [DEVICE_ID] [extra overrides...]
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "Usage: bash scripts/run_standalone_train.sh DATA_PATH [CONFIG] [OUTPUT_DIR] [DEVICE_TARGET] [DEVICE_ID] [--key value ...]" >&2
  exit 1
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA_PATH=$(realpath "$1")
CONFIG=$(realpath "${2:-$ROOT/configs/siamrpn_alex_dw.yaml}")
OUTPUT_DIR=$(realpath -m "${3:-$ROOT/output/standalone}")
DEVICE_TARGET=${4:-CPU}
DEVICE_ID=${5:-0}
shift $(( $# < 5 ? $# : 5 ))
[ -d "$DATA_PATH" ] || { echo "data path not found: $DATA_PATH" >&2; exit 1; }
[ -f "$CONFIG" ] || { echo "config not found: $CONFIG" >&2; exit 1; }
mkdir -p "$OUTPUT_DIR"
cd "$ROOT"
python train.py --config "$CONFIG" --data_path "$DATA_PATH" --output_dir "$OUTPUT_DIR" \
  --device_target "$DEVICE_TARGET" --device_id "$DEVICE_ID" "$@" 2>&1 | tee "$OUTPUT_DIR/train.out"

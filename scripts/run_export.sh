#!/usr/bin/env bash
# Export a checkpoint as template / search (/ refine) graphs plus <name>.json (model-zoo style).
#   bash scripts/run_export.sh CKPT [FILE_FORMAT=MINDIR|ONNX|AIR] [OUTPUT_DIR] [DEVICE_TARGET] [--key value ...]
# The graphs run in `eval.py --backend mindir|onnx --model_dir OUTPUT_DIR` and in ascend310_infer.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "Usage: bash scripts/run_export.sh CKPT [MINDIR|ONNX|AIR] [OUTPUT_DIR] [DEVICE_TARGET] [--key value ...]" >&2
  exit 1
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CKPT=$(realpath -m "$1")
FILE_FORMAT=${2:-MINDIR}
OUTPUT_DIR=$(realpath -m "${3:-$ROOT/export/$(echo "$FILE_FORMAT" | tr 'A-Z' 'a-z')}")
DEVICE_TARGET=${4:-CPU}
shift $(( $# < 4 ? $# : 4 ))
[ -f "$CKPT" ] || { echo "checkpoint not found: $CKPT" >&2; exit 1; }
cd "$ROOT"
python export_mindir.py --ckpt "$CKPT" --file_format "$FILE_FORMAT" --output_dir "$OUTPUT_DIR" \
  --device_target "$DEVICE_TARGET" "$@"

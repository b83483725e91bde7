#!/usr/bin/env bash
# Evaluate one checkpoint (model-zoo style); the dataset name defaults to the folder name.
#   bash scripts/run_eval.sh DEVICE_ID DATASET_PATH CKPT_FILE eval.json [DATASET_NAME] [DEVICE_TARGET] [--key value ...]
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "Usage: bash scripts/run_eval.sh DEVICE_ID DATASET_PATH CKPT_FILE OUTPUT_JSON [DATASET_NAME] [DEVICE_TARGET] [--key value ...]" >&2
  exit 1
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEVICE_ID=$1
DATASET_PATH=$(realpath "$2")
CKPT_FILE=$(realpath "$3")
OUTPUT_JSON=$(realpath -m "$4")
DATASET_NAME=${5:-$(basename "$DATASET_PATH")}
DEVICE_TARGET=${6:-CPU}
shift $(( $# < 6 ? $# : 6 ))
[ -d "$DATASET_PATH" ] || { echo "dataset path not found: $DATASET_PATH" >&2; exit 1; }
[ -f "$CKPT_FILE" ] || { echo "checkpoint not found: $CKPT_FILE" >&2; exit 1; }
cd "$ROOT"
python eval.py --device_target "$DEVICE_TARGET" --device_id "$DEVICE_ID" --ckpt "$CKPT_FILE" \
  --dataset_path "$DATASET_PATH" --dataset_name "$DATASET_NAME" --filename "$OUTPUT_JSON" \
  --results_dir "$(dirname "$OUTPUT_JSON")/results" "$@"

#!/usr/bin/env bash
# Evaluate one checkpoint (model-zoo style); the dataset name defaults to the folder name.
#   bash scripts/run_eval.sh DEVICE_ID DATASET_PATH CKPT_FILE eval.json [DATASET_NAME] [DEVICE_TARGET] [--key value ...]
# Arguments from the first one starting with "--" on go to eval.py unchanged
# (e.g. --eao_range 50 120, --track.penalty_k 0.2, --overwrite), also right after
# OUTPUT_JSON: DATASET_NAME and DEVICE_TARGET are only taken from arguments that
# do not start with "--". PYTHON picks the interpreter (default: python).
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "Usage: bash scripts/run_eval.sh DEVICE_ID DATASET_PATH CKPT_FILE OUTPUT_JSON [DATASET_NAME] [DEVICE_TARGET] [--key value ...]" >&2
  exit 1
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEVICE_ID=$1
DATASET_PATH=$(realpath -m "$2")
CKPT_FILE=$(realpath -m "$3")
OUTPUT_JSON=$(realpath -m "$4")
shift 4
DATASET_NAME=$(basename "$DATASET_PATH")
DEVICE_TARGET=CPU
if [ $# -gt 0 ] && [[ $1 != --* ]]; then DATASET_NAME=$1; shift; fi
if [ $# -gt 0 ] && [[ $1 != --* ]]; then DEVICE_TARGET=$1; shift; fi
if [ $# -gt 0 ] && [[ $1 != --* ]]; then
  echo "run_eval.sh: unexpected argument '$1' after DEVICE_TARGET $DEVICE_TARGET (eval.py flags start with --)" >&2
  exit 1
fi
[ -d "$DATASET_PATH" ] || { echo "run_eval.sh: dataset path not found: $DATASET_PATH" >&2; exit 1; }
[ -f "$CKPT_FILE" ] || { echo "run_eval.sh: checkpoint not found: $CKPT_FILE" >&2; exit 1; }
cd "$ROOT"
exec "${PYTHON:-python}" eval.py --device_target "$DEVICE_TARGET" --device_id "$DEVICE_ID" --ckpt "$CKPT_FILE" \
  --dataset_path "$DATASET_PATH" --dataset_name "$DATASET_NAME" --filename "$OUTPUT_JSON" \
  --results_dir "$(dirname "$OUTPUT_JSON")/results" "$@"

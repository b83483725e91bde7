#!/usr/bin/env bash
# Data-parallel training on Ascend under an HCCL rank table (model-zoo style):
#   bash scripts/run_distribute_train.sh RANK_TABLE_FILE DATA_PATH [CONFIG] [OUTPUT_DIR] [--key value ...]
# The rank table (HCCL v1.0, as hccl_tools.py writes it) is validated first: a malformed or
# inconsistent one stops here with one line saying what is wrong. Then one train.py process
# per device of this server starts in the background (RANK_TABLE_FILE, RANK_SIZE, RANK_ID,
# DEVICE_ID set), working in OUTPUT_DIR/device<DEVICE_ID> with its log there (train.log).
# Rank 0 writes checkpoints and metrics.json to OUTPUT_DIR; rerunning the command resumes
# from rank 0's newest valid checkpoint. A multi-server table: run the script on every
# server; this server is the one whose server_id is an IP of this host (or set SERVER_ID).
# DRY_RUN=1 prints the processes instead of starting them. Defaults: configs/siamrpn_alex_dw.yaml,
# ./output/distribute.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "Usage: bash scripts/run_distribute_train.sh RANK_TABLE_FILE DATA_PATH [CONFIG] [OUTPUT_DIR] [--key value ...]" >&2
  exit 1
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$1" ] || { echo "rank table not found: $1" >&2; exit 1; }
[ -d "$2" ] || { echo "data path not found: $2" >&2; exit 1; }
RANK_TABLE_FILE=$(realpath "$1")
DATA_PATH=$(realpath "$2")
CONFIG=$(realpath -m "${3:-$ROOT/configs/siamrpn_alex_dw.yaml}")
OUTPUT_DIR=$(realpath -m "${4:-$ROOT/output/distribute}")
shift $(( $# < 4 ? $# : 4 ))
[ -f "$CONFIG" ] || { echo "config not found: $CONFIG" >&2; exit 1; }
cd "$ROOT"
PROCESSES=$(python -m src.distributed.rank_table "$RANK_TABLE_FILE" ${SERVER_ID:+--server_id "$SERVER_ID"})
RANK_SIZE=$(python -m src.distributed.rank_table "$RANK_TABLE_FILE" --rank_size)
export RANK_TABLE_FILE RANK_SIZE
echo "rank table $RANK_TABLE_FILE: $RANK_SIZE ranks, $(echo "$PROCESSES" | wc -l) on this server"
ulimit -u unlimited 2>/dev/null || true
while read -r RANK_ID DEVICE_ID; do
  WORK_DIR="$OUTPUT_DIR/device$DEVICE_ID"
  CMD=(python "$ROOT/train.py" --config "$CONFIG" --data_path "$DATA_PATH" --output_dir "$OUTPUT_DIR"
       --device_target Ascend --device_id "$DEVICE_ID" --run_distribute True "$@")
  if [ -n "${DRY_RUN:-}" ]; then
    echo "RANK_ID=$RANK_ID DEVICE_ID=$DEVICE_ID cd $WORK_DIR && ${CMD[*]} > $WORK_DIR/train.log 2>&1 &"
    continue
  fi
  mkdir -p "$WORK_DIR"
  (cd "$WORK_DIR" && RANK_ID=$RANK_ID DEVICE_ID=$DEVICE_ID nohup "${CMD[@]}" > "$WORK_DIR/train.log" 2>&1 &)
  echo "rank $RANK_ID on device $DEVICE_ID: log $WORK_DIR/train.log"
done <<< "$PROCESSES"

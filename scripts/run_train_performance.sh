#!/usr/bin/env bash
# Training throughput ("FPS" = training pairs per second) on 1 and on DEVICE_NUM devices, and
# the scaling efficiency, model-zoo style:
#   bash scripts/run_train_performance.sh DEVICE_NUM [DATA_PATH|-] [CONFIG] [STEPS] [BATCH_SIZE] [DEVICE_TARGET]
# Each run times STEPS steps of the real training step (loader, loss, clip/skip SGD step, and
# with several devices the gradient all-reduce) after one untimed compile step
# (src/training/throughput.py). BATCH_SIZE is per device, so N devices step on N times the
# pairs (weak scaling); efficiency = pairs/s on N / (N x pairs/s on 1). The N-device run goes
# through msrun (one process per device); its logs are kept in a temporary folder on failure.
# DATA_PATH omitted or "-": a small synthetic crop511 set with masks is generated once in a
# temporary folder. Defaults: configs/quickstart_siammask.yaml, 10 steps, the config's batch
# size, CPU. DEVICE_NUM 1 measures one device only. Example (2 CPU processes, quick-start SiamRPN):
#   bash scripts/run_train_performance.sh 2 - configs/quickstart_siamrpn.yaml 20 16
set -euo pipefail
if [ $# -lt 1 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "Usage: bash scripts/run_train_performance.sh DEVICE_NUM [DATA_PATH|-] [CONFIG] [STEPS] [BATCH_SIZE] [DEVICE_TARGET]" >&2
  exit 1
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEVICE_NUM=$1
DATA_PATH=${2:--}
CONFIG=$(realpath -m "${3:-$ROOT/configs/quickstart_siammask.yaml}")
STEPS=${4:-10}
BATCH_SIZE=${5:-}
DEVICE_TARGET=${6:-CPU}
[ -f "$CONFIG" ] || { echo "config not found: $CONFIG" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if [ "$DATA_PATH" = "-" ]; then
  DATA_PATH="$TMP/data"
  echo "generating a small synthetic crop511 set (with masks) ..."
  (cd "$ROOT" && python -m src.data.synthetic --out "$DATA_PATH" --seed 0 --train_videos 20 --train_frames 20 \
     --val_videos 0 --test_videos 0 > "$TMP/synthetic.log" 2>&1) || { cat "$TMP/synthetic.log" >&2; exit 1; }
fi
[ -d "$DATA_PATH" ] || { echo "data path not found: $DATA_PATH" >&2; exit 1; }
ARGS=(--config "$CONFIG" --steps "$STEPS" --device_target "$DEVICE_TARGET" --data_path "$(realpath "$DATA_PATH")")
[ -n "$BATCH_SIZE" ] && ARGS+=(--batch_size "$BATCH_SIZE")
cd "$ROOT"

fps() { sed -n 's/^FPS: //p' "$1" | tail -1; }

echo "== 1 device"
DEVICE_ID=${DEVICE_ID:-0} python -m src.training.throughput "${ARGS[@]}" | tee "$TMP/one.log"
ONE=$(fps "$TMP/one.log")
[ "$DEVICE_NUM" -eq 1 ] && exit 0

echo "== $DEVICE_NUM devices (msrun)"
PORT=$(python -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
if ! PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" msrun --worker_num="$DEVICE_NUM" --local_worker_num="$DEVICE_NUM" \
     --master_port="$PORT" --log_dir="$TMP/msrun_log" --join=True "$ROOT/src/training/throughput.py" \
     "${ARGS[@]}" --run_distribute True > "$TMP/msrun.log" 2>&1; then
  KEEP=$(mktemp -d); cp -r "$TMP/msrun_log" "$TMP/msrun.log" "$KEEP/"
  echo "the $DEVICE_NUM-device run failed; logs in $KEEP" >&2
  exit 1
fi
grep -v '^\[' "$TMP/msrun_log/worker_0.log" | grep -v '^ *$' || true
MANY=$(fps "$TMP/msrun_log/worker_0.log")
python - "$ONE" "$MANY" "$DEVICE_NUM" <<'PY'
import sys
one, many, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print(f"\n1 device: {one:.2f} pairs/s; {n} devices: {many:.2f} pairs/s; "
      f"speed-up {many / one:.2f}x; scaling efficiency {many / (n * one):.0%}")
PY

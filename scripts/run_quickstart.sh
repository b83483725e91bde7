#!/usr/bin/env bash
# Quick start on the built-in default: synthetic data -> SiamRPN trained on CPU -> did it learn?
#   bash scripts/run_quickstart.sh [OUTPUT_DIR]      (default ./quickstart_out)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-./quickstart_out}
DATA="$OUT/data"

if [ ! -d "$DATA/train" ]; then
  python -m src.data.synthetic --out "$DATA" --seed 0
fi
python train.py --config configs/quickstart_siamrpn.yaml --data_path "$DATA" \
  --output_dir "$OUT/train" --device_target CPU
python -m src.tools.training_report "$OUT/train"

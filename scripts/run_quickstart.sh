#!/usr/bin/env bash
# Quick start on the built-in default, on CPU:
#   synthetic data -> SiamRPN trained -> did it learn? -> VOT evaluation of untrained vs trained -> eval.json
#   bash scripts/run_quickstart.sh [OUTPUT_DIR] [CONFIG] [MIN_GAIN]
#     OUTPUT_DIR default ./quickstart_out; CONFIG default configs/quickstart_siamrpn.yaml
#     (configs/quickstart_siamfc.yaml: SiamFC); MIN_GAIN (default 2.0): how many times the untrained
#     model's held-out metric and EAO the trained one must reach to count as learned. An untrained
#     SiamFC already tracks the synthetic targets (its raw-feature correlation is colour template
#     matching), so its quick start asks for less: bash scripts/run_quickstart.sh OUT configs/quickstart_siamfc.yaml 1.2
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-./quickstart_out}
DATA="$OUT/data"
CONFIG=${2:-configs/quickstart_siamrpn.yaml}
MIN_GAIN=${3:-2.0}

if [ ! -d "$DATA/train" ]; then
  python -m src.data.synthetic --out "$DATA" --seed 0
fi
python train.py --config "$CONFIG" --data_path "$DATA" --output_dir "$OUT/train" --device_target CPU
LAST=$(python -c "import src.config as c; print(c.load_config('$CONFIG').train.epochs)")
# the synthetic sequences are 120 frames long: EAO over sequence lengths 50-120
python eval.py --ckpt_dir "$OUT/train" --epochs "0,$LAST" --dataset_path "$DATA/test/VOTSYN" \
  --dataset_name VOTSYN --eao_range 50 120 --results_dir "$OUT/results" --filename "$OUT/eval.json"
python -m src.tools.training_report "$OUT/train" --eval_json "$OUT/eval.json" --min_gain "$MIN_GAIN"

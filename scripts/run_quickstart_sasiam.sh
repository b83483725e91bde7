#!/usr/bin/env bash
# SA-Siam quick start on CPU (configs/quickstart_sasiam.yaml):
#   synthetic data -> stand-in pre-training of the semantic CaffeNet -> appearance run -> semantic run
#   -> assembly of epoch 0 and the last epoch -> VOT EAO of appearance alone, semantic alone and fused,
#   untrained vs trained -> did each branch learn?
#   bash scripts/run_quickstart_sasiam.sh [OUTPUT_DIR] [GAIN_APPEARANCE] [GAIN_SEMANTIC] [--key value ...]
#     OUTPUT_DIR default ./quickstart_sasiam. GAIN_*: how many times its untrained figures (held-out
#     peak hit rate and VOT EAO of that branch alone) a branch must reach to count as learned:
#     1.2 for the appearance branch (random features already correlate as colour template
#     matching, as in the SiamFC quick start), 1.05 for the semantic one (only its attention and
#     1x1 fusion train, on pre-trained features that already peak on the target in 3/4 of the
#     held-out pairs). Further arguments are config overrides for both training runs.
#     PRETRAIN_SEMANTIC_ARGS: extra arguments of src.tools.pretrain_semantic.
# Writes OUTPUT_DIR/eval_{appearance,semantic,fused}.json (eval.py sweeps with
# --model.appearance_weight 1, 0 and the config's 0.3) and exits 1 when a branch did not learn.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-./quickstart_sasiam}
GAIN_APPEARANCE=${2:-1.2}
GAIN_SEMANTIC=${3:-1.05}
shift $(($# < 3 ? $# : 3))
CONFIG=configs/quickstart_sasiam.yaml
DATA="$OUT/data"
# the config with the overrides, read (and so checked) before any long step
SETTINGS=$(python -c "import sys, src.config as c
try:
    cfg = c.load_config(sys.argv[1], c.parse_overrides(sys.argv[2:]))
except c.ConfigError as e:
    sys.exit(f'run_quickstart_sasiam.sh: {e}')
print(cfg.train.epochs, cfg.model.width_mult)" "$CONFIG" "$@")
read -r LAST WIDTH <<< "$SETTINGS"

if [ ! -d "$DATA/train" ]; then
  python -m src.data.synthetic --out "$DATA" --seed 0
fi
if [ ! -f "$OUT/caffenet_syn.ckpt" ]; then
  # shellcheck disable=SC2086  (word splitting of the extra arguments is meant)
  python -m src.tools.pretrain_semantic --output "$OUT/caffenet_syn.ckpt" --width_mult "$WIDTH" \
    ${PRETRAIN_SEMANTIC_ARGS:-}
fi
python train.py --config "$CONFIG" --data_path "$DATA" --output_dir "$OUT/appearance" --device_target CPU "$@"
python train.py --config "$CONFIG" --data_path "$DATA" --output_dir "$OUT/semantic" --device_target CPU \
  --train.branch semantic --train.frozen_modules "[appearance, semantic.backbone]" \
  --train.pretrained.semantic.backbone "$OUT/caffenet_syn.ckpt" "$@"
for E in 000 $(printf %03d "$LAST"); do
  python -m src.tools.assemble_sasiam --appearance "$OUT/appearance/quickstart_sasiam_epoch$E.ckpt" \
    --semantic "$OUT/semantic/quickstart_sasiam_epoch$E.ckpt" --output "$OUT/sasiam/quickstart_sasiam_epoch$E.ckpt"
done
# the synthetic sequences are 120 frames long: EAO over sequence lengths 50-120
for RUN in appearance:1 semantic:0 fused:0.3; do
  NAME=${RUN%%:*}
  python eval.py --ckpt_dir "$OUT/sasiam" --epochs "0,$LAST" --dataset_path "$DATA/test/VOTSYN" \
    --dataset_name VOTSYN --eao_range 50 120 --results_dir "$OUT/results_$NAME" \
    --filename "$OUT/eval_$NAME.json" --model.appearance_weight "${RUN##*:}"
done
STATUS=0
for RUN in "appearance:$GAIN_APPEARANCE" "semantic:$GAIN_SEMANTIC"; do
  BRANCH=${RUN%%:*}
  echo "== $BRANCH branch (tracking alone: $OUT/eval_$BRANCH.json)"
  python -m src.tools.training_report "$OUT/$BRANCH" --eval_json "$OUT/eval_$BRANCH.json" \
    --min_gain "${RUN##*:}" || STATUS=1
done
echo "== fused (0.3 appearance + 0.7 semantic): $OUT/eval_fused.json"
python - "$OUT/eval_appearance.json" "$OUT/eval_semantic.json" "$OUT/eval_fused.json" <<'EOF'
import json, sys
print(f"{'VOT EAO':<12}{'untrained':>10}{'trained':>10}")
for name, path in zip(("appearance", "semantic", "fused"), sys.argv[1:]):
    sweep = json.load(open(path))["sweep"]
    eao = [m["eao"] for _, m in sorted(sweep.items())]
    print(f"{name:<12}" + "".join(f"{e:>10.3f}" for e in eao))
EOF
exit $STATUS

#!/usr/bin/env bash
# Crop a public training dataset to pysot's crop511 layout (model-zoo style).
#   bash scripts/prepare_dataset.sh DATASET RAW_ROOT OUT_ROOT [--split val] [--workers N] [--limit N] [--restart]
#   bash scripts/prepare_dataset.sh vid /data/ILSVRC2015 /data/vid --workers 16
# DATASET: vid, ytb, coco, det, ytb_vos, got10k, lasot. Flags after OUT_ROOT go to
# python -m src.data.prepare unchanged. Running the same command again resumes an
# interrupted run; --rebuild_index writes the index again from OUT_ROOT's journal
# (RAW_ROOT is not read then). PYTHON picks the interpreter (default: python).
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "Usage: bash scripts/prepare_dataset.sh DATASET RAW_ROOT OUT_ROOT [--split train|val] [--workers N] [--limit N] [--restart] [--rebuild_index]" >&2
  exit 1
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATASET=$1
RAW_ROOT=$(realpath -m "$2")
OUT_ROOT=$(realpath -m "$3")
shift 3
cd "$ROOT"
exec "${PYTHON:-python}" -m src.data.prepare "$DATASET" --src "$RAW_ROOT" --out "$OUT_ROOT" "$@"

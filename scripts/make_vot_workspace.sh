#!/usr/bin/env bash
# A VOT toolkit (vot-toolkit 0.9.0) workspace that runs a zoo tracker over TraX, offline.
#
#   bash scripts/make_vot_workspace.sh WORKSPACE SEQUENCES_DIR CKPT_OR_MODEL_DIR [TRACKER ARGS...]
#   .venv-vot/bin/python -m src.tools.vot_trax --toolkit evaluate --workspace WORKSPACE zoo
#   .venv-vot/bin/python -m src.tools.vot_trax --toolkit analysis --workspace WORKSPACE zoo --format json
# (the toolkit's own `vot evaluate` with one fix: vot-toolkit 0.9.0's baseline experiment cannot run any
# TraX tracker; see src/tools/vot_trax.py)
#
# SEQUENCES_DIR: VOT-layout sequences (list.txt, <seq>/groundtruth.txt, <seq>/color/%08d.jpg or
# frames in <seq>/; *.tag/*.label files are kept): the synthetic test/VOTSYN, pysot's VOT2016-2019
# folders or a toolkit-downloaded dataset. They are linked, not copied, into WORKSPACE/sequences/
# with a toolkit `sequence` file per sequence (the toolkit then finds list.txt and downloads nothing).
# CKPT_OR_MODEL_DIR: a checkpoint (back-end mindspore) or an export_mindir.py folder (default
# --backend onnx; pass --backend mindir among TRACKER ARGS). TRACKER ARGS go to
# `python -m src.tools.vot_trax` (e.g. --config, --track.penalty_k 0.2, --output mask).
# Environment:
#   VOT_STACK        a toolkit stack (e.g. vot2018/shortterm) instead of the written stack.yaml
#   VOT_EAO_RANGE    "LOW HIGH" of stack.yaml's EAO (default "100 356", VOT-ST2018's)
#   VOT_REPETITIONS  runs per sequence in stack.yaml (default 15 as VOT-ST2018; the toolkit stops
#                    after 3 identical runs of a deterministic tracker)
#   VOT_TRACKER      tracker identifier in trackers.ini (default zoo)
#   PYTHON           the project's Python that runs the tracker (default: python3 on PATH)
set -euo pipefail
die() { echo "make_vot_workspace.sh: $*" >&2; exit 1; }
[ $# -ge 3 ] || die "usage: WORKSPACE SEQUENCES_DIR CKPT_OR_MODEL_DIR [TRACKER ARGS...]"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WS="$1"; SEQ="$2"; MODEL="$3"; shift 3
[ -d "$SEQ" ] || die "sequences folder not found: $SEQ"
[ -e "$MODEL" ] || die "checkpoint or export folder not found: $MODEL"
[ ! -e "$WS/config.yaml" ] || die "$WS/config.yaml exists: give a new workspace folder"
TRACKER="${VOT_TRACKER:-zoo}"
[[ "$TRACKER" =~ ^[A-Za-z0-9_-]+$ ]] || die "VOT_TRACKER '$TRACKER': use letters, digits, _ and -"
PY="$(command -v "${PYTHON:-python3}")" || die "PYTHON '${PYTHON:-python3}' not found"
PY="$("$PY" -c "import sys; print(sys.executable)")"
"$PY" -c "import trax.server" 2>/dev/null \
  || die "$PY cannot import trax: pip install --no-deps vot-trax==4.0.2 (see requirements-vot.txt)"
read -r EAO_LOW EAO_HIGH <<< "${VOT_EAO_RANGE:-100 356}"
[[ "$EAO_LOW" =~ ^[0-9]+$ && "${EAO_HIGH:-}" =~ ^[0-9]+$ && "$EAO_LOW" -le "$EAO_HIGH" ]] \
  || die "VOT_EAO_RANGE '${VOT_EAO_RANGE:-}': expected \"LOW HIGH\" with 0 <= LOW <= HIGH"
REPS="${VOT_REPETITIONS:-15}"
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "VOT_REPETITIONS '$REPS': expected a positive integer"

SEQ="$(cd "$SEQ" && pwd)"
MODEL="$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")"
if [ -f "$SEQ/list.txt" ]; then
  mapfile -t NAMES < <(sed -e 's/\r$//' -e '/^[[:space:]]*$/d' "$SEQ/list.txt")
else
  mapfile -t NAMES < <(cd "$SEQ" && for d in */; do [ -f "$d/groundtruth.txt" ] && echo "${d%/}"; done)
fi
[ ${#NAMES[@]} -gt 0 ] || die "no sequences in $SEQ (no list.txt and no <seq>/groundtruth.txt)"

# everything goes to a temporary folder first, renamed into place once complete
mkdir -p "$(dirname "$WS")"
TMP="$(mktemp -d "$(dirname "$WS")/.vot_workspace.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/sequences" "$TMP/results"
LONGEST=0
for name in "${NAMES[@]}"; do
  src="$SEQ/$name"
  [ -f "$src/groundtruth.txt" ] || die "$src/groundtruth.txt not found (sequence '$name' of $SEQ)"
  dst="$TMP/sequences/$name"
  mkdir -p "$dst"
  for f in "$src"/*; do ln -s "$f" "$dst/$(basename "$f")"; done
  if [ ! -f "$src/sequence" ]; then          # a toolkit dataset has one already
    if [ -d "$src/color" ]; then pattern="color/%08d.jpg"; else pattern="%08d.jpg"; fi
    printf 'channels.color=%s\nfps=30\nformat=default\nname=%s\n' "$pattern" "$name" > "$dst/sequence"
  fi
  n=$(grep -c . "$src/groundtruth.txt")
  if [ "$n" -gt "$LONGEST" ]; then LONGEST=$n; fi
done
printf '%s\n' "${NAMES[@]}" > "$TMP/sequences/list.txt"

if [ -n "${VOT_STACK:-}" ]; then
  STACK="$VOT_STACK"
else
  # the toolkit's EAO averages the curve over [LOW, HIGH] (0-based, vot/analysis/supervised.py
  # EAOScore); beyond the longest sequence the curve has no entries
  [ "$EAO_HIGH" -lt "$LONGEST" ] || die "VOT_EAO_RANGE high $EAO_HIGH: the longest sequence has $LONGEST frames; \
set VOT_EAO_RANGE=\"LOW HIGH\" with HIGH < $LONGEST"
  STACK="stack.yaml"
  cat > "$TMP/stack.yaml" <<EOF
title: VOT short-term baseline (VOT-ST2018 supervised experiment) on local sequences
experiments:
  baseline:
    type: supervised
    repetitions: $REPS
    skip_initialize: 5
    analyses:
      - type: supervised_average_ar
        sensitivity: 30
      - type: supervised_eao_score
        low: $EAO_LOW
        high: $EAO_HIGH
      - type: supervised_eao_curve
EOF
fi
cat > "$TMP/config.yaml" <<EOF
registry:
- ./trackers.ini
stack: $STACK
sequences: sequences
EOF

ARGS=()
if [ -d "$MODEL" ]; then
  [[ " $* " == *" --backend "* ]] || ARGS+=(--backend onnx)
  ARGS+=(--model_dir "$MODEL")
else
  ARGS+=(--ckpt "$MODEL")
fi
CMD="$(printf '%q ' "$PY" -m src.tools.vot_trax "${ARGS[@]}" "$@")"
cat > "$TMP/trackers.ini" <<EOF
[$TRACKER]
label = $TRACKER ($(basename "$MODEL"))
protocol = trax
command = ${CMD% }
# the toolkit starts the command in a temporary folder: the project's modules come from here
env_PYTHONPATH = $ROOT
# model loading (MindSpore start-up) takes longer than the toolkit's 30 s default
timeout = 600
EOF
mkdir -p "$WS"
rmdir "$WS" 2>/dev/null || die "$WS exists and is not empty: give a new workspace folder"
mv "$TMP" "$WS"
trap - EXIT
echo "wrote $WS (${#NAMES[@]} sequences, tracker $TRACKER, stack $STACK)"

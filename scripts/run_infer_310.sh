#!/usr/bin/env bash
# Model-zoo 310 inference: export -> preprocess -> build -> infer -> postprocess.
#
#   bash scripts/run_infer_310.sh MODEL_DIR DATA_PATH DATASET_NAME DEVICE_ID [BACKEND] [OUTPUT_JSON] [--eval flags]
#
#   MODEL_DIR    an export_mindir.py output folder (or its .json), or a .ckpt (exported first,
#                ONNX for cpu, MINDIR for ascend, into <OUTPUT_JSON's folder>/export_<FORMAT>)
#   DATA_PATH    the VOT-layout dataset folder (VOT2016..VOT2019, or VOT-like such as VOTSYN)
#   DATASET_NAME its name; names other than VOT2016..VOT2019 need --eao_range LOW HIGH
#   DEVICE_ID    Ascend device (the ascend back-end; the cpu back-end ignores it)
#   BACKEND      cpu (default: OpenVINO on the ONNX graphs) or ascend (MindSpore C++ API on MINDIR)
#   OUTPUT_JSON  eval.json to write (default ./eval.json); beside it: manifest_<DATASET_NAME>.json,
#                results/<DATASET_NAME>/<tracker>/ (VOT result and time files), infer.log
#   --eval flags passed to postprocess.py: --eao_range LOW HIGH, --plots False, --tracker_name NAME,
#                --overwrite (replace results that another export, config or dataset made)
# The results folder gets eval.py's manifest.json before the application runs: since it resumes
# finished sequences, results of another export, config or dataset are refused in one line.
#
# Environment: INFER_BUILD_DIR (default ascend310_infer/out/<BACKEND>; rebuilt incrementally each run),
# PYTHON (python3), PRECISION_MODE (main's --precision_mode: f32 (default) or bf16 for cpu, the
# toolkit's precision mode for ascend; recorded in eval.json's "backend"), and for ascend
# ASCEND_HOME (/usr/local/Ascend) and MS_PATH (see build.sh).
# The eval.json has the keys of eval.py's; see ascend310_infer/README.md.
set -euo pipefail

usage() {
  echo "Usage: bash scripts/run_infer_310.sh MODEL_DIR DATA_PATH DATASET_NAME DEVICE_ID [cpu|ascend] [OUTPUT_JSON] [--eao_range LOW HIGH] [--plots False]" >&2
  exit 1
}
fail() {
  echo "run_infer_310.sh: $*" >&2
  exit 1
}
[ $# -ge 4 ] || usage
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
MODEL=$(realpath -m "$1")
DATA_PATH=$(realpath -m "$2")
DATASET_NAME=$3
DEVICE_ID=$4
shift 4
BACKEND=cpu
if [ $# -gt 0 ] && [[ $1 != --* ]]; then BACKEND=$1; shift; fi
OUTPUT_JSON=$(realpath -m ./eval.json)
if [ $# -gt 0 ] && [[ $1 != --* ]]; then OUTPUT_JSON=$(realpath -m "$1"); shift; fi
case "$BACKEND" in
  cpu) FORMAT=ONNX ;;
  ascend) FORMAT=MINDIR ;;
  *) fail "BACKEND must be cpu or ascend, got '$BACKEND'" ;;
esac
[ -e "$MODEL" ] || fail "model not found: $MODEL"
[ -d "$DATA_PATH" ] || fail "dataset path not found: $DATA_PATH"
[[ $DEVICE_ID =~ ^[0-9]+$ ]] || fail "DEVICE_ID must be a number, got '$DEVICE_ID'"
OUT_DIR=$(dirname "$OUTPUT_JSON")
mkdir -p "$OUT_DIR"
BUILD_DIR=${INFER_BUILD_DIR:-$ROOT/ascend310_infer/out/$BACKEND}

if [ "$BACKEND" = ascend ]; then
  # the Ascend runtime libraries, as the model zoo's run_infer_310.sh sets them up
  export ASCEND_HOME=${ASCEND_HOME:-/usr/local/Ascend}
  if [ -d "$ASCEND_HOME/ascend-toolkit" ]; then
    export LD_LIBRARY_PATH=$ASCEND_HOME/ascend-toolkit/latest/lib64:$ASCEND_HOME/ascend-toolkit/latest/fwkacllib/lib64:$ASCEND_HOME/driver/lib64:$ASCEND_HOME/add-ons:${LD_LIBRARY_PATH:-}
    export ASCEND_OPP_PATH=$ASCEND_HOME/ascend-toolkit/latest/opp
  elif [ -d "$ASCEND_HOME/latest" ]; then
    export LD_LIBRARY_PATH=$ASCEND_HOME/latest/lib64:$ASCEND_HOME/latest/fwkacllib/lib64:$ASCEND_HOME/driver/lib64:$ASCEND_HOME/add-ons:${LD_LIBRARY_PATH:-}
    export ASCEND_OPP_PATH=$ASCEND_HOME/latest/opp
  fi
fi

cd "$ROOT"
# 1. export (when given a checkpoint)
if [[ $MODEL == *.ckpt ]]; then
  EXPORT_DIR=$OUT_DIR/export_$FORMAT
  echo "== export $MODEL -> $EXPORT_DIR ($FORMAT)"
  "$PYTHON" export_mindir.py --ckpt "$MODEL" --file_format "$FORMAT" --output_dir "$EXPORT_DIR"
  MODEL=$EXPORT_DIR
fi
# 2. preprocess: the sequence manifest (frames + ground-truth polygons)
MANIFEST=$OUT_DIR/manifest_$DATASET_NAME.json
echo "== preprocess $DATA_PATH -> $MANIFEST"
"$PYTHON" preprocess.py --dataset_path "$DATA_PATH" --dataset_name "$DATASET_NAME" --output "$MANIFEST"
# 3. build (incremental)
echo "== build ($BACKEND) -> $BUILD_DIR"
PYTHON=$PYTHON bash ascend310_infer/build.sh "$BACKEND" "$BUILD_DIR"
# 4. infer: VOT result files + per-frame times (under --tracker_name if postprocess gets one)
TRACKER_FLAG=()
ARGV=("$@")
for ((i = 0; i < ${#ARGV[@]}; i++)); do
  [ "${ARGV[i]}" = --tracker_name ] && [ $((i + 1)) -lt ${#ARGV[@]} ] && TRACKER_FLAG=(--tracker_name="${ARGV[i + 1]}")
done
# the application resumes finished sequences: their files must come from this export, config and data
POST_ARGS=(--results_dir "$OUT_DIR/results" --dataset_path "$DATA_PATH" --dataset_name "$DATASET_NAME"
  --model_path "$MODEL" --backend "ascend310_infer ($BACKEND${PRECISION_MODE:+, $PRECISION_MODE})")
"$PYTHON" postprocess.py --check_provenance "${POST_ARGS[@]}" "$@"
echo "== infer (log: $OUT_DIR/infer.log)"
# ONEDNN_MAX_CPU_ISA=AVX2 is a MindSpore workaround (src/__init__.py); it would also cap
# OpenVINO's kernels (about 2x slower on AVX-512 CPUs), so the application runs without it
env -u ONEDNN_MAX_CPU_ISA "$BUILD_DIR/main" --model_path="$MODEL" --manifest="$MANIFEST" --results_dir="$OUT_DIR/results" \
  --device_id="$DEVICE_ID" ${PRECISION_MODE:+--precision_mode="$PRECISION_MODE"} "${TRACKER_FLAG[@]}" 2>&1 \
  | tee "$OUT_DIR/infer.log"
# 5. postprocess: eval.py's scoring -> eval.json
echo "== postprocess -> $OUTPUT_JSON"
"$PYTHON" postprocess.py "${POST_ARGS[@]}" --filename "$OUTPUT_JSON" "$@"

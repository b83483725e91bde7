#!/bin/bash
# Build the inference application (model-zoo style).
#   bash build.sh [cpu|ascend] [BUILD_DIR]        -> BUILD_DIR/main (default ascend310_infer/out/<backend>)
# cpu:    OpenVINO's C++ runtime on ONNX graphs; OpenVINO is found through the Python
#         package (pip install openvino, requirements.txt) or OpenVINO_DIR.
# ascend: the MindSpore C++ API on MINDIR graphs, on a host with the Ascend toolkit
#         (ASCEND_HOME, default /usr/local/Ascend) and MindSpore for Ascend
#         (MS_PATH = the mindspore package folder, default: where pip has it).
# Environment: PYTHON (python3), JOBS (parallel compile jobs, default nproc).
# Rebuilding an existing BUILD_DIR is incremental.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BACKEND=${1:-cpu}
BUILD_DIR=${2:-$HERE/out/$BACKEND}
PYTHON=${PYTHON:-python3}

fail() {
  echo "build.sh: $*" >&2
  exit 1
}

case "$BACKEND" in
  cpu | ascend) ;;
  *) fail "unknown back-end '$BACKEND' (use cpu or ascend)" ;;
esac
command -v cmake >/dev/null 2>&1 || fail "cmake not found: apt-get install -y cmake"
command -v "${CXX:-g++}" >/dev/null 2>&1 || fail "C++ compiler ${CXX:-g++} not found: apt-get install -y g++"

ARGS=(-DBACKEND="$BACKEND" -DCMAKE_BUILD_TYPE=Release)
if [ "$BACKEND" = cpu ]; then
  OV_DIR=${OpenVINO_DIR:-}
  if [ -z "$OV_DIR" ]; then
    OV_DIR=$("$PYTHON" -c "import openvino, os; print(os.path.join(os.path.dirname(openvino.__file__), 'cmake'))" \
      2>/dev/null) || OV_DIR=""
  fi
  [ -n "$OV_DIR" ] && [ -f "$OV_DIR/OpenVINOConfig.cmake" ] ||
    fail "OpenVINO C++ runtime not found: pip install openvino==2026.4.1 (requirements.txt; the wheel ships the C++ SDK) or set OpenVINO_DIR to its cmake folder"
  ARGS+=(-DOpenVINO_DIR="$OV_DIR")
else
  ASCEND_HOME=${ASCEND_HOME:-/usr/local/Ascend}
  MS_DIR=${MS_PATH:-}
  if [ -z "$MS_DIR" ]; then
    for pkg in mindspore-ascend mindspore; do
      loc=$("$PYTHON" -m pip show "$pkg" 2>/dev/null | awk '/^Location:/ {print $2}') || loc=""
      if [ -n "$loc" ] && [ -f "$loc/mindspore/include/api/model.h" ]; then
        MS_DIR="$loc/mindspore"
        break
      fi
    done
  fi
  missing=()
  [ -d "$ASCEND_HOME" ] || missing+=("the Ascend toolkit (CANN) at ASCEND_HOME=$ASCEND_HOME")
  if [ -z "$MS_DIR" ] || [ ! -f "$MS_DIR/include/api/model.h" ] || [ ! -f "$MS_DIR/lib/libmindspore.so" ]; then
    missing+=("the MindSpore C++ inference library (include/api/model.h, lib/libmindspore.so; MS_PATH=${MS_DIR:-unset}) that MindSpore for Ascend installs - the CPU pip wheel has none")
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    msg=$(printf '%s; ' "${missing[@]}")
    fail "the ascend back-end needs ${msg%; } (install them on the Ascend host, set ASCEND_HOME / MS_PATH; or build the cpu back-end: bash build.sh cpu)"
  fi
  ARGS+=(-DMINDSPORE_PATH="$MS_DIR")
fi

mkdir -p "$BUILD_DIR"
LOG="$BUILD_DIR/build.log"
if ! cmake -S "$HERE" -B "$BUILD_DIR" "${ARGS[@]}" >"$LOG" 2>&1; then
  if [ -f "$BUILD_DIR/missing_dependency.txt" ]; then
    fail "$(cat "$BUILD_DIR/missing_dependency.txt")"
  fi
  tail -n 20 "$LOG" >&2
  fail "cmake configuration failed (log: $LOG)"
fi
if ! cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" >>"$LOG" 2>&1; then
  grep -E "error|Error" "$LOG" | head -n 20 >&2 || tail -n 20 "$LOG" >&2
  fail "compilation failed (log: $LOG)"
fi
echo "built $BUILD_DIR/main ($BACKEND back-end)"

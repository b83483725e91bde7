#!/usr/bin/env bash
# Data-parallel training on CPU processes of this machine through msrun:
#   bash scripts/run_distribute_train_cpu.sh DEVICE_NUM DATA_PATH [CONFIG] [OUTPUT_DIR] [--key value ...]
# The same as scripts/run_distribute_train_gpu.sh (logs, WAIT=1, MASTER_PORT, DRY_RUN=1) with
# --device_target CPU; DEVICE_NUM processes share the machine's cores.
DEVICE_TARGET=CPU SCRIPT_NAME=scripts/run_distribute_train_cpu.sh \
  exec bash "$(dirname "$0")/run_distribute_train_gpu.sh" "$@"

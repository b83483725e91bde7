"""Device and parallel set-up: the only device-specific code (train, eval, export)."""
import logging
import os

import mindspore as ms

from .config import AMP_LEVELS

logger = logging.getLogger("src.device")


def setup_context(device_target="CPU", device_id=None, run_distribute=False):
    """Graph mode on the chosen device; data-parallel init when asked.

    Returns (rank, group_size). Under an HCCL rank table (Ascend) DEVICE_ID
    comes from the environment; under msrun the launcher sets everything.
    """
    ms.set_context(mode=ms.GRAPH_MODE)
    if device_id is None:
        device_id = int(os.environ.get("DEVICE_ID", "0"))
    if device_target == "CPU":
        ms.set_device("CPU")
    else:
        ms.set_device(device_target, device_id)
    if not run_distribute:
        return 0, 1
    from mindspore.communication import get_group_size, get_rank, init
    init()
    rank, group_size = get_rank(), get_group_size()
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL,
                                 gradients_mean=True, device_num=group_size)
    return rank, group_size


def local_rank(rank, group_size):
    """This process's index among the processes of its server.

    LOCAL_RANK when a launcher sets it; DEVICE_ID under an HCCL rank table or
    msrun (both number the devices per server); otherwise servers are assumed
    to hold 8 devices each, as the model zoo's ModelArts code does.
    """
    if os.environ.get("LOCAL_RANK", "").isdigit():
        return int(os.environ["LOCAL_RANK"])
    launched = os.environ.get("RANK_TABLE_FILE") or os.environ.get("MS_ROLE")
    if launched and os.environ.get("DEVICE_ID", "").isdigit():
        return int(os.environ["DEVICE_ID"])
    return rank % min(group_size, 8)


def check_amp_level(amp_level):
    if amp_level not in AMP_LEVELS:
        raise ValueError(f"train.amp_level must be one of {', '.join(AMP_LEVELS)}, got '{amp_level}'")


def effective_amp_level(device_target, amp_level):
    """The mixed-precision level a device runs: ``amp_level`` on Ascend and GPU;
    O0 on CPU (its float16 kernels are slower than float32 ones and it needs no
    memory saving), with a warning when something else was asked for."""
    check_amp_level(amp_level)
    if device_target == "CPU" and amp_level != "O0":
        logger.warning("amp_level %s asked for, but CPU training runs in float32 (O0)", amp_level)
        return "O0"
    return amp_level

"""Device and parallel set-up: the only device-specific code (train, eval, export)."""
import os

import mindspore as ms


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

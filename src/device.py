"""Device and parallel set-up: the only device-specific code (train, eval, export)."""
import logging
import os

import mindspore as ms

from .config import AMP_LEVELS

logger = logging.getLogger("src.device")


DEVICE_TARGETS = ("CPU", "GPU", "Ascend")
_PACKAGES = {"GPU": "GPU (CUDA) package matching the NVIDIA driver and CUDA version",
             "Ascend": "Ascend package matching the installed CANN"}


def device_available(device_target):
    """Whether this MindSpore build can run on ``device_target``.

    MindSpore loads its device plugins when it is imported and remembers which
    ones loaded; ``MSContext.is_pkg_support_device`` reads that without the
    warnings ``mindspore.device_context.gpu.is_available`` prints. A MindSpore
    without that call is given the benefit of the doubt (``ms.set_device``
    then decides).
    """
    if device_target == "CPU":
        return True
    try:
        from mindspore._c_expression import MSContext
        return bool(MSContext.get_instance().is_pkg_support_device(device_target))
    except (ImportError, AttributeError):
        return True


def _unavailable(device_target, detail=""):
    return (f"--device_target {device_target}: this MindSpore {ms.__version__} cannot use {device_target}"
            f"{' (' + detail + ')' if detail else ''}; install MindSpore's {_PACKAGES[device_target]}, "
            f"or run with --device_target CPU")


def setup_context(device_target="CPU", device_id=None, run_distribute=False):
    """Graph mode on the chosen device; data-parallel init when asked.

    Returns (rank, group_size). Under an HCCL rank table (Ascend) DEVICE_ID
    comes from the environment; under msrun the launcher sets everything.
    A device this MindSpore build cannot use is a one-line ValueError here,
    before any model is built (MindSpore's own error is a multi-line report).
    """
    if device_target not in DEVICE_TARGETS:
        raise ValueError(f"--device_target must be one of {', '.join(DEVICE_TARGETS)}, got '{device_target}'")
    if not device_available(device_target):
        raise ValueError(_unavailable(device_target))
    ms.set_context(mode=ms.GRAPH_MODE)
    if device_id is None:
        device_id = int(os.environ.get("DEVICE_ID", "0"))
    try:
        if device_target == "CPU":
            ms.set_device("CPU")
        else:
            ms.set_device(device_target, device_id)
    except (RuntimeError, ValueError) as e:
        first = next((line.strip() for line in str(e).splitlines() if line.strip()), type(e).__name__)
        raise ValueError(_unavailable(device_target, first[:200])) from None
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

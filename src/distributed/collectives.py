"""The collectives the trainer needs besides the gradient all-reduce: a barrier
and "every rank takes rank 0's values".

Both are built on ``AllReduce`` (sum over the world group) because it is the
one collective every backend has: on CPU (msrun) MindSpore 2.10's
``comm_func.barrier`` and ``comm_func.broadcast`` fail ("group hccl_world_group
does not exist"), and CPU ``AllReduce`` takes only float16/float32. Taking
rank 0's values as ``sum(rank 0: x, others: 0)`` is exact: x + 0 == x.
They run once per job (start, resume), never per step.
"""
import numpy as np

import mindspore as ms
from mindspore import ops


def _all_reduce_sum(array):
    """Sum of a float32 numpy array over all ranks (a numpy array)."""
    return ops.AllReduce()(ms.Tensor(np.asarray(array, np.float32))).asnumpy()


def barrier():
    """Returns once every rank has called it."""
    _all_reduce_sum(np.zeros(1))


def value_from_rank0(value, rank):
    """Rank 0's ``value`` (a number) on every rank."""
    return float(_all_reduce_sum([value if rank == 0 else 0.0])[0])


def parameters_from_rank0(params, rank):
    """Overwrite ``params`` (MindSpore Parameters, the same list on every rank)
    with rank 0's values; non-float parameters go through float32 (exact for
    the counters and flags a network or optimiser holds)."""
    for p in params:
        value = p.asnumpy()
        mine = value if rank == 0 else np.zeros_like(value)
        p.set_data(ms.Tensor(_all_reduce_sum(mine).astype(value.dtype)))

"""msrun task of tests/test_distributed_msrun.py: train.py's main with the given
arguments, then this rank's network parameters to OUTPUT_DIR/weights_rank<RANK_ID>.npz
(only rank 0 writes checkpoints, and the test compares every rank)."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import src  # noqa: E402,F401  (CPU convolution fix before mindspore loads)
import numpy as np  # noqa: E402

import train  # noqa: E402

if __name__ == "__main__":
    net = train.main(sys.argv[1:])
    args, _ = train.parse_args(sys.argv[1:])
    path = os.path.join(args.output_dir, f"weights_rank{os.environ.get('RANK_ID', '0')}.npz")
    np.savez(path, **{p.name: p.asnumpy() for p in net.get_parameters()})

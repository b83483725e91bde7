"""Train a Siamese tracker.

    python train.py --config configs/siamrpn_alex_dw.yaml --data_path DATA --output_dir OUT \
        [--device_target CPU|GPU|Ascend] [--train.batch_size 32 ...]

Any config key can be overridden with a dotted flag. Training resumes by
itself from the newest valid checkpoint in --output_dir.
"""
import argparse
import os
import sys

import src  # noqa: F401  (CPU convolution fix before mindspore loads)
from src.config import ConfigError, load_config, parse_overrides
from src.utils import setup_logging, str2bool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Train SiamRPN / SiamMask with MindSpore")
    parser.add_argument("--config", required=True, help="experiment YAML in configs/")
    parser.add_argument("--data_path", required=True, help="root of the crop511 training data")
    parser.add_argument("--output_dir", default="./output", help="checkpoints, logs, metrics.json")
    parser.add_argument("--device_target", default="CPU", choices=["CPU", "GPU", "Ascend"])
    parser.add_argument("--device_id", type=int, default=None)
    parser.add_argument("--run_distribute", type=str2bool, default=False,
                        help="data-parallel training (HCCL rank table or msrun)")
    parser.add_argument("--pretrained", default=None, help="backbone checkpoint (overrides train.pretrained)")
    parser.add_argument("--num_workers", type=int, default=None, help="loader workers (default data.num_workers)")
    args, rest = parser.parse_known_args(argv)
    return args, rest


def main(argv=None):
    args, rest = parse_args(argv)
    try:
        overrides = parse_overrides(rest)
        if args.pretrained:
            overrides.append(("train.pretrained", args.pretrained))
        cfg = load_config(args.config, overrides)
    except ConfigError as e:
        sys.exit(f"train.py: {e}")
    if not os.path.isdir(args.data_path):
        sys.exit(f"train.py: data path not found: {args.data_path}")

    from src.device import setup_context
    from src.training.trainer import Trainer

    rank, group_size = setup_context(args.device_target, args.device_id, args.run_distribute)
    os.makedirs(args.output_dir, exist_ok=True)
    setup_logging(os.path.join(args.output_dir, f"train_rank{rank}.log"), rank)
    try:
        Trainer(cfg, args.data_path, args.output_dir, rank, group_size, args.num_workers).run()
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"train.py: {e}")


if __name__ == "__main__":
    main()

"""Train a Siamese tracker.

    python train.py --config configs/siamrpn_alex_dw.yaml --data_path DATA --output_dir OUT \
        [--device_target CPU|GPU|Ascend] [--run_distribute True] [--amp_level O0|O2|O3] \
        [--data.only vid,coco] [--train.batch_size 32 ...]
    python train.py --config ... --is_cloudtrain True --data_url obs://... --train_url obs://... \
        [--unzip_mode 0|1|2] [--cache_dir /cache]                                  (ModelArts)

--data_path names one folder holding the prepared sub-datasets of the recipe's
data.train (vid/ ytb/ coco/ det/ ytb_vos/ got10k/ lasot/, each one
``python -m src.data.prepare NAME --src RAW --out DATA/NAME``); a missing one
stops the run before training with a line naming it. ``--data.only vid,coco``
trains on some of them (names or folders, any case); the checkpoints' config
records the sub-datasets used.

Any config key can be overridden with a dotted flag. Training resumes by
itself from the newest valid checkpoint in --output_dir (rank 0's, in
data-parallel runs). ModelArts jobs: see src/cloud.py.
"""
import argparse
import logging
import os
import sys

import src  # noqa: F401  (CPU convolution fix before mindspore loads)
from src.config import ConfigError, load_config, parse_overrides
from src.utils import ensure_output_dir, setup_logging, str2bool

logger = logging.getLogger("train")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train SiamRPN / SiamMask with MindSpore",
        epilog="Any config key is a flag too: --data.only vid,coco (train on these sub-datasets of "
               "data.train), --train.epochs 2, ...")
    parser.add_argument("--config", required=True, help="experiment YAML in configs/")
    parser.add_argument("--data_path", default=None,
                        help="folder holding the prepared sub-datasets (vid/, ytb/, coco/, ...; see --data.only)")
    parser.add_argument("--output_dir", default=None,
                        help="checkpoints, logs, metrics.json (default ./output; ModelArts: CACHE_DIR/train)")
    parser.add_argument("--device_target", default="CPU", choices=["CPU", "GPU", "Ascend"])
    parser.add_argument("--device_id", type=int, default=None)
    parser.add_argument("--run_distribute", type=str2bool, default=False,
                        help="data-parallel training (HCCL rank table or msrun)")
    parser.add_argument("--pretrained", default=None,
                        help="backbone checkpoint (overrides train.pretrained.backbone)")
    parser.add_argument("--num_workers", type=int, default=None, help="loader workers (default data.num_workers)")
    parser.add_argument("--amp_level", default=None,
                        help="O0 | O2 | O3 mixed precision on Ascend/GPU (overrides train.amp_level; CPU runs O0)")
    parser.add_argument("--export_after_train", type=str2bool, default=False,
                        help="export the last checkpoint to OUTPUT_DIR/export (src/export.py)")
    parser.add_argument("--export_format", default="MINDIR", choices=["MINDIR", "ONNX", "AIR"])
    cloud = parser.add_argument_group("ModelArts")
    cloud.add_argument("--is_cloudtrain", type=str2bool, default=False,
                       help="copy data in from --data_url, results out to --train_url")
    cloud.add_argument("--data_url", default=None, help="training data (object store, or a local/mounted path)")
    cloud.add_argument("--train_url", default=None, help="where checkpoints, logs and exports are copied")
    cloud.add_argument("--unzip_mode", type=int, default=0, choices=[0, 1, 2],
                       help="data_url holds 0: a directory tree, 1: .zip archives, 2: tar archives "
                            "(a folder of archives, e.g. one per sub-dataset, may mix zip and tar)")
    cloud.add_argument("--cache_dir", default="/cache", help="local disk for data and outputs")
    args, rest = parser.parse_known_args(argv)
    return args, rest


def export_trained(cfg, output_dir, file_format):
    """Export the newest checkpoint in ``output_dir`` to ``output_dir/export``."""
    from src.training.checkpoint import epoch_checkpoints
    found = epoch_checkpoints(output_dir, cfg.name)
    if not found:
        raise FileNotFoundError(f"--export_after_train: no {cfg.name}_epochNNN.ckpt in {output_dir}")
    try:
        from src.export import export_checkpoint
        path = export_checkpoint(found[0][1], os.path.join(output_dir, "export"), file_format)
    except ImportError as e:
        raise ValueError(f"--export_after_train: the export module is not usable here ({e})") from None
    logger.info("exported %s: %s", found[0][1], path)


def main(argv=None):
    """Returns the trained network (None when the run fails)."""
    args, rest = parse_args(argv)
    try:
        overrides = parse_overrides(rest)
        if args.pretrained:
            overrides.append(("train.pretrained.backbone", args.pretrained))
        if args.amp_level:
            overrides.append(("train.amp_level", args.amp_level))
        if args.num_workers is not None:   # checked (>= 0) and recorded like any config value
            overrides.append(("data.num_workers", args.num_workers))
        cfg = load_config(args.config, overrides)
    except ConfigError as e:
        sys.exit(f"train.py: {e}")
    if args.is_cloudtrain:
        if not args.data_url or not args.train_url:
            sys.exit("train.py: --is_cloudtrain True needs --data_url and --train_url")
    elif args.data_path is None:
        sys.exit("train.py: --data_path is required (or --is_cloudtrain True with --data_url and --train_url)")
    elif not os.path.isdir(args.data_path):
        sys.exit(f"train.py: data path not found: {args.data_path}")
    output_dir = args.output_dir or (os.path.join(args.cache_dir, "train") if args.is_cloudtrain else "./output")

    from src.device import effective_amp_level, local_rank, setup_context
    try:   # config values were checked by load_config; the data by Trainer.run, before the model
        ensure_output_dir(output_dir)
        rank, group_size = setup_context(args.device_target, args.device_id, args.run_distribute)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"train.py: {e}")

    from src.cloud import CloudError, finish_job, prepare_job
    from src.distributed.collectives import barrier
    from src.training.trainer import Trainer

    setup_logging(os.path.join(output_dir, f"train_rank{rank}.log"), rank)
    amp_level = effective_amp_level(args.device_target, cfg.train.amp_level)
    this_local_rank = local_rank(rank, group_size)
    sync = barrier if group_size > 1 else None
    net, error = None, None
    try:
        data_path = args.data_path
        if args.is_cloudtrain:
            data_path = prepare_job(args.data_url, args.train_url, args.cache_dir, args.unzip_mode, cfg,
                                    output_dir, rank, this_local_rank, group_size, sync)
        net = Trainer(cfg, data_path, output_dir, rank, group_size, amp_level=amp_level).run()
        if args.export_after_train and rank == 0:
            export_trained(cfg, output_dir, args.export_format)
    except (FileNotFoundError, ValueError) as e:   # CloudError is a ValueError
        error = e
    finally:
        if args.is_cloudtrain:   # also after a failure: the logs say what went wrong
            try:   # training over on every rank (net) decides the barrier: rank 0 alone exports
                finish_job(output_dir, args.train_url, this_local_rank, group_size, net is not None, sync)
            except CloudError as e:
                error = error or e
    if error:
        sys.exit(f"train.py: {error}")
    return net


if __name__ == "__main__":
    main()

"""Training throughput of a config: pairs/s of the real training step ("FPS").

    python -m src.training.throughput --config configs/siammask_base.yaml [--data_path DIR]
        [--steps 10] [--batch_size B] [--epoch E] [--num_workers N] [--init_from CKPT]
        [--device_target CPU] [--amp_level O0|O2|O3] [--run_distribute True]

Runs ``steps`` training steps exactly as train.py would in epoch ``epoch``
(same loss cell, frozen layers, SGD param groups, clip/skip step and loader)
after one untimed step (graph compilation), and prints:

* the end-to-end rate (loader + step), the number model-zoo tables call FPS;
* the step alone on one batch held in memory (shows whether the loader keeps up).

Data parallel (``--run_distribute True`` under msrun or a rank table; see
scripts/run_train_performance.sh): every rank times its shard with the
gradient all-reduce in the step, and rank 0 prints the global rates
(per-device batch x devices per step time).

Steps whose loss is non-finite or above ``train.max_loss`` skip the SGD update
(as in training); time the sharp stage with ``--init_from`` a base-stage
checkpoint so that its steps are real.

Without ``--data_path`` (or when the config's sub-datasets are not under it
but a synthetic set is) a small synthetic crop511 set with masks is used
(``python -m src.data.synthetic``), generated in a temporary folder if needed.
"""
import argparse
import logging
import os
import sys
import tempfile
import time

import src  # noqa: F401  (CPU convolution fix before mindspore loads)
from src.utils import str2bool

SYNTHETIC = {"name": "SYN", "root": "train/syn/crop511", "anno": "train/syn/train.json",
             "frame_range": 20, "num_use": -1, "has_mask": True}


def _use_synthetic(cfg, data_path):
    if data_path is None:
        return True
    configured = all(os.path.isfile(os.path.join(data_path, d.anno)) for d in cfg.data.train)
    return not configured and os.path.isfile(os.path.join(data_path, SYNTHETIC["anno"]))


def measure(cfg, data_path, steps, epoch=0, num_workers=None, log=print, rank=0, group_size=1, amp_level="O0"):
    """Returns (compile_s, step_pairs_per_s, end_to_end_pairs_per_s), rates over all ``group_size`` ranks."""
    import mindspore as ms
    import numpy as np

    from src.data.pipeline import create_train_dataset
    from src.models import build_model
    from src.training.loss import build_loss_cell
    from src.training.train_step import build_train_step, cast_network
    from src.training.trainer import Trainer, frozen_layers_at, load_initial_weights, set_train_mode

    batch = cfg.train.batch_size
    ms.set_seed(cfg.train.seed)
    net = cast_network(build_model(cfg), amp_level)
    if cfg.train.init_from:      # e.g. a base-stage checkpoint when timing the sharp stage
        load_initial_weights(net, cfg.train.init_from)
    loss_cell, names = build_loss_cell(cfg, net)
    # only its optimiser set-up (and LR scaling)
    trainer = Trainer(cfg, data_path, ".", rank, group_size, num_workers=num_workers, amp_level=amp_level)
    ds = create_train_dataset(cfg, data_path, epoch_pairs=batch * (steps + 1) * group_size, rank=rank,
                              group_size=group_size, num_workers=num_workers, epoch=epoch)
    in_memory_steps = max(1, min(steps, 3))
    trainer.steps_per_epoch = ds.get_dataset_size() + in_memory_steps   # the LR array covers every step
    frozen = frozen_layers_at(cfg, epoch)
    opt, _ = trainer._optimizer(net, frozen, epoch, epoch + 1)
    step = build_train_step(cfg.train, loss_cell, opt, amp_level)
    step.set_train(True)
    set_train_mode(net, frozen, training=True, modules=cfg.train.frozen_modules)
    log(f"{len(opt.parameters)} trainable tensors; frozen: {list(frozen) + list(cfg.train.frozen_modules) or 'none'}; "
        f"loss parts: {', '.join(names)}")

    it = ds.create_tuple_iterator(num_epochs=1)
    t0 = time.perf_counter()
    first = next(it)
    out = step(*first)
    out[0].asnumpy()
    compile_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    done = 0
    for batch_data in it:
        out = step(*batch_data)
        done += 1
    out[0].asnumpy()
    end_to_end = done * batch * group_size / (time.perf_counter() - t0)

    t0 = time.perf_counter()
    for _ in range(in_memory_steps):
        out = step(*first)
    out[0].asnumpy()
    step_rate = in_memory_steps * batch * group_size / (time.perf_counter() - t0)
    parts = ", ".join(f"{n} {float(np.asarray(v.asnumpy())):.4f}" for n, v in zip(names, out[1:1 + len(names)]))
    log(f"last step: loss {float(out[0].asnumpy()):.4f} ({parts})")
    return compile_s, step_rate, end_to_end


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--data_path", default=None)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch_size", type=int, default=None, help="default: the config's train.batch_size")
    parser.add_argument("--epoch", type=int, default=0, help="epoch whose frozen layers / phase to time")
    parser.add_argument("--num_workers", type=int, default=None)
    parser.add_argument("--init_from", default=None, help="whole-network checkpoint (overrides train.init_from)")
    parser.add_argument("--device_target", default="CPU", choices=["CPU", "GPU", "Ascend"])
    parser.add_argument("--amp_level", default=None, help="O0 | O2 | O3 (default: the config's train.amp_level)")
    parser.add_argument("--run_distribute", type=str2bool, default=False,
                        help="data parallel over the processes msrun or a rank table started")
    args = parser.parse_args(argv)
    if args.steps < 1:
        sys.exit("throughput: --steps must be at least 1")

    from src.config import ConfigError, load_config, replace
    from src.models.registry import graph_specs
    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        sys.exit(f"throughput: {e}")
    if args.batch_size:
        cfg = replace(cfg, **{"train.batch_size": args.batch_size})
    if args.init_from:
        cfg = replace(cfg, **{"train.init_from": args.init_from})
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    from src.device import effective_amp_level, setup_context
    try:
        amp_level = effective_amp_level(args.device_target, args.amp_level or cfg.train.amp_level)
    except ValueError as e:
        sys.exit(f"throughput: {e}")
    rank, group_size = setup_context(args.device_target, run_distribute=args.run_distribute)
    say = print if rank == 0 else (lambda *a, **k: None)
    tmp = None
    data_path = args.data_path
    if data_path is not None and not os.path.isdir(data_path):
        sys.exit(f"throughput: data path not found: {data_path}")
    if _use_synthetic(cfg, data_path):
        if data_path is None:
            from src.data.synthetic import generate
            tmp = tempfile.TemporaryDirectory()
            data_path = tmp.name
            say("generating a small synthetic crop511 set (with masks) ...", flush=True)
            generate(data_path, seed=0, train_videos=20, train_frames=20, val_videos=0, test_videos=0)
        cfg = replace(cfg, **{"data.train": [SYNTHETIC]})
        say(f"data: synthetic crop511 set in {data_path}")
    else:
        say(f"data: {', '.join(d.name for d in cfg.data.train)} under {data_path}")
    workers = cfg.data.num_workers if args.num_workers is None else args.num_workers
    say(f"config {args.config} ({cfg.model.arch}, graphs {', '.join(graph_specs(cfg))}), "
        f"batch {cfg.train.batch_size} per device, search {cfg.train.search_size}, {args.steps} timed steps, "
        f"device {args.device_target} x {group_size}, amp {amp_level}, loader workers {workers} per device, "
        f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA')}", flush=True)
    try:
        compile_s, step_rate, end_to_end = measure(cfg, data_path, args.steps, args.epoch, workers, say, rank,
                                                   group_size, amp_level)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"throughput: {e}")
    finally:
        if tmp:
            tmp.cleanup()
    say(f"graph compilation + first step: {compile_s:.1f} s")
    say(f"train step alone (batch in memory): {step_rate:.2f} pairs/s")
    say(f"end to end (loader + train step): {end_to_end:.2f} pairs/s")
    say(f"FPS: {end_to_end:.2f}")


if __name__ == "__main__":
    main()

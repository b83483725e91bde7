"""Training throughput on this machine: the train step alone vs the data loader alone.

    python benchmarks/train_throughput.py [--config configs/siamrpn_alex_dw.yaml | configs/siammask_base.yaml]
        [--data_path DIR] [--batch_size 32] [--steps 5] [--num_workers N]

Prints pairs/s of (a) the compiled train step on fixed in-memory batches and
(b) the mindspore.dataset loader with its default workers and no training,
side by side. The loader keeps the trainer busy when (b) >= 2 x (a).
Without --data_path a small synthetic crop511 set is generated in a temp dir.
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import src  # noqa: E402,F401  (CPU convolution fix before mindspore loads)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/siamrpn_alex_dw.yaml")
    parser.add_argument("--data_path", default=None)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--num_workers", type=int, default=None)
    args = parser.parse_args()

    import mindspore as ms
    import numpy as np
    from mindspore import nn
    from src.models.registry import get_family

    from src.config import load_config, replace
    from src.data.pipeline import create_train_dataset
    from src.models import build_model
    from src.training.loss import build_loss_cell
    from src.training.train_step import ClipSkipTrainStep

    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")
    tmp = None
    data_path = args.data_path
    if data_path is None:
        from src.data.synthetic import generate
        tmp = tempfile.TemporaryDirectory()
        data_path = tmp.name
        generate(data_path, seed=0, train_videos=20, train_frames=20, val_videos=0, test_videos=0)
    pairs = args.batch_size * (args.steps + 2)
    base = load_config(args.config)
    cfg = replace(base, **{
        "train.batch_size": args.batch_size, "data.videos_per_epoch": pairs,
        "data.train": [{"name": "SYN", "root": "train/syn/crop511", "anno": "train/syn/train.json",
                        "frame_range": 20, "num_use": -1,
                        # families whose targets use masks (SiamMask) read the synthetic crops' masks
                        "has_mask": get_family(base.model.arch).uses_masks}]})
    workers = cfg.data.num_workers if args.num_workers is None else args.num_workers

    # (b) loader alone
    ds = create_train_dataset(cfg, data_path, num_workers=workers)
    it = ds.create_tuple_iterator(num_epochs=1, output_numpy=True)
    batches = [next(it)]                                   # worker start-up excluded
    t0 = time.perf_counter()
    for batch in it:
        batches.append(batch)
    loader_rate = (len(batches) - 1) * args.batch_size / (time.perf_counter() - t0)

    # (a) train step alone, on batches already in memory
    net = build_model(cfg)
    opt = nn.SGD(net.trainable_params(), learning_rate=1e-3, momentum=0.9, weight_decay=1e-4)
    loss_cell, _ = build_loss_cell(cfg, net)
    step = ClipSkipTrainStep(loss_cell, opt)
    step.set_train()
    inputs = [[ms.Tensor(np.asarray(c)) for c in b] for b in batches]
    step(*inputs[0])                                       # compile
    t0 = time.perf_counter()
    for i in range(args.steps):
        out = step(*inputs[i % len(inputs)])
    out[0].asnumpy()
    step_rate = args.steps * args.batch_size / (time.perf_counter() - t0)

    from benchmarks import machine
    print(machine())
    print(f"config {args.config}, batch {args.batch_size}, loader workers {workers}, "
          f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA')}")
    print(f"{'train step':>12}: {step_rate:8.1f} pairs/s")
    print(f"{'data loader':>12}: {loader_rate:8.1f} pairs/s")
    print(f"{'loader/step':>12}: {loader_rate / step_rate:8.2f}x  (goal >= 2x)")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()

"""Stand-in pre-training of SA-Siam's semantic backbone on the synthetic object classes.

    python -m src.tools.pretrain_semantic --output OUT/caffenet_syn.ckpt [--width_mult 0.25]
        [--classes pattern|kind_pattern] [--steps 300] [--batch 32] [--lr 0.001] [--seed 0]

SA-Siam's semantic branch is a CaffeNet frozen with ImageNet weights; there are none here. This
tool stands in for them honestly: it trains the same CaffeNet (src/models/sasiam.py, at the
quick start's width) to classify objects drawn by the synthetic generator
(src/data/synthetic.py render_object: hue, size, aspect, rotation and the cluttered background
random), through a global-average-pool + linear head that is discarded. The classes are the
texture patterns (``pattern``, 4 classes, the default) or shape kind x pattern
(``kind_pattern``, 12 classes). Every step draws a fresh batch, so it cannot overfit a fixed
set; the held-out images come from a stream of their own. It prints the held-out accuracy of
the untrained and the trained network and writes only the backbone, named
``semantic.backbone.*``, for ``train.pretrained: {semantic.backbone: PATH}``.

Why these choices (measured on 2 CPU cores, width 0.25, 127 px images):
- 12 classes barely learn in the minutes a quick start has (held-out 0.087 -> 0.18 after 20
  epochs of 1,200 fixed images, with the training loss still far from zero: SGD or Adam);
  the 4 patterns learn clearly (0.24 -> 0.52 in 300 steps, 2 minutes).
- The CaffeNet takes raw 0-255 pixels minus the mean (as its ImageNet weights do) and has no
  normalisation, so xavier weights give conv1 outputs of std ~26: SGD diverged to NaN at LR
  0.01-0.05. Each conv kernel is first rescaled so its output has unit std on one batch
  (data-dependent init, Mishkin & Matas, "All you need is a good init", ICLR 2016), and Adam
  with a cosine LR trains it.
Images are fed as the training loader feeds crops (BGR uint8 as float, no normalisation:
CaffeNet subtracts its own mean).
"""
import argparse
import sys

import numpy as np

SEMANTIC_PREFIX = "semantic.backbone."
CLASS_SETS = ("pattern", "kind_pattern")


def class_names(classes):
    from src.data.synthetic import PATTERNS, object_classes
    return list(PATTERNS) if classes == "pattern" else [f"{k}/{p}" for k, p in object_classes()]


def render_batch(rng, n, size, classes):
    """(images (n, 3, size, size) float32, labels (n,) int32), classes balanced and shuffled,
    drawn from ``rng`` (every call continues its stream)."""
    from src.data.synthetic import PATTERNS, object_classes, render_object
    pairs = object_classes()
    labels = rng.permutation(np.arange(n) % len(pairs))
    images = np.empty((n, 3, size, size), np.float32)
    for i, c in enumerate(labels):
        images[i] = render_object(rng, *pairs[c], size).transpose(2, 0, 1)
    if classes == "pattern":
        labels = np.array([PATTERNS.index(pairs[c][1]) for c in labels])
    return images, labels.astype(np.int32)


def build_classifier(width_mult, n_classes):
    import mindspore.nn as nn
    import mindspore.ops as ops
    from src.models.sasiam import CaffeNet

    class Classifier(nn.Cell):
        def __init__(self):
            super().__init__()
            self.backbone = CaffeNet(width_mult)
            self.head = nn.Dense(self.backbone.out_channels[1], n_classes)

        def construct(self, x):
            _, f5 = self.backbone(x)
            return self.head(ops.mean(f5, (2, 3)))
    return Classifier()


def unit_std_init(backbone, images):
    """Rescale each conv kernel, in order, so its output (before ReLU) has std 1 on ``images``;
    returns the stds found (conv1 first). The chain is CaffeNet.construct's, layer by layer."""
    import mindspore as ms
    import mindspore.ops as ops
    convs = [backbone.conv1, backbone.conv2, backbone.conv3, backbone.conv4, backbone.conv5]
    x = ops.flip(ms.Tensor(images) - backbone.mean, (1,))
    stds = []
    for i, conv in enumerate(convs):
        std = float(conv(x).asnumpy().std())
        if not np.isfinite(std) or std <= 0:
            raise ValueError(f"conv{i + 1} output has std {std} on the init batch")
        conv.weight.set_data(ms.Tensor(conv.weight.asnumpy() / std))
        stds.append(std)
        x = backbone.relu(conv(x))
        if i < 2:
            x = backbone.lrn(backbone.pool(x))
    return stds


def accuracy(net, images, labels, batch):
    import mindspore as ms
    net.set_train(False)
    hits = 0
    for i in range(0, len(images), batch):
        logits = net(ms.Tensor(images[i:i + batch])).asnumpy()
        hits += int((logits.argmax(1) == labels[i:i + batch]).sum())
    return hits / len(images)


def backbone_params(net):
    """The backbone's parameters under SASiam's names (the head is left out)."""
    return [{"name": SEMANTIC_PREFIX + p.name[len("backbone."):], "data": p}
            for p in net.get_parameters() if p.name.startswith("backbone.")]


def pretrain(output, width_mult=0.25, classes="pattern", steps=300, batch=32, val_samples=240,
             size=127, lr=0.001, seed=0, progress=True):
    """Train, write ``output`` (atomically) and return (held-out accuracy before, after)."""
    import mindspore as ms
    import mindspore.nn as nn
    from src.data.synthetic import _progress
    from src.training.checkpoint import save_checkpoint_atomic
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(seed)
    names = class_names(classes)
    # three disjoint streams: held-out images, the init batch, the training batches
    x_val, y_val = render_batch(np.random.default_rng([seed, 1]), val_samples, size, classes)
    train_rng = np.random.default_rng([seed, 0])
    net = build_classifier(width_mult, len(names))
    unit_std_init(net.backbone, render_batch(np.random.default_rng([seed, 2]), 64, size, classes)[0])
    before = accuracy(net, x_val, y_val, batch)
    print(f"held-out accuracy ({val_samples} images, {len(names)} classes, chance "
          f"{1 / len(names):.3f}): untrained {before:.3f}", flush=True)
    schedule = nn.cosine_decay_lr(lr * 0.05, lr, steps, 1, steps)
    opt = nn.Adam(net.trainable_params(), ms.Tensor(np.array(schedule, np.float32)))
    step = nn.TrainOneStepCell(nn.WithLossCell(net, nn.SoftmaxCrossEntropyWithLogits(
        sparse=True, reduction="mean")), opt)
    net.set_train(True)
    losses = []
    report = max(1, steps // 5)
    for k in _progress(range(steps), "pretrain semantic", progress):
        x, y = render_batch(train_rng, batch, size, classes)
        losses.append(float(step(ms.Tensor(x), ms.Tensor(y)).asnumpy()))
        if not np.isfinite(losses[-1]):
            raise ValueError(f"training loss is {losses[-1]} at step {k + 1} (lower --lr)")
        if (k + 1) % report == 0 or k + 1 == steps:
            print(f"step {k + 1}/{steps}: mean loss {np.mean(losses[-report:]):.4f}", flush=True)
    after = accuracy(net, x_val, y_val, batch)
    print(f"held-out accuracy: untrained {before:.3f}, trained {after:.3f}", flush=True)
    save_checkpoint_atomic(backbone_params(net), output, append_dict={
        "pretrain_semantic": f"synthetic {classes} classes ({len(names)}), width_mult={width_mult}, "
                             f"{steps} steps of {batch}, held-out accuracy {before:.3f}->{after:.3f}"})
    print(f"wrote {output} (load with train.pretrained: {{semantic.backbone: {output}}})")
    return before, after


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output", required=True)
    p.add_argument("--width_mult", type=float, default=0.25)
    p.add_argument("--classes", choices=CLASS_SETS, default="pattern")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--val_samples", type=int, default=240)
    p.add_argument("--size", type=int, default=127, help="image side (CaffeNet needs >= 87)")
    p.add_argument("--lr", type=float, default=0.001)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--progress", type=int, default=1)
    a = p.parse_args(argv)
    for name in ("steps", "batch", "val_samples"):
        if getattr(a, name) < 1:
            sys.exit(f"pretrain_semantic: --{name} must be >= 1, got {getattr(a, name)}")
    if a.size < 87:
        sys.exit(f"pretrain_semantic: --size must be >= 87 (CaffeNet's conv5 needs it), got {a.size}")
    if not (a.width_mult > 0 and a.lr > 0):
        sys.exit(f"pretrain_semantic: --width_mult and --lr must be > 0, got {a.width_mult}, {a.lr}")
    try:
        pretrain(a.output, a.width_mult, a.classes, a.steps, a.batch, a.val_samples, a.size,
                 a.lr, a.seed, bool(a.progress))
    except (OSError, ValueError, RuntimeError) as e:
        sys.exit(f"pretrain_semantic: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

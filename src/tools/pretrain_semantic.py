"""Stand-in pre-training of SA-Siam's semantic backbone on the synthetic object classes.

    python -m src.tools.pretrain_semantic --output OUT/caffenet_syn.ckpt [--width_mult 0.25]
        [--train_samples 1200] [--val_samples 240] [--epochs 4] [--lr 0.002] [--seed 0]

SA-Siam's semantic branch is a CaffeNet frozen with ImageNet weights; there are none here. This
tool stands in for them honestly: it trains the same CaffeNet (src/models/sasiam.py, at the
quick start's width) to classify the synthetic generator's object classes (src/data/synthetic.py
object_classes: shape kind x texture pattern, 12 classes; hue, size, aspect, rotation and the
cluttered background random), through a global-average-pool + linear head that is discarded.
Train and held-out images come from disjoint random streams (seed, 0) and (seed, 1). It prints
the held-out accuracy of the untrained and the trained network and writes only the backbone,
named ``semantic.backbone.*``, for ``train.pretrained: {semantic.backbone: PATH}``.
Images are fed as the training loader feeds crops (BGR uint8 as float, no normalisation:
CaffeNet subtracts its own mean).
"""
import argparse
import sys

import numpy as np

SEMANTIC_PREFIX = "semantic.backbone."


def make_samples(n, size, seed, stream, progress=False):
    """(images (n, 3, size, size) float32, labels (n,) int32), classes balanced and shuffled."""
    from src.data.synthetic import object_classes, render_object, _progress
    classes = object_classes()
    rng = np.random.default_rng([seed, stream])
    labels = rng.permutation(np.arange(n) % len(classes)).astype(np.int32)
    images = np.empty((n, 3, size, size), np.float32)
    for i in _progress(range(n), f"render {'train' if stream == 0 else 'held-out'}", progress):
        kind, pattern = classes[labels[i]]
        images[i] = render_object(rng, kind, pattern, size).transpose(2, 0, 1)
    return images, labels


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


def pretrain(output, width_mult=0.25, train_samples=1200, val_samples=240, size=127, epochs=4,
             batch=32, lr=0.002, seed=0, progress=True):
    """Train, write ``output`` (atomically) and return (held-out accuracy before, after)."""
    import mindspore as ms
    import mindspore.nn as nn
    from src.data.synthetic import object_classes, _progress
    from src.training.checkpoint import save_checkpoint_atomic
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(seed)
    n_classes = len(object_classes())
    x_train, y_train = make_samples(train_samples, size, seed, 0, progress)
    x_val, y_val = make_samples(val_samples, size, seed, 1, progress)
    net = build_classifier(width_mult, n_classes)
    before = accuracy(net, x_val, y_val, batch)
    print(f"held-out accuracy ({val_samples} images, {n_classes} classes, chance "
          f"{1 / n_classes:.3f}): untrained {before:.3f}", flush=True)
    steps = max(1, train_samples // batch)
    schedule = nn.cosine_decay_lr(lr * 0.02, lr, steps * epochs, steps, epochs)
    opt = nn.Momentum(net.trainable_params(), ms.Tensor(np.array(schedule, np.float32)), 0.9,
                      weight_decay=5e-4)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, nn.SoftmaxCrossEntropyWithLogits(
        sparse=True, reduction="mean")), opt)
    rng = np.random.default_rng([seed, 2])
    for epoch in range(1, epochs + 1):
        net.set_train(True)
        order = rng.permutation(train_samples)
        losses = []
        for k in _progress(range(steps), f"epoch {epoch}/{epochs}", progress):
            idx = order[k * batch:(k + 1) * batch]
            losses.append(float(step(ms.Tensor(x_train[idx]), ms.Tensor(y_train[idx])).asnumpy()))
        print(f"epoch {epoch}: mean loss {np.mean(losses):.4f}", flush=True)
    after = accuracy(net, x_val, y_val, batch)
    print(f"held-out accuracy: untrained {before:.3f}, trained {after:.3f}", flush=True)
    save_checkpoint_atomic(backbone_params(net), output, append_dict={
        "pretrain_semantic": f"synthetic classes width_mult={width_mult} held-out accuracy "
                             f"{before:.3f}->{after:.3f}"})
    print(f"wrote {output} (load with train.pretrained: {{semantic.backbone: {output}}})")
    return before, after


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output", required=True)
    p.add_argument("--width_mult", type=float, default=0.25)
    p.add_argument("--train_samples", type=int, default=1200)
    p.add_argument("--val_samples", type=int, default=240)
    p.add_argument("--size", type=int, default=127, help="image side (CaffeNet needs >= 87)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--progress", type=int, default=1)
    a = p.parse_args(argv)
    for name in ("train_samples", "val_samples", "epochs", "batch"):
        if getattr(a, name) < 1:
            sys.exit(f"pretrain_semantic: --{name} must be >= 1, got {getattr(a, name)}")
    if a.size < 87:
        sys.exit(f"pretrain_semantic: --size must be >= 87 (CaffeNet's conv5 needs it), got {a.size}")
    try:
        pretrain(a.output, a.width_mult, a.train_samples, a.val_samples, a.size, a.epochs,
                 a.batch, a.lr, a.seed, bool(a.progress))
    except (OSError, ValueError, RuntimeError) as e:
        sys.exit(f"pretrain_semantic: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Summarise a training run from its metrics.json.

    python -m src.tools.training_report OUTPUT_DIR [--eval_json eval.json] [--min_gain 2.0]

Prints epoch, mean loss and the family's held-out metric (SiamRPN / SiamMask:
top-anchor hit rate; SiamFC: share of response peaks within the positive radius;
SiamMask runs also the mask loss and the held-out mask IoU at positive positions), then compares
the last epoch with the untrained model (epoch 0); with ``--eval_json`` (a
checkpoint sweep of eval.py over epoch 0 and the last epoch) also their
tracking EAO. Exits 1 when the hit rate or the EAO did not grow at least
``--min_gain`` times, the loss did not fall, or (SiamMask) the mask IoU did
not grow, so scripts can tell a run that learned from one that did not.
"""
import argparse
import json
import os
import sys

# the held-out metrics the validators write (src/training/validate.py), as the report names them
METRICS = {
    "top_anchor_iou>0.5": ("hit rate", "held-out pairs whose top-scoring anchor has IoU > 0.5"),
    "peak_within_r_pos": ("peak hit", "held-out pairs whose response peak lies within the positive radius"),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output_dir")
    parser.add_argument("--eval_json", default=None, help="eval.py sweep over epoch 0 and the last epoch")
    parser.add_argument("--min_gain", type=float, default=2.0)
    args = parser.parse_args(argv)
    path = os.path.join(args.output_dir, "metrics.json")
    if not os.path.isfile(path):
        sys.exit(f"training_report: no metrics file at {path}")
    with open(path) as f:
        data = {int(k): v for k, v in json.load(f).items()}
    has_mask = any("mask_iou" in m for m in data.values())
    found = [key for key in METRICS if any(key in m for m in data.values())]
    if len(found) != 1:
        sys.exit(f"training_report: {path} holds {'none' if not found else ' and '.join(found)} of the "
                 f"held-out metrics {', '.join(METRICS)}")
    metric = found[0]
    title, description = METRICS[metric]
    columns = [("loss", "loss", 8, ".4f"), (metric, title, 9, ".3f")]
    if has_mask:
        columns += [("loss_mask", "mask loss", 9, ".4f"), ("mask_iou", "mask IoU", 9, ".3f")]
    columns.append(("pairs_per_s", "pairs/s", 8, ".1f"))
    print(f"{'epoch':>5} " + " ".join(f"{title:>{width}}" for _, title, width, _ in columns))
    for epoch in sorted(data):
        m = data[epoch]
        cells = ["-" if m.get(key) is None else format(m[key], fmt) for key, _, _, fmt in columns]
        print(f"{epoch:>5} " + " ".join(f"{c:>{w}}" for c, (_, _, w, _) in zip(cells, columns)))
    epochs = sorted(e for e in data if e > 0)
    if 0 not in data or not epochs:
        sys.exit("training_report: need the untrained (epoch 0) and at least one trained epoch")
    first, last = data[epochs[0]], data[epochs[-1]]
    before, after = data[0][metric], last[metric]
    print(f"{description}: untrained {before:.3f}, after epoch {epochs[-1]} {after:.3f}")
    print(f"mean training loss: epoch {epochs[0]} {first['loss']:.4f}, epoch {epochs[-1]} {last['loss']:.4f}")
    learned = after >= max(args.min_gain * before, 0.05) and last["loss"] < first["loss"]
    if has_mask:
        iou_before, iou_after = data[0].get("mask_iou"), last.get("mask_iou")
        print(f"held-out mask IoU at positive positions: untrained {iou_before:.3f}, "
              f"after epoch {epochs[-1]} {iou_after:.3f}")
        learned = learned and iou_after > iou_before
    if args.eval_json:
        learned = _compare_eao(args.eval_json, epochs[-1], args.min_gain) and learned
    print("the model learned" if learned else "the model did NOT learn enough")
    return 0 if learned else 1


def _compare_eao(path, last_epoch, min_gain):
    if not os.path.isfile(path):
        sys.exit(f"training_report: no eval file at {path}")
    with open(path) as f:
        sweep = json.load(f).get("sweep")
    if not sweep:
        sys.exit(f"training_report: {path} is not a checkpoint sweep (run eval.py with --ckpt_dir)")
    by_epoch = {}
    for name, numbers in sweep.items():
        if name.endswith("_epoch000"):
            by_epoch[0] = numbers
        elif name.endswith(f"_epoch{last_epoch:03d}"):
            by_epoch[last_epoch] = numbers
    if len(by_epoch) != 2:
        sys.exit(f"training_report: {path} lacks epoch 0 or epoch {last_epoch}")
    def show(m):   # no accuracy (eval.json leaves it out) when no frame was tracked without failing
        acc = "-" if m.get("accuracy") is None else f"{m['accuracy']:.3f}"
        return f"EAO {m['eao']:.3f} (accuracy {acc}, {m['lost_number']:.0f} failures)"

    before, after = by_epoch[0], by_epoch[last_epoch]
    print(f"tracking, VOT supervised protocol: untrained {show(before)}; after epoch {last_epoch} {show(after)}")
    return after["eao"] >= min_gain * before["eao"] and after["eao"] > 0


if __name__ == "__main__":
    sys.exit(main())

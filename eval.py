"""Evaluate trackers on VOT / OTB / GOT-10k / LaSOT / DAVIS and write eval.json.

    python eval.py --ckpt CKPT --dataset_path DATA/VOT2018 --dataset_name VOT2018 --filename eval.json
    python eval.py --ckpt_dir OUTPUT --epochs 10-20 --dataset_path ... --dataset_name ...   (checkpoint sweep)
    python eval.py --backend onnx --model_dir EXPORT_DIR --dataset_path ... --dataset_name ...  (exported graphs)
    python eval.py --score_only --results_dir results --dataset_path ... --dataset_name ... [--tracker_names A B]
    python eval.py --ckpt SIAMMASK_CKPT --dataset_path DATA/DAVIS --dataset_name DAVIS2016 --hp_preset siammask_davis

The experiment config comes from the checkpoint (train.py and convert_pth
store it; for exported graphs, the export's JSON) unless --config is given;
dotted overrides (--track.penalty_k 0.2) apply on top (exported graphs have
fixed input sizes: track.instance_size cannot change). Result files go to
<results_dir>/<dataset_name>/<tracker>/ in the official layouts; an
interrupted run resumes where it stopped.

DAVIS-like names (DAVIS2016, DAVIS2017, DAVISSYN, ...) run video object
segmentation: a mask tracker (SiamMask) starts from each object's first-frame
mask box, writes <tracker>/<seq>/<frame>.png per frame and is scored with
DAVIS's J (region IoU) and F (boundary F-measure): mean, recall and decay.
SiamMask's DAVIS hyperparameters are the preset shown above (src/tracker/presets.py).
"""
import argparse
import glob
import os
import re
import sys

import src  # noqa: F401  (CPU convolution fix before mindspore loads)
from src.config import ConfigError
from src.tracker.presets import cli_overrides
from src.utils import str2bool


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Evaluate Siamese trackers (VOT / OTB / GOT-10k / LaSOT / DAVIS)")
    p.add_argument("--dataset_path", required=True, help="dataset root, e.g. testing_dataset/VOT2018")
    p.add_argument("--dataset_name", required=True,
                   help="VOT2016..VOT2019 (or VOT-like), OTB100, GOT10k-val, LaSOT, "
                        "DAVIS2016/DAVIS2017 (or DAVIS-like)")
    p.add_argument("--filename", default="eval.json", help="where to write the evaluation record")
    p.add_argument("--results_dir", default="./results", help="root of the result files")
    p.add_argument("--config", default=None, help="experiment YAML (default: the one stored in the checkpoint)")
    p.add_argument("--ckpt", default=None, help="checkpoint to evaluate")
    p.add_argument("--ckpt_dir", default=None, help="evaluate every <name>_epochNNN.ckpt here (sweep)")
    p.add_argument("--epochs", default=None, help="sweep only these epochs, e.g. 10-20 or 5,10,15")
    p.add_argument("--backend", default="mindspore", choices=["mindspore", "mindir", "onnx"],
                   help="mindspore: the checkpoint's Cell; mindir / onnx: graphs from export_mindir.py")
    p.add_argument("--model_dir", default=None,
                   help="with --backend mindir|onnx: the export folder (or its .json)")
    p.add_argument("--tracker_name", default=None, help="result folder name (default: config name [+ _eNNN])")
    p.add_argument("--score_only", type=str2bool, nargs="?", const=True, default=False,
                   help="score existing result files, run nothing")
    p.add_argument("--tracker_names", nargs="*", default=None, help="with --score_only (default: all found)")
    p.add_argument("--eao_range", nargs=2, type=int, default=None, metavar=("LOW", "HIGH"),
                   help="EAO sequence-length interval (known for VOT2016-2019)")
    p.add_argument("--hp_preset", default=None,
                   help="named tracking hyperparameters: siammask_vot, siammask_vot-ld, siammask_davis, "
                        "siamrpn_alex_dw_vot (src/tracker/presets.py); --track.* overrides win")
    p.add_argument("--device_target", default="CPU", choices=["CPU", "GPU", "Ascend"])
    p.add_argument("--device_id", type=int, default=None)
    p.add_argument("--plots", type=str2bool, default=True, help="write PNG plots beside --filename")
    return p.parse_known_args(argv)


def parse_epochs(spec):
    if not spec:
        return None
    epochs = set()
    for part in spec.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not m:
            raise ValueError(f"--epochs: cannot read '{part}' (use e.g. 10-20 or 5,10,15)")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        epochs.update(range(lo, hi + 1))
    return epochs


def sweep_checkpoints(ckpt_dir, epochs):
    """[(epoch, path)] of the directory's epoch checkpoints, oldest first."""
    if not os.path.isdir(ckpt_dir):
        raise FileNotFoundError(f"checkpoint directory not found: {ckpt_dir}")
    found = []
    for path in glob.glob(os.path.join(ckpt_dir, "*_epoch*.ckpt")):
        m = re.search(r"_epoch(\d+)\.ckpt$", path)
        if m and (epochs is None or int(m.group(1)) in epochs):
            found.append((int(m.group(1)), path))
    if not found:
        raise FileNotFoundError(f"no *_epochNNN.ckpt checkpoints{' for --epochs' if epochs else ''} in {ckpt_dir}")
    return sorted(found)


def evaluate_model(args, source, tracker_name, overrides, dataset, protocol, results_dir):
    from src.config import Config
    from src.evaluation import evaluate
    from src.tracker import build_tracker
    from src.tracker.backends import load_tracker_model

    cfg, backend, extra = load_tracker_model(args.backend, source, args.config, overrides)
    if protocol == "vos" and not evaluate.produces_masks(build_tracker(cfg, backend)):
        raise ValueError(f"model.arch {cfg.model.arch} produces no masks; {dataset.name} is scored on "
                         f"segmentation masks (J/F): evaluate a SiamMask model (model.arch siammask, "
                         f"e.g. configs/siammask_sharp.yaml)")
    name = tracker_name or cfg.name
    fps = evaluate.run_dataset(lambda: build_tracker(cfg, backend), dataset, protocol, results_dir, name)
    scores = evaluate.score(dataset, protocol, results_dir, [name], args.eao_range)
    extra.update({"config": cfg.name, "model": Config.to_dict(cfg)["model"],
                  "hyperparameters": Config.to_dict(cfg)["track"],
                  "results_dir": os.path.abspath(os.path.join(results_dir, name))})
    return name, scores, evaluate.eval_record(protocol, dataset, name, scores, fps, extra)


def main(argv=None):
    args, rest = parse_args(argv)
    from src.evaluation import evaluate
    from src.evaluation.datasets import DatasetError, load_dataset
    from src.evaluation.results import ResultsError

    try:
        overrides = cli_overrides(rest, args.hp_preset)
        protocol = evaluate.protocol_of(args.dataset_name)
        if not os.path.isdir(args.dataset_path):
            raise FileNotFoundError(f"dataset path not found: {args.dataset_path}")
        dataset = load_dataset(args.dataset_name, args.dataset_path)
        results_dir = os.path.join(args.results_dir, args.dataset_name)
        out_dir = os.path.dirname(os.path.abspath(args.filename))
        if args.score_only:
            names = args.tracker_names or sorted(d for d in os.listdir(results_dir)
                                                 if os.path.isdir(os.path.join(results_dir, d)))
            if not names:
                raise FileNotFoundError(f"no tracker results in {results_dir}")
            scores = evaluate.score(dataset, protocol, results_dir, names, args.eao_range)
            record = {"dataset": dataset.name, "results_dir": os.path.abspath(results_dir),
                      "trackers": {n: dict(zip(("per_video", "all_videos"), evaluate.summarise(protocol, s)))
                                   for n, s in scores.items()},
                      "software": evaluate.software_versions()}
        else:
            from src.device import setup_context
            setup_context(args.device_target, args.device_id)
            if args.backend != "mindspore":
                if not args.model_dir:
                    raise ValueError(f"--backend {args.backend} runs exported graphs: give --model_dir "
                                     f"(made by export_mindir.py --file_format {args.backend.upper()})")
                runs = [(args.model_dir, args.tracker_name)]
            elif args.ckpt_dir:
                runs = [(path, f"{args.tracker_name or ''}{os.path.basename(path)[:-5]}")
                        for _, path in sweep_checkpoints(args.ckpt_dir, parse_epochs(args.epochs))]
            elif args.ckpt:
                runs = [(args.ckpt, args.tracker_name)]
            else:
                raise ValueError("give --ckpt, --ckpt_dir or --score_only")
            scores, records = {}, {}
            for ckpt, name in runs:
                name, s, rec = evaluate_model(args, ckpt, name, overrides, dataset, protocol, results_dir)
                scores.update(s)
                records[name] = rec
            if len(records) == 1:
                record = next(iter(records.values()))
            else:
                key = evaluate.MAIN_METRIC[protocol]
                ranking = sorted(records, key=lambda n: -(records[n]["all_videos"][key] or 0))
                record = {"dataset": dataset.name, "sweep": {n: records[n]["all_videos"] for n in ranking},
                          "ranked_by": key, "best": records[ranking[0]], "software": evaluate.software_versions()}
        print(evaluate.format_table(protocol, scores, args.dataset_name))
        if args.plots:
            evaluate.write_plots(protocol, scores, out_dir, args.dataset_name)
        evaluate.write_json(args.filename, record)
        print(f"wrote {args.filename}")
    except (ConfigError, DatasetError, ResultsError, FileNotFoundError, ValueError) as e:
        sys.exit(f"eval.py: {e}")


if __name__ == "__main__":
    main()

"""Score the C++ application's result files into eval.json: model-zoo postprocess step.

    python postprocess.py --results_dir RESULTS --dataset_path DATA/VOT2018 --dataset_name VOT2018 \
        --model_path EXPORT_DIR [--tracker_name NAME] [--backend NAME] [--eao_range LOW HIGH] \
        [--filename eval.json] [--plots True]

ascend310_infer writes eval.py's layout (<results>/<dataset>/<tracker>/baseline/<seq>/<seq>_001.txt
and <seq>_time.txt), so the scoring is eval.py's own: the same table, EAO plot
and an eval.json with the keys of ``eval.py --backend onnx|mindir`` (per-video
accuracy, failures, length and fps from the time files; all-video A/R/EAO and
mean fps; the export, its config, model and hyperparameters; software versions).
"""
import argparse
import os
import sys

import src  # noqa: F401  (package set-up; keeps the entry points uniform)
from src.config import Config, ConfigError, config_from_dict
from src.evaluation import evaluate
from src.evaluation.datasets import DatasetError, load_dataset
from src.evaluation.results import ResultsError
from src.export import read_export
from src.utils import str2bool


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Score ascend310_infer's VOT results into eval.json")
    p.add_argument("--results_dir", required=True, help="the C++ application's --results_dir")
    p.add_argument("--dataset_path", required=True)
    p.add_argument("--dataset_name", required=True)
    p.add_argument("--model_path", required=True, help="the export the application ran (folder or .json)")
    p.add_argument("--tracker_name", default=None, help="result folder name (default: the config name, as eval.py and the application)")
    p.add_argument("--backend", default="ascend310_infer", help="recorded as eval.json's 'backend'")
    p.add_argument("--eao_range", nargs=2, type=int, default=None, metavar=("LOW", "HIGH"),
                   help="EAO sequence-length interval (known for VOT2016-2019)")
    p.add_argument("--filename", default="eval.json", help="where to write the evaluation record")
    p.add_argument("--plots", type=str2bool, default=True, help="write the EAO plot beside --filename")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        desc, _ = read_export(args.model_path)
        cfg = config_from_dict(desc["config"], source=f"config inside {args.model_path}")
        name = args.tracker_name or cfg.name
        kind = evaluate.protocol_of(args.dataset_name)
        if kind != "vot":
            raise ValueError(f"{args.dataset_name}: the C++ application runs the VOT supervised protocol only")
        dataset = load_dataset(args.dataset_name, args.dataset_path)
        results_dir = os.path.join(args.results_dir, args.dataset_name)
        scores = evaluate.score(dataset, kind, results_dir, [name], args.eao_range)
        fps = evaluate.recorded_fps(dataset, kind, results_dir, name)
        extra = {"exported_model": os.path.abspath(args.model_path), "backend": args.backend,
                 "config": cfg.name, "model": Config.to_dict(cfg)["model"],
                 "hyperparameters": Config.to_dict(cfg)["track"],
                 "results_dir": os.path.abspath(os.path.join(results_dir, name))}
        record = evaluate.eval_record(kind, dataset, name, scores, fps, extra)
    except (ConfigError, DatasetError, ResultsError, FileNotFoundError, ValueError) as e:
        sys.exit(f"postprocess.py: {e}")
    print(evaluate.format_table(kind, scores, args.dataset_name))
    if args.plots:
        evaluate.write_plots(kind, scores, os.path.dirname(os.path.abspath(args.filename)), args.dataset_name)
    evaluate.write_json(args.filename, record)
    print(f"wrote {args.filename}")


if __name__ == "__main__":
    main()

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
    p.add_argument("--check_provenance", action="store_true",
                   help="before the application runs: refuse (one line) when the tracker's results folder holds "
                        "results of another export, config or dataset (the application resumes finished "
                        "sequences), else write its manifest, as eval.py does; then stop")
    p.add_argument("--overwrite", action="store_true", help="with --check_provenance: remove such results first")
    return p.parse_args(argv)


def _manifests(args, cfg, dataset, folder):
    """(this run's manifest, the stored one or None): what eval.py records (src/evaluation/manifest.py)."""
    from src.evaluation import manifest
    new = manifest.build_manifest(os.path.basename(folder), manifest.model_identity(args.backend, args.model_path),
                                  Config.to_dict(cfg), manifest.dataset_identity(dataset))
    return new, manifest.read_manifest(folder)


def _counts(dataset, folder):
    """{run, resumed} as eval.py records them: --check_provenance writes the manifest right before the
    application starts, so a result file older than it was resumed (the application skips finished
    sequences), a newer one was run. None without a manifest (postprocess.py run on its own)."""
    from src.evaluation import manifest
    from src.evaluation.results import vot_result_path
    path = manifest.manifest_path(folder)
    if not os.path.isfile(path):
        return None
    start = os.stat(path).st_mtime_ns
    counts = {"run": 0, "resumed": 0}
    for video in dataset:
        result = vot_result_path(os.path.dirname(folder), os.path.basename(folder), video.name)
        counts["resumed" if os.path.isfile(result) and os.stat(result).st_mtime_ns < start else "run"] += 1
    return counts


def check_provenance(args, cfg, dataset, folder):
    from src.evaluation import manifest
    new, stored = _manifests(args, cfg, dataset, folder)
    if args.overwrite:
        manifest.remove_results(folder)
        stored = None
    _, warning = manifest.check_resume(folder, stored, new)
    if warning:
        print(warning, file=sys.stderr)
    os.makedirs(folder, exist_ok=True)
    manifest.write_manifest(folder, manifest.merged(stored, new))
    print(f"provenance: {folder} is this run's ({manifest.MANIFEST_NAME} written)")


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
        folder = os.path.join(results_dir, name)
        if args.check_provenance:
            return check_provenance(args, cfg, dataset, folder)
        new, stored = _manifests(args, cfg, dataset, folder)
        if stored is not None:          # results of another export are never credited to this one
            from src.evaluation import manifest
            manifest.check_resume(folder, stored, new)
        scores = evaluate.score(dataset, kind, results_dir, [name], args.eao_range)
        fps = evaluate.recorded_fps(dataset, kind, results_dir, name)
        extra = {"exported_model": os.path.abspath(args.model_path), "backend": args.backend,
                 "config": cfg.name, "model": Config.to_dict(cfg)["model"],
                 "hyperparameters": Config.to_dict(cfg)["track"],
                 "results_dir": os.path.abspath(folder)}
        from src.evaluation import manifest
        extra.update(manifest.record_fields(new, folder, stored, _counts(dataset, folder)))
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

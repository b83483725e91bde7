"""Evaluate trackers on VOT / VOT-LT / OTB / GOT-10k / LaSOT / DAVIS and write eval.json.

    python eval.py --ckpt CKPT --dataset_path DATA/VOT2018 --dataset_name VOT2018 --filename eval.json
    python eval.py --ckpt_dir OUTPUT --epochs 10-20 --dataset_path ... --dataset_name ...   (checkpoint sweep)
    python eval.py --backend onnx --model_dir EXPORT_DIR --dataset_path ... --dataset_name ...  (exported graphs)
    python eval.py --backend openvino --model_dir ONNX_EXPORT_DIR [--precision_mode bf16] ...  (OpenVINO, in process)
    python eval.py --score_only --results_dir results --dataset_path ... --dataset_name ... [--tracker_names A B]
    python eval.py --ckpt SIAMMASK_CKPT --dataset_path DATA/DAVIS --dataset_name DAVIS2016 --hp_preset siammask_davis

The experiment config comes from the checkpoint (train.py and convert_pth
store it; for exported graphs, the export's JSON) unless --config is given;
dotted overrides (--track.penalty_k 0.2) apply on top (exported graphs have
fixed input shapes: track.instance_size, and SiamFC's track.scale_num, the
batch of its search graph, cannot change, nor can any model.* value the graphs
hold; such a run is refused before any tracking). On a checkpoint, model.*
values that leave its parameters as they are may change, e.g. SA-Siam's
--model.appearance_weight 1 (appearance branch alone) or 0 (semantic alone). Exports of every format version load (src/export.py read_export
upgrades format 1). Result files go to
<results_dir>/<dataset_name>/<tracker>/ in the official layouts, beside a
manifest.json of what made them (checkpoint or exported-graph sha256, the
whole config, back-end and precision, dataset and ground-truth sha256, code
version: src/evaluation/manifest.py). An interrupted run resumes where it
stopped, but only into a folder whose manifest matches this run: results of
another checkpoint, config, back-end or data are refused before anything runs
(use another --tracker_name, or --overwrite to replace them). eval.json
records the checkpoint hash and how many sequences were run and resumed.
Before any tracking the dataset is loaded and the EAO interval checked
(VOT-like names other than VOT2016-2019 need --eao_range LOW HIGH).

DAVIS-like names (DAVIS2016, DAVIS2017, DAVISSYN, ...) run video object
segmentation: a mask tracker (SiamMask) starts from each object's first-frame
mask box, writes <tracker>/<seq>/<frame>.png per frame and is scored with
DAVIS's J (region IoU) and F (boundary F-measure): mean, recall and decay.
SiamMask's DAVIS hyperparameters are the preset shown above (src/tracker/presets.py).

VOT long-term names (VOT2018-LT, VOT2019-LT, VOTLTSYN: ``python -m src.data.synthetic
--lt_videos N``) run one pass per sequence without re-initialisation, also while the
target is absent (NaN ground truth), record each frame's box and confidence (the
tracker's ``confidence``, else the score it returns) in pysot's layout
<tracker>/longterm/<seq>/<seq>_001.txt and <seq>_001_confidence.value, and are scored
as pysot's F1Benchmark scores them: tracking precision, recall and F-score at the
confidence threshold where F is largest (src/evaluation/lt_metrics.py), with
precision-recall and F-vs-threshold plots.
"""
import argparse
import glob
import os
import re
import sys

import src  # noqa: F401  (CPU convolution fix before mindspore loads)
from src.config import ConfigError
from src.tracker.presets import cli_overrides, preset_help
from src.utils import ensure_output_dir, str2bool


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Evaluate Siamese trackers (VOT / VOT-LT / OTB / GOT-10k / LaSOT / "
                                            "DAVIS)")
    p.add_argument("--dataset_path", required=True, help="dataset root, e.g. testing_dataset/VOT2018")
    p.add_argument("--dataset_name", required=True,
                   help="VOT2016..VOT2019 (or VOT-like), VOT2018-LT/VOT2019-LT/VOTLTSYN (long-term), OTB100, "
                        "GOT10k-val, LaSOT, DAVIS2016/DAVIS2017 (or DAVIS-like)")
    p.add_argument("--filename", default="eval.json", help="where to write the evaluation record")
    p.add_argument("--results_dir", default="./results", help="root of the result files")
    p.add_argument("--config", default=None, help="experiment YAML (default: the one stored in the checkpoint)")
    p.add_argument("--ckpt", "--ckpt_file", dest="ckpt", default=None,
                   help="checkpoint to evaluate (--ckpt_file: the same, as export_mindir.py names it)")
    p.add_argument("--ckpt_dir", default=None, help="evaluate every <name>_epochNNN.ckpt here (sweep)")
    p.add_argument("--epochs", default=None, help="sweep only these epochs, e.g. 10-20 or 5,10,15")
    p.add_argument("--backend", default="mindspore", choices=["mindspore", "mindir", "onnx", "openvino"],
                   help="mindspore: the checkpoint's Cell; mindir / onnx: graphs from export_mindir.py; "
                        "openvino: its ONNX graphs through OpenVINO's CPU runtime")
    p.add_argument("--model_dir", default=None,
                   help="with --backend mindir|onnx|openvino: the export folder (or its .json)")
    p.add_argument("--precision_mode", default=None, choices=["f32", "bf16"],
                   help="with --backend openvino: f32 (default; matches the other back-ends) or bf16 (OpenVINO's "
                        "bf16 kernels, CPUs with native bf16 only; recorded as backend 'openvino (bf16)')")
    p.add_argument("--tracker_name", default=None,
                   help="result folder name (default: the config name; in a sweep NAME_<checkpoint name>)")
    p.add_argument("--overwrite", type=str2bool, nargs="?", const=True, default=False,
                   help="remove this tracker's earlier result files first (they were made by another model, "
                        "config or data, or before result folders had a manifest)")
    p.add_argument("--score_only", type=str2bool, nargs="?", const=True, default=False,
                   help="score existing result files, run nothing")
    p.add_argument("--tracker_names", nargs="*", default=None, help="with --score_only (default: all found)")
    p.add_argument("--eao_range", nargs=2, type=int, default=None, metavar=("LOW", "HIGH"),
                   help="EAO sequence-length interval, 1 <= LOW <= HIGH <= longest sequence "
                        "(known for VOT2016-2019; needed for other VOT-like names)")
    p.add_argument("--require_all_sequences", type=str2bool, nargs="?", const=True, default=False,
                   help="refuse a dataset whose list or JSON names sequences missing on disk "
                        "(default: evaluate those present and report the missing ones)")
    p.add_argument("--hp_preset", default=None,
                   help=preset_help())
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
    """[(epoch, path)] of the directory's ``<prefix>_epochNNN.ckpt`` checkpoints (any prefix), oldest first."""
    from src.training.checkpoint import checkpoint_epoch
    if not os.path.isdir(ckpt_dir):
        raise FileNotFoundError(f"checkpoint directory not found: {ckpt_dir}")
    found = []
    for path in glob.glob(os.path.join(glob.escape(ckpt_dir), "*_epoch*.ckpt")):
        epoch = checkpoint_epoch(path, os.path.basename(path).rsplit("_epoch", 1)[0])
        if epoch is not None and (epochs is None or epoch in epochs):
            found.append((epoch, path))
    if not found:
        raise FileNotFoundError(f"no *_epochNNN.ckpt checkpoints{' for --epochs' if epochs else ''} in {ckpt_dir}")
    return sorted(found)


def sweep_tracker_name(tracker_name, ckpt_path):
    """Result folder of one sweep checkpoint: ``NAME_<checkpoint name>``, or the checkpoint name."""
    stem = os.path.splitext(os.path.basename(ckpt_path))[0]
    return f"{tracker_name}_{stem}" if tracker_name else stem


def check_tracker_name(name, flag="--tracker_name"):
    """A tracker name is one folder name: no path separator, not hidden (temp files are), not . or .."""
    if not name or name in (".", "..") or name.startswith(".") or "/" in name or "\\" in name \
            or os.sep in name:
        raise ValueError(f"{flag} {name!r}: expected a plain folder name (no '/', not starting with '.')")
    return name


def check_eao_range(args, protocol, dataset):
    """Before any tracking: the EAO interval of a VOT-like dataset (known or --eao_range) fits its sequences."""
    from src.evaluation.vot_metrics import check_eao_range as check
    if protocol != "vot":
        if args.eao_range is not None:
            raise ValueError(f"--eao_range applies to VOT datasets; {args.dataset_name} is scored "
                             f"without EAO")
        return
    check(args.eao_range, [len(v) for v in dataset], args.dataset_name)


class Run:
    """One model to evaluate: its source (checkpoint or export), result folder and provenance."""

    def __init__(self, args, source, tracker_name, overrides, dataset, dataset_id, protocol, results_dir):
        from src.config import Config
        from src.evaluation import manifest
        from src.tracker.backends import backend_record
        self.source, self.loaded = source, None
        cfg, backend, extra = self.load(args, overrides)
        if protocol == "vos":
            from src.evaluation import evaluate
            from src.tracker import build_tracker
            if not evaluate.produces_masks(build_tracker(cfg, backend)):
                raise ValueError(f"model.arch {cfg.model.arch} produces no masks; {dataset.name} is scored on "
                                 f"segmentation masks (J/F): evaluate a SiamMask model (model.arch siammask, "
                                 f"e.g. configs/siammask_sharp.yaml)")
        self.name = check_tracker_name(tracker_name or cfg.name)
        self.folder = os.path.join(results_dir, self.name)
        # OpenVINO in bf16 is recorded as another back-end ("openvino (bf16)") in precision bfloat16
        backend_name, precision = backend_record(args.backend, args.precision_mode)
        self.new = manifest.build_manifest(self.name, manifest.model_identity(backend_name, source, precision),
                                           Config.to_dict(cfg), dataset_id)
        self.stored = None if args.overwrite else manifest.read_manifest(self.folder)
        if args.overwrite:
            self.reuse, self.warning = set(), None
        else:
            self.reuse, self.warning = manifest.check_resume(self.folder, self.stored, self.new)
        self.loaded = (cfg, backend, extra)

    def load(self, args, overrides):
        from src.tracker.backends import load_tracker_model
        return load_tracker_model(args.backend, self.source, args.config, overrides, args.precision_mode)

    def release(self):
        self.loaded = None


def evaluate_run(args, run, overrides, dataset, protocol, results_dir):
    """Track (reusing what the manifest allows), score, and build the eval.json record of one run."""
    from src.config import Config
    from src.evaluation import evaluate, manifest
    from src.tracker import build_tracker

    cfg, backend, extra = run.loaded or run.load(args, overrides)
    run.release()
    if run.warning:
        print(run.warning, file=sys.stderr)
    ensure_output_dir(args.results_dir, "--results_dir")      # created only once every check passed
    if args.overwrite:
        manifest.remove_results(run.folder)
    manifest.write_manifest(run.folder, manifest.merged(run.stored, run.new))
    fps, counts = evaluate.run_dataset(lambda: build_tracker(cfg, backend), dataset, protocol, results_dir,
                                       run.name, run.reuse)
    scores = evaluate.score(dataset, protocol, results_dir, [run.name], args.eao_range)
    extra.update({"config": cfg.name, "model": Config.to_dict(cfg)["model"],
                  "hyperparameters": Config.to_dict(cfg)["track"],
                  "results_dir": os.path.abspath(run.folder)})
    extra.update(manifest.record_fields(run.new, run.folder, run.stored, counts))
    return scores, evaluate.eval_record(protocol, dataset, run.name, scores, fps, extra)


def score_only(args, dataset, protocol, results_dir):
    from src.evaluation import evaluate, manifest
    if args.overwrite:
        raise ValueError("--overwrite removes result files; --score_only only reads them: use one of them")
    if not os.path.isdir(results_dir):
        raise FileNotFoundError(f"no results folder {results_dir} (--results_dir {args.results_dir}, "
                                f"--dataset_name {args.dataset_name})")
    names = args.tracker_names or sorted(d for d in os.listdir(results_dir) if not d.startswith(".")
                                         and os.path.isdir(os.path.join(results_dir, d)))
    if not names:
        raise FileNotFoundError(f"no tracker results in {results_dir}")
    for name in names:
        check_tracker_name(name, "--tracker_names")
    scores = evaluate.score(dataset, protocol, results_dir, names, args.eao_range)
    trackers = {}
    for n, s in scores.items():
        trackers[n] = dict(zip(("per_video", "all_videos"), evaluate.summarise(protocol, s)))
        try:
            stored = manifest.read_manifest(os.path.join(results_dir, n))
        except manifest.ProvenanceError as e:      # scoring needs no manifest; say why it is left out
            print(f"warning: {e}", file=sys.stderr)
            stored = None
        if stored is not None:
            trackers[n]["manifest"] = stored
    record = {"dataset": dataset.name, **evaluate.dataset_notes(dataset),
              "results_dir": os.path.abspath(results_dir), "trackers": trackers,
              "software": evaluate.software_versions()}
    return scores, record


def main(argv=None):
    args, rest = parse_args(argv)
    from src.evaluation import evaluate
    from src.evaluation.datasets import DatasetError, load_dataset
    from src.evaluation.results import ResultsError

    try:
        overrides = cli_overrides(rest, args.hp_preset)
        from src.tracker.backends import check_precision_mode
        check_precision_mode(args.backend, args.precision_mode)
        protocol = evaluate.protocol_of(args.dataset_name)
        if args.tracker_name is not None:
            check_tracker_name(args.tracker_name)
        if os.path.isdir(args.filename):
            raise ValueError(f"--filename {args.filename} is a folder; give the eval.json file to write")
        if not os.path.isdir(args.dataset_path):
            raise FileNotFoundError(f"dataset path not found: {args.dataset_path}")
        # the whole dataset is checked before any model loads; sequences missing on disk are left
        # out (and listed in eval.json's dataset_notes) unless --require_all_sequences; scoring
        # needs no frame files, so --score_only does not check them
        dataset = load_dataset(args.dataset_name, args.dataset_path,
                               missing="error" if args.require_all_sequences else "warn",
                               check_frames=not args.score_only)
        check_eao_range(args, protocol, dataset)
        results_dir = os.path.join(args.results_dir, args.dataset_name)
        out_dir = os.path.dirname(os.path.abspath(args.filename))
        if args.score_only:
            scores, record = score_only(args, dataset, protocol, results_dir)
        else:
            if args.backend != "mindspore":
                if not args.model_dir:
                    from src.tracker.backends import EXPORTED_BACKENDS
                    raise ValueError(f"--backend {args.backend} runs exported graphs: give --model_dir "
                                     f"(made by export_mindir.py --file_format {EXPORTED_BACKENDS[args.backend][1][0]})")
                sources = [(args.model_dir, args.tracker_name)]
            elif args.ckpt_dir:
                sources = [(path, sweep_tracker_name(args.tracker_name, path))
                           for _, path in sweep_checkpoints(args.ckpt_dir, parse_epochs(args.epochs))]
            elif args.ckpt:
                sources = [(args.ckpt, args.tracker_name)]
            else:
                raise ValueError("give --ckpt (or --ckpt_file), --ckpt_dir or --score_only")
            from src.device import setup_context
            setup_context(args.device_target, args.device_id)
            # every model loaded and every results folder checked before the first sequence runs
            from src.evaluation.manifest import dataset_identity
            dataset_id, runs = dataset_identity(dataset), []
            for source, name in sources:
                runs.append(Run(args, source, name, overrides, dataset, dataset_id, protocol, results_dir))
                if len(sources) > 1:
                    runs[-1].release()         # a sweep loads each checkpoint again when its turn comes
            scores, records = {}, {}
            for run in runs:
                s, records[run.name] = evaluate_run(args, run, overrides, dataset, protocol, results_dir)
                scores.update(s)
            if len(records) == 1:
                record = next(iter(records.values()))
            else:
                key = evaluate.MAIN_METRIC[protocol]
                ranking = sorted(records, key=lambda n: -records[n]["all_videos"][key])
                record = {"dataset": dataset.name, "sweep": {n: records[n]["all_videos"] for n in ranking},
                          "ranked_by": key, "best": records[ranking[0]], "software": evaluate.software_versions()}
        print(evaluate.format_table(protocol, scores, args.dataset_name))
        if args.plots:
            evaluate.write_plots(protocol, scores, out_dir, args.dataset_name)
        evaluate.write_json(args.filename, record)
        print(f"wrote {args.filename}")
    except (ConfigError, DatasetError, ResultsError, OSError, ValueError) as e:
        sys.exit(f"eval.py: {e}")


if __name__ == "__main__":
    main()

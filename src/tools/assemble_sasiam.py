"""Assemble the SA-Siam checkpoint from its two separately trained branches.

    python -m src.tools.assemble_sasiam --appearance OUT_A/sasiam_appearance_epoch030.ckpt \\
        --semantic OUT_S/sasiam_semantic_epoch030.ckpt --output sasiam.ckpt [--appearance_weight 0.3]

SA-Siam trains its appearance and semantic branches in two runs (configs/sasiam_appearance.yaml,
configs/sasiam_semantic.yaml; MS experiments/train-{appearance,semantic}-network.py), each
checkpoint holding the whole SASiam network with the other branch untrained. The tracker
needs both trained branches: ``appearance.*`` comes from the appearance run, ``semantic.*``
(the frozen backbone, attention, 1x1 fusion and the semantic head bias) from the semantic
run. The output is an ordinary checkpoint that eval.py, demo.py and export_mindir.py read:
it carries the semantic run's config (model.appearance_weight replaced when given; the train
section is that run's, informative only) and an ``assembled_from`` record (file, sha256 and
epoch of each source), so every figure made from it traces back to both runs.

Refused in one line: a checkpoint that is not SA-Siam, not of the branch it is given as,
lacks a parameter, or whose model section differs from the other's (other widths, another
fusion: the branches would not fit one network). ``appearance_weight`` may differ: it only
weights the responses.
"""
import argparse
import json
import sys

from ..training.checkpoint import check_fits, config_of_checkpoint, load_checkpoint_checked, save_checkpoint_atomic

# the SASiam cells each run trains (src/models/sasiam.py BRANCHES)
BRANCH_PREFIX = {"appearance": "appearance.", "semantic": "semantic."}
# model keys that may differ between the runs: they do not change the parameters
FREE_MODEL_KEYS = ("model.appearance_weight",)


class AssemblyError(ValueError):
    pass


def _branch_run(path, branch):
    """(params, cfg) of ``path``, checked to be an SA-Siam run of ``branch``."""
    params = load_checkpoint_checked(path)
    cfg = config_of_checkpoint(params, path)
    if cfg.model.arch != "sasiam":
        raise AssemblyError(f"{path}: model.arch is '{cfg.model.arch}', not 'sasiam'")
    if cfg.train.branch != branch:
        raise AssemblyError(f"{path}: a train.branch '{cfg.train.branch}' checkpoint given as --{branch}")
    return params, cfg


def _epoch(params):
    value = params.get("epoch")
    try:
        return int(value.asnumpy()) if hasattr(value, "asnumpy") else (int(value) if value is not None else None)
    except (TypeError, ValueError):
        return None


def assemble(appearance_path, semantic_path, output, appearance_weight=None):
    """Write ``output`` from the two branch checkpoints; returns its config."""
    from ..config import differences, replace, to_yaml
    from ..evaluation.manifest import file_sha256
    from ..models import build_model

    params_a, cfg_a = _branch_run(appearance_path, "appearance")
    params_s, cfg_s = _branch_run(semantic_path, "semantic")
    for key, theirs, ours in differences({"model": cfg_a.to_dict()["model"]}, {"model": cfg_s.to_dict()["model"]}):
        if key not in FREE_MODEL_KEYS:
            raise AssemblyError(f"the branch runs differ in {key}: {theirs!r} in {appearance_path}, "
                                f"{ours!r} in {semantic_path}")
    cfg = cfg_s if appearance_weight is None else replace(cfg_s, **{"model.appearance_weight": appearance_weight})
    net = build_model(cfg)
    sources = {"appearance": (params_a, appearance_path), "semantic": (params_s, semantic_path)}
    chosen = []
    for p in net.get_parameters():
        branch = next((b for b, prefix in BRANCH_PREFIX.items() if p.name.startswith(prefix)), None)
        if branch is None:
            raise AssemblyError(f"parameter {p.name} belongs to neither branch ({', '.join(BRANCH_PREFIX)})")
        params, path = sources[branch]
        check_fits([p], params, path, cfg, f"not a complete {branch} branch of this network")
        chosen.append({"name": p.name, "data": params[p.name]})
    record = {b: {"file": path, "sha256": file_sha256(path), "epoch": _epoch(params)}
              for b, (params, path) in sources.items()}
    save_checkpoint_atomic(chosen, output, append_dict={"config": to_yaml(cfg),
                                                        "assembled_from": json.dumps(record, sort_keys=True)})
    return cfg


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appearance", required=True, help="checkpoint of the train.branch appearance run")
    parser.add_argument("--semantic", required=True, help="checkpoint of the train.branch semantic run")
    parser.add_argument("--output", required=True, help="the SA-Siam checkpoint to write")
    parser.add_argument("--appearance_weight", type=float, default=None,
                        help="model.appearance_weight of the output (default: the semantic run's, 0.3)")
    args = parser.parse_args(argv)
    try:
        cfg = assemble(args.appearance, args.semantic, args.output, args.appearance_weight)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"assemble_sasiam: {e}")
    print(f"wrote {args.output}: appearance from {args.appearance}, semantic from {args.semantic}, "
          f"appearance_weight {cfg.model.appearance_weight}")


if __name__ == "__main__":
    main()

"""Assembly of the SA-Siam checkpoint from its two branch runs (src/tools/assemble_sasiam.py)."""
import json

import mindspore as ms
import numpy as np
import pytest

from src.config import replace, to_yaml
from src.models.sasiam import SASiamModelConfig  # noqa: F401  (registers the family)
from src.tools.assemble_sasiam import assemble, main
from src.training.checkpoint import load_checkpoint_checked, load_model_checkpoint, save_checkpoint_atomic


def _run_checkpoint(path, branch, seed, **changes):
    """A branch run's checkpoint as train.py writes it: the whole SASiam net, its config, its epoch."""
    from src.config import load_config
    from src.models import build_model
    cfg = load_config(f"configs/sasiam_{branch}.yaml")
    cfg = replace(cfg, **{"model.width_mult": 0.125, **changes})
    ms.set_seed(seed)
    net = build_model(cfg)
    save_checkpoint_atomic(net, str(path), append_dict={"epoch": 3, "config": to_yaml(cfg)})
    return {p.name: p.asnumpy().copy() for p in net.get_parameters()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs")
    a = _run_checkpoint(d / "a.ckpt", "appearance", 1)
    s = _run_checkpoint(d / "s.ckpt", "semantic", 2)
    return d, a, s


def test_each_branch_comes_from_its_run(runs, tmp_path):
    d, a, s = runs
    out = tmp_path / "sasiam.ckpt"
    assemble(str(d / "a.ckpt"), str(d / "s.ckpt"), str(out), appearance_weight=0.25)
    cfg, net = load_model_checkpoint(str(out))
    assert cfg.model.appearance_weight == 0.25 and cfg.model.width_mult == 0.125
    got = {p.name: p.asnumpy() for p in net.get_parameters()}
    assert set(got) == set(a) == set(s)
    n_a = 0
    for name, value in got.items():
        source = a if name.startswith("appearance.") else s
        n_a += name.startswith("appearance.")
        np.testing.assert_array_equal(value, source[name], err_msg=name)
    assert 0 < n_a < len(got)
    # the two seeds differ, so taking a parameter from the wrong run would have shown
    assert not np.array_equal(a["semantic.head.bias"], s["semantic.head.bias"]) or \
        not np.array_equal(a["semantic.c1x1_conv4.weight"], s["semantic.c1x1_conv4.weight"])
    record = json.loads(str(load_checkpoint_checked(str(out))["assembled_from"]))
    assert record["appearance"]["file"] == str(d / "a.ckpt") and record["semantic"]["epoch"] == 3
    assert len(record["semantic"]["sha256"]) == 64


def test_weight_defaults_to_the_semantic_run(runs, tmp_path):
    d, _, _ = runs
    cfg = assemble(str(d / "a.ckpt"), str(d / "s.ckpt"), str(tmp_path / "x.ckpt"))
    assert cfg.model.appearance_weight == 0.3


def test_refusals_are_one_line_and_write_nothing(runs, tmp_path, capsys):
    d, _, _ = runs
    out = tmp_path / "out.ckpt"
    cases = [
        (["--appearance", str(d / "s.ckpt"), "--semantic", str(d / "s.ckpt")],
         "a train.branch 'semantic' checkpoint given as --appearance"),
        (["--appearance", str(d / "a.ckpt"), "--semantic", str(tmp_path / "none.ckpt")], "checkpoint not found"),
    ]
    _run_checkpoint(tmp_path / "wide.ckpt", "semantic", 3, **{"model.fusion_channels": 16})
    cases.append((["--appearance", str(d / "a.ckpt"), "--semantic", str(tmp_path / "wide.ckpt")],
                  "the branch runs differ in model.fusion_channels: 128 in"))
    for argv, message in cases:
        with pytest.raises(SystemExit) as e:
            main(argv + ["--output", str(out)])
        text = str(e.value.code)
        assert text.startswith("assemble_sasiam: ") and message in text and "\n" not in text
        assert not out.exists()

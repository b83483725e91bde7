"""SA-Siam's quick start: the stand-in pre-training of the semantic CaffeNet
(src/tools/pretrain_semantic.py), configs/quickstart_sasiam.yaml for both branch runs, and
scripts/run_quickstart_sasiam.sh end to end on tiny data (the slow test)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from src.config import differences, load_config, parse_overrides
from src.models.registry import get_family
from src.models.sasiam import check_branch_frozen
from src.tools import pretrain_semantic as ps

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "configs", "quickstart_sasiam.yaml")
SEMANTIC_RUN = ["--train.branch", "semantic", "--train.frozen_modules", "[appearance, semantic.backbone]"]


def test_batches_are_balanced_deterministic_and_labelled_by_pattern():
    from src.data.synthetic import PATTERNS, object_classes
    x, y = ps.render_batch(np.random.default_rng(5), 8, 87, "pattern")
    assert x.shape == (8, 3, 87, 87) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 255
    assert sorted(y.tolist()) == [0, 0, 1, 1, 2, 2, 3, 3] and len(PATTERNS) == 4
    x2, y2 = ps.render_batch(np.random.default_rng(5), 8, 87, "pattern")
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    # the stream goes on: the next batch of the same generator is another one
    rng = np.random.default_rng(5)
    ps.render_batch(rng, 8, 87, "pattern")
    assert not np.array_equal(ps.render_batch(rng, 8, 87, "pattern")[0], x)
    _, y12 = ps.render_batch(np.random.default_rng(5), 12, 87, "kind_pattern")
    assert sorted(y12.tolist()) == list(range(len(object_classes()))) == list(range(12))
    assert ps.class_names("pattern") == list(PATTERNS) and ps.class_names("kind_pattern")[0] == "ellipse/stripes"


def test_unit_std_init_gives_every_conv_output_std_one():
    import mindspore as ms
    import mindspore.ops as ops
    net = ps.build_classifier(0.25, 4)
    images = ps.render_batch(np.random.default_rng(0), 8, 127, "pattern")[0]
    stds = ps.unit_std_init(net.backbone, images)
    # xavier weights on raw pixels: conv1's output is far from unit scale before the rescale
    assert len(stds) == 5 and stds[0] > 5
    b = net.backbone
    x = ops.flip(ms.Tensor(images) - b.mean, (1,))
    for i, conv in enumerate((b.conv1, b.conv2, b.conv3, b.conv4, b.conv5)):
        out = conv(x)
        assert float(out.asnumpy().std()) == pytest.approx(1.0, rel=1e-3), f"conv{i + 1}"
        x = b.relu(out)
        if i < 2:
            x = b.lrn(b.pool(x))


def test_pretrain_writes_the_backbone_the_semantic_run_loads(tmp_path):
    import mindspore as ms
    from src.training.trainer import load_pretrained
    out = tmp_path / "caffenet_syn.ckpt"
    before, after = ps.pretrain(str(out), steps=2, batch=4, val_samples=8, size=87, progress=False)
    assert 0 <= before <= 1 and 0 <= after <= 1
    saved = ms.load_checkpoint(str(out))
    assert "2 steps of 4" in saved["pretrain_semantic"] and "pattern classes (4)" in saved["pretrain_semantic"]
    cfg = load_config(CONFIG, parse_overrides(SEMANTIC_RUN))
    net = get_family("sasiam").build_model(cfg)
    backbone = {p.name: p.shape for p in net.get_parameters() if p.name.startswith("semantic.backbone.")}
    tensors = {k: tuple(v.shape) for k, v in saved.items() if k != "pretrain_semantic"}
    assert tensors == {k: tuple(s) for k, s in backbone.items()}
    load_pretrained(net, "semantic.backbone", str(out), cfg)
    for p in net.get_parameters():
        if p.name in tensors:
            np.testing.assert_array_equal(p.asnumpy(), saved[p.name].asnumpy())


@pytest.mark.parametrize("argv, message", [
    (["--steps", "0"], "--steps must be >= 1, got 0"),
    (["--size", "80"], "--size must be >= 87"),
    (["--lr", "-1"], "--width_mult and --lr must be > 0"),
])
def test_pretrain_refuses_bad_arguments_in_one_line_and_writes_nothing(tmp_path, argv, message):
    out = tmp_path / "x.ckpt"
    with pytest.raises(SystemExit) as e:
        ps.main(["--output", str(out), *argv])
    assert message in str(e.value) and "\n" not in str(e.value)
    assert not out.exists()


def test_one_config_serves_both_branch_runs_and_their_assembly():
    appearance = load_config(CONFIG)
    semantic = load_config(CONFIG, parse_overrides(SEMANTIC_RUN))
    assert (appearance.train.branch, semantic.train.branch) == ("appearance", "semantic")
    for cfg in (appearance, semantic):
        check_branch_frozen(cfg.train)
        assert cfg.train.weight_decay_on == "conv_weights"
        assert (cfg.train.exemplar_size, cfg.train.search_size, cfg.train.output_size) == (239, 239, 15)
    # assemble_sasiam needs the same model section from both runs
    assert differences(appearance.to_dict()["model"], semantic.to_dict()["model"]) == []
    assert sorted(differences(appearance.to_dict()["train"], semantic.to_dict()["train"])) == [
        ("branch", "appearance", "semantic"), ("frozen_modules", ["semantic"], ["appearance", "semantic.backbone"])]
    # the reference's tracker, as configs/sasiam_semantic.yaml
    assert appearance.track == load_config(os.path.join(ROOT, "configs", "sasiam_semantic.yaml")).track
    # switching the branch alone would leave the pretrained CaffeNet training
    with pytest.raises(ValueError, match=r"train\.frozen_modules' must include \['appearance', 'semantic\.backbone'\]"):
        check_branch_frozen(load_config(CONFIG, parse_overrides(["--train.branch", "semantic"])).train)


@pytest.mark.slow
def test_the_script_runs_pretraining_both_branches_assembly_and_three_evaluations(tmp_path):
    """The whole script on tiny data: what it writes and how its verdict follows the reports."""
    from src.data.synthetic import generate
    out = tmp_path / "qs"
    generate(str(out / "data"), seed=3, train_videos=4, train_frames=6, val_videos=2, test_videos=1,
             test_frames=120)      # the script's EAO range is 50-120
    proc = subprocess.run(
        ["bash", os.path.join(ROOT, "scripts", "run_quickstart_sasiam.sh"), str(out), "1.0", "1.0",
         "--model.width_mult", "0.125", "--model.fusion_channels", "8", "--train.epochs", "1",
         "--train.batch_size", "4", "--data.videos_per_epoch", "8", "--data.val_pairs", "4",
         "--data.num_workers", "1"],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
        env={**os.environ, "PRETRAIN_SEMANTIC_ARGS": "--steps 2 --batch 4 --val_samples 4 --size 87 --progress 0"})
    assert proc.returncode in (0, 1) and "VOT EAO" in proc.stdout, proc.stderr[-3000:]
    assert "held-out accuracy: untrained" in proc.stdout
    assert (out / "caffenet_syn.ckpt").is_file()
    assert sorted(os.listdir(out / "sasiam")) == ["quickstart_sasiam_epoch000.ckpt", "quickstart_sasiam_epoch001.ckpt"]
    eao = {}
    for name, weight in (("appearance", 1.0), ("semantic", 0.0), ("fused", 0.3)):
        record = json.loads((out / f"eval_{name}.json").read_text())
        assert record["best"]["model"]["appearance_weight"] == weight, name
        assert sorted(record["sweep"]) == ["quickstart_sasiam_epoch000", "quickstart_sasiam_epoch001"]
        eao[name] = [record["sweep"][k]["eao"] for k in sorted(record["sweep"])]
    # the closing table prints the sweeps' figures
    for name, (untrained, trained) in eao.items():
        assert f"{name:<12}{untrained:>10.3f}{trained:>10.3f}" in proc.stdout
    # one report per branch; the exit status is 1 exactly when one of them says it did not learn
    assert proc.stdout.count("the model learned") + proc.stdout.count("the model did NOT learn enough") == 2
    assert (proc.returncode == 1) == ("did NOT learn" in proc.stdout)

"""SiamFC through the family registry: loader rows (RGB crops, the constant label map), the
held-out metric, and a tiny Trainer run whose checkpoint eval.py scores on a synthetic VOT set
and demo.py tracks."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from src.config import load_config, replace
from src.data.crop511 import TrackingPairs
from src.data.pipeline import columns
from src.models.registry import families, get_family
from src.models.siamfc_loss import SiamFCTargets, label_map
from src.training.trainer import Trainer
from src.training.validate import response_peak_hit_rate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cfg(**changes):
    cfg = load_config(os.path.join(ROOT, "configs", "quickstart_siamfc.yaml"))
    return replace(cfg, **{"model.width_mult": 0.125, "train.batch_size": 4, "data.videos_per_epoch": 48,
                           "data.val_pairs": 8, "data.num_workers": 1, "train.lr.start": 0.02,
                           "train.lr.end": 0.01, **changes})


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from src.data.synthetic import generate
    out = tmp_path_factory.mktemp("syn")
    generate(str(out), seed=2, train_videos=4, train_frames=6, val_videos=2, test_videos=2, test_frames=16)
    return str(out)


def test_registry_lists_the_families_and_refuses_others_in_one_line():
    assert families() == ["sasiam", "siamfc", "siammask", "siamrpn"]
    with pytest.raises(ValueError, match=r"^unknown model.arch 'siamxx' \(choose from \['sasiam', 'siamfc', 'siammask', "
                                         r"'siamrpn'\]\)$"):
        get_family("siamxx")
    assert [g.outputs for g in get_family("siamfc").graphs(_cfg())] == [("kernel0",), ("response",)]
    assert get_family("siamfc").input_color(_cfg()) == "RGB"


def test_loader_rows_are_rgb_crops_with_the_constant_label_map(tiny_data):
    cfg = _cfg()
    assert columns(cfg) == ["template", "search", "label"]
    pairs = TrackingPairs(cfg, tiny_data, "train")
    template, search, label = pairs[5]
    assert template.shape == (3, 127, 127) and search.shape == (3, 239, 239) and template.dtype == np.float32
    np.testing.assert_array_equal(label, label_map(15)[None])
    assert label.sum() == 13   # the reference's 13 positives (L1 radius 2 cells)
    # the same draw through SiamRPN's targets gives the BGR crops: SiamFC's are their channel flip
    rpn = TrackingPairs(replace(cfg, **{"model.arch": "siamrpn"}), tiny_data, "train")
    bgr_template, bgr_search = rpn[5][:2]
    np.testing.assert_array_equal(template, bgr_template[::-1])
    np.testing.assert_array_equal(search, bgr_search[::-1])
    assert not np.array_equal(template, bgr_template)
    again = TrackingPairs(cfg, tiny_data, "train")[5]
    np.testing.assert_array_equal(again[1], search)   # reproducible per sample


def test_siamfc_alexnet_trains_with_the_reference_recipe():
    """configs/siamfc_alexnet.yaml is siamfc-pytorch's recipe (../shared/reference/siamfc_sasiam.md
    sections 5-7); the quick start shares its pairs, labels and loss (only width, data and schedule
    differ)."""
    from src.training.lr_schedule import epoch_lrs
    cfg = load_config(os.path.join(ROOT, "configs", "siamfc_alexnet.yaml"))
    t = cfg.train
    assert (t.exemplar_size, t.search_size, t.output_size, t.batch_size, t.epochs) == (127, 239, 15, 8, 50)
    assert (t.momentum, t.weight_decay, t.frozen_layers) == (0.9, 5e-4, ())
    # ExponentialLR(gamma = (1e-5 / 1e-2) ** (1 / 50)) stepped per epoch: 1e-2 * gamma ** e, e = 0..49
    gamma = (1e-5 / 1e-2) ** (1 / 50)
    np.testing.assert_allclose(epoch_lrs(t.lr, 50), 1e-2 * gamma ** np.arange(50), rtol=1e-4)
    np.testing.assert_array_equal(SiamFCTargets.from_config(cfg).map, label_map(15)[None])
    assert get_family("siamfc").build_loss(cfg, get_family("siamfc").build_model(cfg))[0].loss.neg_weight == 1.0
    # RandomStretch(0.05), CenterCrop(247) + RandomCrop(239): <= 4 px; no colour, blur, gray, flip,
    # negative pairs: the constant label map needs the target at the crop centre
    d = cfg.data
    for aug in (d.template_aug, d.search_aug):
        assert (aug.shift, aug.scale, aug.blur, aug.flip, aug.color) == (4, 0.05, 0, 0, 0)
    assert (d.neg, d.gray) == (0, 0)
    quick = load_config(os.path.join(ROOT, "configs", "quickstart_siamfc.yaml"))
    assert (quick.data.template_aug, quick.data.search_aug, quick.data.neg) == (d.template_aug, d.search_aug, d.neg)
    for key in ("exemplar_size", "search_size", "output_size", "batch_size", "momentum", "weight_decay",
                "r_pos", "r_neg", "label_metric", "neg_weight"):
        assert getattr(quick.train, key) == getattr(t, key), key
    assert quick.track == cfg.track


def test_peak_metric_counts_peaks_on_positive_cells():
    positives = SiamFCTargets(15).map[0] == 1
    responses = np.zeros((3, 1, 15, 15), np.float32)
    responses[0, 0, 7, 7] = 1      # centre: a hit
    responses[1, 0, 6, 8] = 1      # L1 distance 2 cells = 16 px: still a hit
    responses[2, 0, 7, 10] = 1     # 3 cells away: a miss
    batch = {"template": None, "search": None}
    rate, n = response_peak_hit_rate(lambda z, x: responses, [batch], positives)
    assert n == 3 and rate == pytest.approx(2 / 3)


def test_tiny_siamfc_trains_and_eval_py_scores_its_checkpoint(tiny_data, tmp_path):
    out = tmp_path / "run"
    Trainer(_cfg(**{"train.epochs": 2}), tiny_data, str(out)).run()
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"0", "1", "2"}
    assert metrics["0"]["pairs"] == 8 and 0 <= metrics["2"]["peak_within_r_pos"] <= 1
    # the balanced logistic loss starts at log 2 (responses near 0) and falls
    assert metrics["2"]["loss"] < metrics["1"]["loss"] < np.log(2)
    ckpt = out / "quickstart_siamfc_epoch002.ckpt"
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "eval.py"), "--ckpt", str(ckpt), "--dataset_path",
         os.path.join(tiny_data, "test", "VOTSYN"), "--dataset_name", "VOTSYN", "--eao_range", "5", "16",
         "--results_dir", str(tmp_path / "results"), "--filename", str(tmp_path / "eval.json"), "--plots", "False"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((tmp_path / "eval.json").read_text())
    assert record["config"] == "quickstart_siamfc"
    eao = record["all_videos"]["eao"]
    assert isinstance(eao, float) and 0 <= eao <= 1
    assert all(v["length"] == 16 for v in record["per_video"].values())
    # demo.py tracks with the same family tracker (SiamFCTracker through the registry)
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "demo.py"), "--ckpt", str(ckpt), "--video",
         os.path.join(tiny_data, "test", "VOTSYN", "syn_test_0000", "color"), "--output_dir", str(tmp_path / "demo"),
         "--save_video", "False"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    boxes = (tmp_path / "demo" / "syn_test_0000" / "boxes.txt").read_text().splitlines()
    assert len(boxes) == 16 and all(len(line.split(",")) == 4 for line in boxes)

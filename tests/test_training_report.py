"""src/tools/training_report.py: tells a run that learned from one that did not."""
import json

import pytest

from src.tools.training_report import main


def _write(tmp_path, metrics):
    (tmp_path / "metrics.json").write_text(json.dumps({str(k): v for k, v in metrics.items()}))
    return str(tmp_path)


def _epoch(loss, hit, **extra):
    return {"loss": loss, "top_anchor_iou>0.5": hit, "pairs_per_s": 10.0, **extra}


def test_siamrpn_run_that_learned_and_one_that_did_not(tmp_path, capsys):
    learned = {0: {"top_anchor_iou>0.5": 0.0}, 1: _epoch(2.6, 0.14), 8: _epoch(0.6, 0.62)}
    assert main([_write(tmp_path, learned)]) == 0
    assert "the model learned" in capsys.readouterr().out
    flat = {0: {"top_anchor_iou>0.5": 0.1}, 1: _epoch(2.6, 0.1), 8: _epoch(2.7, 0.12)}
    assert main([_write(tmp_path, flat)]) == 1
    assert "did NOT learn" in capsys.readouterr().out


def test_siammask_run_reports_and_requires_mask_iou_growth(tmp_path, capsys):
    base = {0: {"top_anchor_iou>0.5": 0.0, "mask_iou": 0.14},
            1: _epoch(3.0, 0.2, loss_mask=0.757, mask_iou=0.15)}
    grew = {**base, 4: _epoch(1.0, 0.6, loss_mask=0.679, mask_iou=0.181)}
    assert main([_write(tmp_path, grew)]) == 0
    out = capsys.readouterr().out
    assert "mask IoU" in out and "0.679" in out and "untrained 0.140, after epoch 4 0.181" in out
    shrank = {**base, 4: _epoch(1.0, 0.6, loss_mask=0.70, mask_iou=0.10)}
    assert main([_write(tmp_path, shrank)]) == 1


def test_missing_metrics_is_a_one_line_error(tmp_path):
    with pytest.raises(SystemExit, match="no metrics file at"):
        main([str(tmp_path)])


def test_siamfc_run_reports_its_peak_metric_and_min_gain(tmp_path, capsys):
    """SiamFC's validator writes peak_within_r_pos; its untrained baseline is far from 0, so the
    quick start asks for a smaller gain (--min_gain) than SiamRPN's default 2x."""
    def epoch(loss, peak):
        return {"loss": loss, "peak_within_r_pos": peak, "pairs_per_s": 20.0}
    run = {0: {"peak_within_r_pos": 0.438}, 1: epoch(0.60, 0.6), 10: epoch(0.42, 0.786)}
    folder = _write(tmp_path, run)
    assert main([folder]) == 1                       # 1.8x < 2x
    out = capsys.readouterr().out
    assert "response peak lies within the positive radius: untrained 0.438, after epoch 10 0.786" in out
    assert main([folder, "--min_gain", "1.2"]) == 0
    assert "the model learned" in capsys.readouterr().out
    both = {0: {"peak_within_r_pos": 0.4, "top_anchor_iou>0.5": 0.0}, 1: epoch(0.6, 0.6)}
    with pytest.raises(SystemExit, match="holds top_anchor_iou>0.5 and peak_within_r_pos of the held-out"):
        main([_write(tmp_path, both)])

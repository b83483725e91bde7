"""The whole path of issue 12 on tiny datasets in the real public formats:
every dataset is prepared with scripts/prepare_dataset.sh into one --data_path
folder, as the README tells users to, and the published recipes train from it.

- SiamRPN, the six-dataset recipe (VID, YouTube-BB, COCO, DET, GOT-10k, LaSOT;
  configs/siamrpn_alex_dw_lasot.yaml) trains two epochs through train.py and
  writes both checkpoints;
- SiamMask base (YouTube-VOS, VID, COCO, DET; configs/siammask_base.yaml) draws
  its pairs from the same folder, with mask labels from YouTube-VOS and COCO.
"""
import json
import os
import subprocess

import numpy as np
import pytest

from raw_fixtures import coco, det, got10k, lasot, vid, ytb, ytb_vos

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "prepare_dataset.sh")


def _raw(base):
    """{dataset: --src folder} of the raw fixtures written under ``base``."""
    roots = {name: str(base / name) for name in ("ytb", "coco", "ytb_vos", "got10k", "lasot")}
    ytb.write(roots["ytb"])
    coco.write(roots["coco"])
    ytb_vos.write(roots["ytb_vos"])
    got10k.write(roots["got10k"])
    lasot.write(roots["lasot"])
    roots["vid"] = vid.write(base / "vid")
    roots["det"] = det.write(base / "det")
    return roots


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("public")
    raw, data = _raw(base / "raw"), base / "DATA"
    for name, src in raw.items():
        run = subprocess.run(["bash", SCRIPT, name, src, str(data / name), "--workers", "2", "--quiet"],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, (name, run.stderr)
        assert "crops ->" in run.stdout
    return data


def test_every_dataset_is_prepared_into_one_folder(data):
    for name in ("vid", "ytb", "coco", "det", "ytb_vos", "got10k", "lasot"):
        index_name = "train2017.json" if name == "coco" else "train.json"
        with open(data / name / index_name) as f:
            index = json.load(f)
        assert index, name
        for video, tracks in index.items():
            for track, frames in tracks.items():
                for frame in frames:
                    assert (data / name / "crop511" / video / f"{frame}.{track}.x.jpg").is_file()
                    if name in ("coco", "ytb_vos"):
                        assert (data / name / "crop511" / video / f"{frame}.{track}.m.png").is_file()


def test_siamrpn_six_dataset_recipe_trains_two_epochs(data, tmp_path):
    import train
    out = tmp_path / "out"
    net = train.main(["--config", os.path.join(ROOT, "configs", "siamrpn_alex_dw_lasot.yaml"),
                      "--data_path", str(data), "--output_dir", str(out),
                      "--train.epochs", "2", "--train.batch_size", "2", "--data.videos_per_epoch", "6",
                      "--model.width_mult", "0.125", "--model.feature_channels", "16",
                      "--data.num_workers", "1", "--train.log_interval", "1"])
    assert net is not None
    assert (out / "siamrpn_alex_dw_lasot_epoch001.ckpt").is_file()
    assert (out / "siamrpn_alex_dw_lasot_epoch002.ckpt").is_file()
    log = (out / "train_rank0.log").read_text()
    for name in ("VID", "YOUTUBEBB", "COCO", "DET", "GOT10K", "LASOT"):
        assert f"{name} " in log.split("training data", 1)[1].split("\n", 1)[0]
    assert "epoch 2/2 step 3/3" in log


def test_siammask_base_recipe_draws_mask_labels_from_the_folder(data):
    from src.config import load_config, parse_overrides
    from src.data.crop511 import TrackingPairs
    cfg = load_config(os.path.join(ROOT, "configs", "siammask_base.yaml"),
                      parse_overrides(["--data.videos_per_epoch", "24", "--data.neg", "0"]))
    pairs = TrackingPairs(cfg, str(data))
    assert [d.name for d in pairs.datasets] == ["YTB_VOS", "VID", "COCO", "DET"]
    with_masks = 0
    for i in range(len(pairs)):
        sample = pairs[i]
        template, search, mask_weight, mask_target = sample[0], sample[1], sample[6], sample[7]
        assert template.shape == (3, 127, 127) and search.shape == (3, 255, 255)
        if mask_weight.sum() > 0:
            with_masks += 1
            used = mask_target[mask_weight > 0]     # +-1 inside the crop, 0 in the padding
            assert set(np.unique(used)) <= {-1, 0, 1} and (used == 1).any() and (used == -1).any()
    assert with_masks > 0

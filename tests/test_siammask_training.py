"""SiamMask training: mask labels, mask loss (vs the PyTorch reference), loader columns,
optimisation on a fixed batch, and a base-stage Trainer run that resumes."""
import json
import os

import cv2
import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from src.config import AugConfig, load_config, replace
from src.data.anchor_target import MASK_WINDOW, mask_slots, mask_targets, mask_window_padding
from src.data.augmentation import Augmentation
from src.data.crop511 import TrackingPairs
from src.data.pipeline import MASK_COLUMNS, columns, create_train_dataset
from src.models import build_model
from src.models.siammask import gather_windows, refine_inputs
from src.training.loss import build_loss_cell, mask_soft_margin_loss, select_positions, upsample_masks
from src.training.train_step import ClipSkipTrainStep
from src.training.trainer import Trainer, frozen_layers_at, set_train_mode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _config(name, **changes):
    return replace(load_config(os.path.join(ROOT, "configs", name)), **changes)


# ----------------------------------------------------------------------------
# mask labels

def _numpy_unfold(mask_pm1, padding, window=MASK_WINDOW, stride=8):
    """F.unfold(mask, window, padding, stride) of one (H, W) map -> (L, window, window)."""
    padded = np.pad(mask_pm1, padding)
    views = np.lib.stride_tricks.sliding_window_view(padded, (window, window))[::stride, ::stride]
    return views.reshape(-1, window, window)


@pytest.mark.parametrize("search, size, padding", [(255, 25, 32), (143, 3, 0)])
def test_mask_targets_are_unfold_windows_at_positive_positions(search, size, padding):
    assert mask_window_padding(search, size) == padding
    rng = np.random.default_rng(size)
    cls = np.full((5, size, size), -1, np.int32)
    cls[rng.integers(0, 5, 6), rng.integers(0, size, 6), rng.integers(0, size, 6)] = 1   # several per position
    cls[0][cls[0] == -1] = 0
    mask = np.zeros((search, search), np.float32)
    cv2.ellipse(mask, (search // 2 + 9, search // 2 - 5), (40, 25), 30, 0, 360, 1.0, -1)
    slots = mask_slots(16, size)
    pos, weight, target = mask_targets(cls, mask, slots, padding)
    expected = np.flatnonzero((cls == 1).any(axis=0))
    n = expected.size
    assert pos.dtype == np.int32 and weight.dtype == np.float32 and target.dtype == np.int8
    assert target.shape == (slots, MASK_WINDOW, MASK_WINDOW)
    np.testing.assert_array_equal(pos[:n], expected)
    np.testing.assert_array_equal(weight, (np.arange(slots) < n).astype(np.float32))
    windows = _numpy_unfold(np.where(mask > 0.5, 1, -1).astype(np.int8), padding)
    assert windows.shape[0] == size * size
    np.testing.assert_array_equal(target[:n], windows[expected])
    assert not target[n:].any() and not pos[n:].any()
    # the reference itself: torch's F.unfold of the +-1 mask
    torch = pytest.importorskip("torch")
    unfolded = torch.nn.functional.unfold(torch.from_numpy(np.where(mask > 0.5, 1.0, -1.0)[None, None]),
                                          (MASK_WINDOW, MASK_WINDOW), padding=padding, stride=8)
    reference = unfolded[0].T.reshape(-1, MASK_WINDOW, MASK_WINDOW).numpy()
    np.testing.assert_array_equal(target[:n], reference[expected])


def test_mask_targets_without_mask_are_empty_and_bad_geometry_is_refused():
    cls = np.ones((5, 25, 25), np.int32)
    pos, weight, target = mask_targets(cls, None, 16, 32)
    assert not pos.any() and not weight.any() and not target.any()
    with pytest.raises(ValueError, match="cannot tile"):
        mask_window_padding(256, 25)
    assert mask_slots(16, 25) == 16 and mask_slots(16, 3) == 9


def test_search_mask_follows_the_image_geometry_and_draws_no_randomness():
    image = np.zeros((511, 511, 3), np.uint8)
    cv2.rectangle(image, (200, 220), (330, 300), (255, 255, 255), -1)
    mask = (image[:, :, 0] > 0).astype(np.float32)
    aug = Augmentation(AugConfig(shift=64, scale=0.18, blur=0.0, flip=1.0, color=0.0))
    box = np.array([200.0, 220.0, 330.0, 300.0])
    for seed in range(4):
        crop, out_box, crop_mask = aug(image, box, 255, False, np.random.default_rng(seed), mask=mask)
        crop_only, box_only = aug(image, box, 255, False, np.random.default_rng(seed))
        np.testing.assert_array_equal(crop, crop_only)
        np.testing.assert_array_equal(out_box, box_only)
        assert crop_mask.shape == (255, 255) and crop_mask.dtype == np.float32
        disagree = np.count_nonzero((crop[:, :, 0] > 127) != (crop_mask > 0.5))
        assert disagree <= 0.01 * np.count_nonzero(crop_mask > 0.5), seed


# ----------------------------------------------------------------------------
# mask loss vs the reference (foolwood models/siammask.py select_mask_logistic_loss)

class _MaskLoss(nn.Cell):
    def construct(self, mask, pos, weight, target):
        b, k = weight.shape
        logits = upsample_masks(select_positions(mask, pos))
        return mask_soft_margin_loss(logits, ms.ops.cast(target, ms.float32).reshape(b, k, -1), weight)


def _reference_loss(torch, p_m, search_mask_pm1, mask_weight):
    """select_mask_logistic_loss of the reference, with its own unfold."""
    f = torch.nn.functional
    weight = mask_weight.reshape(-1)
    pos = weight.eq(1).nonzero().squeeze(1)
    if pos.numel() == 0:
        return p_m.sum() * 0
    p_m = p_m.permute(0, 2, 3, 1).contiguous().view(-1, 1, 63, 63)
    p_m = torch.index_select(p_m, 0, pos)
    p_m = f.interpolate(p_m, size=(127, 127), mode="bilinear", align_corners=True).view(-1, 127 * 127)
    mask_uf = f.unfold(search_mask_pm1, (127, 127), padding=32, stride=8)
    mask_uf = torch.transpose(mask_uf, 1, 2).contiguous().view(-1, 127 * 127)
    return f.soft_margin_loss(p_m, torch.index_select(mask_uf, 0, pos))


def test_mask_loss_and_gradient_match_the_pytorch_reference():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    b, size = 3, 25
    logits = (rng.standard_normal((b, 63 * 63, size, size)) * 2).astype(np.float32)
    masks = np.zeros((b, 255, 255), np.float32)
    cls = np.full((b, 5, size, size), -1, np.int32)
    for i in range(b):
        cv2.circle(masks[i], (int(rng.integers(60, 200)), int(rng.integers(60, 200))), 35, 1.0, -1)
    cls[0, 2, 11:14, 12] = 1          # 3 positions
    cls[1, :, 0, 24] = 1              # 1 position at the corner (mostly zero padding)
    # sample 2: positives but no mask (a sub-dataset without masks)
    cls[2, 1, 12, 12] = 1
    cols = [mask_targets(cls[i], masks[i] if i < 2 else None, 16, 32) for i in range(b)]
    pos, weight, target = (np.stack(c) for c in zip(*cols))
    args = [ms.Tensor(logits), ms.Tensor(pos), ms.Tensor(weight), ms.Tensor(target)]
    loss = float(_MaskLoss()(*args).asnumpy())
    grad = ms.grad(_MaskLoss(), grad_position=0)(*args).asnumpy()

    p_m = torch.from_numpy(logits).requires_grad_(True)
    signed = torch.from_numpy(np.where(masks > 0.5, 1.0, -1.0).astype(np.float32)[:, None])
    has_mask = np.array([1, 1, 0], np.float32).reshape(b, 1, 1, 1)
    mask_weight = torch.from_numpy((cls == 1).any(axis=1, keepdims=True).astype(np.float32) * has_mask)
    ref = _reference_loss(torch, p_m, signed, mask_weight)
    ref.backward()
    assert loss == pytest.approx(float(ref.detach()), rel=1e-5)
    np.testing.assert_allclose(grad, p_m.grad.numpy(), rtol=1e-4, atol=1e-9)
    # no selected position: 0, as the reference
    empty = [ms.Tensor(logits), ms.Tensor(pos), ms.Tensor(np.zeros_like(weight)), ms.Tensor(target)]
    assert float(_MaskLoss()(*empty).asnumpy()) == 0.0


class _Windows(nn.Cell):
    def __init__(self, size, window, step):
        super().__init__()
        self.size, self.window, self.step = size, window, step

    def construct(self, f, pos):
        return gather_windows(f, pos, self.size, self.window, self.step)


def test_sharp_stage_windows_are_the_tracking_and_unfold_crops():
    rng = np.random.default_rng(0)
    # 255 search: the tracker's padded crops (refine_inputs)
    f = [rng.standard_normal(s).astype(np.float32) for s in ((2, 3, 125, 125), (2, 4, 63, 63), (2, 5, 31, 31))]
    corr = rng.standard_normal((2, 6, 25, 25)).astype(np.float32)
    pos = np.array([[0, 624, 312], [13, 37, 600]], np.int32)
    got = [_Windows(25, w, s)(ms.Tensor(x), ms.Tensor(pos)).asnumpy() for x, w, s in zip(f, (61, 31, 15), (4, 2, 1))]
    for i in range(2):
        for k in range(3):
            y, x = divmod(int(pos[i, k]), 25)
            want = refine_inputs(f[0][i:i + 1], f[1][i:i + 1], f[2][i:i + 1], corr[i:i + 1], y, x)
            for level in range(3):
                np.testing.assert_array_equal(got[level][i * 3 + k], want[level][0])
    # 143 search (sharp-stage training): F.unfold without padding, 3x3 positions
    f0 = rng.standard_normal((1, 2, 69, 69)).astype(np.float32)
    pos = np.arange(9, dtype=np.int32).reshape(1, 9)
    got = _Windows(3, 61, 4)(ms.Tensor(f0), ms.Tensor(pos)).asnumpy()
    torch = pytest.importorskip("torch")
    ref = torch.nn.functional.unfold(torch.from_numpy(f0), (61, 61), stride=4)
    np.testing.assert_array_equal(got, ref.permute(0, 2, 1).reshape(-1, 2, 61, 61).numpy())


def test_configs_of_both_stages():
    base, huawei = _config("siammask_base.yaml"), _config("siammask_base_huawei.yaml")
    assert (base.train.cls_weight, base.train.loc_weight, base.train.mask_weight) == (1.0, 1.2, 36.0)
    assert (huawei.train.cls_weight, huawei.train.loc_weight, huawei.train.mask_weight) == (1.0, 1.0, 32.0)
    assert base.train.lr.end == 0.0025 and huawei.train.lr.end == 0.0005 and huawei.train.lr.start == 0.005
    assert base.train.unfreeze_layers == ("layer2", "layer3") and base.train.backbone_lr_mult == 0.1
    assert {d.name for d in base.data.train if d.has_mask} == {"YTB_VOS", "COCO"}
    sharp = _config("siammask_sharp.yaml")
    assert sharp.model.refine and (sharp.train.search_size, sharp.train.output_size) == (143, 3)
    assert (sharp.train.cls_weight, sharp.train.loc_weight, sharp.train.mask_weight) == (0.0, 0.0, 36.0)
    assert set(sharp.train.frozen_modules) == {"backbone", "neck", "rpn_head", "mask_head.head"}
    assert mask_window_padding(143, 3) == 0 and sharp.data.neg == 0.0
    assert columns(base)[-3:] == MASK_COLUMNS and len(columns(_config("siamrpn_alex_dw.yaml"))) == 5


# ----------------------------------------------------------------------------
# loader, optimisation, trainer

@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from src.data.synthetic import generate
    out = tmp_path_factory.mktemp("syn_mask")
    generate(str(out), seed=1, train_videos=4, train_frames=6, val_videos=2, test_videos=0)
    return str(out)


def _quick(**changes):
    base = {"train.batch_size": 2, "data.videos_per_epoch": 4, "data.val_pairs": 2, "data.num_workers": 1,
            "train.log_interval": 1}
    base.update(changes)
    return _config("quickstart_siammask.yaml", **base)


def test_loader_mask_columns_on_synthetic_data(tiny_data):
    cfg = _quick(**{"data.neg": 0.3, "data.videos_per_epoch": 24})
    pairs = TrackingPairs(cfg, tiny_data, "train")
    rpn = TrackingPairs(replace(cfg, **{"model.arch": "siamrpn"}), tiny_data, "train")
    with_mask = with_object = 0
    for i in range(len(pairs)):
        sample = pairs[i]
        assert len(sample) == 8
        # the mask columns draw no randomness: SiamRPN gets the very same pair
        for a, b in zip(sample[:5], rpn[i]):
            np.testing.assert_array_equal(a, b)
        cls, pos, weight, target = sample[2], sample[5], sample[6], sample[7]
        positive = np.flatnonzero((cls == 1).any(axis=0))
        n = int(weight.sum())
        assert n == positive.size                      # every positive position, nothing else
        np.testing.assert_array_equal(pos[:n], positive)
        assert set(np.unique(target[:n])) <= {-1, 0, 1} and not target[n:].any()
        if n:
            with_mask += 1
            with_object += int((target[:n] == 1).any())
            assert (target[:n] == -1).any()
    assert with_mask >= len(pairs) // 3 and with_object >= with_mask // 2
    # a sub-dataset without masks (or a negative pair) gives weights 0 everywhere
    no_mask = replace(cfg, **{"data.train": [{"name": "SYN", "root": "train/syn/crop511",
                                              "anno": "train/syn/train.json", "frame_range": 20}]})
    plain = TrackingPairs(no_mask, tiny_data, "train")
    assert all(not plain[i][6].any() for i in range(8))
    # batched pipeline columns
    batch = next(create_train_dataset(cfg, tiny_data, num_workers=1).create_dict_iterator(output_numpy=True))
    assert list(batch) == columns(cfg)
    assert batch["mask_pos"].shape == (2, 16) and batch["mask_pos"].dtype == np.int32
    assert batch["mask_weight"].shape == (2, 16) and batch["mask_target"].shape == (2, 16, 127, 127)
    assert batch["mask_target"].dtype == np.int8


def test_mask_loss_falls_on_a_repeated_batch(tiny_data):
    cfg = _quick()
    pairs = TrackingPairs(cfg, tiny_data, "train")
    samples = [s for s in (pairs[i] for i in range(12)) if s[6].sum() > 0][:2]
    batch = [ms.Tensor(np.stack(column)) for column in zip(*samples)]
    ms.set_seed(0)
    net = build_model(cfg)
    # the base stage's first phase: the whole backbone fixed (BN in inference mode)
    frozen = frozen_layers_at(_config("siammask_base.yaml"), 0)
    assert frozen == ("conv1", "bn1", "layer1", "layer2", "layer3")
    for name in frozen:
        for p in getattr(net.backbone, name).get_parameters():
            p.requires_grad = False
    loss_cell, names = build_loss_cell(cfg, net)
    assert names == ("cls", "loc", "mask")
    opt = nn.SGD(net.trainable_params(), learning_rate=0.005, momentum=0.9)
    step = ClipSkipTrainStep(loss_cell, opt)
    step.set_train()
    set_train_mode(net, frozen)
    mask_losses = []
    for _ in range(5):
        total, cls_loss, loc_loss, mask_loss, norm, applied = step(*batch)
        assert bool(applied.asnumpy())
        assert float(total.asnumpy()) == pytest.approx(
            float(cls_loss.asnumpy()) + 1.2 * float(loc_loss.asnumpy()) + 36 * float(mask_loss.asnumpy()), rel=1e-5)
        mask_losses.append(float(mask_loss.asnumpy()))
    assert mask_losses[-1] < mask_losses[0] - 0.02, mask_losses


def test_base_stage_trainer_writes_checkpoints_and_resumes(tiny_data, tmp_path):
    out = str(tmp_path / "run")
    cfg = _quick(**{"train.epochs": 1, "data.videos_per_epoch": 2})      # one step of 2 pairs
    trained = {p.name: p.asnumpy().copy() for p in Trainer(cfg, tiny_data, out).run().get_parameters()}
    path = os.path.join(out, "quickstart_siammask_epoch001.ckpt")
    assert os.path.isfile(path) and os.path.isfile(os.path.join(out, "quickstart_siammask_epoch000.ckpt"))
    metrics = json.loads(open(os.path.join(out, "metrics.json")).read())
    assert sorted(metrics) == ["0", "1"]
    assert metrics["1"]["loss_mask"] > 0 and metrics["1"]["loss_cls"] > 0 and metrics["1"]["skipped_steps"] == 0
    assert 0.0 <= metrics["1"]["mask_iou"] <= 1.0 and metrics["1"]["mask_positions"] > 0
    saved = ms.load_checkpoint(path)
    assert any(k.startswith("accum.") for k in saved)         # SGD momentum saved for resuming
    assert "refine_head" not in {k.split(".")[0] for k in saved}
    # a restart finds the finished epoch and resumes from it (here: nothing left to train)
    resumed = Trainer(cfg, tiny_data, out).run()
    for p in resumed.get_parameters():
        np.testing.assert_array_equal(p.asnumpy(), trained[p.name], err_msg=p.name)
        np.testing.assert_array_equal(saved[p.name].asnumpy(), trained[p.name], err_msg=p.name)


def test_frozen_modules_keep_weights_and_batchnorm_statistics(tiny_data, tmp_path):
    """Cells in train.frozen_modules (and frozen backbone stages) stay fixed, BN statistics included,
    although Model.train switches the whole network to training mode (tiny SiamRPN for speed)."""
    cfg = replace(load_config(os.path.join(ROOT, "configs", "quickstart_siamrpn.yaml")), **{
        "train.epochs": 1, "train.batch_size": 2, "data.videos_per_epoch": 4, "data.val": [],
        "model.width_mult": 0.125, "model.feature_channels": 16, "data.num_workers": 1,
        "train.frozen_layers": ["layer1", "layer2"], "train.frozen_modules": ["rpn_head.cls"]})
    out = str(tmp_path / "frozen")
    net = Trainer(cfg, tiny_data, out).run()
    before = ms.load_checkpoint(os.path.join(out, "quickstart_siamrpn_epoch000.ckpt"))
    fixed = ("backbone.layer1.", "backbone.layer2.", "rpn_head.cls.")
    names = [p.name for p in net.get_parameters()]
    assert any("moving_mean" in n and n.startswith(fixed) for n in names)
    for p in net.get_parameters():
        same = np.array_equal(before[p.name].asnumpy(), p.asnumpy())
        if p.name.startswith(fixed):
            assert same, p.name
        elif "moving_" in p.name or p.name.startswith("rpn_head.loc.head.3"):
            assert not same, p.name
    with pytest.raises(ValueError, match="no cell 'rpn_head.nothing'"):
        Trainer(replace(cfg, **{"train.frozen_modules": ["rpn_head.nothing"]}), tiny_data, str(tmp_path / "x")).run()


class _Sharp(nn.Cell):
    def __init__(self, loss_cell):
        super().__init__(auto_prefix=False)
        self.loss_cell = loss_cell

    def construct(self, *inputs):
        return self.loss_cell(*inputs) + (self.loss_cell.predict_masks(inputs[0], inputs[1], inputs[5])[2],)


def test_sharp_stage_loss_runs_the_refine_module_at_the_mask_slots():
    cfg = _config("siammask_sharp.yaml", **{"train.batch_size": 1})
    net = build_model(cfg)
    net.set_train(False)
    loss_cell, names = build_loss_cell(cfg, net)
    rng = np.random.default_rng(0)
    cls = np.full((1, 5, 3, 3), -1, np.int32)
    cls[0, 2, 1, 1] = cls[0, 0, 0, 2] = 1
    mask = np.zeros((143, 143), np.float32)
    mask[40:100, 50:90] = 1
    pos, weight, target = mask_targets(cls[0], mask, mask_slots(16, 3), mask_window_padding(143, 3))
    inputs = [rng.uniform(0, 255, (1, 3, 127, 127)).astype(np.float32),
              rng.uniform(0, 255, (1, 3, 143, 143)).astype(np.float32), cls,
              np.zeros((1, 4, 5, 3, 3), np.float32), np.zeros((1, 5, 3, 3), np.float32),
              pos[None], weight[None], target[None]]
    total, cls_loss, loc_loss, mask_loss, masks = _Sharp(loss_cell)(*[ms.Tensor(x) for x in inputs])
    assert masks.shape == (1, 9, 127 * 127) and list(pos[:2]) == [2, 4]
    assert float(total.asnumpy()) == pytest.approx(36 * float(mask_loss.asnumpy()), rel=1e-6)   # weights 0/0/36
    logits = masks.asnumpy()[0, :2]
    expected = np.logaddexp(0, -target[:2].reshape(2, -1) * logits).mean()
    assert float(mask_loss.asnumpy()) == pytest.approx(expected, rel=1e-4)

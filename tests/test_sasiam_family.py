"""SA-Siam as a registered tracker family (src/models/sasiam.py's record, src/tracker/sasiam_tracker.py).

* the two configs are the reference recipe (MS configuration.py; ../shared/reference/siamfc_sasiam.md
  section 10.1): 239 / 239 pairs, plain SGD, weight decay 5e-4, LR 0.01 then 0.001 after epoch 25
  of 30, each branch with its frozen modules;
* the tracker (SiamFC's multi-scale one on the fused response, two exemplars, the BL differences
  of section 8) runs a few frames of the golden bag sequence with a random narrow net on the
  MindSpore back-end and through ONNX and MINDIR exports, with the same boxes; the export's template graph
  has the two inputs;
* one training step of each branch changes only that branch's tensors (its trainable ones, and
  the appearance BN statistics), the rest bit-identical.

Slow: graph compilations of both branches and ONNX and MINDIR exports (about a minute on 2 shared cores).
"""
import json
import os

import cv2
import mindspore as ms
import numpy as np
import pytest

from src.config import ConfigError, load_config, replace
from src.models import build_model
from src.models.registry import families, get_family
from src.models.sasiam import BRANCH_FROZEN_MODULES, SASiamTrackConfig
from src.training.lr_schedule import epoch_lrs
from src.tracker.backends import MindSporeBackend, load_exported
from src.tracker.sasiam_tracker import SASiamTracker

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {b: os.path.join(ROOT, "configs", f"sasiam_{b}.yaml") for b in ("appearance", "semantic")}
FRAMES = 5


def _cfg(branch="appearance", **changes):
    return replace(load_config(CONFIGS[branch]), **{"model.width_mult": 0.125, **changes})


def _bag(golden_dir, n=FRAMES):
    folder = os.path.join(golden_dir, "data", "bag")
    return [cv2.imread(os.path.join(folder, f"{i:08d}.jpg")) for i in range(1, n + 1)]


def _init_box(golden_dir):
    """The golden run's 1-indexed init box, 0-indexed (the SA-Siam track section's box_origin)."""
    with open(os.path.join(golden_dir, "siamfc", "tracker_bag.json")) as f:
        x, y, w, h = json.load(f)["init"]["init_box_ltwh_1idx"]
    return [x - 1, y - 1, w, h]


def _run(tracker, frames, box):
    tracker.init(frames[0], box)
    return np.array([tracker.track(f)[0] for f in frames[1:]])


# -- config and record ----------------------------------------------------------------------

def test_configs_are_the_reference_recipe_per_branch():
    assert "sasiam" in families()
    for branch, cfg in ((b, load_config(p)) for b, p in CONFIGS.items()):
        t = cfg.train
        assert (cfg.model.arch, t.branch, tuple(t.frozen_modules)) == ("sasiam", branch, BRANCH_FROZEN_MODULES[branch])
        assert (t.exemplar_size, t.search_size, t.output_size, t.batch_size, t.epochs) == (239, 239, 15, 8, 30)
        assert (t.momentum, t.weight_decay, t.r_pos, t.r_neg, t.label_metric) == (0.0, 5e-4, 16.0, 0.0, "l1")
        # staircase: 0.01 for epochs 1-25, 0.001 for 26-30
        np.testing.assert_array_equal(epoch_lrs(t.lr, 30), [0.01] * 25 + [0.001] * 5)
        assert cfg.track == SASiamTrackConfig()          # the section's defaults are the reference's
        assert (cfg.track.scale_clip, cfg.track.displacement_clip, cfg.track.box_origin) == ((0.2, 5.0), 8.0, 0)
        assert get_family("sasiam").input_color(cfg) == "RGB"
    # the default section's LR is the same staircase
    np.testing.assert_array_equal(epoch_lrs(type(t)().lr, 30), [0.01] * 25 + [0.001] * 5)
    with pytest.raises(ConfigError, match=r"track\.displacement_clip"):
        _cfg(**{"track.displacement_clip": -1.0})
    cfg = _cfg("semantic")
    assert get_family("sasiam").decoder(cfg) == {
        "kind": "response_map", "response_size": 17, "total_stride": 8, "response_up": 16,
        "upsample": "bicubic_tf_align_corners", "scale_num": 3, "displacement_clip": 8.0}
    specs = get_family("sasiam").graphs(cfg)
    assert [(s.name, s.input_names, s.outputs) for s in specs] == [
        ("template", ("z_a", "z_s"), ("kernel0", "kernel1")), ("search", ("x", "kernel0", "kernel1"), ("response",))]
    assert specs[0].shaped_inputs == {"z_a": (1, 3, 127, 127), "z_s": (1, 3, 255, 255)}
    assert "random initial weights" in get_family("sasiam").start_warning(cfg)
    assert get_family("sasiam").start_warning(_cfg()) is None


def test_a_branch_run_without_its_frozen_modules_is_refused_in_one_line():
    cfg = _cfg("semantic", **{"train.frozen_modules": ["appearance"]})
    with pytest.raises(ValueError, match=r"^config key 'train.frozen_modules' must include \['appearance', "
                                         r"'semantic.backbone'\] for train.branch 'semantic' "
                                         r"\(lacks \['semantic.backbone'\]\)$"):
        get_family("sasiam").build_loss(cfg, build_model(cfg))


# -- tracker ---------------------------------------------------------------------------------

class _Recorder:
    """A back-end wrapper that keeps the template graph's inputs."""

    def __init__(self, backend):
        self.backend, self.template_inputs = backend, None

    def run(self, graph, inputs):
        if graph == "template":
            self.template_inputs = [np.array(i) for i in inputs]
        return self.backend.run(graph, inputs)

    def track(self, x, kernels):
        return self.backend.track(x, kernels)


def test_tf_upsampling_is_keys_cubic_with_aligned_corners():
    """TF 1's resize_bicubic(align_corners=True): output pixel o samples the source at
    o * (17 - 1) / (272 - 1), Keys' cubic a = -0.75 over the four nearest source cells (edge
    cells repeated). TF tabulates the weights at 1/1024 steps, hence the tolerance against the
    exact float64 formula (measured 8e-4 of the maps' range)."""
    from src.tracker.sasiam_tracker import tf_resize_bicubic

    def keys(t, a=-0.75):
        t = np.abs(t)
        return np.where(t <= 1, ((a + 2) * t - (a + 3)) * t * t + 1,
                        np.where(t < 2, ((a * t - 5 * a) * t + 8 * a) * t - 4 * a, 0.0))

    maps = np.random.default_rng(1).random((3, 17, 17)).astype(np.float32)
    out = tf_resize_bicubic(maps, 272)
    assert out.shape == (3, 272, 272) and out.dtype == np.float32
    weights = np.zeros((272, 17))
    for o, p in enumerate(np.arange(272) * 16 / 271):
        for k in range(-1, 3):
            weights[o, min(max(int(p) + k, 0), 16)] += keys(p - (int(p) + k))
    exact = np.einsum("yi,nij,xj->nyx", weights, maps.astype(np.float64), weights)
    assert np.abs(out - exact).max() < 2e-3
    # aligned corners: the corner cells are kept exactly (cv2's half-pixel bicubic does not)
    np.testing.assert_array_equal(out[:, [0, -1]][:, :, [0, -1]], maps[:, [0, -1]][:, :, [0, -1]])
    np.testing.assert_allclose(tf_resize_bicubic(np.full((1, 17, 17), 0.25, np.float32), 272), 0.25, rtol=1e-6)


def test_displacement_clip_bounds_the_step_to_eight_cells():
    """A peak at the map's corner moves the target by 8 cells (x 8 px of the 255 crop), not 8.47."""
    cfg = SASiamTrackConfig()
    responses = np.zeros((3, 17, 17), np.float32)
    responses[1, 0, 0] = 10.0                            # top-left corner of the middle scale

    def step(track_cfg):
        tracker = SASiamTracker(None, track_cfg)
        tracker.init_state([100.0, 100.0, 40.0, 40.0])
        centre, x_sz = tracker.center.copy(), float(tracker.x_sz)
        tracker.update_from_responses(responses)
        assert tracker.last_scale_id == 1 and tracker.last_peak[0] < 16
        return (tracker.center - centre) / (x_sz / cfg.instance_size) / 8   # in response cells

    np.testing.assert_allclose(step(cfg), [-8.0, -8.0], atol=1e-4)
    free = step(SASiamTrackConfig(displacement_clip=0.0))
    assert np.all(free < -8.2)                           # no clip: the raw peak, > 8 cells away


def test_tracker_runs_on_mindspore_and_exports_with_the_same_boxes(golden_dir, tmp_path):
    from src.export import export_graphs
    ms.set_seed(5)
    cfg = replace(_cfg(), name="tiny_sasiam")
    net = build_model(cfg)
    frames, box = _bag(golden_dir), _init_box(golden_dir)

    recorder = _Recorder(MindSporeBackend(net))
    tracker = get_family("sasiam").build_tracker(cfg, recorder)
    assert isinstance(tracker, SASiamTracker) and tracker.box_origin == 0
    boxes = _run(tracker, frames, box)
    z_a, z_s = recorder.template_inputs
    assert z_a.shape == (1, 3, 127, 127) and z_s.shape == (1, 3, 255, 255)
    # the semantic exemplar is the first frame's centre-scale search crop, as the search graph sees it
    tracker.init(frames[0], box)
    first_search, _ = tracker._search_input(tracker._network_image(frames[0]))
    np.testing.assert_array_equal(z_s[0], first_search[1])
    assert boxes.shape == (FRAMES - 1, 4) and np.isfinite(boxes).all()

    for fmt in ("ONNX", "MINDIR"):
        json_path = export_graphs(cfg, net, str(tmp_path / fmt), fmt)
        desc = json.loads(open(json_path).read())
        template = desc["graphs"]["template"]
        assert [(i["name"], i["shape"]) for i in template["inputs"]] == [("z_a", [1, 3, 127, 127]),
                                                                          ("z_s", [1, 3, 255, 255])]
        assert [o["name"] for o in template["outputs"]] == ["kernel0", "kernel1"]
        assert [i["name"] for i in desc["graphs"]["search"]["inputs"]] == ["x", "kernel0", "kernel1"]
        assert desc["decoder"]["kind"] == "response_map" and desc["input"]["color"] == "RGB"
        _, exported = load_exported(json_path, fmt.lower())
        exported_boxes = _run(get_family("sasiam").build_tracker(cfg, exported), frames, box)
        # the same crops; the responses differ by float32 rounding only (ONNX), far from moving a
        # peak (measured: identical boxes on both)
        np.testing.assert_allclose(exported_boxes, boxes, atol=1e-3, err_msg=fmt)


# -- training --------------------------------------------------------------------------------

@pytest.mark.parametrize("branch", ["appearance", "semantic"])
def test_one_training_step_changes_only_its_branch(branch, tmp_path):
    from src.models.siamfc_loss import SiamFCTargets
    from src.training.train_step import build_train_step
    from src.training.trainer import Trainer, set_train_mode
    ms.set_seed(7)
    cfg = _cfg(branch, **{"train.batch_size": 2})
    family = get_family("sasiam")
    net = build_model(cfg)
    trainer = Trainer(cfg, str(tmp_path), str(tmp_path / "out"))
    trainer.steps_per_epoch = 1
    # the trainer's freezing: train.frozen_modules -> requires_grad False, those cells in eval mode
    opt, _ = trainer._optimizer(net, (), 0, 1)
    set_train_mode(net, (), training=True, modules=cfg.train.frozen_modules)
    loss_cell, names = family.build_loss(cfg, net)
    assert names == ("logistic",)
    step = build_train_step(cfg.train, loss_cell, opt)

    before = {p.name: p.asnumpy().copy() for p in net.get_parameters()}
    trainable = {p.name for p in net.trainable_params()}
    rng = np.random.default_rng(0)
    z, x = (ms.Tensor((rng.random((2, 3, 239, 239)) * 255).astype(np.float32)) for _ in range(2))
    labels = SiamFCTargets.from_config(cfg).tensor(2)
    out = step(z, x, labels)
    assert bool(out[-1].asnumpy()) and np.isfinite(out[0].asnumpy())
    after = {p.name: p.asnumpy() for p in net.get_parameters()}
    changed = {n for n in before if not np.array_equal(before[n], after[n])}

    if branch == "appearance":
        # BN's running statistics are not learnable parameters (the optimiser never gets them)
        assert trainable == {n for n in before if n.startswith("appearance.") and "moving_" not in n}
        # BN's running statistics move too (train mode), the semantic branch not at all
        assert changed <= {n for n in before if n.startswith("appearance.")}
        assert any("moving_mean" in n for n in changed)
    else:
        assert trainable == {n for n in before if n.startswith("semantic.") and not n.startswith("semantic.backbone.")}
        assert changed <= trainable
    assert {"appearance.head.bias" if branch == "appearance" else "semantic.head.bias"} <= changed
    # nearly every trainable tensor moves (weight decay alone moves a weight; a dead ReLU unit's zero bias may not)
    assert len(changed & trainable) >= 0.8 * len(trainable)

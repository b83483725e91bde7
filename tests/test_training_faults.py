"""Fault injection for training and its inputs: every bad input is a one-line refusal
(naming the file, key or parameter, no traceback, non-zero exit) before any
checkpoint or metrics.json exists; unreadable images are replaced, counted per
epoch and, beyond data.max_bad_image_share, stop the run in one line.

The data are a few synthetic crop511 videos and the networks 1/8 wide, so each
training subprocess takes seconds; config errors stop before MindSpore loads.
"""
import importlib
import json
import logging
import os
import shutil

import pytest

from conftest import ROOT, assert_one_line_error, run_script, synthetic_test_sets

CONFIG = os.path.join(ROOT, "configs", "quickstart_siamrpn.yaml")
FIXTURE_CKPT = os.path.join(ROOT, "tests", "fixtures", "quickstart_siamrpn.ckpt")   # width 0.25, 64 channels
# 1/8 wide, one epoch of 4 pairs in batches of 2, no validation split
TINY = ["--model.width_mult", "0.125", "--model.feature_channels", "16", "--train.batch_size", "2",
        "--data.videos_per_epoch", "4", "--data.val", "[]", "--data.num_workers", "1", "--train.epochs", "1",
        "--train.log_interval", "1"]
PRODUCTS = ("quickstart_siamrpn_epoch000.ckpt", "quickstart_siamrpn_epoch001.ckpt", "metrics.json")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Three synthetic training videos (train/syn/{train.json, crop511})."""
    from src.data.synthetic import generate
    root = tmp_path_factory.mktemp("faults") / "data"
    generate(str(root), seed=5, train_videos=3, train_frames=4, val_videos=0, test_videos=0)
    return root


def copy_data(data, tmp_path):
    target = tmp_path / "data"
    shutil.copytree(data, target)
    return target


def train(data_path, out, *extra, timeout=600):
    return run_script("train.py", "--config", CONFIG, "--data_path", data_path, "--output_dir", out, *TINY, *extra,
                      timeout=timeout)


def refused(script, *args, fragments=()):
    """``script``'s main in this process refuses in one line (what assert_one_line_error checks on a
    process, without the interpreter and MindSpore start-up: seconds per case); returns the line.

    train.py's main reconfigures the root logger (setup_logging): restored afterwards, so that later
    tests in this process do not log into this test's files."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with pytest.raises(SystemExit) as e:
            importlib.import_module(script[:-3]).main([str(a) for a in args])
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
    line = e.value.code
    assert isinstance(line, str) and "\n" not in line, line
    assert line.startswith(f"{script}: "), line
    for fragment in fragments:
        assert str(fragment) in line, (fragment, line)
    return line


def train_refused(data_path, out, *extra, fragments=()):
    """train() as train.py's main in this process: its one-line refusal."""
    return refused("train.py", "--config", CONFIG, "--data_path", data_path, "--output_dir", out, *TINY, *extra,
                   fragments=fragments)


def assert_nothing_written(out):
    present = [name for name in PRODUCTS if os.path.exists(os.path.join(out, name))]
    assert not present, present


def truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


# ----------------------------------------------------------------------------
# config values: each range, named by key, before MindSpore is even imported

@pytest.mark.parametrize("key, value, expected", [
    ("train.batch_size", "0", "'train.batch_size' must be >= 1, got 0"),
    ("train.epochs", "0", "'train.epochs' must be >= 1, got 0"),
    ("train.lr.start", "0", "'train.lr.start' must be > 0, got 0.0"),
    ("train.lr.end", "-1e-3", "'train.lr.end' must be > 0, got -0.001"),
    ("train.grad_clip", "0", "'train.grad_clip' must be > 0, got 0.0"),
    ("train.momentum", "1.5", "'train.momentum' must be in [0, 0.999999], got 1.5"),
    ("data.num_workers", "-1", "'data.num_workers' must be >= 0, got -1"),
    ("train.search_size", "0", "'train.search_size' must be >= 1, got 0"),
    ("track.instance_size", "-5", "'track.instance_size' must be >= 1, got -5"),
    ("data.neg", "1.5", "'data.neg' must be in [0, 1], got 1.5"),
    ("data.gray", ".nan", "'data.gray' must be a finite number, got nan"),
    ("data.max_bad_image_share", "2", "'data.max_bad_image_share' must be in [0, 1], got 2.0"),
    ("data.search_aug.blur", "-0.1", "'data.search_aug.blur' must be in [0, 1], got -0.1"),
    ("data.train", "[{name: SYN, root: r, anno: a, frame_range: 0}]",
     "'data.train[0].frame_range' must be >= 1, got 0"),
    ("data.train", "[{name: SYN, root: r, anno: a, num_use: 0}]", "'data.train[0].num_use' must be >= 1 or -1, got 0"),
    ("data.train", "[{name: '', root: r, anno: a}]", "'data.train[0].name' must not be empty"),
    ("model.anchor.ratios", "[1, 0]", "'model.anchor.ratios[1]' must be > 0, got 0.0"),
    ("train.thr_low", "0.7", "'train.thr_low' (0.7) must not exceed 'train.thr_high' (0.6)"),
    ("train.amp_level", "O1", "'train.amp_level' must be one of O0, O2, O3, got 'O1'"),
    ("train.batch_size", "2.5", "'train.batch_size' must be an integer, got 2.5"),
])
def test_bad_config_value_is_one_line_naming_the_key(data, tmp_path, key, value, expected):
    # train.py's main in this process (the process boundary, exit code and no traceback, is
    # checked on a real process by test_num_workers_flag_is_checked_like_the_config_key)
    out = tmp_path / "out"
    train_refused(data, out, f"--{key}", value, fragments=[f"{CONFIG}: config key {expected}"])
    assert not out.exists()


def test_num_workers_flag_is_checked_like_the_config_key(data, tmp_path):
    proc = train(data, tmp_path / "out", "--num_workers", "-2")
    assert_one_line_error(proc, "'data.num_workers' must be >= 0, got -2", prefix="train.py: ")


# ----------------------------------------------------------------------------
# data path, index JSON, crop folders: refused before the model is built

def test_missing_data_path(tmp_path):
    proc = train(tmp_path / "nowhere", tmp_path / "out")
    assert_one_line_error(proc, f"data path not found: {tmp_path / 'nowhere'}", prefix="train.py: ")
    assert_nothing_written(tmp_path / "out")


@pytest.mark.parametrize("fault, fragments", [
    ("index missing", ["has no train/syn/train.json (sub-dataset SYN: train/syn/crop511, train/syn/train.json)"]),
    ("index not JSON", ["SYN:", "train.json: invalid JSON at line 1"]),
    ("index binary", ["SYN:", "train.json: not a JSON text file"]),
    ("index a list", ["SYN: index", "must map video names to tracks, got a JSON list"]),
    ("track not a mapping", ["SYN: index", "video 'syn_train_0001' track '00' must map frame numbers to boxes"]),
    ("bad box", ["SYN: index", "frame '000002': a box is [x1, y1, x2, y2] (or [w, h]), got \"wide\""]),
    ("no usable box", ["SYN: no video with a valid box in"]),
    ("crop folder missing", ["has no train/syn/crop511/ (sub-dataset SYN:"]),
    ("wrong root", ["SYN: none of the 3 videos of", "check data.train[0].root"]),
])
def test_bad_index_or_crop_folder_stops_before_the_model(data, tmp_path, fault, fragments):
    root = copy_data(data, tmp_path)
    index = root / "train" / "syn" / "train.json"
    crops = root / "train" / "syn" / "crop511"
    meta = json.loads(index.read_text())
    if fault == "index missing":
        index.unlink()
    elif fault == "index not JSON":
        index.write_text(index.read_text()[:-20])
    elif fault == "index binary":
        index.write_bytes(b"\xff\xfe\x00\x81" * 8)
    elif fault == "index a list":
        index.write_text(json.dumps(list(meta)))
    elif fault == "track not a mapping":
        meta["syn_train_0001"]["00"] = [1, 2, 3, 4]
        index.write_text(json.dumps(meta))
    elif fault == "bad box":
        meta["syn_train_0001"]["00"]["000002"] = "wide"
        index.write_text(json.dumps(meta))
    elif fault == "no usable box":
        index.write_text(json.dumps({v: {"00": {"000000": [5, 5, 5, 9]}} for v in meta}))
    elif fault == "crop folder missing":
        shutil.rmtree(crops)
    elif fault == "wrong root":
        for video in meta:
            (crops / video).rename(crops / f"moved_{video}")
    out = tmp_path / "out"
    train_refused(root, out, fragments=fragments)       # in this process: refused before the model
    assert_nothing_written(out)


def test_truncated_spot_checked_image_stops_before_the_model(data, tmp_path):
    """A video's first image is read by the start-up check; one bad file of a
    sub-dataset of a few images is above the default 1 % share."""
    root = copy_data(data, tmp_path)
    first = root / "train" / "syn" / "crop511" / "syn_train_0000" / "000000.00.x.jpg"
    truncate(first)
    out = tmp_path / "out"
    train_refused(root, out, fragments=("SYN: at least 1 of its", "images are unreadable",
                                        "> data.max_bad_image_share 0.01", f"e.g. {first}"))
    assert_nothing_written(out)


# ----------------------------------------------------------------------------
# truncated JPEGs met during training: replaced and counted, or too many: stop

def _cut_video(root, video, skip_first=True):
    """Truncate the images of one video (all but its first frame, which the start-up check reads)."""
    cut = sorted((root / "train" / "syn" / "crop511" / video).glob("*.x.jpg"))[1 if skip_first else 0:]
    for path in cut:
        truncate(path)
    return cut


def test_truncated_jpegs_are_replaced_and_counted(data, tmp_path):
    root = copy_data(data, tmp_path)
    cut = _cut_video(root, "syn_train_0001")
    out = tmp_path / "out"
    proc = train(root, out, "--data.max_bad_image_share", "0.9", "--train.epochs", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    counts = [metrics[e]["unreadable_images"]["SYN"] for e in ("1", "2")]
    log = (out / "train_rank0.log").read_text()
    for epoch, count in zip((1, 2), counts):
        if count:   # the log line says the same as metrics.json
            assert f"epoch {epoch}: {count} unreadable images, each replaced by another pair: SYN {count}" in log
    assert sum(counts) >= 1, (counts, [str(p) for p in cut])
    assert any(str(path) in log for path in cut)        # the file is named (once per process)
    assert (out / "quickstart_siamrpn_epoch002.ckpt").exists()


def test_too_many_truncated_jpegs_stop_in_one_line(data, tmp_path):
    root = copy_data(data, tmp_path)
    cut = _cut_video(root, "syn_train_0001")
    out = tmp_path / "out"
    proc = train(root, out)   # default share 0.01: the first unreadable file met is too many
    last = assert_one_line_error(proc, "SYN: at least", "images are unreadable", "data.max_bad_image_share 0.01",
                                 prefix="train.py: ")
    assert any(f"e.g. {path}:" in last for path in cut), last
    assert not (out / "quickstart_siamrpn_epoch001.ckpt").exists()   # the refused epoch is not saved


def test_every_image_unreadable_is_one_line(data, tmp_path):
    """The loader gives up on a pair after 100 attempts inside a worker; MindSpore
    reports that in many lines, train.py in one."""
    root = copy_data(data, tmp_path)
    for video in ("syn_train_0000", "syn_train_0001", "syn_train_0002"):
        _cut_video(root, video, skip_first=False)
    out = tmp_path / "out"
    proc = train(root, out, "--data.max_bad_image_share", "1", "--data.num_workers", "2")
    assert_one_line_error(proc, "no readable training pair:", "unreadable images in 100 attempts", "e.g. SYN ",
                          prefix="train.py: ")
    assert not (out / "quickstart_siamrpn_epoch001.ckpt").exists()


# ----------------------------------------------------------------------------
# checkpoints that do not fit the config

MISFIT = ("does not fit config", "backbone.layer1.0.weight is (24, 3, 11, 11) in the checkpoint, "
          "(12, 3, 11, 11) in the network")


def test_train_resume_in_a_folder_of_another_width(data, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(FIXTURE_CKPT, out / "quickstart_siamrpn_epoch001.ckpt")
    train_refused(data, out, "--train.epochs", "2",
                  fragments=(f"checkpoint {out / 'quickstart_siamrpn_epoch001.ckpt'}", *MISFIT,
                             "the checkpoint was trained with another config", "another --output_dir",
                             "its config has model.width_mult 0.25, this one 0.125"))
    assert sorted(os.listdir(out)) == ["quickstart_siamrpn_epoch001.ckpt", "train_rank0.log"]


@pytest.mark.parametrize("flag, cause", [
    ("--train.init_from", "train.init_from was trained with another network config (model.*); "
                          "its config has model.width_mult 0.25, this one 0.125"),
    ("--pretrained", "train.pretrained.backbone is a backbone of another width or architecture"),
])
def test_initial_weights_of_another_width(data, tmp_path, flag, cause):
    out = tmp_path / "out"
    train_refused(data, out, flag, FIXTURE_CKPT, fragments=(f"checkpoint {FIXTURE_CKPT}", *MISFIT, cause))
    assert_nothing_written(out)


def test_train_in_a_folder_of_another_config_is_refused(data, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(FIXTURE_CKPT, out / "siamrpn_alex_dw_epoch003.ckpt")
    (out / "metrics.json").write_text('{"3": {"loss": 1.0}}')
    train_refused(data, out, fragments=(f"--output_dir {out} holds the training of another config",
                                        "siamrpn_alex_dw_epoch003.ckpt"))
    assert (out / "metrics.json").read_text() == '{"3": {"loss": 1.0}}'
    assert not (out / "quickstart_siamrpn_epoch000.ckpt").exists()


def test_export_with_another_config_is_one_line(tmp_path):
    # export_mindir.py's main in this process (its refusals as processes: tests/test_export.py)
    out = tmp_path / "export"
    refused("export_mindir.py", "--ckpt", FIXTURE_CKPT, "--config", CONFIG, "--model.width_mult", "0.125",
            "--output_dir", out, fragments=(f"checkpoint {FIXTURE_CKPT}", *MISFIT,
                                            "pass the --config it was trained with"))
    assert not out.exists() or not os.listdir(out)
    refused("export_mindir.py", "--ckpt", FIXTURE_CKPT, "--model.feature_channels", "32", "--output_dir", out,
            fragments=("does not fit config 'quickstart_siamrpn'", "in the checkpoint",
                       "the --model.* overrides change the network", "model.feature_channels 64, this one 32"))


def test_eval_with_another_config_is_one_line(tmp_path):
    synthetic_test_sets(tmp_path, seed=3, videos=1, frames=6)
    refused("eval.py", "--ckpt", FIXTURE_CKPT, "--config", CONFIG, "--model.width_mult", "0.125",
            "--dataset_path", tmp_path / "data" / "test" / "OTBSYN", "--dataset_name", "OTBSYN",
            "--results_dir", tmp_path / "results", "--plots", "False", fragments=(f"checkpoint {FIXTURE_CKPT}", *MISFIT))
    results = tmp_path / "results"
    assert not results.exists() or not any(f.is_file() for f in results.rglob("*"))


# ----------------------------------------------------------------------------
# output folder, device

def test_output_dir_that_is_a_file(data, tmp_path):
    out = tmp_path / "out"
    out.write_text("not a folder")
    assert_one_line_error(train(data, out), f"--output_dir {out} is a file, not a folder", prefix="train.py: ")
    refused("export_mindir.py", "--ckpt", FIXTURE_CKPT, "--output_dir", out,
            fragments=(f"--output_dir {out} is a file, not a folder",))
    assert out.read_text() == "not a folder"


def _available(target):
    from src.device import device_available
    return device_available(target)


@pytest.mark.parametrize("target", ["GPU", "Ascend"])
def test_device_target_this_mindspore_cannot_use(data, tmp_path, target):
    if _available(target):
        pytest.skip(f"this MindSpore build has {target} support")
    out = tmp_path / "out"
    words = (f"--device_target {target}: this MindSpore", f"cannot use {target}", "--device_target CPU")
    if target == "GPU":     # once as a user runs it: MindSpore's own report would be many lines
        assert_one_line_error(train(data, out, "--device_target", target), *words, prefix="train.py: ")
    else:                   # setup_context refuses before it touches this process's context
        train_refused(data, out, "--device_target", target, fragments=words)
    assert_nothing_written(out)
    refused("export_mindir.py", "--ckpt", FIXTURE_CKPT, "--output_dir", tmp_path / "export",
            "--device_target", target, fragments=(f"--device_target {target}: this MindSpore",))


def test_set_device_failure_is_one_line(monkeypatch):
    """When the plugin probe is not conclusive (another MindSpore), ms.set_device's
    multi-line RuntimeError becomes the same one line."""
    import mindspore as ms

    from src import device
    monkeypatch.setattr(device, "device_available", lambda target: True)

    def refuse(*args):
        raise RuntimeError("Unsupported device target GPU.\n----\n- C++ Call Stack:\nms_context.cc:291")

    monkeypatch.setattr(ms, "set_device", refuse)
    with pytest.raises(ValueError) as info:
        device.setup_context("GPU", 0)
    message = str(info.value)
    assert "\n" not in message and message.startswith("--device_target GPU: this MindSpore")
    assert "(Unsupported device target GPU.)" in message

"""ModelArts jobs (train.py --is_cloudtrain True) with local directories standing in
for the object store: every --unzip_mode end to end, the moxing path through a stand-in
module, the local-rank-0 copy with the others waiting, and the errors."""
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import types
import zipfile

import pytest

from src import cloud
from src.cloud import CloudError, fetch_data, on_local_rank0, restore_checkpoints
from src.config import load_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "configs", "quickstart_siamrpn.yaml")
TINY = ["--train.epochs", "1", "--train.batch_size", "2", "--data.videos_per_epoch", "4", "--data.val", "[]",
        "--model.width_mult", "0.125", "--model.feature_channels", "16", "--data.num_workers", "1"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A tiny crop511 set (DATA/train/syn/...) and its zip and tar.gz archives."""
    from src.data.synthetic import generate
    root = tmp_path_factory.mktemp("cloud")
    data = root / "DATA"
    generate(str(data), seed=1, train_videos=2, train_frames=6, val_videos=0, test_videos=0)
    with zipfile.ZipFile(root / "data.zip", "w") as z:        # members at the top: train/...
        for dirpath, _, files in os.walk(data):
            for f in files:
                path = os.path.join(dirpath, f)
                z.write(path, os.path.relpath(path, data))
    with tarfile.open(root / "data.tar.gz", "w:gz") as t:      # one top-level folder: DATA/train/...
        t.add(data, arcname="DATA")
    return root


def _cfg():
    return load_config(CONFIG)


def _has_data(root):
    return os.path.isfile(os.path.join(root, "train", "syn", "train.json"))


def test_unzip_modes_give_the_data_root(dataset, tmp_path):
    root = fetch_data(str(dataset / "DATA"), str(tmp_path / "c0"), 0, _cfg())
    assert root == str(tmp_path / "c0" / "data") and _has_data(root)
    root = fetch_data(str(dataset / "data.zip"), str(tmp_path / "c1"), 1, _cfg())     # the archive itself
    assert root == str(tmp_path / "c1" / "data") and _has_data(root)
    url = tmp_path / "bucket"                              # a folder holding the archive and a note
    url.mkdir()
    shutil.copy(dataset / "data.tar.gz", url)
    (url / "README.txt").write_text("kept beside the data")
    root = fetch_data(str(url), str(tmp_path / "c2"), 2, _cfg())
    assert root == str(tmp_path / "c2" / "data" / "DATA") and _has_data(root)       # descends into DATA/
    assert (tmp_path / "c2" / "data" / "README.txt").exists() and not (tmp_path / "c2" / "download").exists()
    # a second job with the same cache starts from clean data
    (tmp_path / "c0" / "data" / "stale.txt").write_text("old")
    fetch_data(str(dataset / "DATA"), str(tmp_path / "c0"), 0, _cfg())
    assert not (tmp_path / "c0" / "data" / "stale.txt").exists()


def test_bad_data_urls_stop_with_one_line(dataset, tmp_path):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as t:
        info = tarfile.TarInfo("../outside.txt")
        info.size = 0
        t.addfile(info)
    cases = [
        (str(tmp_path / "nowhere"), 0, f"data_url not found: {tmp_path / 'nowhere'}"),
        (str(dataset / "data.zip"), 0, "unzip_mode 0 expects a directory, but data_url is a file"),
        (str(dataset / "DATA"), 1, "unzip_mode 1: no zip archive (.zip) in"),
        (str(broken), 1, "cannot unpack broken.zip: File is not a zip file"),
        (str(evil), 2, "cannot unpack evil.tar:"),
        (str(dataset / "DATA"), 3, "unzip_mode must be one of [0, 1, 2]"),
        ("obs://bucket/data", 0, "obs://bucket/data is an object-store path and moxing"),
    ]
    for url, mode, message in cases:
        with pytest.raises(CloudError) as e:
            fetch_data(url, str(tmp_path / "cache"), mode, _cfg())
        assert message in str(e.value) and "\n" not in str(e.value), (url, str(e.value))
    assert not (tmp_path / "cache" / "outside.txt").exists() and not (tmp_path / "outside.txt").exists()


@pytest.fixture
def fake_moxing(tmp_path, monkeypatch):
    """A stand-in for ModelArts' moxing: obs://bucket/... lives under tmp_path/obs; calls are recorded."""
    store = tmp_path / "obs"
    calls = []

    def local(url):
        return str(store / url[len("obs://"):]) if url.startswith("obs://") else url

    def copy_parallel(src, dst):
        calls.append(("copy_parallel", src, dst))
        shutil.copytree(local(src), local(dst), dirs_exist_ok=True)

    def copy(src, dst):
        calls.append(("copy", src, dst))
        os.makedirs(os.path.dirname(local(dst)), exist_ok=True)
        shutil.copy(local(src), local(dst))

    file = types.SimpleNamespace(copy_parallel=copy_parallel, copy=copy,
                                 exists=lambda u: os.path.exists(local(u)),
                                 is_directory=lambda u: os.path.isdir(local(u)),
                                 list_directory=lambda u: os.listdir(local(u)))
    monkeypatch.setitem(sys.modules, "moxing", types.SimpleNamespace(file=file))
    return store, calls


def test_object_store_paths_go_through_moxing(dataset, tmp_path, fake_moxing):
    store, calls = fake_moxing
    shutil.copytree(dataset / "DATA", store / "bucket" / "data")
    root = fetch_data("obs://bucket/data", str(tmp_path / "cache"), 0, _cfg())
    assert _has_data(root) and calls[0] == ("copy_parallel", "obs://bucket/data", str(tmp_path / "cache" / "data"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "run_epoch001.ckpt").write_text("1")
    cloud.upload_results(str(out), "obs://bucket/train")
    assert (store / "bucket" / "train" / "run_epoch001.ckpt").read_text() == "1"
    for epoch in (2, 3, 10):
        (store / "bucket" / "train" / f"run_epoch{epoch:03d}.ckpt").write_text(str(epoch))
    (store / "bucket" / "train" / "metrics.json").write_text("{}")
    restored = restore_checkpoints("obs://bucket/train", str(tmp_path / "again"), "run")
    assert restored == ["run_epoch003.ckpt", "run_epoch010.ckpt", "metrics.json"]
    assert sorted(os.listdir(tmp_path / "again")) == ["metrics.json", "run_epoch003.ckpt", "run_epoch010.ckpt"]


def test_local_rank0_copies_while_the_others_wait(tmp_path):
    marker = str(tmp_path / ".data_ready.json")
    with open(marker, "w") as f:
        json.dump({"ok": "stale result of an earlier job"}, f)
    barrier = threading.Barrier(2)
    calls, results = [], {}

    def run(local_rank, action):
        try:
            results[local_rank] = on_local_rank0(action, marker, local_rank, 2, barrier.wait, poll_s=0.01)
        except CloudError as e:
            results[local_rank] = e

    def copy():
        calls.append(1)
        return "/cache/data"

    threads = [threading.Thread(target=run, args=(r, copy)) for r in (1, 0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert calls == [1] and results == {0: "/cache/data", 1: "/cache/data"}

    def fail():
        raise CloudError("cannot unpack data.zip: File is not a zip file")

    results.clear()
    threads = [threading.Thread(target=run, args=(r, fail)) for r in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert str(results[0]) == "cannot unpack data.zip: File is not a zip file"
    assert str(results[1]) == "local rank 0 failed: cannot unpack data.zip: File is not a zip file"


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_cloud_training_end_to_end(dataset, tmp_path, mode, caplog):
    import train
    data_url = {0: dataset / "DATA", 1: dataset / "data.zip", 2: dataset / "data.tar.gz"}[mode]
    train_url = tmp_path / "train_url"
    extra = ["--amp_level", "O2"] if mode == 1 else []
    extra += ["--export_after_train", "True"] if mode == 2 else []
    net = train.main(["--config", CONFIG, "--is_cloudtrain", "True", "--data_url", str(data_url),
                      "--train_url", str(train_url), "--unzip_mode", str(mode), "--cache_dir", str(tmp_path / "cache"),
                      *extra, *TINY])
    assert net is not None
    names = set(os.listdir(train_url))
    assert {"quickstart_siamrpn_epoch000.ckpt", "quickstart_siamrpn_epoch001.ckpt", "metrics.json",
            "train_rank0.log"} <= names
    log = (train_url / "train_rank0.log").read_text()
    if mode == 1:
        assert "amp_level O2 asked for, but CPU training runs in float32 (O0)" in log
    if mode == 2:
        exported = json.loads((train_url / "export" / "quickstart_siamrpn.json").read_text())
        assert set(exported["graphs"]) == {"template", "search"}
        assert all((train_url / "export" / g["file"]).exists() for g in exported["graphs"].values())
    if mode == 0:   # a restarted job resumes from the checkpoints it copied back from train_url
        shutil.rmtree(tmp_path / "cache")
        train.main(["--config", CONFIG, "--is_cloudtrain", "True", "--data_url", str(data_url),
                    "--train_url", str(train_url), "--cache_dir", str(tmp_path / "cache"), *TINY,
                    "--train.epochs", "2"])
        log = (train_url / "train_rank0.log").read_text()
        assert f"resuming from {tmp_path / 'cache' / 'train' / 'quickstart_siamrpn_epoch001.ckpt'} (epoch 1 done)" in log
        assert "quickstart_siamrpn_epoch002.ckpt" in os.listdir(train_url)


def test_cloud_failure_exits_with_one_line_and_still_uploads_the_log(dataset, tmp_path):
    broken = tmp_path / "in"
    broken.mkdir()
    (broken / "data.zip").write_bytes(b"garbage")
    cmd = [sys.executable, os.path.join(ROOT, "train.py"), "--config", CONFIG, "--is_cloudtrain", "True",
           "--data_url", str(broken), "--train_url", str(tmp_path / "out"), "--unzip_mode", "1",
           "--cache_dir", str(tmp_path / "cache"), *TINY]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1] == "train.py: cannot unpack data.zip: File is not a zip file"
    assert "train_rank0.log" in os.listdir(tmp_path / "out")
    assert not any(n.endswith(".ckpt") for n in os.listdir(tmp_path / "out"))
    proc = subprocess.run(cmd[:6] + ["--train_url", str(tmp_path / "out")], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.stderr.strip() == "train.py: --is_cloudtrain True needs --data_url and --train_url"


def test_two_process_cloud_job_copies_once_and_uploads_every_log(dataset, tmp_path):
    """msrun, 2 CPU processes: local rank 0 fetches and unpacks the data while rank 1 waits,
    both train on it, and the job's outputs with both ranks' logs reach train_url."""
    from test_distributed_msrun import msrun
    url = tmp_path / "url"
    proc = msrun(tmp_path / "log", [os.path.join(ROOT, "train.py"), "--config", CONFIG, "--is_cloudtrain", "True",
                                    "--data_url", str(dataset / "data.tar.gz"), "--train_url", str(url),
                                    "--unzip_mode", "2", "--cache_dir", str(tmp_path / "cache"),
                                    "--run_distribute", "True", *TINY])
    assert proc.wait(timeout=300) == 0, (tmp_path / "log" / "worker_1.log").read_text()[-3000:]
    assert {"quickstart_siamrpn_epoch001.ckpt", "metrics.json", "train_rank0.log", "train_rank1.log"} <= \
        set(os.listdir(url))
    logs = [(url / f"train_rank{r}.log").read_text() for r in (0, 1)]
    assert "data from" in logs[0] and "data from" not in logs[1]       # copied once, by local rank 0
    assert "epoch 1/1 step 1/1" in logs[1]                            # rank 1 trained on it

"""python -m src.data.prepare's runner and CLI on a tiny dataset defined here.

Raw layout of the tiny dataset: ``<src>/<video>/<frame:06d>.jpg`` and
``<src>/<video>/boxes.txt`` with lines ``frame track x1 y1 x2 y2``. Boxes
with zero width/height are dropped as 'invalid', boxes under 4 px wide as
'too small'. ``TINY_SLEEP`` (seconds) slows every video down so that a run can
be killed in the middle.
"""
import glob
import json
import math
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from src.data.prepare import SOURCES, runner
from src.data.prepare.__main__ import main
from src.data.prepare.core import Frame, Obj, PrepareError, Source, Video, box_invalid
from raw_fixtures.pysot_crop import pysot_crop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class TinySource(Source):
    name = "tiny"

    def list_videos(self):
        return sorted(d for d in os.listdir(self.src) if os.path.isdir(os.path.join(self.src, d)))

    def load_video(self, key):
        time.sleep(float(os.environ.get("TINY_SLEEP", "0")))
        path = os.path.join(self.src, key, "boxes.txt")
        video, frames = Video(key), {}
        with open(path) as f:
            for n, line in enumerate(f, 1):
                parts = line.split()
                try:
                    frame, track = int(parts[0]), int(parts[1])
                    box = [float(v) for v in parts[2:]]
                    assert len(box) == 4
                except (ValueError, IndexError, AssertionError):
                    raise PrepareError(f"{path}:{n}: expected 'frame track x1 y1 x2 y2'") from None
                if box_invalid(box):
                    video.dropped["invalid"] += 1
                    continue
                if box[2] - box[0] < 4:
                    video.dropped["too small"] += 1
                    continue
                if frame not in frames:
                    frames[frame] = Frame(frame, os.path.join(self.src, key, f"{frame:06d}.jpg"))
                frames[frame].objects.append(Obj(track, box))
        video.frames = [frames[k] for k in sorted(frames)]
        return video


SOURCE = TinySource   # what get_source('tiny') imports once SOURCES maps 'tiny' to this module


@pytest.fixture(autouse=True)
def tiny_registered(monkeypatch):
    monkeypatch.setitem(SOURCES, "tiny", __name__)


def smooth_image(rng, w, h):
    """Low-frequency content: JPEG noise stays small, so crops compare tightly."""
    small = rng.integers(0, 256, (4, 5, 3)).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def make_dataset(root, videos=3, frames=3, seed=0, sizes=((64, 48), (160, 120), (100, 80))):
    """Videos with 1-2 tracks on every frame plus one invalid and one too-small box each;
    the annotations the index must hold: {video: {track: {frame: box}}}."""
    rng = np.random.default_rng(seed)
    expected = {}
    for v in range(videos):
        key = f"video_{v:03d}"
        w, h = sizes[v % len(sizes)]
        os.makedirs(os.path.join(root, key))
        lines, tracks = [], {}
        for f in range(frames):
            cv2.imwrite(os.path.join(root, key, f"{f:06d}.jpg"), smooth_image(rng, w, h))
            for t in range(1 + v % 2):
                x1, y1 = float(rng.integers(0, w // 2)), float(rng.integers(0, h // 2))
                box = [x1, y1, x1 + float(rng.integers(8, w // 2)), y1 + float(rng.integers(8, h // 2))]
                lines.append(f"{f} {t} " + " ".join(str(c) for c in box))
                tracks.setdefault(f"{t:02d}", {})[f"{f:06d}"] = box
        lines.append("0 5 10 10 10 20")      # zero width: invalid
        lines.append("1 6 10 10 12 20")      # 2 px wide: too small
        with open(os.path.join(root, key, "boxes.txt"), "w") as fh:
            fh.write("\n".join(lines) + "\n")
        expected[key] = tracks
    return expected


def crop_files(out):
    """{relative path: (bytes, mtime_ns)} of every file under crop511/."""
    base = os.path.join(out, "crop511")
    files = {}
    for path in glob.glob(os.path.join(base, "**", "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                files[os.path.relpath(path, base)] = (f.read(), os.stat(path).st_mtime_ns)
    return files


def read(path):
    with open(path, "rb") as f:
        return f.read()


def journal_lines(out):
    with open(os.path.join(out, "train.journal.jsonl")) as f:
        return [json.loads(line) for line in f]


@pytest.fixture
def raw(tmp_path):
    src = str(tmp_path / "raw")
    return src, make_dataset(src)


def test_crops_index_and_report(raw, tmp_path, capsys):
    src, expected = raw
    out = str(tmp_path / "out")
    assert main(["tiny", "--src", src, "--out", out, "--workers", "1", "--quiet"]) == 0
    with open(os.path.join(out, "train.json")) as f:
        index = json.load(f)
    assert index == expected
    # pysot's json.dump(..., indent=4, sort_keys=True)
    assert read(os.path.join(out, "train.json")).decode() == json.dumps(expected, indent=4, sort_keys=True)
    crops = crop_files(out)
    assert len(crops) == sum(len(fr) for tr in expected.values() for fr in tr.values())
    for key, tracks in expected.items():
        for track, frames in tracks.items():
            for frame, box in frames.items():
                image = cv2.imread(os.path.join(src, key, f"{frame}.jpg"))
                want = pysot_crop(image, box)
                got = cv2.imread(os.path.join(out, "crop511", key, f"{frame}.{track}.x.jpg")).astype(np.int16)
                assert got.shape == (511, 511, 3)
                assert np.abs(got - want).mean() < 1.0
                # within JPEG noise: the same as pysot's crop through a quality-95 JPEG (cv2.imwrite's default)
                jpeg = cv2.imdecode(cv2.imencode(".jpg", want, [cv2.IMWRITE_JPEG_QUALITY, 95])[1], cv2.IMREAD_COLOR)
                assert np.abs(got - jpeg).max() <= 2
    report = json.load(open(os.path.join(out, "train.report.json")))
    assert report["dropped"] == {"invalid": 3, "too small": 3} and report["dropped_total"] == 6
    assert report["videos"] == 3 and report["crops"] == len(crops) and report["corrupt"] == 0
    assert report["settings"] == {"dataset": "tiny", "split": "train", "instance_size": 511,
                                  "src": os.path.abspath(src), "options": {}}
    printed = capsys.readouterr().out
    assert "dropped 6 boxes: invalid 3, too small 3" in printed
    # journal: a settings header, then one record per video
    lines = journal_lines(out)
    assert lines[0]["dataset"] == "tiny" and lines[0]["src"] == os.path.abspath(src)
    assert sorted(r["key"] for r in lines[1:]) == sorted(expected)


def test_training_loader_reads_the_output(raw, tmp_path):
    from src.config import SubDatasetConfig
    from src.data.crop511 import SubDataset
    src, expected = raw
    runner.prepare(TinySource(src, "train"), str(tmp_path / "tiny"), progress=False)
    sub = SubDataset(SubDatasetConfig("TINY", "tiny/crop511", "tiny/train.json"), str(tmp_path), 0)
    assert sorted(sub.videos) == sorted(expected) and not sub.missing_video_folders()
    for video, tracks in expected.items():
        for track, frames in tracks.items():
            for frame, box in frames.items():
                path, anno = sub.get_image_anno(video, track, int(frame))
                assert os.path.isfile(path) and anno == box


def test_workers_give_the_same_output(raw, tmp_path):
    src, expected = raw
    outs = []
    for workers in (1, 2):
        out = str(tmp_path / f"out{workers}")
        summary = runner.prepare(TinySource(src, "train"), out, workers=workers, progress=False)
        assert summary["workers"] == workers
        outs.append(out)
    assert read(os.path.join(outs[0], "train.json")) == read(os.path.join(outs[1], "train.json"))
    a, b = crop_files(outs[0]), crop_files(outs[1])
    assert a.keys() == b.keys() and all(a[k][0] == b[k][0] for k in a)


def test_idempotent_rerun_and_rebuild_index(raw, tmp_path, capsys):
    src, _ = raw
    out = str(tmp_path / "out")
    runner.prepare(TinySource(src, "train"), out, progress=False)
    index, before = read(os.path.join(out, "train.json")), crop_files(out)
    index_mtime = os.stat(os.path.join(out, "train.json")).st_mtime_ns
    summary = runner.prepare(TinySource(src, "train"), out, workers=2, progress=False)
    assert summary["cropped_now"] == 0 and summary["resumed"] == 3
    assert crop_files(out) == before          # no crop rewritten (same bytes and mtimes)
    assert read(os.path.join(out, "train.json")) == index
    assert os.stat(os.path.join(out, "train.json")).st_mtime_ns == index_mtime
    report = json.load(open(os.path.join(out, "train.report.json")))
    os.remove(os.path.join(out, "train.json"))
    os.remove(os.path.join(out, "train.report.json"))
    # the raw data is gone: the journal alone rebuilds index and report
    os.rename(src, src + ".gone")
    assert main(["tiny", "--out", out, "--rebuild_index"]) == 0
    assert read(os.path.join(out, "train.json")) == index
    rebuilt = json.load(open(os.path.join(out, "train.report.json")))
    for k in ("crops", "dropped", "videos", "indexed", "corrupt", "settings"):
        assert rebuilt[k] == report[k]
    assert main(["tiny", "--out", out, "--rebuild_index", "--split", "val"]) == 1
    assert "no journal of tiny val" in capsys.readouterr().err


def test_limit_then_resume_with_torn_last_line(raw, tmp_path):
    src, expected = raw
    out = str(tmp_path / "out")
    summary = runner.prepare(TinySource(src, "train"), out, limit=2, progress=False)
    assert summary["videos"] == 2 and len(json.load(open(os.path.join(out, "train.json")))) == 2
    journal = os.path.join(out, "train.journal.jsonl")
    with open(journal, "a") as f:     # what kill -9 in the middle of a write leaves
        f.write('{"corrupt": [], "crops": 3, "key": "video_0')
    done_before = crop_files(out)
    summary = runner.prepare(TinySource(src, "train"), out, progress=False)
    assert summary["resumed"] == 2 and summary["cropped_now"] == 1
    assert json.load(open(os.path.join(out, "train.json"))) == expected
    assert all(crop_files(out)[k] == v for k, v in done_before.items())   # finished videos not redone
    lines = journal_lines(out)          # the torn piece was cut off: every line is whole JSON
    assert sorted(r["key"] for r in lines[1:]) == sorted(expected)


def test_malformed_journal_line_and_other_settings(raw, tmp_path, capsys):
    src, _ = raw
    out = str(tmp_path / "out")
    runner.prepare(TinySource(src, "train"), out, limit=1, progress=False)
    journal = os.path.join(out, "train.journal.jsonl")
    # other settings: one line naming what differs and the way out
    assert main(["tiny", "--src", src, "--out", out, "--instance_size", "255", "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("prepare: ")
    assert "instance_size 511, not 255" in err and "--restart" in err and "another --out" in err
    other = str(tmp_path / "raw2")
    make_dataset(other, videos=1)
    with pytest.raises(PrepareError, match="src"):
        runner.prepare(TinySource(other, "train"), out, progress=False)
    lines = read(journal).split(b"\n")
    with open(journal, "wb") as f:
        f.write(b"\n".join([lines[0], b"{oops", *lines[1:]]))
    with pytest.raises(PrepareError, match=r"train\.journal\.jsonl:2: not a JSON line"):
        runner.prepare(TinySource(src, "train"), out, progress=False)
    # --restart discards the journal
    assert main(["tiny", "--src", src, "--out", out, "--instance_size", "255", "--restart", "--quiet"]) == 0
    assert journal_lines(out)[0]["instance_size"] == 255
    assert cv2.imread(glob.glob(os.path.join(out, "crop511", "video_002", "*.x.jpg"))[0]).shape == (255, 255, 3)


def test_corrupt_image_skipped_and_counted(raw, tmp_path, capsys):
    src, expected = raw
    bad = os.path.join(src, "video_001", "000001.jpg")
    data = read(bad)
    with open(bad, "wb") as f:
        f.write(data[:len(data) // 2])
    out = str(tmp_path / "out")
    assert main(["tiny", "--src", src, "--out", out, "--workers", "2", "--quiet"]) == 0
    index = json.load(open(os.path.join(out, "train.json")))
    del expected["video_001"]["00"]["000001"], expected["video_001"]["01"]["000001"]
    assert index == expected
    assert not glob.glob(os.path.join(out, "crop511", "video_001", "000001.*"))
    report = json.load(open(os.path.join(out, "train.report.json")))
    assert report["corrupt"] == 1 and bad in report["corrupt_images"][0]
    printed = capsys.readouterr().out
    assert "skipped 1 unreadable images" in printed and bad in printed


def test_malformed_annotation_stops_the_run(raw, tmp_path, capsys):
    src, _ = raw
    boxes = os.path.join(src, "video_001", "boxes.txt")
    with open(boxes, "a") as f:
        f.write("3 0 1 2\n")
    n = len(read(boxes).decode().splitlines())
    out = str(tmp_path / "out")
    assert main(["tiny", "--src", src, "--out", out, "--workers", "1", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == f"prepare: {boxes}:{n}: expected 'frame track x1 y1 x2 y2'\n"
    assert [r["key"] for r in journal_lines(out)[1:]] == ["video_000"]   # finished work is kept
    assert not os.path.exists(os.path.join(out, "train.json"))
    # several workers: the pool is stopped, same one line
    assert main(["tiny", "--src", src, "--out", str(tmp_path / "out2"), "--workers", "2", "--quiet"]) == 1
    assert capsys.readouterr().err == err


@pytest.mark.parametrize("argv, message", [
    (["tiny", "--out", "OUT"], "prepare: --src RAW_ROOT is required"),
    (["nosuch", "--src", "RAW", "--out", "OUT"], "prepare: unknown dataset 'nosuch' (choose from vid, "),
    (["tiny", "--src", "RAW/missing", "--out", "OUT"], "prepare: tiny: source folder not found: "),
    (["tiny", "--src", "RAW", "--out", "OUT", "--split", "test"], "prepare: tiny: no split 'test'"),
    (["tiny", "--src", "RAW", "--out", "OUT", "--workers", "0"], "prepare: --workers must be at least 1"),
])
def test_user_errors_are_one_line(raw, tmp_path, capsys, argv, message):
    src, _ = raw
    argv = [a.replace("RAW", src).replace("OUT", str(tmp_path / "out")) for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


CLI = ("import sys; sys.path[:0] = [sys.argv.pop(1), sys.argv.pop(1)]; "
       "import src.data.prepare as p; p.SOURCES['tiny'] = 'test_prepare_runner'; "
       "from src.data.prepare.__main__ import main; sys.exit(main(sys.argv[1:]))")


def run_cli(args, env=None, **kw):
    cmd = [sys.executable, "-c", CLI, ROOT, os.path.join(ROOT, "tests"), "tiny", *args]
    return subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_kill_9_then_resume_equals_uninterrupted_run(tmp_path):
    src = str(tmp_path / "raw")
    expected = make_dataset(src, videos=24, frames=1)
    reference = str(tmp_path / "reference")
    runner.prepare(TinySource(src, "train"), reference, progress=False)

    out = str(tmp_path / "out")
    journal = os.path.join(out, "train.journal.jsonl")
    proc = run_cli(["--src", src, "--out", out, "--workers", "2"], env={"TINY_SLEEP": "0.25"})
    deadline = time.time() + 30
    while time.time() < deadline and (not os.path.exists(journal) or len(read(journal).splitlines()) < 5):
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    finished = [r["key"] for r in journal_lines(out)[1:]]
    assert 4 <= len(finished) < 24
    assert not os.path.exists(os.path.join(out, "train.json"))   # no index: not a finished folder
    before = crop_files(out)
    time.sleep(0.5)   # the workers die with the main process; none writes after this
    assert crop_files(out) == before

    proc = run_cli(["--src", src, "--out", out, "--workers", "2"])
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert f"{len(finished)} were done before" in stdout
    assert read(os.path.join(out, "train.json")) == read(os.path.join(reference, "train.json"))
    assert json.load(open(os.path.join(out, "train.json"))) == expected
    after, ref = crop_files(out), crop_files(reference)
    assert after.keys() == ref.keys() and all(after[k][0] == ref[k][0] for k in ref)
    for name, (_, mtime) in before.items():   # crops of finished videos were not written again
        if name.split(os.sep)[0] in finished:
            assert after[name][1] == mtime
    keys = [r["key"] for r in journal_lines(out)[1:]]
    assert sorted(keys) == sorted(expected) and len(keys) == len(set(keys))   # nothing redone
    assert not glob.glob(os.path.join(out, "crop511", "*", "*.tmp*"))

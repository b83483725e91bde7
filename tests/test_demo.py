"""demo.py: one target through a frame folder or a video file, results saved for a headless machine."""
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import ROOT, polygon_distance, synthetic_test_sets

QUICKSTART_CKPT = os.path.join(ROOT, "tests", "fixtures", "quickstart_siamrpn.ckpt")


def run_demo(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "demo.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=900)


def demo_main(*args):
    """demo.py's main in this process: no interpreter and MindSpore start-up (seconds each); a
    refusal is a SystemExit carrying the one line a user sees."""
    import importlib
    return importlib.import_module("demo").main([str(a) for a in args])


def _video_frames(path):
    capture, n = cv2.VideoCapture(str(path)), 0
    while capture.read()[0]:
        n += 1
    return n


@pytest.fixture(scope="module")
def otb(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    synthetic_test_sets(root, seed=3, videos=1, frames=30)
    return root, root / "data" / "test" / "OTBSYN"


def test_frame_folder_gives_the_one_pass_evaluation_boxes(otb):
    """Init from the sequence's ground truth; the boxes are eval.py's OPE result for the same sequence."""
    root, data = otb
    out = root / "out"
    proc = run_demo("--ckpt", QUICKSTART_CKPT, "--video", str(data / "syn_test_0000" / "img"),
                    "--output_dir", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    folder = out / "syn_test_0000"
    boxes = np.loadtxt(folder / "boxes.txt", delimiter=",")
    assert boxes.shape == (30, 4) and _video_frames(folder / "syn_test_0000.mp4") == 30
    gt = np.loadtxt(data / "syn_test_0000" / "groundtruth_rect.txt", delimiter=",")
    np.testing.assert_allclose(boxes[0], gt[0] + [0.5, 0.5, 0, 0], atol=1e-4)   # pysot's init convention
    # eval.py's main in this process (a refusal raises SystemExit and fails the test)
    import importlib
    importlib.import_module("eval").main(["--ckpt", QUICKSTART_CKPT, "--dataset_path", str(data), "--dataset_name",
                                          "OTBSYN", "--results_dir", str(root / "results"), "--filename",
                                          str(root / "eval.json"), "--plots", "false"])
    ope = np.loadtxt(root / "results" / "OTBSYN" / "quickstart_siamrpn" / "syn_test_0000.txt", delimiter=",")
    np.testing.assert_allclose(boxes, ope, atol=1e-4)     # demo writes 4 decimals
    assert not [p for p in os.listdir(out) if p.startswith(".")]


def test_video_file_with_an_init_box(otb, tmp_path):
    _, data = otb
    frames = sorted((data / "syn_test_0000" / "img").iterdir())
    video = tmp_path / "clip.avi"
    first = cv2.imread(str(frames[0]))
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (first.shape[1], first.shape[0]))
    for f in frames[:12]:
        writer.write(cv2.imread(str(f)))
    writer.release()
    proc = run_demo("--ckpt", QUICKSTART_CKPT, "--video", str(video), "--init_box", "100, 80, 30, 40",
                    "--output_dir", str(tmp_path / "out"), "--save_video", "false")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = (tmp_path / "out" / "clip" / "boxes.txt").read_text().splitlines()
    assert len(lines) == 12 and lines[0] == "100.0000,80.0000,30.0000,40.0000"
    assert os.listdir(tmp_path / "out" / "clip") == ["boxes.txt"]


def test_siammask_reproduces_the_reference_run_on_bag(golden_dir, tmp_path):
    """SiamMask from bag's ground truth: the reference tracker's polygons (1 px) and masks, frame by frame."""
    import json
    from src.tools.convert_pth import convert
    ckpt = str(tmp_path / "siammask.ckpt")
    convert("siammask_sharp", os.path.join(golden_dir, "siammask_sharp", "model.pth.xz"), ckpt)
    ref_dir = os.path.join(golden_dir, "tracker_bag", "siammask_sharp")
    with open(os.path.join(ref_dir, "results.json")) as f:
        ref = json.load(f)
    reference_masks = np.load(os.path.join(ref_dir, "frames.npz"))["mask_in_img_binary"]
    frames = tmp_path / "bag"
    frames.mkdir()
    for rec in ref["frames"]:
        os.symlink(os.path.join(golden_dir, "data", "bag", rec["file"]), frames / rec["file"])
    with open(os.path.join(golden_dir, "data", "bag", "groundtruth.txt")) as f:
        (frames / "groundtruth.txt").write_text(f.readline())
    proc = run_demo("--ckpt", ckpt, "--video", str(frames), "--output_dir", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    folder = tmp_path / "out" / "bag"
    n = len(ref["frames"])
    polygons = np.loadtxt(folder / "polygons.txt", delimiter=",")
    masks = sorted(os.listdir(folder / "masks"))
    assert polygons.shape == (n, 8) and len(masks) == n and _video_frames(folder / "bag.mp4") == n
    assert not cv2.imread(str(folder / "masks" / masks[0]), cv2.IMREAD_GRAYSCALE).any()   # no mask at init
    for i, rec in enumerate(ref["frames"][1:], start=1):
        assert polygon_distance(polygons[i], rec["polygon_xy8"]) <= 1.0, rec["frame"]
        mask = cv2.imread(str(folder / "masks" / masks[i]), cv2.IMREAD_GRAYSCALE)
        assert set(np.unique(mask)) <= {0, 255}
        # the reference notes up to 1 pixel of run-to-run noise in its binary masks
        assert np.sum((mask > 0) != reference_masks[i - 1].astype(bool)) <= 1, rec["frame"]


def test_bad_input_is_one_line_and_leaves_nothing(otb, tmp_path):
    _, data = otb
    frames = data / "syn_test_0000" / "img"
    no_gt = tmp_path / "frames"
    no_gt.mkdir()
    os.symlink(next(frames.iterdir()), no_gt / "00000001.jpg")
    broken = tmp_path / "broken"
    broken.mkdir()
    os.symlink(next(frames.iterdir()), broken / "00000001.jpg")
    (broken / "00000002.jpg").write_bytes(b"not a jpeg")
    cases = [
        (["--ckpt", QUICKSTART_CKPT, "--video", str(tmp_path / "nowhere")], f"video not found: {tmp_path / 'nowhere'}"),
        (["--ckpt", QUICKSTART_CKPT, "--video", str(frames), "--init_box", "1,2,3"], "--init_box must be x,y,w,h"),
        (["--ckpt", QUICKSTART_CKPT, "--video", str(no_gt)], "give --init_box x,y,w,h: no groundtruth.txt"),
        (["--video", str(frames)], "give --ckpt"),
        (["--backend", "onnx", "--video", str(frames)], "--backend onnx runs exported graphs: give --model_dir"),
    ]
    # demo.py's main in this process (seconds of start-up saved per case): the one line it exits with
    for args, message in cases:
        with pytest.raises(SystemExit) as e:
            demo_main(*args, "--output_dir", tmp_path / "out")
        line = e.value.code
        assert isinstance(line, str) and "\n" not in line, (args, line)
        assert line.startswith("demo.py: ") and message in line, (args, line)
    # a frame that does not decode, met while tracking: as a user runs it, the last stderr line
    proc = run_demo("--ckpt", QUICKSTART_CKPT, "--video", str(broken), "--init_box", "10,10,20,20",
                    "--output_dir", str(tmp_path / "out"))
    message = f"{broken / '00000002.jpg'}: not a decodable image (frame 2)"     # src/image_io.py's words
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and lines[-1].startswith("demo.py: ") and message in lines[-1], lines[-1:]
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")


def test_negative_init_box_without_equals_sign(otb, tmp_path):
    """``--init_box -20,-10,50,50``: argparse alone reads the box as an unknown option."""
    import demo
    args, rest = demo.parse_args(["--video", "v", "--init_box", "-20,-10,50,50", "--track.lr", "0.3"])
    assert args.init_box == "-20,-10,50,50" and rest == ["--track.lr", "0.3"]
    assert demo.parse_args(["--video", "v", "--init_box", "-.5,2,3,4"])[0].init_box == "-.5,2,3,4"
    _, data = otb
    frames = sorted((data / "syn_test_0000" / "img").iterdir())[:5]
    folder = tmp_path / "frames"
    folder.mkdir()
    for f in frames:
        os.symlink(f, folder / f.name)
    # the run through demo.py's main in this process (its argv as the shell passes it)
    demo_main("--ckpt", QUICKSTART_CKPT, "--video", folder, "--init_box", "-20,-10,50,50", "--save_video", "false",
              "--output_dir", tmp_path / "out")
    boxes = (tmp_path / "out" / "frames" / "boxes.txt").read_text().splitlines()
    assert len(boxes) == 5 and np.allclose(np.array(boxes[0].split(","), float), [-20, -10, 50, 50])
    proc = run_demo("--ckpt", QUICKSTART_CKPT, "--video", str(folder), "--init_box", "--save_video", "false")
    assert proc.returncode == 2 and "argument --init_box: expected one argument" in proc.stderr

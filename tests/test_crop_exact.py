"""Sampled crops equal the materialised padded crop resized by cv2, byte for byte: the Python
tracker's (crop.sampled_resize) and the C++ app's (SampledResize in tracker.cc, through
crop_tool, against the system OpenCV's cv::resize; marked cpp and slow: it builds the app)."""
import cv2
import numpy as np
import pytest

from src.tracker.crop import get_subwindow, padded_square, resized_square, sampled_resize
from test_infer_cpp import _run, cpp_build  # noqa: F401 (fixture)


def materialised(image, x0, y0, side, out_size, fill):
    """What the trackers computed before sampling: the whole padded crop, then cv2.resize."""
    patch = np.ascontiguousarray(padded_square(image, x0, y0, side, fill))
    return patch if side == out_size else cv2.resize(patch, (out_size, out_size))


def random_case(rng, huge=False):
    height, width = (int(v) for v in rng.integers(1, 400, 2))
    if rng.random() < 0.2:
        height, width = 720, 1280
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    side = int(rng.integers(2500, 4200)) if huge else int(rng.choice([rng.integers(1, 40), rng.integers(40, 1500)]))
    # corners from far outside the frame (all padding) through straddling an edge to inside
    x0 = int(rng.integers(-side - 50, width + 50))
    y0 = int(rng.integers(-side - 50, height + 50))
    fill = rng.integers(0, 256, 3).astype(np.uint8)
    return image, x0, y0, side, fill


@pytest.mark.parametrize("seed", range(4))
def test_sampled_resize_equals_materialised_crop(seed):
    rng = np.random.default_rng(seed)
    for _ in range(60):
        image, x0, y0, side, fill = random_case(rng)
        out_size = int(rng.choice([1, 2, 5, 31, 127, 255, 271, 287, 303]))
        if side == out_size:
            continue
        expected = materialised(image, x0, y0, side, out_size, fill)
        got = sampled_resize(image, x0, y0, side, out_size, fill)
        assert got.dtype == np.uint8 and got.shape == expected.shape
        assert np.array_equal(got, expected), (image.shape, x0, y0, side, out_size)


def test_sampled_resize_on_huge_crops_and_exact_ratios():
    rng = np.random.default_rng(7)
    cases = [random_case(rng, huge=True) for _ in range(3)]
    image = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    fill = np.uint8([10, 200, 77])
    # integer ratios (cv2 resizes exact 2x downscales with its INTER_AREA kernel), upscales, a
    # crop covering the whole frame with padding on every side, one straddling a corner
    cases += [(image, -100, -300, 255 * k, fill) for k in (2, 3, 5)]
    cases += [(image, -1000, -1600, 3940, fill), (image, 1100, 600, 600, fill), (image, -3, -3, 100, fill)]
    for image, x0, y0, side, fill in cases:
        for out_size in (127, 255):
            assert np.array_equal(sampled_resize(image, x0, y0, side, out_size, fill),
                                  materialised(image, x0, y0, side, out_size, fill)), (x0, y0, side, out_size)


def test_resized_square_and_get_subwindow_keep_their_bytes():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    fill = np.uint8([1, 2, 3])
    # inside the frame (a view), small padded (materialised), large padded (sampled), same size
    for x0, y0, side in [(100, 50, 600), (-20, -10, 300), (-1500, -1700, 3940), (1200, 700, 1400), (5, 5, 255)]:
        assert np.array_equal(resized_square(image, x0, y0, side, 255, fill),
                              materialised(image, x0, y0, side, 255, fill))
    # get_subwindow: pysot's corner floor(c - (side + 1) / 2 + 0.5), mean colour truncated to uint8
    avg = np.array([100.7, 20.2, 254.9])
    crop = get_subwindow(image, (640.0, 360.0), 255, 3000, avg)
    c = int(np.floor(640.0 - 3001 / 2 + 0.5)), int(np.floor(360.0 - 3001 / 2 + 0.5))
    ref = materialised(image, c[0], c[1], 3000, 255, avg.astype(np.uint8))
    assert np.array_equal(crop, ref.transpose(2, 0, 1)[None].astype(np.float32))


def test_channel_reversed_frames_sample_alike():
    """SiamFC's RGB networks crop a channel-reversed view of the frame (negative stride)."""
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (360, 480, 3), dtype=np.uint8)[:, :, ::-1]
    fill = np.uint8([9, 8, 7])
    assert np.array_equal(sampled_resize(image, -700, -900, 2000, 255, fill),
                          materialised(image, -700, -900, 2000, 255, fill))


@pytest.mark.cpp
@pytest.mark.slow
def test_cpp_sampled_crop_equals_cv_resize(cpp_build):
    rng = np.random.default_rng(11)
    lines = []
    for seed in range(400):
        image, x0, y0, side, _ = random_case(rng, huge=seed % 40 == 0)
        out_size = int(rng.choice([1, 2, 5, 31, 127, 255, 271, 287, 303]))
        lines.append(f"{image.shape[0]} {image.shape[1]} {x0} {y0} {side} {out_size} {seed}")
    lines += [f"720 1280 -100 -300 {255 * k} 255 {k}" for k in (2, 3, 5)]     # integer ratios
    proc = _run([str(cpp_build / "crop_tool")], input="\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    differing = [int(v) for v in proc.stdout.split()]
    assert len(differing) == len(lines)
    assert [line for line, n in zip(lines, differing) if n] == []

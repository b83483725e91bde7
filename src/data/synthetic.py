"""Deterministic synthetic single-object-tracking dataset (train / val / test).

Why: the quick start and the tests need data that is generated in seconds with
no download, yet is hard enough that a Siamese tracker has to learn appearance
matching. Targets are textured ellipses, polygons and rectangles that move
smoothly, change scale, rotate and get partly occluded, over a textured
panning background, next to distractors that copy the target's shape and
pattern with a shifted hue.

Layout under ``--out DIR``::

    train/syn/crop511/<video>/<frame:06d>.<track:02d>.x.jpg   511x511 SiamFC crop
    train/syn/crop511/<video>/<frame:06d>.<track:02d>.m.png   visible-target mask, 0/255
    train/syn/train.json          {video: {track: {frame: [x1, y1, x2, y2]}}}
    val/syn/crop511/...  and  val/syn/val.json                 (same layout)
    test/VOTSYN/list.txt, VOTSYN.json, <seq>/color/%08d.jpg, <seq>/groundtruth.txt
    test/OTBSYN/OTBSYN.json, <seq>/img/%04d.jpg, <seq>/groundtruth_rect.txt
    test/DAVISSYN/ImageSets/2016/val.txt, JPEGImages/480p/<seq>/%05d.jpg,
                  Annotations/480p/<seq>/%05d.png   visible-target mask, 0/255 (DAVIS 2016)
    test/VOTLTSYN/list.txt, VOTLTSYN.json, <seq>/color/%08d.jpg, <seq>/groundtruth.txt
                  long-term set, only with --lt_videos N > 0: the target leaves the view or
                  is fully occluded for a stretch; ``nan,nan,nan,nan`` rows while it is absent

Coordinates follow OpenCV/pysot (pixel centres on integer coordinates). Boxes
are the tight box of the whole target shape, occluded parts included; VOT
polygons are the shape's rotated bounding rectangle; masks are the visible part.
The three test sets show the same scenes with the same JPEG bytes.

Each video draws from its own Generator seeded with (seed, split, index), so it
is reproducible on its own, and equal arguments give byte-identical files. Each
part is built in ``DIR/<part>.tmp-XXXXXXXX`` and renamed into place when
complete, so an interrupted run never leaves a dataset that looks finished.
"""
import argparse
import json
import math
import shutil
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from src.crop_geometry import CROP511_SIZE
from src.data.crop import crop_like_siamfc

try:
    from tqdm import tqdm
except ImportError:  # progress bars are optional
    tqdm = None

FRAME_SIZE = (320, 240)  # (width, height) of every rendered frame
CROP_SIZE = CROP511_SIZE   # the crop511 layout the loader reads
JPEG_QUALITY = 90
SPLIT_CODES = {"train": 0, "val": 1, "test": 2, "test_lt": 3}
KINDS = ("ellipse", "rectangle", "polygon")
PATTERNS = ("stripes", "checker", "blobs", "rings")
TEXTURE_SIZE = 64


@dataclass
class Look:
    """What an object looks like; distractors copy it with a shifted hue."""
    kind: str
    pattern: str
    hue: float  # OpenCV hue, [0, 180)
    aspect: float  # width / height of the shape's tight box


@dataclass
class SceneObject:
    """A textured shape and its pose in every frame.

    ``outline`` lives in unit coordinates whose tight box is [-1, 1]^2, so the
    pose (centre, rotation, per-axis half size times scale) alone gives both
    the drawing and the exact annotations.
    """
    outline: np.ndarray  # (N, 2)
    texture: np.ndarray  # (S, S, 3) uint8, stretched over the unit square
    half_size: np.ndarray  # (2,) half width / height in pixels at scale 1
    centres: np.ndarray  # (T, 2)
    scales: np.ndarray  # (T,)
    angles: np.ndarray  # (T,) radians

    def unit_to_frame(self, t):
        """2x3 affine map from unit coordinates to frame coordinates at frame t."""
        c, s = math.cos(self.angles[t]), math.sin(self.angles[t])
        linear = np.array([[c, -s], [s, c]]) * (self.half_size * self.scales[t])
        return np.hstack([linear, self.centres[t][:, None]])

    def _transform(self, points, t):
        m = self.unit_to_frame(t)
        return points @ m[:, :2].T + m[:, 2]

    def polygon(self, t):
        return self._transform(self.outline, t)

    def box(self, t):
        """Axis-aligned tight box [x1, y1, x2, y2] of the whole shape."""
        pts = self.polygon(t)
        return np.concatenate([pts.min(axis=0), pts.max(axis=0)])

    def rotated_rect(self, t):
        """(4, 2) corners of the shape's rotated bounding rectangle (VOT polygon)."""
        return self._transform(np.array([[-1.0, -1.0], [1, -1], [1, 1], [-1, 1]]), t)


@dataclass
class Scene:
    background: np.ndarray  # larger than a frame; the camera pans over it
    pan: np.ndarray  # (T, 2) top-left corner of the frame in the background
    objects: list  # SceneObjects, drawn back to front
    targets: list  # indices into ``objects`` of the annotated tracks
    frame_size: tuple


def _video_rng(seed, split, index):
    return np.random.default_rng([seed, SPLIT_CODES[split], index])


def _smooth(rng, n, waves=3, freq=(0.004, 0.025)):
    """Smooth random signal in [-1, 1]: a sum of sinusoids (freq in cycles/frame).

    Frequencies are per frame rather than per video so that short training
    videos and long test sequences move at the same speeds.
    """
    t = np.arange(n)[None, :]
    amp = rng.uniform(0.3, 1.0, (waves, 1))
    f = rng.uniform(*freq, (waves, 1))
    phase = rng.uniform(0.0, 2 * np.pi, (waves, 1))
    return (amp * np.sin(2 * np.pi * f * t + phase)).sum(axis=0) / amp.sum()


def _hsv_to_bgr(hue, sat, val):
    hsv = np.uint8([[[int(hue) % 180, sat, val]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)


def _noise(rng, shape_hw, cells, channels=1):
    """Low-frequency value noise: a coarse random grid upsampled bicubically."""
    h, w = shape_hw
    grid = rng.random((cells, max(1, round(cells * w / h)), channels)).astype(np.float32)
    out = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    return out.reshape(h, w, channels)


def _make_texture(rng, look):
    """Two-colour pattern with shading and grain, so the target has inner structure."""
    size = TEXTURE_SIZE
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if look.pattern == "stripes":
        a = rng.uniform(0, np.pi)
        p = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 5) * (xx * np.cos(a) + yy * np.sin(a)))
    elif look.pattern == "checker":
        n = rng.integers(2, 6)
        p = ((np.floor(xx * n) + np.floor(yy * n)) % 2).astype(np.float32)
    elif look.pattern == "blobs":
        p = np.clip((_noise(rng, (size, size), 5)[..., 0] - 0.5) * 4 + 0.5, 0, 1)
    else:  # rings
        r = np.hypot(xx - rng.uniform(0.3, 0.7), yy - rng.uniform(0.3, 0.7))
        p = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 4) * r)
    first = _hsv_to_bgr(look.hue, rng.integers(150, 256), rng.integers(170, 256))
    second = _hsv_to_bgr(look.hue + rng.uniform(20, 60), rng.integers(60, 200), rng.integers(40, 140))
    tex = first * (1 - p[..., None]) + second * p[..., None]
    tex *= 0.75 + 0.4 * _noise(rng, (size, size), 3)
    tex += rng.normal(0, 6, tex.shape)
    return np.clip(tex, 0, 255).astype(np.uint8)


def _make_outline(rng, kind):
    """Shape outline in unit coordinates, normalised to the tight box [-1, 1]^2."""
    if kind == "rectangle":
        return np.array([[-1.0, -1.0], [1, -1], [1, 1], [-1, 1]])
    if kind == "ellipse":
        a = np.linspace(0, 2 * np.pi, 72, endpoint=False)
        return np.stack([np.cos(a), np.sin(a)], axis=1)
    n = int(rng.integers(5, 9))
    a = (np.arange(n) + rng.uniform(-0.3, 0.3, n)) * 2 * np.pi / n
    pts = rng.uniform(0.55, 1.0, (n, 1)) * np.stack([np.cos(a), np.sin(a)], axis=1)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return (pts - (lo + hi) / 2) / ((hi - lo) / 2)


def _sample_look(rng, hue, like=None):
    """A random look, or a near copy of ``like`` (same shape and pattern) as a distractor."""
    if like is not None:
        hue = like.hue + rng.choice([-1, 1]) * rng.uniform(6, 20)
        return Look(like.kind, like.pattern, hue % 180, like.aspect * rng.uniform(0.8, 1.25))
    return Look(str(rng.choice(KINDS)), str(rng.choice(PATTERNS)), hue % 180,
                float(np.exp(rng.uniform(np.log(0.5), np.log(2.0)))))


def _half_size(longest, aspect):
    return np.array([longest * min(1.0, aspect), longest * min(1.0, 1.0 / aspect)])


def _wandering_object(rng, look, n, frame_size):
    """Object moving smoothly inside the frame while it changes scale and rotates.

    The centre's range is shrunk by the largest radius the shape reaches, so
    the whole shape stays inside the frame and boxes never need clipping.
    """
    longest = rng.uniform(0.06, 0.15) * min(frame_size)
    half = _half_size(longest, look.aspect)
    scale_amp = rng.uniform(0.05, 0.3)
    scales = np.exp(scale_amp * _smooth(rng, n))
    spin = rng.uniform(-0.04, 0.04) if rng.random() < 0.25 else 0.0
    angles = rng.uniform(-0.5, 0.5) + rng.uniform(0, 0.6) * _smooth(rng, n) + spin * np.arange(n)
    radius = np.hypot(*half) * math.exp(scale_amp)
    centres = []
    for size in frame_size:
        reach = max(size / 2 - radius - 1, 0.0)
        centres.append(size / 2 + reach * (0.4 * rng.uniform(-1, 1) + 0.6 * _smooth(rng, n)))
    return SceneObject(_make_outline(rng, look.kind), _make_texture(rng, look), half,
                       np.stack(centres, axis=1), scales, angles)


def _occluder(rng, target, n):
    """Object crossing in front of ``target`` around a random frame, on a straight path."""
    t_hit = int(rng.integers(n // 5, n - n // 5))
    target_radius = float(np.mean(target.half_size)) * target.scales[t_hit]
    heading = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.cos(heading), np.sin(heading)])
    normal = np.array([-direction[1], direction[0]])
    start = target.centres[t_hit] + normal * rng.uniform(-0.8, 0.8) * target_radius
    steps = (np.arange(n) - t_hit)[:, None]
    look = _sample_look(rng, rng.uniform(0, 180))
    half = _half_size(target_radius * rng.uniform(0.5, 0.9), look.aspect)
    return SceneObject(_make_outline(rng, look.kind), _make_texture(rng, look), half,
                       start + direction * rng.uniform(2, 5) * steps, np.ones(n),
                       rng.uniform(-np.pi, np.pi) + rng.uniform(-0.03, 0.03) * np.arange(n))


def _make_background(rng, size_wh):
    """Cluttered texture: multi-scale colour noise plus random lines, boxes and discs."""
    w, h = size_wh
    mix = 0.5 * _noise(rng, (h, w), 3) + 0.3 * _noise(rng, (h, w), 10) + 0.2 * _noise(rng, (h, w), 40)
    dark = _hsv_to_bgr(rng.uniform(0, 180), rng.integers(30, 160), rng.integers(30, 110))
    light = _hsv_to_bgr(rng.uniform(0, 180), rng.integers(30, 160), rng.integers(120, 230))
    bg = dark + (light - dark) * mix + 50 * (_noise(rng, (h, w), 12, 3) - 0.5)
    bg = np.clip(bg, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(25, 45))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        size = int(rng.integers(4, min(w, h) // 6))
        kind = rng.integers(0, 3)
        if kind == 0:
            end = (x + int(rng.integers(-3, 4)) * size, y + int(rng.integers(-3, 4)) * size)
            cv2.line(bg, (x, y), end, colour, int(rng.integers(1, 5)), cv2.LINE_AA)
        elif kind == 1:
            cv2.rectangle(bg, (x, y), (x + size, y + int(rng.integers(4, 3 * size))), colour, -1)
        else:
            cv2.circle(bg, (x, y), size // 2, colour, -1, cv2.LINE_AA)
    grain = rng.normal(0, 5, bg.shape)
    return np.clip(bg + grain, 0, 255).astype(np.uint8)


def sample_scene(rng, n_frames, frame_size, n_targets, n_occluders):
    """Everything random about one video, drawn up front from its own Generator.

    Targets and distractors are drawn in a random depth order (so either can
    hide the other); occluders always pass in front. Most distractors copy a
    target's shape and pattern, which forces the tracker to use fine appearance.
    """
    w, h = frame_size
    margin = 0.2 * min(frame_size)
    background = _make_background(rng, (int(w + 2 * margin) + 2, int(h + 2 * margin) + 2))
    pan = np.stack([margin * (1 + 0.4 * rng.uniform(-1, 1) + 0.6 * _smooth(rng, n_frames))
                    for _ in range(2)], axis=1)
    hue0 = rng.uniform(0, 180)
    looks = [_sample_look(rng, hue0 + k * 180 / n_targets) for k in range(n_targets)]
    n_distractors = int(rng.integers(1, 4))
    looks += [_sample_look(rng, rng.uniform(0, 180), looks[int(rng.integers(n_targets))]
                           if rng.random() < 0.7 else None) for _ in range(n_distractors)]
    movers = [_wandering_object(rng, look, n_frames, frame_size) for look in looks]
    order = [int(i) for i in rng.permutation(len(movers))]
    objects = [movers[i] for i in order]
    targets = [order.index(k) for k in range(n_targets)]
    objects += [_occluder(rng, movers[int(rng.integers(n_targets))], n_frames)
                for _ in range(n_occluders)]
    return Scene(background, pan, objects, targets, tuple(frame_size))


def _draw_object(frame, obj, t):
    """Paint ``obj`` into ``frame`` (in place) and return its full-frame boolean mask."""
    height, width = frame.shape[:2]
    mask = np.zeros((height, width), dtype=bool)
    pts = obj.polygon(t)
    x0, y0 = np.maximum(np.floor(pts.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(pts.max(axis=0)).astype(int) + 1, (width, height))
    if x1 <= x0 or y1 <= y0:
        return mask
    roi_mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    fixed = np.round((pts - (x0, y0)) * 16).astype(np.int32)  # 4 fractional bits
    cv2.fillPoly(roi_mask, [fixed], 1, lineType=cv2.LINE_8, shift=4)
    # Texture pixel i sits at unit coordinate u = i * step - 1; compose with the
    # pose and shift into the ROI: roi = L (step * i - 1) + c - (x0, y0).
    step = 2.0 / (TEXTURE_SIZE - 1)
    pose = obj.unit_to_frame(t)
    linear, centre = pose[:, :2], pose[:, 2]
    offset = centre - linear.sum(axis=1) - (x0, y0)
    warp = np.hstack([linear * step, offset[:, None]])
    texture = cv2.warpAffine(obj.texture, warp, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT_101)
    inside = roi_mask.astype(bool)
    frame[y0:y1, x0:x1][inside] = texture[inside]
    mask[y0:y1, x0:x1] = inside
    return mask


def render_frame(scene, t):
    """Frame t as BGR uint8, the visible mask of each target and its visible fraction."""
    width, height = scene.frame_size
    shift = np.array([[1.0, 0.0, -scene.pan[t, 0]], [0.0, 1.0, -scene.pan[t, 1]]])
    frame = cv2.warpAffine(scene.background, shift, (width, height), flags=cv2.INTER_LINEAR)
    masks = [_draw_object(frame, obj, t) for obj in scene.objects]
    visible, fractions = [], []
    for i in scene.targets:
        above = masks[i + 1:]
        mask = masks[i] & ~np.logical_or.reduce(above) if above else masks[i]
        visible.append(mask)
        fractions.append(np.count_nonzero(mask) / max(np.count_nonzero(masks[i]), 1))
    return frame, visible, fractions


def _encode(ext, image, params):
    ok, data = cv2.imencode(ext, image, params)
    if not ok:
        raise RuntimeError(f"cv2.imencode({ext}) failed")
    return data.tobytes()


def _jpeg(image):
    return _encode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])


def _progress(items, desc, enabled):
    return tqdm(items, desc=desc, leave=False) if enabled and tqdm is not None else items


def _write_json(path, data):
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n")


def write_crop_split(root, split, n_videos, n_frames, seed, frame_size=FRAME_SIZE,
                     progress=False):
    """pysot ``crop511`` split under ``root/syn``; every third video has two tracks."""
    base = root / "syn"
    index = {}
    for v in _progress(range(n_videos), split, progress):
        name = f"syn_{split}_{v:04d}"
        rng = _video_rng(seed, split, v)
        scene = sample_scene(rng, n_frames, frame_size, n_targets=2 if v % 3 == 1 else 1,
                             n_occluders=int(rng.random() < 0.6))
        video_dir = base / "crop511" / name
        video_dir.mkdir(parents=True)
        tracks = {f"{k:02d}": {} for k in range(len(scene.targets))}
        for t in range(n_frames):
            frame, visible, _ = render_frame(scene, t)
            padding = cv2.mean(frame)[:3]  # pysot pads with the frame's mean colour
            for k, (obj_index, mask) in enumerate(zip(scene.targets, visible)):
                # Crop with the rounded box so the index reproduces the crop exactly.
                box = [round(float(c), 2) for c in scene.objects[obj_index].box(t)]
                crop = crop_like_siamfc(frame, box, CROP_SIZE, padding)
                mask_crop = crop_like_siamfc(mask.astype(np.uint8) * 255, box, CROP_SIZE, 0)
                _, mask_crop = cv2.threshold(mask_crop, 127, 255, cv2.THRESH_BINARY)
                stem = f"{t:06d}.{k:02d}"
                (video_dir / f"{stem}.x.jpg").write_bytes(_jpeg(crop))
                (video_dir / f"{stem}.m.png").write_bytes(_encode(".png", mask_crop, []))
                tracks[f"{k:02d}"][f"{t:06d}"] = box
        index[name] = tracks
    _write_json(base / f"{split}.json", index)


def _tags(polys, fractions, pan):
    """VOT per-frame attribute tags (0/1) computed from the ground truth.

    Changes are measured over 5 frames; the thresholds (6% size change, velocity
    change of 8% of the target size) tag roughly the top 10% of frames.
    ``camera_motion`` marks frames where the background pans by more than 1 px.
    """
    corners = polys.reshape(-1, 4, 2)
    centres = corners.mean(axis=1)
    size = np.sqrt(np.linalg.norm(corners[:, 1] - corners[:, 0], axis=1)
                   * np.linalg.norm(corners[:, 2] - corners[:, 1], axis=1))
    lag = np.maximum(np.arange(len(size)) - 5, 0)
    size_change = np.abs(size / size[lag] - 1) > 0.06
    velocity = np.diff(centres, axis=0, prepend=centres[:1])
    motion_change = np.linalg.norm(velocity - velocity[lag], axis=1) > 0.08 * size
    camera = np.linalg.norm(np.diff(pan, axis=0, prepend=pan[:1]), axis=1) > 1.0
    occlusion = np.asarray(fractions) < 0.7
    as_list = lambda flags: [int(f) for f in flags]  # noqa: E731
    return {"camera_motion": as_list(camera), "illum_change": [0] * len(size),
            "motion_change": as_list(motion_change), "size_change": as_list(size_change),
            "occlusion": as_list(occlusion)}


def write_test_part(root, n_videos, n_frames, seed, frame_size=FRAME_SIZE, progress=False):
    """VOTSYN, OTBSYN and DAVISSYN under ``root``: the same scenes, the same JPEG bytes.

    DAVISSYN is a DAVIS 2016-style video object segmentation set: frames
    ``%05d.jpg`` from 0 and one 0/255 PNG per frame with the target's visible
    mask (empty while it is fully hidden).
    """
    vot, otb, davis = root / "VOTSYN", root / "OTBSYN", root / "DAVISSYN"
    vot_meta, otb_meta = {}, {}
    for v in _progress(range(n_videos), "test", progress):
        name = f"syn_test_{v:04d}"
        scene = sample_scene(_video_rng(seed, "test", v), n_frames, frame_size, n_targets=1,
                             n_occluders=max(1, n_frames // 60))
        target = scene.objects[scene.targets[0]]
        (vot / name / "color").mkdir(parents=True)
        (otb / name / "img").mkdir(parents=True)
        davis_frames = davis / "JPEGImages" / "480p" / name
        davis_masks = davis / "Annotations" / "480p" / name
        davis_frames.mkdir(parents=True)
        davis_masks.mkdir(parents=True)
        polys, rects, fractions = [], [], []
        for t in range(n_frames):
            frame, (visible,), (fraction,) = render_frame(scene, t)
            data = _jpeg(frame)
            (vot / name / "color" / f"{t + 1:08d}.jpg").write_bytes(data)
            (otb / name / "img" / f"{t + 1:04d}.jpg").write_bytes(data)
            (davis_frames / f"{t:05d}.jpg").write_bytes(data)
            (davis_masks / f"{t:05d}.png").write_bytes(_encode(".png", visible.astype(np.uint8) * 255, []))
            polys.append([round(float(c), 4) for c in target.rotated_rect(t).ravel()])
            x1, y1, x2, y2 = target.box(t)
            rects.append([round(float(c), 4) for c in (x1, y1, x2 - x1, y2 - y1)])
            fractions.append(fraction)
        (vot / name / "groundtruth.txt").write_text(
            "".join(",".join(f"{c:.4f}" for c in p) + "\n" for p in polys))
        (otb / name / "groundtruth_rect.txt").write_text(
            "".join(",".join(f"{c:.4f}" for c in r) + "\n" for r in rects))
        xs, ys = polys[0][0::2], polys[0][1::2]
        vot_meta[name] = {
            "video_dir": name,
            "init_rect": [round(c, 4) for c in (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))],
            "img_names": [f"{name}/color/{t + 1:08d}.jpg" for t in range(n_frames)],
            "gt_rect": polys, **_tags(np.array(polys), fractions, scene.pan)}
        otb_meta[name] = {"video_dir": name, "init_rect": rects[0],
                          "img_names": [f"{name}/img/{t + 1:04d}.jpg" for t in range(n_frames)],
                          "gt_rect": rects, "attr": []}
    (vot / "list.txt").write_text("".join(f"{name}\n" for name in vot_meta))
    (davis / "ImageSets" / "2016").mkdir(parents=True)
    (davis / "ImageSets" / "2016" / "val.txt").write_text("".join(f"{name}\n" for name in vot_meta))
    _write_json(vot / "VOTSYN.json", vot_meta)
    _write_json(otb / "OTBSYN.json", otb_meta)


LT_EVENTS = ("out_of_view", "full_occlusion")
LT_MIN_VISIBLE = 0.05   # below this share of the shape's area in view, the target counts as absent


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _absence_profile(rng, n):
    """Per-frame weight in [0, 1]: 0 = the scene as sampled, 1 = the target gone.

    A core stretch of ``n/8 .. n/4`` frames at 1, entered and left over ``n/10``
    frames (smoothstep); frame 0 and the last frame stay at 0, so a tracker starts on a
    visible target and the target is back before the end.
    """
    ramp = max(1, n // 10)
    core = int(rng.integers(max(1, n // 8), max(1, n // 4) + 1))
    first = 1 + ramp
    start = int(rng.integers(first, max(first, n - 1 - ramp - core) + 1))
    t = np.arange(n, dtype=np.float64)
    rise = _smoothstep((t - (start - ramp) + 1) / (ramp + 1))
    fall = 1 - _smoothstep((t - (start + core) + 1) / (ramp + 1))
    return np.minimum(rise, fall)


def _long_term_scene(rng, n_frames, frame_size, event, distractors=True):
    """A one-target scene whose target leaves the view (``out_of_view``: pushed off-frame along a
    random direction and back) or is fully covered by an occluder that slides over it and away
    (``full_occlusion``) for a stretch (``_absence_profile``). The target is drawn in front of the
    distractors, so only the planned event hides it.

    ``distractors=False`` drops sample_scene's 1-3 distractors (most are near copies of the
    target) after drawing them, so the rest of the scene (background, path, event) is the same
    one: a sequence where "the target is away" means "nothing like it is in view", for a model
    too small to tell a look-alike from the target (the quick-start SiamRPN scores them 0.8-0.97,
    as high as the target itself)."""
    scene = sample_scene(rng, n_frames, frame_size, n_targets=1, n_occluders=0)
    target = scene.objects.pop(scene.targets[0])
    if not distractors:
        scene.objects = []
    scene.objects.append(target)
    scene.targets = [len(scene.objects) - 1]
    weight = _absence_profile(rng, n_frames)[:, None]
    heading = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.cos(heading), np.sin(heading)])
    radius = float(np.hypot(*target.half_size) * target.scales.max())
    far = math.hypot(*frame_size) + 2 * radius + 2       # from anywhere in the frame to fully outside
    if event == "out_of_view":
        target.centres = target.centres + weight * far * direction
    else:
        look = _sample_look(rng, rng.uniform(0, 180))
        # a square of half side 1.2 r covers the disc of radius r around the target at any angle
        cover = SceneObject(_make_outline(rng, "rectangle"), _make_texture(rng, look),
                            np.array([1.2 * radius, 1.2 * radius]),
                            target.centres + (1 - weight) * far * direction, np.ones(n_frames),
                            rng.uniform(-0.3, 0.3) + np.zeros(n_frames))
        scene.objects.append(cover)
    return scene


def _lt_box(target, t, visible, frame_size):
    """Ground truth of frame t: the whole shape's box clipped to the frame, or None (absent) when
    less than LT_MIN_VISIBLE of the shape's area is visible (off-frame or covered)."""
    pts = target.polygon(t)
    area = 0.5 * abs(float(np.dot(pts[:, 0], np.roll(pts[:, 1], -1)) - np.dot(pts[:, 1], np.roll(pts[:, 0], -1))))
    if np.count_nonzero(visible) < LT_MIN_VISIBLE * area:
        return None
    w, h = frame_size
    x1, y1, x2, y2 = target.box(t)
    x1, x2 = np.clip([x1, x2], 0, w - 1)
    y1, y2 = np.clip([y1, y2], 0, h - 1)
    if x2 - x1 < 1 or y2 - y1 < 1:
        return None
    return [round(float(c), 4) for c in (x1, y1, x2 - x1, y2 - y1)]


def write_lt_part(root, n_videos, n_frames, seed, frame_size=FRAME_SIZE, progress=False):
    """VOTLTSYN under ``root``: a VOT2018-LT-style long-term set (pysot ``VOTLTDataset`` JSON).

    ``<seq>/color/%08d.jpg``, ``<seq>/groundtruth.txt`` with one ``x,y,w,h`` a line
    (``nan,nan,nan,nan`` while the target is absent), ``list.txt`` and
    ``VOTLTSYN.json`` (``video_dir``, ``init_rect``, ``img_names``, ``gt_rect`` with NaN
    rows, as pysot's VOT2018-LT.json). Even sequences have the target leave the view,
    odd ones a full occlusion (``LT_EVENTS``). Scenes are drawn from their own
    Generators (split ``test_lt``): the other sets do not change.
    """
    lt = root / "VOTLTSYN"
    meta = {}
    for v in _progress(range(n_videos), "test_lt", progress):
        name = f"syn_lt_{v:04d}"
        scene = _long_term_scene(_video_rng(seed, "test_lt", v), n_frames, frame_size, LT_EVENTS[v % 2])
        target = scene.objects[scene.targets[0]]
        (lt / name / "color").mkdir(parents=True)
        rects = []
        for t in range(n_frames):
            frame, (visible,), _ = render_frame(scene, t)
            (lt / name / "color" / f"{t + 1:08d}.jpg").write_bytes(_jpeg(frame))
            rects.append(_lt_box(target, t, visible, frame_size))
        if rects[0] is None:
            raise RuntimeError(f"{name}: the target is not visible on the first frame")
        (lt / name / "groundtruth.txt").write_text("".join(
            ("nan,nan,nan,nan" if r is None else ",".join(f"{c:.4f}" for c in r)) + "\n" for r in rects))
        meta[name] = {"video_dir": name, "init_rect": rects[0],
                      "img_names": [f"{name}/color/{t + 1:08d}.jpg" for t in range(n_frames)],
                      "gt_rect": [[math.nan] * 4 if r is None else r for r in rects]}
    lt.mkdir(parents=True, exist_ok=True)
    (lt / "list.txt").write_text("".join(f"{name}\n" for name in meta))
    _write_json(lt / "VOTLTSYN.json", meta)    # NaN literals, as pysot's VOT2018-LT.json


def _write_test_parts(root, test_videos, test_frames, lt_videos, lt_frames, seed, frame_size, progress):
    if test_videos:
        write_test_part(root, test_videos, test_frames, seed, frame_size, progress)
    if lt_videos:
        write_lt_part(root, lt_videos, lt_frames, seed, frame_size, progress)


def _publish(tmp, final, overwrite):
    """Move a finished part into place, replacing an old one only if asked to."""
    if final.exists():
        if not overwrite:
            raise FileExistsError(f"{final} already exists; pass --overwrite to replace it")
        old = final.with_name(f"{final.name}.old-{uuid.uuid4().hex[:8]}")
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old)
    else:
        tmp.rename(final)


def generate(out_dir, seed=0, train_videos=60, train_frames=40, val_videos=12,
             test_videos=6, test_frames=120, overwrite=False, frame_size=FRAME_SIZE,
             progress=False, lt_videos=0, lt_frames=150):
    """Write the train, val and test parts under ``out_dir``; returns their paths.

    A part with 0 videos (val or test) is not written. ``lt_videos`` > 0 adds the
    long-term set test/VOTLTSYN (``write_lt_part``, ``lt_frames`` frames each); with the
    default 0 the output is what it was before that set existed. Raises FileExistsError
    (before generating anything) when a part exists and ``overwrite`` is false.
    """
    out_dir = Path(out_dir)
    if train_videos < 1 or min(val_videos, test_videos) < 0 or min(train_frames, test_frames) < 2:
        raise ValueError("need at least 1 train video and 2 frames per video")
    if lt_videos < 0 or (lt_videos and lt_frames < 8):
        raise ValueError("--lt_videos must be >= 0 and --lt_frames >= 8 (a stretch without the target "
                         "needs frames before and after it)")
    counts = {"train": train_videos, "val": val_videos, "test": test_videos + lt_videos}
    writers = {
        "train": lambda root: write_crop_split(root, "train", train_videos, train_frames,
                                               seed, frame_size, progress),
        "val": lambda root: write_crop_split(root, "val", val_videos, train_frames,
                                             seed, frame_size, progress),
        "test": lambda root: _write_test_parts(root, test_videos, test_frames, lt_videos, lt_frames,
                                               seed, frame_size, progress),
    }
    writers = {part: write for part, write in writers.items() if counts[part] > 0}
    for part in writers:
        if (out_dir / part).exists() and not overwrite:
            raise FileExistsError(f"{out_dir / part} already exists; pass --overwrite to replace it")
    out_dir.mkdir(parents=True, exist_ok=True)
    for part, write in writers.items():
        tmp = out_dir / f"{part}.tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            write(tmp)
            _publish(tmp, out_dir / part, overwrite)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
    return {part: out_dir / part for part in writers}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train_videos", type=int, default=60)
    parser.add_argument("--train_frames", type=int, default=40,
                        help="frames per train and val video")
    parser.add_argument("--val_videos", type=int, default=12)
    parser.add_argument("--test_videos", type=int, default=6)
    parser.add_argument("--test_frames", type=int, default=120)
    parser.add_argument("--lt_videos", type=int, default=0,
                        help="long-term sequences in test/VOTLTSYN (target out of view or fully occluded "
                             "for a stretch; eval.py --dataset_name VOTLTSYN); default 0: none")
    parser.add_argument("--lt_frames", type=int, default=150, help="frames per long-term sequence")
    parser.add_argument("--overwrite", action="store_true", help="replace existing parts")
    args = parser.parse_args(argv)
    try:
        generate(args.out, args.seed, args.train_videos, args.train_frames, args.val_videos,
                 args.test_videos, args.test_frames, args.overwrite, progress=True,
                 lt_videos=args.lt_videos, lt_frames=args.lt_frames)
    except (FileExistsError, ValueError) as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()


def object_classes():
    """The generator's object classes: every (shape kind, texture pattern) pair, the
    categories a classifier can learn from these videos (hue is random within a class)."""
    return [(kind, pattern) for kind in KINDS for pattern in PATTERNS]


def render_object(rng, kind, pattern, size):
    """A ``size`` x ``size`` BGR uint8 image of one object of class (kind, pattern) with a
    random hue, aspect, size, rotation and offset on a cluttered background, drawn by the
    same code as the videos (for src.tools.pretrain_semantic)."""
    look = Look(kind, pattern, rng.uniform(0, 180), float(np.exp(rng.uniform(np.log(0.5), np.log(2.0)))))
    frame = _make_background(rng, (size, size))
    half = _half_size(rng.uniform(0.25, 0.45) * size, look.aspect)
    centre = size / 2 + rng.uniform(-0.1, 0.1, 2) * size
    obj = SceneObject(_make_outline(rng, kind), _make_texture(rng, look), half, centre[None],
                      np.ones(1), np.array([rng.uniform(-np.pi, np.pi)]))
    _draw_object(frame, obj, 0)
    return frame

"""A click becomes an object track: the object under the click is outlined on the clicked frame
(OpenCV's GrabCut, seeded by a box around the click) and followed forwards and backwards through
the video by OpenCV's CSRT tracker, which sees every ``TRACK_STRIDE``-th frame (the boxes between are
interpolated). Boxes are (x0, y0, x1, y1) in the frames' pixels."""

from __future__ import annotations

import math

import numpy as np
import torch

# Seed of the outline: GrabCut looks inside a square this many times the click box's side (1.5: mean
# IoU 0.95 with the true box on rendered scenes, 2.0: 0.91, 1.25: 0.81).
SEARCH_SCALE = 1.5
# An outline smaller than this share of the click box, or filling the whole search square, is not an
# object (a flat background or a textured one): the click box itself is used instead.
MIN_OBJECT_SHARE = 0.15
# The tracker updates on every 5th frame (2 fps at the 10 fps clicks decode at) and the boxes between
# are interpolated: whole-scene IoU 0.594 as when it sees every frame, 5x less tracking
# (track_bench.py; every 10th: 0.580).
TRACK_STRIDE = 5


def _cv2():
    import cv2  # opencv-contrib-python-headless: imported late, only clicks need it

    return cv2


def click_box(x: float, y: float, h: int, w: int, box_fraction: float) -> tuple[float, float, float, float]:
    """The fixed box around a click: its side ``box_fraction`` of the frame's shorter side."""
    half = box_fraction * min(h, w) / 2
    return (max(x - half, 0.0), max(y - half, 0.0), min(x + half, float(w)), min(y + half, float(h)))


def object_box(frame: np.ndarray, x: float, y: float, box_fraction: float,
               fallback=None) -> tuple[float, float, float, float]:
    """The box of the object under (x, y) on ``frame`` (uint8 [H, W, 3] RGB): GrabCut's foreground
    around the click, the connected part that holds the click (or lies nearest to it). Falls back to
    :func:`click_box` when no object stands out."""
    cv2 = _cv2()
    h, w = frame.shape[:2]
    fallback = fallback or click_box(x, y, h, w, box_fraction)
    half = SEARCH_SCALE * box_fraction * min(h, w) / 2
    x0, y0 = int(max(x - half, 0)), int(max(y - half, 0))
    x1, y1 = int(min(x + half, w)), int(min(y + half, h))
    if x1 - x0 < 8 or y1 - y0 < 8 or (x0 == 0 and y0 == 0 and x1 == w and y1 == h):
        return fallback  # GrabCut needs background outside its rectangle
    mask = np.zeros((h, w), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's k-means start: the same click gives the same box
    cv2.grabCut(np.ascontiguousarray(frame[..., ::-1]), mask, (x0, y0, x1 - x0, y1 - y0), bgd, fgd, 3,
                cv2.GC_INIT_WITH_RECT)
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if count <= 1:
        return fallback
    xi, yi = min(int(x), w - 1), min(int(y), h - 1)
    part = labels[yi, xi]
    if part == 0:  # the click fell just outside the outline: the nearest part within the click box
        ys, xs = np.nonzero(labels)
        near = np.argmin((xs - x) ** 2 + (ys - y) ** 2)
        if math.hypot(xs[near] - x, ys[near] - y) > box_fraction * min(h, w) / 2:
            return fallback
        part = labels[ys[near], xs[near]]
    bx, by, bw, bh, area = stats[part]
    side = box_fraction * min(h, w)  # the click box's
    if area < MIN_OBJECT_SHARE * side * side or (bw >= x1 - x0 - 1 and bh >= y1 - y0 - 1):
        return fallback
    return (float(bx), float(by), float(bx + bw), float(by + bh))


def _tracker():
    cv2 = _cv2()
    # CSRT (scale-aware; whole-scene IoU 0.53 against MIL's 0.48 from the same outline, track_bench.py)
    # comes with opencv-contrib's wheel; the main wheel has MIL only.
    if not hasattr(cv2, "TrackerCSRT"):
        return cv2.TrackerMIL.create()
    params = cv2.TrackerCSRT_Params()
    params.use_segmentation = False  # its colour segmentation: the same IoU on rendered scenes, 26 % slower
    return cv2.TrackerCSRT.create(params)


class BoxTracker:
    """Follows one box through frames given one at a time (uint8 [H, W, 3] RGB); where the tracker
    loses the object the last box is held."""

    def __init__(self, frame: np.ndarray, box):
        self.box = tuple(float(v) for v in box)
        self._tracker = _tracker()
        self._tracker.init(np.ascontiguousarray(frame[..., ::-1]), _xywh(self.box))

    def update(self, frame: np.ndarray) -> tuple[float, float, float, float]:
        ok, (bx, by, bw, bh) = self._tracker.update(np.ascontiguousarray(frame[..., ::-1]))
        h, w = frame.shape[:2]
        if ok and bw > 1 and bh > 1:
            self.box = (max(float(bx), 0.0), max(float(by), 0.0), min(float(bx + bw), float(w)), min(float(by + bh), float(h)))
        return self.box


def _xywh(box) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return (int(round(x0)), int(round(y0)), max(1, int(round(x1 - x0))), max(1, int(round(y1 - y0))))


def follow(tracker: BoxTracker, frames: np.ndarray, stride: int = TRACK_STRIDE) -> np.ndarray:
    """Boxes [n, 4] on ``frames`` [n, H, W, 3], the frames that come after the tracker's last one (in
    the order tracked): the tracker sees every ``stride``-th frame and the last one; the boxes between
    are interpolated from the tracker's box before them."""
    n = len(frames)
    if n == 0:
        return np.zeros((0, 4), np.float32)
    seen = sorted(set(range(stride - 1, n, stride)) | {n - 1})
    known = np.asarray([tracker.box] + [tracker.update(frames[i]) for i in seen], np.float32)
    where = np.asarray([-1] + seen, np.float32)
    return np.stack([np.interp(np.arange(n), where, known[:, c]) for c in range(4)], 1).astype(np.float32)


def track_frames(frames: torch.Tensor | np.ndarray, index: int, box, stride: int = TRACK_STRIDE) -> np.ndarray:
    """Boxes [T, 4] of the object in ``box`` on frame ``index`` of ``frames`` (uint8 [T, 3, H, W]),
    tracked forwards to the last frame and backwards to the first (see :func:`follow`)."""
    arr = frames.numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    arr = arr.transpose(0, 2, 3, 1)
    after = follow(BoxTracker(arr[index], box), arr[index + 1:], stride)
    before = follow(BoxTracker(arr[index], box), arr[:index][::-1], stride)[::-1]
    return np.concatenate([before, np.asarray([box], np.float32), after])


def box_masks(boxes: np.ndarray, h: int, w: int) -> torch.Tensor:
    """Masks [T, H, W]: 1 inside each frame's box."""
    masks = torch.zeros(len(boxes), h, w)
    for i, (x0, y0, x1, y1) in enumerate(boxes):  # ends cut down, as the shipped click box always was
        masks[i, int(y0): int(y1), int(x0): int(x1)] = 1
    return masks


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes [N, 4] and [N, 4], row by row."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    iw = (np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])).clip(0)
    ih = (np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])).clip(0)
    inter = iw * ih
    area = lambda z: (z[:, 2] - z[:, 0]) * (z[:, 3] - z[:, 1])  # noqa: E731
    return inter / (area(a) + area(b) - inter + 1e-9)

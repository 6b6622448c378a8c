"""A click becomes an object track: the object under the click is outlined on the clicked frame
(OpenCV's GrabCut, seeded by a box around the click) and followed forwards and backwards through
the video by OpenCV's CSRT tracker, which sees every ``TRACK_STRIDE``-th frame (the boxes between are
interpolated). CSRT says where the object goes but hardly how big it is, so each frame's box is then
sized (and centred) by matching the clicked frame's picture of the object at several scales around it
(:class:`SizeMeter`). Boxes are (x0, y0, x1, y1) in the frames' pixels."""

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
# Scales searched for the object on each frame, relative to its box on the clicked frame: a coarse
# pass over the whole range, then a finer one around the best. Not only near the last frame's scale:
# a rendered object grows to 1.86x its quietest size within 0.1 s when its sound starts.
SIZE_RANGE = (0.45, 2.2)
SIZE_COARSE, SIZE_FINE = 12, 5
# A frame whose best match scores below this (the object occluded, gone, or another one like it in the
# way) has no measured size: its box stays the tracker's (on rendered scenes such frames sized wrongly).
SIZE_MIN_MATCH = 0.7


def _cv2():
    import cv2  # opencv-contrib-python-headless: imported late, only clicks need it

    return cv2


def click_box(x: float, y: float, h: int, w: int, box_fraction: float) -> tuple[float, float, float, float]:
    """The fixed box around a click: its side ``box_fraction`` of the frame's shorter side."""
    half = box_fraction * min(h, w) / 2
    return (max(x - half, 0.0), max(y - half, 0.0), min(x + half, float(w)), min(y + half, float(h)))


# Where GrabCut finds no object, the pixels of the click box this far (RGB distance) from every colour
# on its border are taken as the object (thin or wide pictures that GrabCut misses: mean IoU with the
# true box at the click on validation stamp scenes 0.73 -> 0.83, held-out outlines 0.95 -> 0.98, emoji
# unchanged).
BORDER_DISTANCE = 30.0


def unlike_border(frame: np.ndarray, box, x: float, y: float) -> tuple[float, float, float, float]:
    """The bounding box of the pixels inside ``box`` unlike every colour on its border, if they are at
    least a tenth of it and hold (x, y); else ``box``."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    crop = frame[y0:y1, x0:x1].astype(np.float32)
    if min(crop.shape[:2]) < 4:
        return box
    border = np.concatenate([crop[0], crop[-1], crop[:, 0], crop[:, -1]])
    ref = border[:: max(1, len(border) // 32)]  # a gradient background changes along the border
    away = np.linalg.norm(crop[:, :, None] - ref[None, None], axis=-1).min(-1) > BORDER_DISTANCE
    if away.mean() < 0.1:
        return box
    ys, xs = np.nonzero(away)
    found = (float(x0 + xs.min()), float(y0 + ys.min()), float(x0 + xs.max() + 1), float(y0 + ys.max() + 1))
    return found if found[0] <= x <= found[2] and found[1] <= y <= found[3] else box


def object_box(frame: np.ndarray, x: float, y: float, box_fraction: float,
               fallback=None, sized: bool = False) -> tuple[float, float, float, float]:
    """The box of the object under (x, y) on ``frame`` (uint8 [H, W, 3] RGB): GrabCut's foreground
    around the click, the connected part that holds the click (or lies nearest to it). Where no object
    stands out, the click box itself (``sized``: the part of it unlike its border, :func:`unlike_border`)."""
    cv2 = _cv2()
    h, w = frame.shape[:2]
    if fallback is None:
        fallback = click_box(x, y, h, w, box_fraction)
        fallback = unlike_border(frame, fallback, x, y) if sized else fallback
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


class SizeMeter:
    """Sizes the clicked object on other frames: its grey picture inside the clicked frame's box,
    matched (OpenCV's normalised correlation coefficient) at scales over ``SIZE_RANGE`` in a window
    around each frame's box centre. On rendered scenes the measured side follows the true one (median
    correlation 0.98–0.99 per picture style) where the CSRT box's side does not (0.15–0.30)."""

    def __init__(self, frame: np.ndarray, box):
        cv2 = _cv2()
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
        self.template = grey[y0:y1, x0:x1].astype(np.float32)
        self.usable = min(self.template.shape) >= 8 and float(self.template.std()) > 1.0  # a flat patch matches anything
        if self.usable:  # the coarse pass runs at half size: a third of the time, the same sizes found
            th, tw = self.template.shape
            self.half = cv2.resize(self.template, (tw // 2, th // 2), interpolation=cv2.INTER_AREA)

    @staticmethod
    def _match(grey: np.ndarray, template: np.ndarray, cx: float, cy: float, scale: float) -> tuple[float, float, float]:
        """(score, x, y): ``template`` at ``scale`` best matched near (cx, cy) on ``grey``; (x, y) its centre."""
        cv2 = _cv2()
        th, tw = template.shape
        w, h = max(4, int(round(tw * scale))), max(4, int(round(th * scale)))
        reach = max(w, h) // 2 + 4
        a, b = int(max(cy - h / 2 - reach, 0)), int(min(cy + h / 2 + reach, grey.shape[0]))
        c, d = int(max(cx - w / 2 - reach, 0)), int(min(cx + w / 2 + reach, grey.shape[1]))
        if b - a < h or d - c < w:
            return -2.0, cx, cy
        t = cv2.resize(template, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        _, score, _, (mx, my) = cv2.minMaxLoc(cv2.matchTemplate(grey[a:b, c:d], t, cv2.TM_CCOEFF_NORMED))
        return float(score), c + mx + w / 2, a + my + h / 2

    def fit(self, frames: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``boxes`` [n, 4] on ``frames`` [n, H, W, 3], each resized and re-centred to where the object
        matches best, and each frame's match score [n] (NaN: not measured); a box whose match scores
        below ``SIZE_MIN_MATCH`` is kept as it was."""
        scores = np.full(len(boxes), np.nan, np.float32)
        if not self.usable or len(boxes) == 0:
            return boxes, scores
        cv2 = _cv2()
        th, tw = self.template.shape
        coarse = np.geomspace(*SIZE_RANGE, SIZE_COARSE)
        step = (SIZE_RANGE[1] / SIZE_RANGE[0]) ** (1 / (SIZE_COARSE - 1))
        out = np.array(boxes, np.float32)
        for i, (frame, box) in enumerate(zip(frames, boxes)):
            grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY).astype(np.float32)
            half = cv2.resize(grey, (grey.shape[1] // 2, grey.shape[0] // 2), interpolation=cv2.INTER_AREA)
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            _, rough = max((self._match(half, self.half, cx / 2, cy / 2, s), s) for s in coarse)
            fine = rough * np.geomspace(1 / step, step, SIZE_FINE)
            (score, x, y), scale = max((self._match(grey, self.template, cx, cy, s), s) for s in fine)
            scores[i] = score
            if score < SIZE_MIN_MATCH:
                continue
            half_w, half_h = tw * scale / 2, th * scale / 2
            h, w = grey.shape
            out[i] = (max(x - half_w, 0.0), max(y - half_h, 0.0), min(x + half_w, float(w)), min(y + half_h, float(h)))
        return out, scores


def follow(tracker: BoxTracker, frames: np.ndarray, stride: int = TRACK_STRIDE,
           meter: SizeMeter | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Boxes [n, 4] on ``frames`` [n, H, W, 3], the frames that come after the tracker's last one (in
    the order tracked): the tracker sees every ``stride``-th frame and the last one; the boxes between
    are interpolated from the tracker's box before them; then ``meter`` sizes each box. Also each box's
    size match score [n] (:meth:`SizeMeter.fit`; NaN without a meter)."""
    n = len(frames)
    if n == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    seen = sorted(set(range(stride - 1, n, stride)) | {n - 1})
    known = np.asarray([tracker.box] + [tracker.update(frames[i]) for i in seen], np.float32)
    where = np.asarray([-1] + seen, np.float32)
    boxes = np.stack([np.interp(np.arange(n), where, known[:, c]) for c in range(4)], 1).astype(np.float32)
    return (boxes, np.full(n, np.nan, np.float32)) if meter is None else meter.fit(frames, boxes)


def track_frames(frames: torch.Tensor | np.ndarray, index: int, box, stride: int = TRACK_STRIDE,
                 sized: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Boxes [T, 4] of the object in ``box`` on frame ``index`` of ``frames`` (uint8 [T, 3, H, W]),
    tracked forwards to the last frame and backwards to the first (see :func:`follow`), and their size
    match scores [T] (1 on the clicked frame; unless ``sized``, the tracker's boxes and scores NaN)."""
    arr = frames.numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    arr = arr.transpose(0, 2, 3, 1)
    meter = SizeMeter(arr[index], box) if sized else None
    after = follow(BoxTracker(arr[index], box), arr[index + 1:], stride, meter)
    before = follow(BoxTracker(arr[index], box), arr[:index][::-1], stride, meter)
    return around_click(before, box, after)


def around_click(before: tuple[np.ndarray, np.ndarray], box, after: tuple[np.ndarray, np.ndarray]):
    """(boxes [T, 4], size match scores [T]) of a track: ``before`` as :func:`follow` gave it going
    backwards from the clicked frame, the clicked ``box`` (score 1), then ``after``."""
    return (np.concatenate([before[0][::-1], np.asarray([box], np.float32), after[0]]).astype(np.float32),
            np.concatenate([before[1][::-1], [1.0], after[1]]).astype(np.float32))


def box_sides(boxes) -> np.ndarray:
    """Each box's longer side [N] (boxes [N, 4] x0, y0, x1, y1): the size a pulsing object is drawn at."""
    boxes = np.asarray(boxes, np.float64)
    return np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])


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

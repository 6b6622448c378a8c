"""Click prompts: a point on a video frame becomes the masked-object video query the encoder was
trained on: the clicked object's box, followed through a short window of frames around the click
(:mod:`separation.track`)."""

from __future__ import annotations

import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from separation.track import (BoxTracker, SizeMeter, around_click, box_masks, click_box, follow, object_box,
                             track_frames)
from soundsift.errors import SoundSiftError

DECODE_FPS = 10.0     # the encoder samples video at 10 fps
DECODE_SIDE = 224     # frames are decoded no larger than this (shorter side): the encoder sees 96 px


def _check(click, duration: float, w: int, h: int) -> None:
    t, x, y = click
    if not all(math.isfinite(v) for v in click):
        raise SoundSiftError(f"click {click} is not a number")
    if not 0 <= t <= duration:
        raise SoundSiftError(f"click time {t:g} s is outside the video (0 to {duration:.2f} s)")
    if not (0 <= x < w and 0 <= y < h):
        raise SoundSiftError(f"click ({x:g}, {y:g}) is outside the {w}x{h} frame")


def window_boxes(frames: torch.Tensor, index: int, x: float, y: float, box_fraction: float,
                 track: bool = False) -> np.ndarray:
    """Boxes [T, 4] of the clicked object on each of ``frames`` (uint8 [T, 3, H, W]), clicked at (x, y)
    on frame ``index``: the fixed click box held still, or (``track``) the object outlined and tracked.
    Held by default, as ``SeparatorConfig.click_track`` is."""
    h, w = frames.shape[-2:]
    if not track:
        return np.tile(np.asarray(click_box(x, y, h, w, box_fraction), np.float32), (frames.shape[0], 1))
    box = object_box(np.asarray(frames[index]).transpose(1, 2, 0), x, y, box_fraction)
    return track_frames(frames, index, box)[0]


def click_window(frames: torch.Tensor, fps: float, click, window_seconds: float = 1.0,
                 box_fraction: float = 0.25, track: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames [T', 3, H, W] over ``window_seconds`` around the click time and the clicked object's
    masks [T', H, W] (:func:`window_boxes`)."""
    count, _, h, w = frames.shape
    _check(click, count / fps, w, h)
    t, x, y = click
    n = max(1, min(count, int(round(window_seconds * fps))))
    first = min(max(int(round(t * fps)) - n // 2, 0), count - n)
    index = min(max(int(round(t * fps)) - first, 0), n - 1)
    window = frames[first: first + n]
    return window, box_masks(window_boxes(window, index, x, y, box_fraction, track), h, w)


def _geometry(path, click) -> tuple[int, int, float, tuple[int, int]]:
    """The video's (width, height, picture duration, decode size (H, W)); checks the click against them."""
    from soundsift.io import probe

    info = probe(path)
    stream = info["video"]
    if stream is None:
        raise SoundSiftError(f"{path}: has no video track, so it cannot take a click prompt")
    w, h = int(stream.get("width") or 0), int(stream.get("height") or 0)
    duration = info["duration"]
    picture = float(stream.get("duration") or "nan")  # the picture may end before the sound does
    if math.isfinite(picture) and picture < duration and picture < click[0] <= duration:
        raise SoundSiftError(f"{path}: click time {click[0]:g} s is past the end of the video ({picture:.2f} s; "
                             f"the audio goes on to {duration:.2f} s)")
    duration = min(duration, picture) if math.isfinite(picture) else duration
    _check(click, duration if math.isfinite(duration) else float("inf"), w, h)
    scale = min(1.0, DECODE_SIDE / min(w, h))
    return w, h, duration, (max(2, round(h * scale)), max(2, round(w * scale)))


def click_window_from_file(path: str | os.PathLike, click, window_seconds: float = 1.0,
                           box_fraction: float = 0.25, track: bool = False) -> tuple[torch.Tensor, float, torch.Tensor]:
    """Like :func:`click_window`, decoding only the window (small, at 10 fps) from a video file, so a
    click on a long video costs the same as on a short one. Returns (frames, fps, masks)."""
    from soundsift.io import load_video

    w, h, duration, size = _geometry(path, click)
    t, x, y = click
    start = max(0.0, min(t - window_seconds / 2, duration - window_seconds if math.isfinite(duration) else t))
    video = load_video(path, fps=DECODE_FPS, size=size, start=start,
                       max_frames=int(round(window_seconds * DECODE_FPS)))
    index = min(max(int(round((t - start) * video.fps)), 0), video.frames.shape[0] - 1)
    boxes = window_boxes(video.frames, index, x * size[1] / w, y * size[0] / h, box_fraction, track)
    return video.frames, video.fps, box_masks(boxes, *size)


def frame_window(index: int, around: float, fps: float) -> tuple[int, int]:
    """Frames [lo, hi) within ``around`` seconds either side of frame ``index`` at ``fps`` (hi may lie
    past the last frame)."""
    reach = int(round(around * fps))
    return max(index - reach, 0), index + reach + 1


@dataclass
class ClickTrack:
    """The clicked object's box on every frame of a video, decoded at ``fps`` and ``size`` (H, W)."""

    fps: float
    size: tuple[int, int]
    input_size: tuple[int, int]  # the video's own (H, W)
    index: int                   # the clicked frame's place in ``boxes``
    boxes: np.ndarray            # [N, 4] x0, y0, x1, y1 in decoded pixels
    first_frame: int = 0         # boxes[i] is the video's frame first_frame + i, at (first_frame + i) / fps s
    fit: np.ndarray | None = None  # [N] how well each box's size was measured (SizeMeter.fit; NaN: not measured)

    def input_boxes(self) -> np.ndarray:
        """``boxes`` in the input video's pixels."""
        sy, sx = self.input_size[0] / self.size[0], self.input_size[1] / self.size[1]
        return self.boxes * np.array([sx, sy, sx, sy], np.float32)

    def box_at(self, seconds: float) -> np.ndarray | None:
        """The box (input pixels) at a time, or None outside the tracked frames."""
        i = int(round(seconds * self.fps)) - self.first_frame
        return self.input_boxes()[i] if 0 <= i < len(self.boxes) else None

    def record(self) -> dict:
        """JSON-able: boxes[i] (x0, y0, x1, y1 in the input video's pixels) is at (first_frame + i) / fps s."""
        return {"fps": self.fps, "first_frame": self.first_frame, "clicked_frame": self.first_frame + self.index,
                "frame_size": list(self.input_size), "boxes": np.round(self.input_boxes(), 1).tolist()}

    def write_mask(self, path: str | os.PathLike, overwrite: bool = False) -> None:
        """A lossless grey video at the decoded size and rate: 255 inside the box, 0 outside; it starts
        with the video (all black before the first tracked frame) and ends with the last tracked frame."""
        from soundsift.io import open_mask_writer

        with open_mask_writer(path, self.size, self.fps, overwrite=overwrite) as write:
            for first in range(0, self.first_frame, 100):
                write(np.zeros((min(100, self.first_frame - first), *self.size), np.uint8))
            for first in range(0, len(self.boxes), 100):
                write((box_masks(self.boxes[first: first + 100], *self.size) * 255).to(torch.uint8).numpy())


def track_click_file(path: str | os.PathLike, click, box_fraction: float = 0.25,
                     chunk_seconds: float = 30.0, around: float | None = None, progress: bool = False,
                     each=None, sized: bool = False) -> ClickTrack:
    """Follow the clicked object through the whole video (or ``around`` seconds either side of the
    click), forwards and backwards from the click, decoding one chunk of ``chunk_seconds`` at a time
    (a long video is never held whole; chunks lie on a fixed grid from the video's start, the clicked
    one first, then those after it and those before it at once, in two threads).
    ``each(first_frame, frames, boxes)``, if given, sees every chunk once as it is tracked (frames uint8
    [n, 3, H, W], their boxes [n, 4]; called from either thread), so a caller that needs the pictures
    too decodes the video once. ``sized``: each box is sized (:class:`separation.track.SizeMeter`) and a
    click GrabCut finds nothing under is boxed by :func:`separation.track.unlike_border`, as the size
    reading needs (``SeparatorConfig.click_size_db``). ``ClickTrack.boxes`` start at the first
    tracked frame: ``index`` is the clicked frame's place among them."""
    from soundsift.errors import MediaError
    from soundsift.io import load_video

    w, h, duration, size = _geometry(path, click)
    t, x, y = click
    chunk = max(1, int(round(chunk_seconds * DECODE_FPS)))
    index = int(round(t * DECODE_FPS))
    if math.isfinite(duration):
        index = min(index, max(int(math.ceil(duration * DECODE_FPS)) - 1, 0))
    lo, hi = frame_window(index, around, DECODE_FPS) if around is not None else (0, None)
    total = (hi - lo) if hi is not None else (int(duration * DECODE_FPS) if math.isfinite(duration) else None)
    bar = tqdm(total=total, desc="tracking the click", unit="frame", disable=not progress, leave=False)
    done: dict[int, np.ndarray] = {}

    def decode(a: int, b: int) -> torch.Tensor:
        """Frames [a, b) (fewer past the picture's end), uint8 [n, 3, H, W]."""
        try:
            video = load_video(path, fps=DECODE_FPS, size=size, start=a / DECODE_FPS, max_frames=b - a)
        except MediaError:  # past the last frame
            return torch.zeros((0, 3, *size), dtype=torch.uint8)
        bar.update(video.frames.shape[0])
        return video.frames

    def finish(a: int, frames: torch.Tensor, tracked: tuple[np.ndarray, np.ndarray]) -> None:
        done[a] = tracked
        boxes = tracked[0]
        if each is not None:
            each(a, frames, boxes)

    def pictures(frames: torch.Tensor) -> np.ndarray:
        return frames.permute(0, 2, 3, 1).numpy()  # [n, H, W, 3] for OpenCV

    # The clicked chunk first; then the chunks after it and those before it are tracked at once, in
    # two threads (OpenCV and ffmpeg leave Python's lock), each decoding its next chunk while it tracks.
    a = max(index // chunk * chunk, lo)
    b = (index // chunk + 1) * chunk if hi is None else min((index // chunk + 1) * chunk, hi)
    frames = decode(a, b)
    if frames.shape[0] <= index - a:
        raise SoundSiftError(f"{path}: no frame could be decoded at {t:g} s")
    rgb, i = pictures(frames), index - a
    box = object_box(rgb[i], x * size[1] / w, y * size[0] / h, box_fraction, sized=sized)
    meter = SizeMeter(rgb[i], box) if sized else None
    forward, backward = BoxTracker(rgb[i], box), BoxTracker(rgb[i], box)
    with ThreadPoolExecutor(2) as both:  # backwards and forwards from the click at once
        back = both.submit(follow, backward, rgb[:i][::-1], meter=meter)
        ahead = both.submit(follow, forward, rgb[i + 1:], meter=meter)
        finish(a, frames, around_click(back.result(), box, ahead.result()))
    ahead = frames.shape[0] == b - a  # the picture goes on past the clicked chunk
    starts = itertools.takewhile(lambda s: hi is None or s < hi, itertools.count(b, chunk))
    after = ((s, s + chunk if hi is None else min(s + chunk, hi)) for s in starts) if ahead else iter(())
    before = ((max(lo, e - chunk), e) for e in range(a, lo, -chunk))

    def run(chunks, tracker: BoxTracker, backwards: bool) -> None:
        with ThreadPoolExecutor(1) as pool:
            nxt = next(chunks, None)
            pending = pool.submit(decode, *nxt) if nxt else None
            while nxt is not None:
                (first, end), frames = nxt, pending.result()
                nxt = next(chunks, None)
                pending = pool.submit(decode, *nxt) if nxt else None
                if frames.shape[0]:
                    rgb = pictures(frames)
                    if backwards:
                        boxes, fit = follow(tracker, rgb[::-1], meter=meter)
                        finish(first, frames, (boxes[::-1], fit[::-1]))
                    else:
                        finish(first, frames, follow(tracker, rgb, meter=meter))
                if frames.shape[0] < end - first:  # the picture's end (only ever after the click)
                    break

    with ThreadPoolExecutor(2) as both:
        parts = [both.submit(run, after, forward, False), both.submit(run, before, backward, True)]
        for part in parts:
            part.result()
    bar.close()
    first = min(done)
    boxes = np.concatenate([done[k][0] for k in sorted(done)]).astype(np.float32)
    fit = np.concatenate([done[k][1] for k in sorted(done)]).astype(np.float32)
    return ClickTrack(DECODE_FPS, size, (h, w), index - first, boxes, first, fit)

"""Click prompts: a point on a video frame becomes the masked-object video query the encoder was
trained on (a box around the object over a short window of frames)."""

from __future__ import annotations

import math
import os

import torch

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


def _box_masks(n: int, h: int, w: int, x: float, y: float, box_fraction: float) -> torch.Tensor:
    half = box_fraction * min(h, w) / 2
    masks = torch.zeros(n, h, w)
    masks[:, int(max(y - half, 0)): int(min(y + half, h)), int(max(x - half, 0)): int(min(x + half, w))] = 1
    return masks


def click_window(frames: torch.Tensor, fps: float, click, window_seconds: float = 1.0,
                 box_fraction: float = 0.25) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames [T', 3, H, W] over ``window_seconds`` around the click time and a box mask [T', H, W]
    centred on the click, its side ``box_fraction`` of the frame's shorter side.

    The box stays where the user clicked: objects move little within the window."""
    count, _, h, w = frames.shape
    _check(click, count / fps, w, h)
    t, x, y = click
    n = max(1, min(count, int(round(window_seconds * fps))))
    first = min(max(int(round(t * fps)) - n // 2, 0), count - n)
    return frames[first: first + n], _box_masks(n, h, w, x, y, box_fraction)


def click_window_from_file(path: str | os.PathLike, click, window_seconds: float = 1.0,
                           box_fraction: float = 0.25) -> tuple[torch.Tensor, float, torch.Tensor]:
    """Like :func:`click_window`, decoding only the window (small, at 10 fps) from a video file, so a
    click on a long video costs the same as on a short one. Returns (frames, fps, masks)."""
    from soundsift.io import load_video, probe

    info = probe(path)
    stream = info["video"]
    if stream is None:
        raise SoundSiftError(f"{path}: has no video track, so it cannot take a click prompt")
    w, h = int(stream.get("width") or 0), int(stream.get("height") or 0)
    duration = info["duration"]
    track = float(stream.get("duration") or "nan")  # the picture may end before the sound does
    if math.isfinite(track) and track < duration and track < click[0] <= duration:
        raise SoundSiftError(f"{path}: click time {click[0]:g} s is past the end of the video ({track:.2f} s; "
                             f"the audio goes on to {duration:.2f} s)")
    duration = min(duration, track) if math.isfinite(track) else duration
    _check(click, duration if math.isfinite(duration) else float("inf"), w, h)
    t, x, y = click
    scale = min(1.0, DECODE_SIDE / min(w, h))
    size = (max(2, round(h * scale)), max(2, round(w * scale)))
    start = max(0.0, min(t - window_seconds / 2, duration - window_seconds if math.isfinite(duration) else t))
    video = load_video(path, fps=DECODE_FPS, size=size, start=max(start, 0.0),
                       max_frames=int(round(window_seconds * DECODE_FPS)))
    n = video.frames.shape[0]
    return video.frames, video.fps, _box_masks(n, size[0], size[1], x * size[1] / w, y * size[0] / h, box_fraction)

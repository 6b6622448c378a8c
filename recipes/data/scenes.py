"""Audio-visual scenes: each source is an emoji object that drifts and pulses with its loudness.

The per-frame box of every object is returned so that a click at (x, y, t) maps to a source.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

EMOJI_FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
EMOJI_NATIVE_SIZE = 109  # the only size the Noto colour font carries; scale afterwards


@lru_cache(maxsize=None)
def emoji_image(char: str) -> Image.Image:
    font = ImageFont.truetype(EMOJI_FONT, EMOJI_NATIVE_SIZE)
    canvas = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((8, 8), char, font=font, embedded_color=True)
    bbox = canvas.getbbox()
    if bbox is None:
        raise ValueError(f"emoji {char!r} has no glyph in {EMOJI_FONT}")
    return canvas.crop(bbox)


def _background(size: int, rng: np.random.Generator) -> Image.Image:
    c0, c1 = rng.integers(0, 256, size=3), rng.integers(0, 256, size=3)
    style = rng.integers(0, 4)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    if style == 0:    # vertical gradient
        w = yy[..., None]
    elif style == 1:  # diagonal gradient
        w = ((xx + yy) / 2)[..., None]
    elif style == 2:  # stripes
        period = rng.integers(16, 48)
        w = ((np.floor(yy * size / period) % 2))[..., None] * 0.6 + 0.2
    else:             # soft noise texture
        coarse = rng.random((8, 8))
        w = np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC))[..., None] / 255
    img = (c0 * (1 - w) + c1 * w).clip(0, 255).astype(np.uint8)
    return Image.fromarray(img, "RGB")


def loudness_envelope(wave: np.ndarray, sample_rate: int, times: np.ndarray, window: float = 0.1) -> np.ndarray:
    """Per-frame loudness in 0..1 (RMS around each frame time, dB-scaled over a 40 dB range)."""
    half = int(window * sample_rate / 2)
    rms = np.array([np.sqrt(np.mean(wave[max(0, int(t * sample_rate) - half): int(t * sample_rate) + half] ** 2) + 1e-12)
                    for t in times])
    db = 20 * np.log10(rms / (rms.max() + 1e-12) + 1e-12)
    return np.clip((db + 40) / 40, 0, 1)


def render_scene(objects: list[tuple[str, np.ndarray]], sample_rate: int, duration: float,
                 rng: np.random.Generator, fps: float = 10, size: int = 224):
    """Draw ``objects`` = [(emoji, source wave)], return (frames uint8 [T,3,H,W], boxes per object [T][4])."""
    n_frames = int(round(duration * fps))
    times = np.arange(n_frames) / fps
    bg = _background(size, rng)
    cells = rng.permutation(4)  # start in different quadrants so objects rarely overlap
    tracks = []
    for k, (char, wave) in enumerate(objects):
        base = float(rng.uniform(44, 64))
        cx = (cells[k % 4] % 2 + 0.5) * size / 2 + rng.uniform(-20, 20)
        cy = (cells[k % 4] // 2 + 0.5) * size / 2 + rng.uniform(-20, 20)
        vx, vy = rng.uniform(-25, 25, size=2)
        tracks.append(dict(img=emoji_image(char), base=base, pos=np.array([cx, cy]), vel=np.array([vx, vy]),
                           env=loudness_envelope(wave, sample_rate, times)))
    frames = np.empty((n_frames, 3, size, size), dtype=np.uint8)
    boxes: list[list[list[int]]] = [[] for _ in objects]
    for f in range(n_frames):
        canvas = bg.copy()
        for k, tr in enumerate(tracks):
            side = int(round(tr["base"] * (0.7 + 0.6 * tr["env"][f])))
            img = tr["img"].resize((side, side), Image.BILINEAR)
            half = side / 2
            for axis in range(2):  # bounce off the frame's edges
                if not half <= tr["pos"][axis] <= size - half:
                    tr["vel"][axis] *= -1
                tr["pos"][axis] = float(np.clip(tr["pos"][axis], half, size - half))
            x0, y0 = int(round(tr["pos"][0] - half)), int(round(tr["pos"][1] - half))
            canvas.paste(img, (x0, y0), img)
            boxes[k].append([x0, y0, x0 + side, y0 + side])
            tr["pos"] = tr["pos"] + tr["vel"] / fps
        frames[f] = np.asarray(canvas).transpose(2, 0, 1)
    return frames, boxes


def source_at(boxes: list[list[list[int]]], frame: int, x: float, y: float) -> int | None:
    """Index of the topmost object whose box at ``frame`` contains (x, y); objects draw in order."""
    for k in reversed(range(len(boxes))):
        if boxes[k] is None:
            continue
        x0, y0, x1, y1 = boxes[k][frame]
        if x0 <= x < x1 and y0 <= y < y1:
            return k
    return None

"""Audio-visual scenes: each source is a picture (an emoji in the legacy corpus) that drifts and pulses
with its loudness, among silent distractors when asked.

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


def _place(img: Image.Image, side: int) -> Image.Image:
    """``img`` scaled so that its longer side is ``side`` (pictures keep their aspect ratio)."""
    w, h = img.size
    scale = side / max(w, h)
    return img.resize((max(1, int(round(w * scale))), max(1, int(round(h * scale)))), Image.BILINEAR)


def _clutter(bg: Image.Image, pictures: list, rng: np.random.Generator) -> Image.Image:
    """Large, faded, slightly blurred pictures of silent things behind everything (a busy background)."""
    from PIL import ImageFilter

    bg = bg.copy()
    size = bg.size[0]
    for img in pictures:
        img = _place(img, int(rng.integers(size // 3, size * 2 // 3))).filter(ImageFilter.GaussianBlur(1.5))
        alpha = img.getchannel("A").point(lambda a: int(a * 0.6))
        img.putalpha(alpha)
        bg.paste(img, (int(rng.integers(-img.size[0] // 3, size - img.size[0] // 2)),
                       int(rng.integers(-img.size[1] // 3, size - img.size[1] // 2))), img)
    return bg


def render_scene(objects: list[tuple], sample_rate: int, duration: float, rng: np.random.Generator,
                 fps: float = 10, size: int = 224, distractors: list = (), clutter: list = (),
                 lighting: bool = False):
    """Draw ``objects`` = [(emoji or RGBA picture, source wave)], each pulsing with its loudness; return
    (frames uint8 [T,3,H,W], boxes [T][4] per object then per distractor).

    ``distractors``: pictures of silent things that drift like the objects but do not pulse (drawn behind
    them, so objects and distractors occlude one another); ``clutter``: pictures faded into the background;
    ``lighting``: the frame's brightness and colour drift slowly. Without these the random draws are those of
    the legacy emoji corpus, so its builds stay reproducible."""
    n_frames = int(round(duration * fps))
    times = np.arange(n_frames) / fps
    bg = _background(size, rng)
    if clutter:
        bg = _clutter(bg, list(clutter), rng)
    cells = rng.permutation(4)  # start in different quadrants so objects rarely overlap
    tracks = []
    for k, (pic, wave) in enumerate(objects):
        base = float(rng.uniform(44, 64))
        cx = (cells[k % 4] % 2 + 0.5) * size / 2 + rng.uniform(-20, 20)
        cy = (cells[k % 4] // 2 + 0.5) * size / 2 + rng.uniform(-20, 20)
        vx, vy = rng.uniform(-25, 25, size=2)
        img = emoji_image(pic) if isinstance(pic, str) else pic
        tracks.append(dict(img=img, square=isinstance(pic, str), base=base, pos=np.array([cx, cy]),
                           vel=np.array([vx, vy]), env=loudness_envelope(wave, sample_rate, times)))
    behind = []
    for img in distractors:  # anywhere, any speed; a constant size (silent: 0.7 + 0.6 * 0.5)
        behind.append(dict(img=img, square=False, base=float(rng.uniform(40, 64)),
                           pos=rng.uniform(30, size - 30, size=2), vel=rng.uniform(-25, 25, size=2),
                           env=np.full(n_frames, 0.5)))
    if lighting:
        phase, period = rng.uniform(0, 2 * np.pi), rng.uniform(2, 8)
        light = 1 + rng.uniform(0, 0.3) * np.sin(2 * np.pi * times / period + phase)
        cast = rng.uniform(0.85, 1.15, size=3)
    order = behind + tracks
    frames = np.empty((n_frames, 3, size, size), dtype=np.uint8)
    drawn_boxes: list[list[list[int]]] = [[] for _ in order]
    for f in range(n_frames):
        canvas = bg.copy()
        for k, tr in enumerate(order):
            side = int(round(tr["base"] * (0.7 + 0.6 * tr["env"][f])))
            img = tr["img"].resize((side, side), Image.BILINEAR) if tr["square"] else _place(tr["img"], side)
            half_w, half_h = img.size[0] / 2, img.size[1] / 2
            for axis, half in enumerate((half_w, half_h)):  # bounce off the frame's edges
                if not half <= tr["pos"][axis] <= size - half:
                    tr["vel"][axis] *= -1
                tr["pos"][axis] = float(np.clip(tr["pos"][axis], half, size - half))
            x0, y0 = int(round(tr["pos"][0] - half_w)), int(round(tr["pos"][1] - half_h))
            canvas.paste(img, (x0, y0), img)
            drawn_boxes[k].append([x0, y0, x0 + img.size[0], y0 + img.size[1]])
            tr["pos"] = tr["pos"] + tr["vel"] / fps
        frame = np.asarray(canvas)
        if lighting:
            frame = np.clip(frame * (light[f] * cast), 0, 255).astype(np.uint8)
        frames[f] = frame.transpose(2, 0, 1)
    boxes = drawn_boxes[len(behind):] + drawn_boxes[:len(behind)]
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

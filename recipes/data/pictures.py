"""Pictures of the sound classes for audio-visual scenes, in several looks ("styles"), each showing the
thing itself: a class with no true picture in a style is not drawn in that style (its sound stays
off-screen), never a stand-in (the legacy corpus drew a cello as an elephant: ``taxonomy.emoji``).

Styles:
- ``emoji``: Noto Color Emoji (fonts-noto-color-emoji, OFL-1.1).
- ``stamps``: Tux Paint's drawings and photos (tuxpaint-stamps-default, GPL-2). A class with three or more
  stamps keeps every third one (by sorted name) for test scenes only.
- ``outline``: Symbola's monochrome outline glyphs, tinted (fonts-symbola, "free for any use"). Kept out of
  every training set: the visual alt-test.
Silent distractors (things that make no sound here: household objects, buildings, vehicles on the road)
and background clutter come from stamps that are no class's picture.
"""

from __future__ import annotations

import io
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from recipes.data.scenes import emoji_image

STAMPS = Path("/usr/share/tuxpaint/stamps")
SYMBOLA = "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf"
STYLES = ("emoji", "stamps", "outline")
TRAIN_STYLES = ("emoji", "stamps")

# One code point per class, only where it shows the thing (the postal horn is a coiled brass horn).
EMOJI = {"piano": "🎹", "accordion": "🪗", "electric guitar": "🎸", "violin": "🎻", "trumpet": "🎺",
         "french horn": "📯", "saxophone": "🎷", "flute": "🪈", "tubular bells": "🔔", "choir": "👥",
         "drum kit": "🥁", "bird song": "🐦", "telephone ring": "☎", "helicopter": "🚁", "applause": "👏",
         "sea waves": "🌊", "male speech": "👨", "female speech": "👩"}

_MUSIC = "hobbies/music"
STAMP_FILES = {
    "acoustic guitar": (f"{_MUSIC}/string/guitar_classical.png", f"{_MUSIC}/string/guitar2.png"),
    "electric guitar": (f"{_MUSIC}/string/guitar_electric.png",),
    "bass guitar": (f"{_MUSIC}/string/guitar_electric_bass.png", f"{_MUSIC}/string/guitar_electric_bass2.svg"),
    "violin": (f"{_MUSIC}/string/violin.png", f"{_MUSIC}/string/violin2.svg"),
    "cello": (f"{_MUSIC}/string/cello.png",),
    "trumpet": (f"{_MUSIC}/brass/trumpet.png",),
    "drum kit": (f"{_MUSIC}/percussion/drumkit.png", f"{_MUSIC}/percussion/drum_tomtom_floor.png",
                 f"{_MUSIC}/percussion/cymbal_crash.png"),
    # songbirds (not penguins, poultry or waders, which do not sing)
    "bird song": tuple(f"animals/birds/{n}" for n in (
        "blackbird.png", "crow.png", "cuckoo.png", "lark.png", "magpie.png", "pigeon.png", "swallow.svg",
        "adelaide-rosella.png", "rainbow-lorikeet.png", "quetzal.png", "tucan.png", "owl.png", "seagull.png")),
    "telephone ring": ("household/electronics/phone.svg", "household/electronics/mobile.svg"),
    "helicopter": ("vehicles/flight/cartoon/eddieCopter.png",),
    "male speech": ("people/cartoon/man_in_suit.svg", "people/fireman240a.png", "people/fireman200b.png"),
    "female speech": ("people/cartoon/woman_chemist.svg", "people/cartoon/woman_dancing.svg",
                      "people/cartoon/woman_doctor.svg", "people/cartoon/woman_nurse.svg",
                      "people/cartoon/woman_police_officer_1.svg", "people/cartoon/woman_police_officer_2.svg",
                      "people/body_parts/head_female.svg"),
}
SILENT_STAMPS = ("household", "town/houses", "town/monuments", "town/roadsigns", "food", "plants", "clothes",
                 "sports", "vehicles/cycle", "vehicles/ship")


def stamp_split(label: str, path: str) -> str:
    """'test' for every third stamp of a class with three or more, else 'train' (also used for val)."""
    files = sorted(STAMP_FILES[label])
    return "test" if len(files) >= 3 and files.index(path) % 3 == 2 else "train"


def _load_stamp(rel: str) -> Image.Image:
    path = STAMPS / rel
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: install tuxpaint-stamps-default (make setup does)")
    if path.suffix == ".svg":
        import cairosvg  # only SVG stamps need it; PIL reads the PNGs
        img = Image.open(io.BytesIO(cairosvg.svg2png(url=str(path), output_width=256)))
    else:
        img = Image.open(path)
    img = img.convert("RGBA")
    img.thumbnail((256, 256))
    return img.crop(img.getbbox())


@lru_cache(maxsize=None)
def stamp(rel: str) -> Image.Image:
    return _load_stamp(rel)


@lru_cache(maxsize=None)
def _outline_mask(char: str) -> Image.Image | None:
    font = ImageFont.truetype(SYMBOLA, 100)
    canvas = Image.new("L", (150, 150), 0)
    ImageDraw.Draw(canvas).text((10, 10), char, font=font, fill=255)
    tofu = Image.new("L", (150, 150), 0)
    ImageDraw.Draw(tofu).text((10, 10), "\U0010FFFD", font=font, fill=255)
    if canvas.getbbox() is None or np.array_equal(np.asarray(canvas), np.asarray(tofu)):
        return None  # Symbola has no glyph for it (its "missing" box)
    return canvas.crop(canvas.getbbox())


def outline(char: str, rng: np.random.Generator) -> Image.Image:
    """The Symbola glyph in a random dark or saturated tint, on a transparent ground."""
    mask = _outline_mask(char)
    colour = tuple(int(c) for c in rng.integers(0, 200, size=3))
    img = Image.new("RGBA", mask.size, colour + (0,))
    img.putalpha(mask)
    return img


def drawable(label: str, style: str, split: str = "train") -> list[str]:
    """The picture keys of ``label`` in ``style`` usable for ``split`` (empty: not drawn)."""
    if style == "emoji":
        return [EMOJI[label]] if label in EMOJI else []
    if style == "outline":
        return [EMOJI[label]] if label in EMOJI and _outline_mask(EMOJI[label]) is not None else []
    if style == "stamps":
        files = STAMP_FILES.get(label, ())
        want = "test" if split == "test" else "train"
        return [f for f in files if stamp_split(label, f) == want or (want == "test" and len(files) < 3)]
    raise ValueError(f"unknown picture style {style!r}: one of {', '.join(STYLES)}")


def picture(label: str, style: str, rng: np.random.Generator, split: str = "train") -> Image.Image | None:
    """A picture of ``label`` in ``style`` (RGBA, cropped to the object), or None when it is not drawn."""
    keys = drawable(label, style, split)
    if not keys:
        return None
    key = keys[int(rng.integers(len(keys)))]
    if style == "emoji":
        return emoji_image(key)
    if style == "outline":
        return outline(key, rng)
    img = stamp(key)
    return img.transpose(Image.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else img


@lru_cache(maxsize=1)
def silent_stamps() -> tuple[str, ...]:
    pictured = {f for files in STAMP_FILES.values() for f in files}
    found = sorted(str(p.relative_to(STAMPS)) for top in SILENT_STAMPS for p in (STAMPS / top).rglob("*.png"))
    return tuple(f for f in found if f not in pictured)


def silent_object(rng: np.random.Generator, split: str = "train") -> Image.Image:
    """A stamp of something that makes no sound; the stamps are split by file like the class pictures."""
    pool = [f for f in silent_stamps() if (zlib.crc32(f.encode()) % 3 == 2) == (split == "test")]
    return stamp(pool[int(rng.integers(len(pool)))])

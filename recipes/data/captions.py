"""Captions for one rendered source: class paraphrases plus attribute phrases.

Only ``SoundClass.captions`` are used here; ``SoundClass.unseen`` stays out of the corpus.
"""

from __future__ import annotations

import numpy as np

from recipes.data.taxonomy import SoundClass


def describe(cls: SoundClass, attrs: dict, rng: np.random.Generator, n_plain: int = 2) -> list[str]:
    """Two plain paraphrases then attribute-rich captions (register, tempo, loudness, language, ...)."""
    plain = [str(c) for c in rng.choice(cls.captions, size=min(n_plain, len(cls.captions)), replace=False)]
    noun = cls.noun
    tempo, loud, register = attrs.get("tempo"), attrs.get("loudness"), attrs.get("register")
    rich: list[str] = []
    if cls.kind == "speech":
        speed = {"slow": "slowly", "fast": "quickly", "moderate": "calmly"}[tempo]
        rich.append(f"a {noun} speaking {attrs['language']}")
        rich.append(f"a {noun} talking {speed} in {attrs['language']}")
    elif cls.kind == "noise":
        rich.append(f"{loud} background noise")
    elif cls.kind == "effect":
        rich.append(f"{loud} {plain[0].removeprefix('a ').removeprefix('an ')}")
    else:
        pitch = {"low": "low-pitched", "middle": "mid-range", "high": "high-pitched"}.get(register)
        parts = [p for p in (loud, pitch) if p and p != "moderate"]
        rich.append(" ".join(["a"] + parts + [noun]) if parts else f"a {noun}")
        if tempo:
            rich.append(f"a {noun} playing at a {tempo} tempo")
    return list(dict.fromkeys(plain + rich))


# Ways users phrase a prompt around a description; training wraps some captions in them so a
# query like "isolate the violin" means what "a violin" means (the corpus captions are bare).
TEMPLATES = (
    "{}", "the sound of {}", "{} playing", "{} in the background", "isolate {}", "extract {}",
    "a recording of {}", "{} sound", "only {}", "listen to {}", "{} in the mix", "keep {}",
)


def templated(caption: str, rng: np.random.Generator, prob: float = 0.3) -> str:
    """``caption`` wrapped in a random prompt template with probability ``prob``."""
    if rng.random() >= prob:
        return caption
    return TEMPLATES[int(rng.integers(1, len(TEMPLATES)))].format(caption)

"""File names made from user text (prompts, input file names, model names): safe and bounded.

Every output path SoundSift writes is built from these, so a prompt or a file name can never reach
outside the output folder, exceed the file system's 255-byte name limit, or collide with another.
"""

from __future__ import annotations

import unicodedata

# Bytes (UTF-8) kept of a name: room for a suffix and the ".NAME.XXXXXXXX.part.wav" temp file
# beside it within the 255-byte limit of ext4, xfs, btrfs and APFS.
MAX_NAME_BYTES = 96


def _bounded(text: str, max_bytes: int) -> str:
    """``text`` cut on a character boundary so that its UTF-8 form fits in ``max_bytes``."""
    data = text.encode("utf-8")[:max_bytes]
    return data.decode("utf-8", errors="ignore")


def slug(text: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """File-name-safe form of a label or prompt: 'a man speaking' -> 'a-man-speaking' (letters and
    digits of any script, lower-cased, everything else one '-'); 'prompt' if nothing is left."""
    text = unicodedata.normalize("NFC", text)
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text.strip())
    while "--" in out:
        out = out.replace("--", "-")
    return _bounded(out.strip("-"), max_bytes).strip("-") or "prompt"


def safe_component(name: str, default: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """One path component from a file or folder name as given: separators, control characters and
    leading dots removed ('..', '.hidden', '...wav' cannot climb or hide), bounded in bytes."""
    name = unicodedata.normalize("NFC", name)
    out = "".join("_" if ch in "/\\" or unicodedata.category(ch).startswith("C") else ch for ch in name)
    out = _bounded(out.strip().lstrip("."), max_bytes).strip()
    return out or default


def unique(names: list[str], reserved: tuple[str, ...] = ()) -> list[str]:
    """Number repeated names once each: ['a', 'a', 'a'] -> ['a', 'a-2', 'a-3'] (never one of ``reserved``)."""
    taken, out = set(reserved), []
    for name in names:
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            suffix = f"-{n}"
            candidate = _bounded(name, MAX_NAME_BYTES - len(suffix)) + suffix
        taken.add(candidate)
        out.append(candidate)
    return out

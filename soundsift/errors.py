"""Typed errors. The CLI prints any SoundSiftError as one line and exits non-zero."""

import contextlib
from pathlib import Path


class SoundSiftError(Exception):
    """A user-facing problem (bad input, bad option) with a one-line message."""


class MediaError(SoundSiftError):
    """A media file that cannot be used: missing, empty, corrupt, no audio, NaN/Inf, ..."""


@contextlib.contextmanager
def reading_model(path: str | Path):
    """Loading a ``from_pretrained`` folder: what a damaged one raises becomes one SoundSiftError."""
    try:
        yield
    except SoundSiftError:
        raise
    except Exception as err:  # bad JSON, truncated safetensors, mismatched weights: many types, one meaning
        detail = (str(err).strip().splitlines() or [""])[0][:160] or type(err).__name__
        raise SoundSiftError(f"{path}: not a usable model folder ({detail})") from None

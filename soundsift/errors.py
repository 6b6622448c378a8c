"""Typed errors. The CLI prints any SoundSiftError as one line and exits non-zero."""


class SoundSiftError(Exception):
    """A user-facing problem (bad input, bad option) with a one-line message."""


class MediaError(SoundSiftError):
    """A media file that cannot be used: missing, empty, corrupt, no audio, NaN/Inf, ..."""

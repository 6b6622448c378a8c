"""Input checks every model applies in the same way (one definition, so they cannot drift apart)."""

from __future__ import annotations

from soundsift.errors import SoundSiftError

# A signal whose peak stays below -80 dBFS is silence: nothing to separate, embed or score (a 16-bit
# file's last bit is -90 dBFS, so only digital silence and dither-level noise fall under it).
SILENCE_PEAK = 1e-4
# The shortest input any model takes: five of the encoders' 40 ms frames, and several times the
# separator's STFT window (64 ms), whose reflect padding fails on less than half a window.
MIN_SECONDS = 0.2


def check_texts(texts) -> list[str]:
    """A text prompt or a list of them -> the stripped list; SoundSiftError if any is empty."""
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
        raise SoundSiftError("text prompt is empty")
    return [t.strip() for t in texts]

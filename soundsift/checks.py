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


def check_device(device) -> "torch.device":
    """A torch device that exists here ("cpu", "cuda", "cuda:1", "mps"), or one clear error."""
    import torch

    try:
        device = torch.device(device if device is not None else "cpu")
    except (RuntimeError, TypeError):
        raise SoundSiftError(f"unknown device {device!r}: use cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        raise SoundSiftError(f"device {device} is not available here (no such CUDA GPU)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise SoundSiftError("device mps is not available here")
    return device

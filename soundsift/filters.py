"""Biquad filters for the data engine and recipes, run by SciPy.

torchaudio's ``lfilter`` (under its ``*_biquad`` functions) runs a Python loop when its ops library
cannot load, as beside the CPU-only torch the set-up installs (soundsift/cpu_torch.py): 1.2 s for 5 s
of audio, against 7 ms here. The coefficients are the same (R. Bristow-Johnson's audio EQ cookbook,
which torchaudio implements); unlike torchaudio, the output is not clamped to [-1, 1].
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal


def _biquad(x: np.ndarray, b: list[float], a: list[float]) -> np.ndarray:
    return signal.lfilter(np.asarray(b) / a[0], np.asarray(a) / a[0], x).astype(np.float32)


def peaking_eq(x: np.ndarray, rate: int, center: float, gain_db: float, q: float = 0.707) -> np.ndarray:
    """A peaking filter: ``gain_db`` at ``center`` Hz, bandwidth set by ``q``."""
    w0 = 2 * math.pi * center / rate
    alpha = math.sin(w0) / (2 * q)
    big_a = math.exp(gain_db / 40.0 * math.log(10))
    return _biquad(x, [1 + alpha * big_a, -2 * math.cos(w0), 1 - alpha * big_a],
                   [1 + alpha / big_a, -2 * math.cos(w0), 1 - alpha / big_a])


def lowpass(x: np.ndarray, rate: int, cutoff: float, q: float = 0.707, stages: int = 1) -> np.ndarray:
    """A second-order low-pass at ``cutoff`` Hz, applied ``stages`` times (a steeper edge)."""
    w0 = 2 * math.pi * cutoff / rate
    alpha = math.sin(w0) / (2 * q)
    cos = math.cos(w0)
    b, a = [(1 - cos) / 2, 1 - cos, (1 - cos) / 2], [1 + alpha, -2 * cos, 1 - alpha]
    for _ in range(stages):
        x = _biquad(x, b, a)
    return x

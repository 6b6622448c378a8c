"""Augmentations that make a clip sound like another rendering or a recording: a random peaking EQ
(sample sets differ most in their spectral envelope) and ``sound_recorded`` (a simulated room, a
telephone band limit, or a compressor). Shared by the separator's and the encoder's training data."""

from __future__ import annotations

import numpy as np
import torch


def random_eq(x: np.ndarray, rate: int, rng) -> np.ndarray:
    """One peaking filter at a log-uniform 150 Hz - 5 kHz, ±9 dB, Q 0.7-2."""
    from soundsift.filters import peaking_eq

    return peaking_eq(x, rate, float(np.exp(rng.uniform(np.log(150), np.log(5000)))), float(rng.uniform(-9, 9)),
                      float(rng.uniform(0.7, 2.0)))


def simulated_room(rate: int, rng) -> np.ndarray:
    """A room impulse response: the direct sound, then exponentially decaying noise (RT60 0.2-0.9 s,
    direct-to-reverberant ratio 0-12 dB), as a small room or hall would add."""
    rt60 = rng.uniform(0.2, 0.9)
    n = int(rt60 * rate)
    t = np.arange(n) / rate
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    tail[: int(0.002 * rate)] = 0.0  # the first reflections arrive a few ms after the direct sound
    tail *= 10 ** (-rng.uniform(0, 12) / 20) / (np.sqrt(np.sum(tail ** 2)) + 1e-9)
    tail[0] += 1.0
    return tail.astype(np.float32)


def sound_recorded(x: np.ndarray, rate: int, rng) -> np.ndarray:
    """One of: a simulated room (reverb), a telephone-like band limit at 3.4-4 kHz, or a compressor
    (20 ms envelope, 3:1 above 3-10 dB below the clip's RMS): how recordings differ from a dry render."""
    import torchaudio.functional as AF

    kind = rng.integers(3)
    rms = np.sqrt(np.mean(x ** 2)) + 1e-9
    if kind == 0:
        y = AF.fftconvolve(torch.from_numpy(x), torch.from_numpy(simulated_room(rate, rng)))[: len(x)].numpy()
    elif kind == 1:
        from soundsift.filters import lowpass

        y = lowpass(x, rate, float(rng.uniform(3400, 4000)), stages=2)
    else:
        env = np.sqrt(np.convolve(x ** 2, np.ones(int(0.02 * rate)) / int(0.02 * rate), mode="same")) + 1e-9
        threshold = rms * 10 ** (rng.uniform(-10, -3) / 20)
        gain = np.where(env > threshold, (env / threshold) ** (1 / 3 - 1), 1.0)
        y = x * gain
    return (y * rms / (np.sqrt(np.mean(y ** 2)) + 1e-9)).astype(np.float32)

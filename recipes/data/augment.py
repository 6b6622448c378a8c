"""Augmentations that make a clip sound like another rendering or a recording: a random peaking EQ
(sample sets differ most in their spectral envelope) and ``sound_recorded`` (a simulated room, a
telephone band limit, or a compressor), and ambience: a noise floor of a recording place laid under a
whole mixture (``synthetic_ambience``, ``add_ambience``). Shared by the separator's and the encoder's
training data."""

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


# A lossy codec at a low bit rate, as recordings shared online have been through: (encoder, its
# options drawn from rng, container). ffmpeg writes each to a file, not a pipe, so that the container
# records the encoder's delay and the decoder removes it (a piped mp3 comes back ~1,100 samples late).
CODECS = {
    "mp3": lambda rng: (["-c:a", "libmp3lame", "-b:a", f"{int(rng.choice([16, 24, 32, 48]))}k"], "mp3"),
    "vorbis": lambda rng: (["-c:a", "libvorbis", "-q:a", f"{rng.uniform(-1, 2):.1f}"], "ogg"),
    "opus": lambda rng: (["-c:a", "libopus", "-b:a", f"{int(rng.choice([8, 12, 16, 24]))}k"], "ogg"),
}


def lossy_codec(x: np.ndarray, rate: int, rng) -> np.ndarray:
    """``x`` encoded by mp3, Vorbis or Opus at a low bit rate and decoded again by ffmpeg, same length."""
    import subprocess
    import tempfile

    name = str(rng.choice(sorted(CODECS)))
    options, ext = CODECS[name](rng)
    with tempfile.TemporaryDirectory() as tmp:
        coded = f"{tmp}/coded.{ext}"
        subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "f32le", "-ar", str(rate), "-ac", "1", "-i", "-",
                        *options, coded], input=np.ascontiguousarray(x, dtype=np.float32).tobytes(), check=True)
        out = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", coded, "-f", "f32le", "-ar", str(rate),
                              "-ac", "1", "-"], capture_output=True, check=True).stdout
    y = np.frombuffer(out, dtype=np.float32)[: len(x)]
    return np.pad(y, (0, len(x) - len(y))).astype(np.float32)


RECORDED = ("room", "phone", "compressor")  # the kinds sound_recorded draws from unless told
RECORDED_KINDS = (*RECORDED, "codec")


def sound_recorded(x: np.ndarray, rate: int, rng, kinds=RECORDED) -> np.ndarray:
    """One of ``kinds``: a simulated room (reverb), a telephone-like band limit at 3.4-4 kHz, a compressor
    (20 ms envelope, 3:1 above 3-10 dB below the clip's RMS) or a lossy codec (:func:`lossy_codec`): how
    recordings differ from a dry render. The output keeps the input's RMS."""
    import torchaudio.functional as AF

    unknown = set(kinds) - set(RECORDED_KINDS)
    if unknown or not kinds:
        raise ValueError(f"unknown recording kinds {sorted(unknown)}; choose from {RECORDED_KINDS}")
    kind = RECORDED_KINDS.index(kinds[int(rng.integers(len(kinds)))])
    rms = np.sqrt(np.mean(x ** 2)) + 1e-9
    if kind == 0:
        y = AF.fftconvolve(torch.from_numpy(x), torch.from_numpy(simulated_room(rate, rng)))[: len(x)].numpy()
    elif kind == 1:
        from soundsift.filters import lowpass

        y = lowpass(x, rate, float(rng.uniform(3400, 4000)), stages=2)
    elif kind == 3:
        y = lossy_codec(x, rate, rng)
    else:
        env = np.sqrt(np.convolve(x ** 2, np.ones(int(0.02 * rate)) / int(0.02 * rate), mode="same")) + 1e-9
        threshold = rms * 10 ** (rng.uniform(-10, -3) / 20)
        gain = np.where(env > threshold, (env / threshold) ** (1 / 3 - 1), 1.0)
        y = x * gain
    return (y * rms / (np.sqrt(np.mean(y ** 2)) + 1e-9)).astype(np.float32)


def synthetic_ambience(n: int, rate: int, rng) -> np.ndarray:
    """Noise like a recording place's: coloured noise (power slope -2..+0.5 per decade, brown to a
    little above white, like wind, rumble, hiss or rain), slowly swelling (0.05-1 Hz, depth 0-0.7), with
    sparse crackle (fire, rain drops, handling) one time in three; unit RMS. Real ambience clips are few
    (a few minutes in all), so most of the noise the separator meets in training is drawn here."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n, 1 / rate), 20.0)
    x = np.fft.irfft(spec * (f / 1000.0) ** (rng.uniform(-2.0, 0.5) / 2), n)
    t = np.arange(n) / rate
    x *= 1 + rng.uniform(0, 0.7) * np.sin(2 * np.pi * rng.uniform(0.05, 1.0) * t + rng.uniform(0, 2 * np.pi))
    if rng.random() < 1 / 3:
        clicks = (rng.random(n) < rng.uniform(2, 40) / rate) * rng.standard_normal(n)
        decay = np.exp(-np.arange(int(0.004 * rate)) / (0.0008 * rate))
        crackle = np.convolve(clicks, decay)[:n]
        x += crackle * rng.uniform(0.5, 3) * np.sqrt(np.mean(x ** 2)) / (np.sqrt(np.mean(crackle ** 2)) + 1e-9)
    return (x / (np.sqrt(np.mean(x ** 2)) + 1e-9)).astype(np.float32)


def noise_under(signal: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``noise`` scaled to lie ``snr_db`` under ``signal`` (signal power over noise power); under a
    silent signal, at -30 dBFS RMS."""
    power = float(np.mean(signal ** 2))
    level = np.sqrt(power) * 10 ** (-snr_db / 20) if power > 1e-10 else 10 ** (-30 / 20)
    return noise * level / (np.sqrt(np.mean(noise ** 2)) + 1e-9)


def add_ambience(mixture: np.ndarray, target: np.ndarray, noise: np.ndarray, snr_db: float):
    """``noise`` under ``mixture`` at ``snr_db`` (:func:`noise_under`), both rescaled together out of
    clipping: (mixture, target). The noise is never part of the target."""
    mixture = mixture + noise_under(mixture, noise, snr_db)
    scale = min(1.0, 0.99 / (np.abs(mixture).max() + 1e-8))
    return (mixture * scale).astype(np.float32), (target * scale).astype(np.float32)

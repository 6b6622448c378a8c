"""Measures shared by training, evaluation and the judge: separation quality (SI-SDR, SNR, BSSEval),
output levels, the oracle ratio mask, frame-level F1 and retrieval recall.

SI-SDR cannot see a gain that is constant over a clip, so a change that may alter output levels is
judged with ``snr`` and ``level_db`` beside it.
"""

from __future__ import annotations

import numpy as np
import torch

from soundsift.cpu_torch import import_torchvision

import_torchvision()  # torchmetrics imports torchvision: see soundsift/cpu_torch.py

from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio  # noqa: E402

EPS = 1e-12


def si_sdr(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Scale-invariant SDR in dB along the last axis (torchmetrics; zero-mean)."""
    return scale_invariant_signal_distortion_ratio(estimate, reference)


def snr(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Plain SNR in dB along the last axis: unlike SI-SDR it counts a wrong output level as error."""
    err = (reference - estimate).pow(2).sum(-1)
    return 10 * torch.log10(reference.pow(2).sum(-1) + EPS) - 10 * torch.log10(err + EPS)


def level_db(x: torch.Tensor) -> float:
    """Energy of the whole signal in dB (sum of squares)."""
    return float(10 * torch.log10(x.pow(2).sum() + EPS))


def oracle_irm(mixture: torch.Tensor, target: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """The ideal ratio mask sqrt(|S|^2 / (|S|^2 + |N|^2)) applied to the mixture's STFT (Hann window):
    the ceiling for a mask model with that STFT. ``mixture``, ``target``: [T] or [B, T]."""
    window = torch.hann_window(n_fft)
    stft = lambda x: torch.stft(x, n_fft, hop, window=window, return_complex=True)  # noqa: E731
    s, n = stft(target), stft(mixture - target)
    mask = (s.abs() ** 2 / (s.abs() ** 2 + n.abs() ** 2 + 1e-10)).sqrt()
    return torch.istft(mask * stft(mixture), n_fft, hop, window=window, length=mixture.shape[-1])


def bss_eval(target: np.ndarray, estimate: np.ndarray, mixture: np.ndarray, rate: int) -> dict:
    """museval's BSSEval v4 SDR/SIR/SAR of (target, residual) against (estimate, mixture - estimate),
    1 s frames, median over frames. Mono arrays [T]."""
    import museval  # imports ffmpeg-dependent stempeg: only when asked for

    refs = np.stack([target, mixture - target])[..., None]
    ests = np.stack([estimate, mixture - estimate])[..., None]
    sdr, _, sir, sar, _ = museval.metrics.bss_eval(refs, ests, window=rate, hop=rate, compute_permutation=False)
    med = lambda x: float(np.nanmedian(x[0])) if np.isfinite(x[0]).any() else float("nan")  # noqa: E731
    return {"sdr": med(sdr), "sir": med(sir), "sar": med(sar)}


def frame_counts(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(true positives, false positives, false negatives) of boolean frame decisions."""
    return np.array([(pred & truth).sum(), (pred & ~truth).sum(), (~pred & truth).sum()], dtype=np.int64)


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / max(2 * tp + fp + fn, 1)


def recall_at_k(scores: torch.Tensor, truth: torch.Tensor, k: int) -> float:
    """Share of rows of ``scores`` [N, M] whose true column ``truth`` [N] is among their k highest."""
    top = scores.topk(min(k, scores.shape[-1]), dim=-1).indices
    return float((top == truth[:, None]).any(-1).float().mean())

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


# --- what the judge is trained to predict (reference-based; docs/JUDGE.md) -------------------------
ABSENT_FLOOR_DB = -30.0  # the level (re the mixture) below which an output counts as silent


def decompose(estimate: torch.Tensor, reference: torch.Tensor, mixture: torch.Tensor) -> dict:
    """Least-squares split of an estimate [T] into a·reference + b·interference + artefacts, where the
    interference is the rest of the mixture (BSSEval's idea, with one gain per source instead of
    512-tap filters, so that filtering, band-limiting and clipping count as artefacts)."""
    interference = mixture - reference
    basis = torch.stack([reference, interference], dim=-1).double()  # [T, 2]
    gram = basis.T @ basis + 1e-9 * torch.eye(2, dtype=basis.dtype) * float(mixture.double().pow(2).sum() + 1e-12)
    a, b = torch.linalg.solve(gram, basis.T @ estimate.double()).tolist()
    explained = a * reference.double() + b * interference.double()
    return {"a": a, "b": b, "energy": float(estimate.double().pow(2).sum()), "target_part": float((a * reference.double()).pow(2).sum()),
            "sources_part": float(explained.pow(2).sum()), "artefacts": float((estimate.double() - explained).pow(2).sum())}


def judge_references(estimate: torch.Tensor, reference: torch.Tensor, mixture: torch.Tensor) -> dict:
    """The four reference measures a separation of ``mixture`` [T] is scored on, each in [0, 1]:
    - recall: how much of the prompted sound is in the target rather than the residual: the gain a
      of the reference in the estimate, clipped to [0, 1] (1 when there is no prompted sound);
    - precision: the share of the target's energy that is the prompted sound (with an absent sound:
      1 for an output below ABSENT_FLOOR_DB re the mixture, falling as it gets louder);
    - faithfulness: the share of the target's energy that is some part of the input's sources, not
      artefacts (added noise, distortion, clipping, band-limiting);
    - overall: SI-SDR mapped by sigmoid((SI-SDR - 5 dB) / 5 dB); with an absent sound, the output level
      mapped by sigmoid(-(level + 25 dB) / 5 dB).
    Also returns ``si_sdr`` (dB, None when there is no prompted sound) and ``level`` (dB re the mixture)."""
    mix_energy = float(mixture.double().pow(2).sum()) + 1e-12
    floor = mix_energy * 10 ** (ABSENT_FLOOR_DB / 10)
    parts = decompose(estimate, reference, mixture)
    level = float(10 * np.log10((parts["energy"] + 1e-12) / mix_energy))
    present = float(reference.double().pow(2).sum()) > floor * 1e-3
    faithful = (min(parts["sources_part"], parts["energy"]) + floor) / (parts["energy"] + floor)
    sigmoid = lambda x: float(1 / (1 + np.exp(-x)))  # noqa: E731
    if not present:
        return {"recall": 1.0, "precision": floor / (parts["energy"] + floor), "faithfulness": faithful,
                "overall": sigmoid(-(level + 25) / 5), "si_sdr": None, "level": level}
    value = float(si_sdr(estimate.float(), reference.float())) if parts["energy"] > 1e-12 * mix_energy else -30.0
    value = float(np.clip(np.nan_to_num(value, nan=-30.0), -30.0, 40.0))
    return {"recall": float(np.clip(parts["a"], 0.0, 1.0)),
            "precision": (min(parts["target_part"], parts["energy"]) * (parts["a"] > 0) + floor * 1e-3)
                         / (parts["energy"] + floor * 1e-3),
            "faithfulness": faithful, "overall": sigmoid((value - 5) / 5), "si_sdr": value, "level": level}

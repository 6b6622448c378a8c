"""What the judge looks at: a separation (mixture, target, residual = mixture - target) against the
prompt, through the encoder (clip and 40 ms frame embeddings against the prompt's query embedding,
PE-A-Frame scores of a text prompt over time) and through levels and spectra (how much of the
mixture the target takes, where, and whether it holds what no mask of the mixture could give:
added noise, clipping, missing bands). All relative, so the input's level does not matter.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

N_FFT, HOP = 512, 256  # 32 ms windows at 16 kHz for the mask and spectrum features
EPS = 1e-10
FRAME = 640  # the encoders' 40 ms at 16 kHz

FEATURES = [
    # clip embeddings: prompt vs target, residual, mixture; and between them
    "cos_q_target", "cos_q_residual", "cos_q_mixture", "cos_target_mixture", "cos_residual_mixture",
    "cos_target_residual",
    # 40 ms frame embeddings against the prompt
    "frame_q_target_mean", "frame_q_target_max", "frame_q_target_p90", "frame_q_target_p10",
    "frame_q_target_loud_mean", "frame_q_residual_mean", "frame_q_residual_max", "frame_q_residual_p90",
    "frame_q_mixture_mean",
    # PE-A-Frame scores of a text prompt (0 without text)
    "text_target_mean", "text_target_max", "text_target_p90", "text_residual_mean", "text_residual_max",
    "text_residual_p90", "has_text",
    # levels (dB re the mixture) and where the target and residual take the mixture's frames
    "level_target", "level_residual", "frames_target_near", "frames_target_present", "frames_residual_near",
    "frames_target_active",
    # the target's spectrum against the mixture's: its implied mask, bands, flatness, clipping
    "mask_mean", "mask_std", "mask_above_mixture", "mask_soft",
    "hf_share_target", "hf_share_mixture", "hf_share_diff", "flatness_target", "flatness_mixture",
    "clipped_share", "crest_target",
]
# The separator's own output for the prompt as a stand-in reference (one pass per mixture and prompt,
# shared by every candidate): how the target splits onto it and onto the rest of the mixture, and how
# much of its spectrum the target holds and its residual leaves. A recording the encoder has never
# heard still has a level and a spectrum the separator's estimate can be compared with.
SEPARATOR_FEATURES = [
    "sep_level", "sep_alpha", "sep_beta", "sep_share_own", "sep_share_rest", "sep_share_error", "sep_cos",
    "sep_level_diff", "sep_spec_recall", "sep_spec_precision", "sep_spec_left",
]
ALL_FEATURES = FEATURES + SEPARATOR_FEATURES
FEATURE_SETS = {"encoder": FEATURES, "separator": ALL_FEATURES}  # named sets for recipes (config.features)


def _q(x: torch.Tensor, q: float) -> torch.Tensor:
    return torch.quantile(x, q, dim=-1) if x.shape[-1] else torch.zeros(x.shape[:-1])


def _frame_db(x: torch.Tensor) -> torch.Tensor:
    """[B, T] -> energy per 40 ms frame in dB [B, F]."""
    n = x.shape[-1] // FRAME
    if n == 0:
        return 10 * torch.log10(x.pow(2).sum(-1, keepdim=True) + EPS)
    return 10 * torch.log10(x[:, : n * FRAME].reshape(x.shape[0], n, FRAME).pow(2).sum(-1) + EPS)


def _magnitudes(x: torch.Tensor) -> torch.Tensor:
    """[B, T] -> magnitude STFT [B, bins, frames] (32 ms windows at 16 kHz)."""
    return torch.stft(x, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True).abs()


def _flatness(power: torch.Tensor) -> torch.Tensor:
    """Spectral flatness (geometric / arithmetic mean over bins), averaged over frames weighted by level."""
    geo = torch.exp(torch.log(power + EPS).mean(-2))
    flat = geo / (power.mean(-2) + EPS)
    w = power.sum(-2)
    return (flat * w).sum(-1) / (w.sum(-1) + EPS)


def separator_features(mixture: torch.Tensor, targets: torch.Tensor, separated: torch.Tensor,
                       spectra: torch.Tensor | None = None) -> torch.Tensor:
    """[K, len(SEPARATOR_FEATURES)]: K targets [K, T] against the separator's own output [T] for the
    prompt (``p``) and the rest of the mixture (``m - p``). ``spectra``: the magnitude STFTs of the
    targets and then of their residuals [2K, bins, frames], when already taken."""
    k = targets.shape[0]
    p, r = separated.reshape(1, -1), (mixture - separated).reshape(1, -1)
    e_m = float(mixture.pow(2).sum()) + EPS
    e_t = targets.pow(2).sum(-1) + EPS
    pp, rr, pr = (p * p).sum(), (r * r).sum(), (p * r).sum()
    # least squares t ~ alpha p + beta r; the ridge keeps alpha near 0 when the separator found nothing
    gram = torch.stack([torch.stack([pp, pr]), torch.stack([pr, rr])]) + 1e-4 * e_m * torch.eye(2)
    coef = torch.linalg.solve(gram, torch.stack([targets @ p[0], targets @ r[0]]))  # [2, K]
    alpha, beta = coef[0], coef[1]
    err = (targets - alpha[:, None] * p - beta[:, None] * r).pow(2).sum(-1)
    if spectra is None:
        spectra = _magnitudes(torch.cat([targets, mixture[None] - targets]))
    s_p, s_t, s_r = _magnitudes(p), spectra[:k], spectra[k:]
    own = torch.minimum(s_t, s_p).sum((-2, -1))
    feats = [torch.full((k,), 10 * math.log10(float(pp) / e_m + EPS)).clamp(min=-80),
             alpha.clamp(-3, 3), beta.clamp(-3, 3), (alpha.pow(2) * pp / e_t).clamp(max=4),
             (beta.pow(2) * rr / e_t).clamp(max=4), (err / e_t).clamp(max=4),
             (targets @ p[0]) / (e_t.sqrt() * (pp.sqrt() + EPS)),
             (10 * torch.log10(e_t / (pp + EPS))).clamp(-80, 80) / 10,
             own / (s_p.sum() + EPS), own / (s_t.sum((-2, -1)) + EPS),
             torch.minimum(s_r, s_p).sum((-2, -1)) / (s_p.sum() + EPS)]
    return torch.stack([x.float().reshape(k) for x in feats], dim=-1)


@torch.no_grad()
def judge_features(encoder, mixture: torch.Tensor, targets: torch.Tensor, query: torch.Tensor,
                   text: str | None = None, separated: torch.Tensor | None = None) -> torch.Tensor:
    """Features [K, len(FEATURES)] of K candidate targets [K, T] of one mixture [T] (mono, at the
    encoder's rate) for one prompt: its query embedding [1, D] and, for a text prompt, its text;
    with ``separated`` (the separator's own output for the prompt, [T]), [K, len(ALL_FEATURES)]."""
    k = targets.shape[0]
    residuals = mixture[None] - targets
    signals = torch.cat([mixture[None], targets, residuals])  # [1 + 2K, T]
    views = encoder.audio_views(signals, [text] if text else None)
    q = F.normalize(query.reshape(1, -1), dim=-1)
    pooled, frames = views["pooled"], views["frames"]
    e_m, e_t, e_r = pooled[:1], pooled[1: 1 + k], pooled[1 + k:]
    f = lambda a, b: (a * b).sum(-1)  # noqa: E731
    cos_frames = frames @ q[0]  # [1 + 2K, F]
    fm, ft, fr = cos_frames[:1], cos_frames[1: 1 + k], cos_frames[1 + k:]

    db = _frame_db(signals)
    n = min(db.shape[-1], ft.shape[-1])
    db_m, db_t, db_r = db[:1, :n], db[1: 1 + k, :n], db[1 + k:, :n]
    mix_active = db_m > db_m.max() - 40
    count = mix_active.sum().clamp(min=1)
    loud = torch.softmax(db_t / 3.0, dim=-1)  # weights the frames where the target is loudest
    feats = [f(q, e_t), f(q, e_r), f(q, e_m).expand(k), f(e_t, e_m), f(e_r, e_m), f(e_t, e_r),
             ft.mean(-1), ft.amax(-1), _q(ft, 0.9), _q(ft, 0.1), (ft[:, :n] * loud).sum(-1),
             fr.mean(-1), fr.amax(-1), _q(fr, 0.9), fm.mean(-1).expand(k)]
    if text:
        st, sr = views["text_scores"][1: 1 + k, 0], views["text_scores"][1 + k:, 0]
        feats += [st.mean(-1), st.amax(-1), _q(st, 0.9), sr.mean(-1), sr.amax(-1), _q(sr, 0.9), torch.ones(k)]
    else:
        feats += [torch.zeros(k)] * 7
    energy = signals.pow(2).sum(-1) + EPS
    feats += [(10 * torch.log10(energy[1: 1 + k] / energy[0])).clamp(min=-80),
              (10 * torch.log10(energy[1 + k:] / energy[0])).clamp(min=-80),
              ((db_t > db_m - 6) & mix_active).sum(-1) / count, ((db_t > db_m - 20) & mix_active).sum(-1) / count,
              ((db_r > db_m - 6) & mix_active).sum(-1) / count, (db_t > db_m.max() - 50).float().mean(-1)]

    spec = _magnitudes(signals)  # [B, bins, frames]
    s_m, s_t = spec[:1], spec[1: 1 + k]
    w = s_m.pow(2) / (s_m.pow(2).sum((-2, -1), keepdim=True) + EPS)
    ratio = (s_t / (s_m + 1e-7)).clamp(max=2.0)
    mean = (ratio * w).sum((-2, -1))
    feats += [mean, ((ratio - mean[:, None, None]).pow(2) * w).sum((-2, -1)).sqrt(), ((ratio > 1.1) * w).sum((-2, -1)),
              (((ratio > 0.1) & (ratio < 0.9)) * w).sum((-2, -1))]
    power = spec.pow(2)
    hf = int(4000 / 8000 * (N_FFT // 2))  # bins above 4 kHz
    share = power[:, hf:].sum((-2, -1)) / (power.sum((-2, -1)) + EPS)
    flat = _flatness(power)
    peak = targets.abs().amax(-1, keepdim=True)
    rms = targets.pow(2).mean(-1).sqrt()
    feats += [share[1: 1 + k], share[:1].expand(k), share[1: 1 + k] - share[0], flat[1: 1 + k], flat[:1].expand(k),
              ((targets.abs() >= 0.98 * peak) & (peak > EPS)).float().mean(-1) * 100,
              20 * torch.log10((peak[:, 0] + EPS) / (rms + EPS)) / 20]
    out = torch.stack([x.float().reshape(k) for x in feats], dim=-1)
    if separated is not None:
        out = torch.cat([out, separator_features(mixture, targets, separated, spec[1:])], dim=-1)
    return torch.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)

"""Inference for any length, rate and channel count (in the manner of Demucs' apply.py).

The network runs at its own rate on segments with 25 % overlap; a triangular window crossfades
them (sum of weighted outputs / sum of weights). The mask comes from the mono downmix and is
applied to every channel, so stereo keeps its image. Memory is bounded by the segment, not the
input: only the output buffers grow with duration.
"""

from __future__ import annotations

import torch
from tqdm import tqdm

FRAME_SECONDS = 0.04  # span tracks are on the encoders' 40 ms grid


def span_track(spans, n_samples: int, sample_rate: int) -> torch.Tensor:
    """[("+"|"-", start_s, end_s), ...] -> [2, frames] (row 0: target present, row 1: absent)."""
    frames = max(1, round(n_samples / sample_rate / FRAME_SECONDS))
    track = torch.zeros(2, frames)
    for sign, start, end in spans or []:
        a, b = int(round(start / FRAME_SECONDS)), int(round(end / FRAME_SECONDS))
        track[0 if sign == "+" else 1, a:max(b, a + 1)] = 1.0
    return track


def _triangle(length: int) -> torch.Tensor:
    """Demucs' weights: a triangle that never reaches 0, so where one segment alone covers the
    signal (its start and end) dividing by the summed weights gives it full weight."""
    half = length // 2
    return torch.cat([torch.arange(1, half + 1), torch.arange(length - half, 0, -1)]).float() / max(half, 1)


@torch.no_grad()
def presence_probs(net, wave: torch.Tensor, queries: torch.Tensor) -> torch.Tensor | None:
    """Each query's presence probability [K] in ``wave`` [C, T] at the net's rate, taken as one
    segment (the gate alone, no output), or None for a net without a gate."""
    if not net.config.presence_gate:
        return None
    spec = net.stft(wave.mean(0, keepdim=True))
    _, logit = net.mask_and_presence(spec.expand(queries.shape[0], -1, -1), queries)
    return torch.sigmoid(logit)


@torch.no_grad()
def apply_separator(net, wave: torch.Tensor, queries: torch.Tensor, track: torch.Tensor | None = None,
                    segment: float = 8.0, overlap: float = 0.25, progress: bool = False,
                    return_presence: bool = False):
    """wave [C, T] at the net's rate, queries [K, D] -> targets [K, C, T] (masks sum to at most 1).

    With ``return_presence``: also each prompt's presence probability [K] from the net's gate (the
    highest over segments: the sound is there if it is there anywhere), or None without a gate."""
    rate = net.config.sample_rate
    channels, total = wave.shape
    size = min(int(segment * rate), total)
    hop = max(1, int(size * (1 - overlap)))
    w = _triangle(size)
    out = torch.zeros(queries.shape[0], channels, total)
    weight = torch.zeros(total)
    starts = list(range(0, max(total - size, 0) + 1, hop))
    if starts[-1] + size < total:
        starts.append(total - size)
    frames_per_sample = None if track is None else track.shape[-1] / total
    presence = None
    for start in tqdm(starts, desc="separating", unit="segment", disable=not progress):
        chunk = wave[:, start: start + size]
        spans = None
        if track is not None:
            a = int(start * frames_per_sample)
            b = max(a + 1, int(round((start + size) * frames_per_sample)))
            spans = track[None, :, a:b].expand(queries.shape[0], -1, -1)
        spec_mono = net.stft(chunk.mean(0, keepdim=True))
        masks, logit = net.mask_and_presence(spec_mono.expand(queries.shape[0], -1, -1), queries, spans)
        if logit is not None:
            masks = masks * net.gate(logit)[:, None, None]
            presence = torch.sigmoid(logit) if presence is None else torch.maximum(presence, torch.sigmoid(logit))
        total_mask = masks.sum(0, keepdim=True)
        masks = masks / total_mask.clamp(min=1.0)  # several prompts never take more than the mixture
        spec = net.stft(chunk)  # [C, F, T]
        est = net.istft((masks[:, None] * spec[None]).flatten(0, 1), chunk.shape[-1]).view(len(masks), channels, -1)
        out[..., start: start + size] += est * w
        weight[start: start + size] += w
    out /= weight.clamp_(min=1e-8)  # in place: no second full-length buffer
    return (out, presence) if return_presence else out

"""Inference for any length, rate and channel count (in the manner of Demucs' apply.py).

The network runs at its own rate on segments with 25 % overlap; a triangular window crossfades
them (sum of weighted outputs / sum of weights). The mask comes from the mono downmix and is
applied to every channel, so stereo keeps its image. Input comes in blocks and targets leave
every hop, so memory is bounded by the segment, not the input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm import tqdm

from soundsift.errors import SoundSiftError
from soundsift.timeline import FRAME_SECONDS  # span tracks are on the encoders' 40 ms grid

# The band above the net's Nyquist follows each target's mask over the mixture from here up to that
# Nyquist, energy-weighted per frame (recipes/separation/fullband_bench.py: 4 kHz beat 6 kHz).
HIGH_BAND_FROM_HZ = 4000.0
HIGH_BAND_POWER = 2.0  # a target that only shares the top octaves takes less of what lies above (validation: 2 beat 1 and 3)


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


def high_band_gains(masks: torch.Tensor, spec_mono: torch.Tensor, sample_rate: int, hop: int, length: int) -> torch.Tensor:
    """Per target, the share of the mixture's top octaves it takes, frame by frame, as a gain per sample
    [K, length]: masks [K, F, T] weighted by the mono mixture's power there [F, T] (bins from
    ``HIGH_BAND_FROM_HZ`` up), raised to ``HIGH_BAND_POWER``, linear between frame centres (frame j at
    sample j x hop). Content above the net's band is given to each target by this gain
    (StreamedSeparation.blocks)."""
    n_bins = spec_mono.shape[-2]
    first = min(int(HIGH_BAND_FROM_HZ / (sample_rate / 2) * (n_bins - 1)), n_bins - 1)
    power = spec_mono[first:].abs().pow(2)
    gains = (masks[:, first:] * power).sum(1) / power.sum(0).clamp(min=1e-10)  # [K, T]
    return _between(gains, torch.arange(length, device=masks.device) / hop).clamp(0, 1) ** HIGH_BAND_POWER


def _between(values: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """``values`` [..., N] at fractional indices ``pos`` [n] (>= 0), linear between neighbours and held
    past the last: [..., n] (NaN next to a NaN value)."""
    j0 = pos.floor().long().clamp(max=values.shape[-1] - 1)
    j1 = (j0 + 1).clamp(max=values.shape[-1] - 1)
    w = (pos - j0).clamp(0, 1)
    return values[..., j0] * (1 - w) + values[..., j1] * w


# The output's level is smoothed over this long before it is compared with the object's size (the
# renderer sizes an object by its sound's level over 0.1 s).
PULSE_SMOOTH_SECONDS = 0.1
PULSE_LOUD_DB = -20.0  # frames where the object is at most this far below its largest: its level's scale is read there


def pulse_gains(power: torch.Tensor, level: torch.Tensor, quantile: float, min_corr: float,
                smooth: int, margin: float = 0.0, quiet: float = 0.0) -> torch.Tensor | None:
    """Per frame gains [T] (at most 1) that turn a click's output down to the level its object's size
    says, or None where the size says nothing here. ``power``: the output's power per STFT frame [T];
    ``level``: the object's expected level per frame in dB below its loudest [T] (NaN where it was not
    tracked). The output's level over ``smooth`` frames, less the expected level, at its ``quantile``
    over frames where the object is large, is the object's own loudest level (where another sound
    shares the output the difference is larger, so a low quantile reads it). Only if the output's
    level correlates with the expected one by ``min_corr``: a picture that pulses with the sound. Only
    what lies more than ``margin`` dB above the expected level is turned down (to that margin), and only
    in frames where the object is ``quiet`` dB or more below its loudest: the size says the level only
    roughly, and a frame turned down by mistake is lost from the target."""
    known = ~torch.isnan(level)
    if int(known.sum()) < 4 or float(level[known].max() - level[known].min()) < 1.0:
        return None
    pad = smooth // 2
    smoothed = torch.nn.functional.avg_pool1d(power[None, None], smooth, 1, pad, count_include_pad=False)[0, 0]
    db = 10 * torch.log10(smoothed[: len(level)] + 1e-10)
    a, b = db[known], level[known]
    corr = torch.corrcoef(torch.stack([a, b]))[0, 1]
    loud = known & (level >= PULSE_LOUD_DB)
    if not bool(corr >= min_corr) or not bool(loud.any()):
        return None
    top = torch.quantile(db[loud] - level[loud], quantile)
    turn = known & (level <= quiet)
    return torch.where(turn, 10 ** ((level + top + margin - db).clamp(max=0) / 20), torch.ones_like(db))


@torch.no_grad()
def presence_probs(net, wave: torch.Tensor, queries: torch.Tensor) -> torch.Tensor | None:
    """Each query's presence probability [K] in ``wave`` [C, T] at the net's rate, taken as one
    segment (the gate alone, no output), or None for a net without a gate."""
    if not net.config.presence_gate:
        return None
    device = net.window.device
    spec = net.stft(wave.to(device).mean(0, keepdim=True))
    _, logit = net.mask_and_presence(spec.expand(queries.shape[0], -1, -1), queries.to(device))
    return torch.sigmoid(logit).cpu()


@dataclass(frozen=True)
class Variant:
    """One output made from one query's mask: ``mask ** mask_power`` times the presence gate at
    ``sharpness`` (None: the net's own) with its presence logit lowered by ``bias``, times ``gain``
    (0: a click on something that makes no sound). The candidates of best-of-k are such variants.
    ``query`` may be a tuple of queries: the output is then their union, each query's gated mask
    summed (at most 1), as a prompt made of several parts (separation/prompts.py) asks."""
    query: int | tuple
    mask_power: float = 1.0
    sharpness: float | None = None
    gain: float = 1.0
    bias: float = 0.0

    @property
    def indices(self) -> tuple:
        return tuple(self.query) if isinstance(self.query, (tuple, list)) else (self.query,)


class SegmentStream:
    """The separator run over a signal that arrives in blocks: ``run(blocks)`` yields the targets
    [K, C, n] at the net's rate as soon as no later segment overlaps them (every hop), so only about
    one segment of input and output is held, whatever the duration. ``presence`` holds each prompt's
    presence probability [K] once the stream has ended (the highest over segments: the sound is there
    if it is there anywhere), None for a net without a gate.

    ``variants``: the outputs to make (default: one per query, as it is). The net runs once per query
    and segment whatever the variants. ``share``: the outputs are prompts sharing the mixture (their
    masks are scaled to sum to at most 1); False for candidates of one prompt, each a separation.
    ``visual``: each query's timing track [K, d, N] over the whole input (zeros for a prompt that is
    not a click), for a net that reads one (``visual_dim``). ``levels``: each variant's expected level
    in dB [K, N] over the whole input, from its clicked object's size (NaN where there is none), which
    :func:`pulse_gains` holds its output to. ``high_band``: each output also carries, as one more channel
    after the input's, its gain for content above the net's band (:func:`high_band_gains`)."""

    def __init__(self, net, queries: torch.Tensor, total: int, track: torch.Tensor | None = None,
                 segment: float = 8.0, overlap: float = 0.25, progress: bool = False,
                 variants: list[Variant] | None = None, share: bool = True, visual: torch.Tensor | None = None,
                 high_band: bool = False, levels: torch.Tensor | None = None):
        self.device = net.window.device  # the net's device; blocks come and go on the CPU
        self.net, self.total, self.share, self.high_band = net, total, share, high_band
        self.queries = queries.to(self.device)
        self.variants = variants or [Variant(i) for i in range(len(queries))]
        # one row per (variant, query) pair: a union variant has several
        pairs = [(v, i, q) for i, v in enumerate(self.variants) for q in v.indices]
        self._owner = torch.tensor([i for _, i, _ in pairs], device=self.device)
        self._index = torch.tensor([q for _, _, q in pairs], device=self.device)
        self._power = [v.mask_power for v, _, _ in pairs]
        sharp = [net.config.presence_sharpness if v.sharpness is None else v.sharpness for v, _, _ in pairs]
        self._sharpness = torch.tensor(sharp, device=self.device)
        self._bias = torch.tensor([v.bias for v, _, _ in pairs], device=self.device)
        self._gain = torch.tensor([v.gain for v in self.variants], device=self.device)
        self._unions = len(pairs) > len(self.variants)
        self.track = None if track is None else track.to(self.device)
        self.visual = None if visual is None else visual.to(self.device)
        self.levels = None if levels is None else levels.to(self.device)
        self.size = min(int(segment * net.config.sample_rate), total)
        hop = max(1, int(self.size * (1 - overlap)))
        self.starts = list(range(0, max(total - self.size, 0) + 1, hop))
        if self.starts[-1] + self.size < total:
            self.starts.append(total - self.size)
        self.window = _triangle(self.size)
        self.progress = progress
        self.presence = None

    def _frames(self, track: torch.Tensor, start: int) -> torch.Tensor:
        """The segment from ``start`` of a track [..., N] over the whole input."""
        per_sample = track.shape[-1] / self.total
        a = int(start * per_sample)
        return track[..., a: max(a + 1, int(round((start + self.size) * per_sample)))]

    def _segment(self, chunk: torch.Tensor, start: int) -> torch.Tensor:
        net, queries = self.net, self.queries
        spans = None if self.track is None else self._frames(self.track, start)[None].expand(queries.shape[0], -1, -1)
        visual = None if self.visual is None else self._frames(self.visual, start)
        chunk = chunk.to(self.device)
        spec_mono = net.stft(chunk.mean(0, keepdim=True))
        masks, logit = net.mask_and_presence(spec_mono.expand(queries.shape[0], -1, -1), queries, spans, visual)
        masks = masks[self._index]
        for i, power in enumerate(self._power):
            if power != 1.0:
                masks[i] = masks[i] ** power
        if logit is not None:
            gate = torch.sigmoid(self._sharpness * (logit[self._index] - self._bias))  # net.gate, per pair
            masks = masks * gate[:, None, None]
            p = torch.sigmoid(logit[self._index])
            if self._unions:  # a union is present where any of its parts is
                p = p.new_zeros(len(self.variants)).scatter_reduce(0, self._owner, p, "amax", include_self=False)
            p = (p * self._gain).cpu()
            self.presence = p if self.presence is None else torch.maximum(self.presence, p)
        if self._unions:
            union = masks.new_zeros(len(self.variants), *masks.shape[1:]).index_add_(0, self._owner, masks)
            masks = union.clamp(max=1.0)
        masks = masks * self._gain[:, None, None]
        if self.levels is not None:
            masks = self._pulse(masks, spec_mono[0], start)
        if self.share:
            total_mask = masks.sum(0, keepdim=True)
            masks = masks / total_mask.clamp(min=1.0)  # several prompts never take more than the mixture
        spec = net.stft(chunk)  # [C, F, T]
        est = net.istft((masks[:, None] * spec[None]).flatten(0, 1), chunk.shape[-1])
        est = est.view(len(masks), chunk.shape[0], -1)
        if self.high_band:
            gains = high_band_gains(masks, spec_mono[0], net.config.sample_rate, net.config.hop, chunk.shape[-1])
            est = torch.cat([est, gains[:, None]], dim=1)
        return est.cpu()

    def _pulse(self, masks: torch.Tensor, spec_mono: torch.Tensor, start: int) -> torch.Tensor:
        """``masks`` [K, F, T] with each clicked object's output held to its size's level (pulse_gains)."""
        cfg = self.net.config
        frames = masks.shape[-1]
        # each STFT frame's place on the level track
        pos = (start + torch.arange(frames, device=masks.device) * cfg.hop) * (self.levels.shape[-1] / self.total)
        levels = _between(self.levels, pos)  # [K, T]
        smooth = max(1, int(round(PULSE_SMOOTH_SECONDS * cfg.sample_rate / cfg.hop)))
        power = (masks * spec_mono.abs()[None]).pow(2).sum(1)  # [K, T]
        out = masks.clone()
        for k, level in enumerate(levels):
            if torch.isnan(level).all():
                continue
            gains = pulse_gains(power[k], level, cfg.click_size_quantile, cfg.click_size_min_corr, smooth,
                                cfg.click_size_margin_db, cfg.click_size_quiet_db)
            if gains is not None:
                out[k] = masks[k] * gains[None]
        return out

    @torch.no_grad()
    def run(self, blocks):
        blocks = iter(blocks)
        pending = None   # input from absolute sample `done` on
        out = weight = None  # weighted sums of outputs from `done` on
        done = 0
        for i, start in enumerate(tqdm(self.starts, desc="separating", unit="segment", disable=not self.progress)):
            end = start + self.size
            while pending is None or done + pending.shape[-1] < end:
                block = next(blocks, None)
                if block is None:
                    raise SoundSiftError("the input ended before its length said (changed while being read?)")
                pending = block if pending is None else torch.cat([pending, block], dim=-1)
            est = self._segment(pending[:, start - done: end - done], start)
            if out is None:
                out = torch.zeros(len(self.variants), pending.shape[0] + int(self.high_band), 0)
                weight = torch.zeros(0)
            grow = end - done - out.shape[-1]
            if grow > 0:
                out = torch.cat([out, out.new_zeros(*out.shape[:-1], grow)], dim=-1)
                weight = torch.cat([weight, weight.new_zeros(grow)])
            out[..., start - done: end - done] += est * self.window
            weight[start - done: end - done] += self.window
            final = self.starts[i + 1] if i + 1 < len(self.starts) else self.total
            n = final - done
            yield out[..., :n] / weight[:n].clamp(min=1e-8)
            out, weight, pending = out[..., n:], weight[n:], pending[:, n:]
            done = final


@torch.no_grad()
def apply_separator(net, wave: torch.Tensor, queries: torch.Tensor, track: torch.Tensor | None = None,
                    segment: float = 8.0, overlap: float = 0.25, progress: bool = False,
                    return_presence: bool = False):
    """wave [C, T] at the net's rate, queries [K, D] -> targets [K, C, T] (masks sum to at most 1).

    With ``return_presence``: also each prompt's presence probability [K] from the net's gate, or
    None without a gate. (The whole signal at once: long inputs go through :class:`SegmentStream`.)"""
    stream = SegmentStream(net, queries, wave.shape[-1], track, segment, overlap, progress)
    out = torch.cat(list(stream.run([wave])), dim=-1)
    return (out, stream.presence) if return_presence else out

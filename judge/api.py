"""``Judge``: reference-free scores of a separation (overall, recall, precision, faithfulness) and
reranking of candidates, from the mixture, the target and the prompt."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from judge.configuration import SCORES
from judge.features import ALL_FEATURES, judge_features
from soundsift.checks import MIN_SECONDS, SILENCE_PEAK, check_device, check_texts
from soundsift.errors import SoundSiftError, reading_model
from soundsift.io import AudioFile
from soundsift.resample import resample

DEFAULT_DIR = Path(__file__).resolve().parent / "pretrained" / "judge-small"
LENGTH_SLACK = 0.05    # target and mixture lengths may differ by this share (codec padding): cropped, with a note
MAX_SECONDS = 600.0    # longer inputs are scored on their first 10 minutes (a note says so)


@dataclass
class Scores:
    overall: float
    recall: float
    precision: float
    faithfulness: float

    def as_dict(self) -> dict:
        return {k: round(v, 4) for k, v in asdict(self).items()}


def _as_mono(wave, what: str) -> torch.Tensor:
    """[T], [C, T] or [K, C, T] -> mono [..., T] float32, checked."""
    wave = torch.as_tensor(wave, dtype=torch.float32)
    if wave.dim() == 1:
        wave = wave[None]
    if wave.dim() not in (2, 3) or wave.shape[-1] == 0:
        raise SoundSiftError(f"{what} must be audio [C, T] with samples, got shape {tuple(wave.shape)}")
    if wave.shape[-2] > 64:
        raise SoundSiftError(f"{what} has shape {tuple(wave.shape)}: pass [channels, samples]")
    if not torch.isfinite(wave).all():
        raise SoundSiftError(f"{what} contains NaN or Inf samples")
    return wave.mean(-2)


class Judge:
    def __init__(self, net, encoder, name: str = "judge", separator=None):
        self.net = net.eval()
        self.encoder = encoder
        self.name = name
        if separator is None and net.config.uses_separator:
            # judge does not import separation (separation imports judge for best-of-k): the caller passes it
            raise SoundSiftError(f"the judge {name!r} compares a separation with the separator's own output: "
                                 "load it with Judge.from_pretrained(separator=Separator.from_pretrained())")
        self.separator = separator  # prompts become queries exactly as the separator makes them
        self.sample_rate = net.config.sample_rate
        self.notes: list[str] = []  # what the last call had to adjust (cropping, resampling, excerpt)

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, encoder=None, separator=None, device="cpu") -> "Judge":
        """``None``: the shipped judge. ``separator``: the Separator whose output for the prompt the judge
        compares a separation with (needed by a judge with sep_* features, as the shipped one; its
        prompt handling also reads clicks)."""
        from encoders import PEAVEncoder
        from encoders.api import DEFAULT_DIR as ENCODER_DIR
        from judge.modeling import JudgeNet

        device = check_device(device)
        path = Path(path) if path is not None else DEFAULT_DIR
        if not (path / "config.json").exists():
            raise SoundSiftError(f"{path}: not a judge folder (no config.json)")
        with reading_model(path):
            net = JudgeNet.from_pretrained(path)
        if encoder is None:
            encoder = separator.encoder if separator is not None else \
                PEAVEncoder.from_pretrained(ENCODER_DIR.parent / str(net.config.encoder), device=device)
        return cls(net, encoder, name=path.name, separator=separator)

    # --- inputs -----------------------------------------------------------------------------------
    def _inputs(self, mixture, rate: int, targets, target_rate: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Mono mixture [T] and targets [K, T] at the judge's rate, aligned: a target at another rate
        is resampled; lengths that differ by a little (codec padding) are cropped to the shorter."""
        self.notes = []
        mix = _as_mono(mixture, "mixture")
        if mix.dim() != 1:
            mix = mix[0] if mix.shape[0] == 1 else mix.mean(0)
        tgt = _as_mono(targets, "target")
        tgt = tgt[None] if tgt.dim() == 1 else tgt
        target_rate = rate if target_rate is None else target_rate
        if target_rate != rate:
            tgt = resample(tgt, int(target_rate), int(rate))
            self.notes.append(f"target resampled from {target_rate} to {rate} Hz")
        if mix.abs().max() < SILENCE_PEAK:
            raise SoundSiftError("mixture is silent: nothing to judge")
        if mix.shape[-1] < MIN_SECONDS * rate:
            raise SoundSiftError(f"mixture is {mix.shape[-1] / rate * 1000:.0f} ms long; the shortest the judge "
                                 f"takes is {MIN_SECONDS:g} s")
        n_mix, n_tgt = mix.shape[-1], tgt.shape[-1]
        if n_mix != n_tgt:
            if abs(n_mix - n_tgt) > LENGTH_SLACK * n_mix:
                raise SoundSiftError(f"target is {n_tgt / rate:.2f} s long and the mixture {n_mix / rate:.2f} s: "
                                     "not a separation of this mixture")
            n = min(n_mix, n_tgt)
            self.notes.append(f"target and mixture lengths differ by {abs(n_mix - n_tgt) / rate:.3f} s: "
                              f"both cropped to {n / rate:.2f} s")
            mix, tgt = mix[..., :n], tgt[..., :n]
        if mix.shape[-1] > MAX_SECONDS * rate:
            n = int(MAX_SECONDS * rate)
            self.notes.append(f"scored on the first {MAX_SECONDS / 60:g} minutes")
            mix, tgt = mix[..., :n], tgt[..., :n]
        return resample(mix, int(rate), self.sample_rate), resample(tgt, int(rate), self.sample_rate)

    def query(self, mixture, rate: int, text=None, audio_query=None, spans=None, video=None, click=None):
        """The prompt's query embedding [1, D] (as the separator makes it) and its text, if any."""
        if text is not None:
            texts = check_texts(text)
            if len(texts) != 1:
                raise SoundSiftError("the judge scores one prompt at a time")
            text = texts[0]
        given = [p is not None for p in (text, audio_query, click)]
        if sum(given) > 1:
            raise SoundSiftError("give one prompt: a text, an audio example or a click")
        if self.separator is not None:  # a click: as best-of-k reads it (Separator.judge_queries)
            query = self.separator.judge_queries(mixture, rate, text=text, audio_query=audio_query, spans=spans,
                                                 video=video, click=click)
            return query[:1], text
        if click is not None:
            raise SoundSiftError("a click is read through the separator's classes: load the judge with "
                                 "Judge.from_pretrained(separator=...)")
        if text is not None:
            return self.encoder.embed_query_text([text]), text
        if audio_query is not None:
            if isinstance(audio_query, (str, Path)):
                audio_query = AudioFile(audio_query)
            if isinstance(audio_query, AudioFile):
                return self.encoder.embed_audio_file(audio_query), None
            return self.encoder.embed_audio(*audio_query), None
        plus = [(a, b) for sign, a, b in spans or [] if sign == "+"]
        if not plus:
            raise SoundSiftError("no prompt: give a text, an audio example, a click (with video) or a + span")
        wave = torch.as_tensor(mixture, dtype=torch.float32)
        wave = wave[None] if wave.dim() == 1 else wave
        parts = [resample(wave[:, int(a * rate): int(b * rate)].mean(0, keepdim=True), int(rate), self.encoder.sample_rate)
                 for a, b in plus]
        return self.encoder.embed_audio(torch.cat(parts, dim=-1), self.encoder.sample_rate), None

    # --- scoring ------------------------------------------------------------------------------------
    def _separated(self, mix: torch.Tensor, query: torch.Tensor, text=None, audio_query=None, spans=None,
                   video=None, click=None) -> torch.Tensor:
        """The separator's own output [T] for the prompt on the (mono, judge-rate) mixture [T]."""
        if text is None and audio_query is None and click is None and not spans:
            return self.separator.separate_query(mix[None], query)[0]
        result = self.separator.separate(mix[None], self.sample_rate, text=text, audio_query=audio_query,
                                         spans=spans, video=video, click=click)
        return result.targets[0].mean(0)

    @torch.no_grad()
    def score_many(self, mixture, rate: int, candidates, target_rate: int | None = None, query=None,
                   text=None, audio_query=None, spans=None, video=None, click=None,
                   separated=None) -> list[Scores]:
        """Scores of several separations of one mixture for one prompt: ``candidates`` [K, C, T] (or a
        list of [C, T]), each a target estimate (its residual is the mixture minus it). ``separated``:
        the judge's separator's own output for this prompt ([C, T] at ``rate``), when already at hand
        (best-of-k's plain candidate); else the judge makes it when its features need it."""
        if isinstance(candidates, (list, tuple)):
            candidates = torch.stack([torch.as_tensor(c, dtype=torch.float32) for c in candidates])
        if query is None:
            query, text = self.query(mixture, rate, text, audio_query, spans, video, click)
        elif text is not None:
            text = check_texts(text)[0]
        candidates = _as_mono(candidates, "target")
        candidates = candidates[None] if candidates.dim() == 1 else candidates  # [K, T]
        given = separated is not None and self.net.config.uses_separator
        if given:  # aligned with the candidates, as one more of them
            separated = _as_mono(separated, "separated").reshape(1, -1)
            if separated.shape[-1] != candidates.shape[-1]:
                raise SoundSiftError("the separator's output and the candidates differ in length")
            candidates = torch.cat([candidates, separated])
        mix, tgt = self._inputs(mixture, rate, candidates[:, None], target_rate)
        if given:
            tgt, separated = tgt[:-1], tgt[-1]
        elif self.net.config.uses_separator:
            separated = self._separated(mix, query, text, audio_query, spans, video, click)
        else:
            separated = None
        feats = judge_features(self.encoder, mix, tgt, query, text, separated)
        feats = feats[:, [ALL_FEATURES.index(name) for name in self.net.config.features]]
        values = self.net.scores(feats).tolist()
        return [Scores(**{name: float(v) for name, v in zip(SCORES, row)}) for row in values]

    def score(self, mixture, rate: int, target, target_rate: int | None = None, **prompt) -> Scores:
        """The four scores of one separation: ``target`` [C, T] (or [T]) separated from ``mixture``
        for the prompt (``text=``, ``audio_query=``, ``spans=``, ``video=`` + ``click=``, or ``query=``)."""
        target = torch.as_tensor(target, dtype=torch.float32)
        return self.score_many(mixture, rate, target[None] if target.dim() <= 2 else target, target_rate, **prompt)[0]

    def rerank(self, mixture, rate: int, candidates, **prompt) -> list[tuple[int, Scores]]:
        """(index, scores) of the candidates, best overall first."""
        scores = self.score_many(mixture, rate, candidates, **prompt)
        return sorted(enumerate(scores), key=lambda item: -item[1].overall)

    def failed(self, scores: Scores) -> bool:
        """Whether the judge calls this separation a failure (overall below the calibrated threshold)."""
        return scores.overall < self.net.config.failed_threshold or math.isnan(scores.overall)

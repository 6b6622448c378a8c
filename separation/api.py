"""``Separator``: prompt in, stems out, at the input's own rate and channel count."""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from separation.apply import SegmentStream, Variant, presence_probs, span_track
from separation.click import click_window, click_window_from_file
from separation.prompts import Prompt, build_prompts, is_path, parse_span, reading_note, stem_names
from soundsift.checks import MIN_SECONDS, SILENCE_PEAK, check_device
from soundsift.errors import SoundSiftError, reading_model
from soundsift.io import AudioFile, AudioTensor
from soundsift.resample import resample, resample_stream, resampled_length

DEFAULT_DIR = Path(__file__).resolve().parent / "pretrained" / "separator-small"
MAX_CHANNELS = 64  # more "channels" than this is a [T, C] array passed the wrong way round
MAX_SECONDS = 4 * 3600  # files stream in flat memory, but separate() holds every stem: refuse absurd inputs early

__all__ = ["Separator", "Separation", "StreamedSeparation", "check_input", "parse_span"]


@dataclass
class Separation:
    targets: list            # one Tensor [C, T] per prompt
    residual: torch.Tensor   # [C, T]: input minus all targets
    sample_rate: int
    prompts: list = field(default_factory=list)   # per target, the prompt as shown ("a violin", "audio-query")
    presence: list | None = None  # per prompt, 0..1: how sure the model is the sound is in the input
    names: list = field(default_factory=list)     # file-safe stem names: one per target, then "residual"
    scores: list | None = None    # per prompt, the judge's Scores when a judge ran (best-of-k or scoring)
    choices: list | None = None   # per prompt, which best-of-k candidate was kept
    readings: list | None = None  # per prompt, what a click was read as by its timing (a description, "silence"), else None

    def stems(self) -> dict:
        """{stem name: [C, T]}, the targets in prompt order, then the residual."""
        return dict(zip(self.names, [*self.targets, self.residual]))


class Separator:
    def __init__(self, net, encoder, name: str = "separator", device="cpu"):
        self.device = check_device(device)
        self.net = net.eval().to(self.device)
        self.encoder = encoder
        self.name = name
        self.sample_rate = net.config.sample_rate
        self._timing_cache: dict = {}  # the last few clicks' timing and tracks (_tracked_click)
        self._reading_cache: dict = {}  # the last few clicks' readings by timing (_read_by_timing)

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, encoder=None, device="cpu") -> "Separator":
        """``None``: the shipped separator, with the encoder its config names. ``device``: where the
        networks run ("cpu", "cuda", ...); audio goes in and comes out on the CPU either way."""
        from encoders import PEAVEncoder
        from encoders.api import DEFAULT_DIR as ENCODER_DIR
        from separation.modeling import SeparatorNet

        path = Path(path) if path is not None else DEFAULT_DIR
        if not (path / "config.json").exists():
            raise SoundSiftError(f"{path}: not a model folder (no config.json)")
        with reading_model(path):
            net = SeparatorNet.from_pretrained(path)
        if encoder is None:
            named = ENCODER_DIR.parent / str(net.config.encoder)
            encoder = PEAVEncoder.from_pretrained(named if named.exists() else path / "encoder", device=device)
        if encoder.embed_dim != net.config.query_dim:
            raise SoundSiftError(f"encoder gives {encoder.embed_dim}-d queries; {path} expects {net.config.query_dim}")
        return cls(net, encoder, name=path.name, device=device)

    def looks_sounding(self, emb: torch.Tensor) -> torch.Tensor:
        """Per video embedding [N, D], whether its object looks like any sound of the vocabulary (the
        highest cosine to a description above ``click_silent_below``) [N] bool."""
        cfg = self.net.config
        if not cfg.click_vocabulary or cfg.click_silent_below <= 0:
            return torch.ones(emb.shape[0], dtype=torch.bool)
        return (emb @ self.vocabulary_embeddings().T).max(-1).values > cfg.click_silent_below

    def vocabulary_embeddings(self) -> torch.Tensor:
        """The text embeddings [V, D] of ``click_vocabulary`` (computed once)."""
        if getattr(self, "_vocab_emb", None) is None:
            self._vocab_emb = self.encoder.embed_query_text(self.net.config.click_vocabulary)
        return self._vocab_emb

    def text_readings(self, texts: list[str], embeddings: torch.Tensor | None = None) -> list[tuple[str, float]]:
        """What each text reads as to this separator: the vocabulary description whose query is nearest the
        text's (cosine), with that cosine. The separator knows its vocabulary's sounds only; any other
        wording is answered as a blend of them, mostly the nearest. ``embeddings``: the texts' query
        embeddings [N, D] when already made (``prepare``). Empty without a vocabulary."""
        vocab = self.net.config.click_vocabulary
        if not vocab or not texts:
            return []
        embs = self.encoder.embed_query_text(list(texts)) if embeddings is None else embeddings
        best = (embs @ self.vocabulary_embeddings().T).max(-1)
        return [(vocab[int(i)], float(v)) for v, i in zip(best.values, best.indices)]

    def reading_notes(self, prompts: list[Prompt]) -> list[str]:
        """One line for each text of these prompts (a union's parts apart) that is not itself one of the
        vocabulary's descriptions: the known sound it is read as (separation/prompts.py:reading_note)."""
        notes = []
        for p in prompts:
            if p.kind == "text":
                for text, (description, sim) in zip(p.texts, self.text_readings(p.texts, p.embedding)):
                    notes.append(reading_note(text, description, sim, len(self.net.config.click_vocabulary)))
        return [n for n in notes if n]

    def video_query(self, emb: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """The separator was trained on text and audio queries only, and a video embedding sits
        elsewhere in the shared space (0 dB SI-SDRi when used as it is), so a click is read through
        the text side: a softmax over its similarity to the vocabulary's descriptions weights their
        text embeddings. Given ``context``, the mixture [1, T] around the click at the net's rate,
        classes that do not sound there are weighted down. Without a vocabulary the video embedding
        is used directly."""
        vocab = self.net.config.click_vocabulary
        if not vocab:
            return emb
        cfg = self.net.config
        texts = self.vocabulary_embeddings()
        logits = emb @ texts.T / cfg.click_temperature
        if context is not None and cfg.click_presence_weight and cfg.presence_gate:
            # Only among the few classes the box looks like: a click on a silent object must not be
            # pulled onto whatever else sounds in the mixture. The gate runs on those classes alone.
            keep = logits.topk(min(cfg.click_candidates, logits.shape[-1]), dim=-1).indices
            present = torch.zeros_like(logits)
            for row in range(logits.shape[0]):
                present[row, keep[row]] = presence_probs(self.net, context, texts[keep[row]])
            outside = torch.full_like(logits, float("-inf")).scatter(-1, keep, 0.0)
            logits = logits + outside + cfg.click_presence_weight * torch.log(present.clamp(min=1e-6))
        weights = torch.softmax(logits, dim=-1)
        return torch.nn.functional.normalize(weights @ texts, dim=-1)

    def _read_by_timing(self, audio, click, emb: torch.Tensor, video, duration: float):
        """A click's (query, gain, reading): its box's video embedding ``emb`` [1, D] when the box reads
        surely as one of the vocabulary's descriptions (a picture style the net learnt), reading None; else
        the description whose sound moves with the object (``click_pick_below``; separation/visual.py),
        reading that description, or "silence" with gain 0 when no sound moves with it
        (``click_pick_min_sync``)."""
        from separation.visual import box_surety, timing_reading

        cfg = self.net.config
        if cfg.click_pick_below <= 0 or not cfg.click_vocabulary:
            return emb, 1.0, None
        texts = self.vocabulary_embeddings()
        if box_surety(emb @ texts.T, cfg.click_temperature) > cfg.click_pick_below:
            return emb, 1.0, None
        size = min(cfg.click_pick_seconds, duration)
        start = min(max(click[0] - size / 2, 0.0), duration - size)
        timing = self._tracked_click(video, click, duration, False)[0]  # [d, N] over the input, cached for the separation
        per_second = timing.shape[-1] / duration
        a = int(round(start * per_second))
        b = max(a + 1, int(round((start + size) * per_second)))
        excerpt, timing = self._mono(audio, start, start + size), timing[:, a:b]
        # The same click on the same stretch of input is read once: the judge's query and best-of-k's
        # candidates read a click as its separation does, and the reading separates every description.
        key = (hashlib.sha1(excerpt.numpy().tobytes() + timing.numpy().tobytes()).hexdigest(),
               cfg.click_pick_presence, cfg.click_pick_weight, tuple(cfg.click_vocabulary))
        choice, rows = _kept(self._reading_cache, key, lambda: timing_reading(
            self.net, self.encoder, texts, excerpt, timing, cfg.click_pick_presence, cfg.click_pick_weight))
        if cfg.click_pick_min_sync is not None and rows[choice]["sync"] < cfg.click_pick_min_sync:
            return texts[choice: choice + 1], 0.0, "silence"
        return texts[choice: choice + 1], 1.0, cfg.click_vocabulary[choice]

    def _mono(self, audio, start_s: float, end_s: float) -> torch.Tensor:
        """The input between two times, mono at the net's rate [1, n] (decoding only that stretch)."""
        rate = audio.sample_rate
        wave = audio.read(int(start_s * rate), int(end_s * rate)).mean(0, keepdim=True)
        return resample(wave, rate, self.sample_rate)

    def _click_context(self, audio, seconds: float, duration: float) -> torch.Tensor:
        """``click_context_seconds`` of mixture centred on the click (shifted to stay inside the input)."""
        context = self.net.config.click_context_seconds
        size = min(context, duration)
        start = min(max(seconds - context / 2, 0.0), duration - size)
        return self._mono(audio, start, start + size)

    def queries(self, audio, prompts: list[Prompt], spans=None, video=None, click_query: str | None = None) -> torch.Tensor:
        """One query embedding per prompt [K, D], in order: a text's embedding, the audio example's,
        a click's masked-object video embedding read through the vocabulary, or (spans alone) the +
        spans' audio. ``audio``: the input, an :class:`AudioFile` or :class:`AudioTensor` (only the
        stretches a prompt needs are read). ``click_query``: in place of the config's (the judge reads a
        click through the vocabulary, as it was trained to). A prompt made of parts (a union) is the
        normalised mean of its parts' queries here; the separation itself queries each part."""
        return _one_per_prompt(self.queries_and_gains(audio, prompts, spans, video, click_query)[0])

    def queries_and_gains(self, audio, prompts: list[Prompt], spans=None, video=None,
                          click_query: str | None = None) -> tuple[list, list, list]:
        """Per prompt, its query embeddings [n, D] (one per part of a union, else one), its output
        gain (0 for a click on something that looks like no sound, ``looks_sounding``, or that nothing
        in the input moves with; else 1) and what a click read by its timing was read as (else None)."""
        duration = audio.scan().frames / audio.sample_rate
        cfg = self.net.config
        click_query = click_query or cfg.click_query
        texts = [t for p in prompts if p.kind == "text" and p.embedding is None for t in p.texts]
        text_embs = iter(self.encoder.embed_query_text(texts) if texts else [])
        embs, gains, readings = [], [], []
        for prompt in prompts:
            gains.append(1.0)
            readings.append(None)
            if prompt.embedding is not None:
                embs.append(prompt.embedding)
            elif prompt.kind == "text":
                embs.append(torch.stack([next(text_embs) for _ in prompt.texts]))
            elif prompt.kind == "audio":
                query = AudioFile(prompt.value) if is_path(prompt.value) else prompt.value
                if isinstance(query, AudioFile):  # a file: embedded a window at a time
                    embs.append(self.encoder.embed_audio_file(query))
                else:
                    embs.append(self.encoder.embed_audio(*query))
            elif prompt.kind == "click":
                if video is None:
                    raise SoundSiftError("a click prompt needs the video: pass video=(frames, fps) or its file")
                if is_path(video):
                    window, fps, masks = click_window_from_file(video, prompt.value, cfg.click_window_seconds,
                                                                cfg.click_box_fraction, cfg.click_track)
                else:
                    fps = float(video[1])
                    window, masks = click_window(torch.as_tensor(video[0]), fps, prompt.value,
                                                 cfg.click_window_seconds, cfg.click_box_fraction, cfg.click_track)
                emb = self.encoder.embed_video(window, fps, masks)
                gains[-1] = float(self.looks_sounding(emb)[0])
                if cfg.visual_dim and click_query == "video":  # trained with it (recipes/separation/scenes.py)
                    query, gain, readings[-1] = self._read_by_timing(audio, prompt.value, emb, video, duration)
                    embs.append(query)
                    gains[-1] = min(gains[-1], gain)
                elif cfg.visual_dim and click_query == "none":  # the object's timing alone
                    embs.append(torch.zeros_like(emb))
                else:  # the mixture around the click is read only for this reading
                    context = self._click_context(audio, prompt.value[0], duration) if cfg.click_presence_weight else None
                    embs.append(self.video_query(emb, context))
            else:  # the + spans' own audio
                plus = [(a, b) for sign, a, b in spans or [] if sign == "+"]
                parts = [self._mono(audio, a, b) for a, b in plus]
                embs.append(self.encoder.embed_audio(torch.cat(parts, dim=-1), self.sample_rate))
        return embs, gains, readings

    def timing_tracks(self, prompts: list[Prompt], video, seconds: float, progress: bool = False) -> torch.Tensor | None:
        """Each prompt's timing track [K, d, N] over ``seconds`` of input (separation/visual.py): a
        click's object followed through the video, zeros for other prompts; None for a net that reads
        no timing or prompts without a click."""
        cfg = self.net.config
        if not cfg.visual_dim or not any(p.kind == "click" for p in prompts):
            return None
        tracks = [self._tracked_click(video, p.value, seconds, progress)[0] if p.kind == "click" else None
                  for p in prompts]
        shape = next(t for t in tracks if t is not None).shape
        return torch.stack([torch.zeros(shape) if t is None else t for t in tracks])

    def size_levels(self, prompts: list[Prompt], video, seconds: float, progress: bool = False) -> torch.Tensor | None:
        """Each prompt's expected level [K, N] in dB from its clicked object's size on each video frame
        (separation/visual.py ``size_levels``), NaN for other prompts; None where the config does not
        read sizes (``click_size_db`` 0) or no prompt is a click."""
        from separation.visual import size_levels

        cfg = self.net.config
        if not cfg.click_size_db or not cfg.visual_dim or not any(p.kind == "click" for p in prompts):
            return None
        levels = [size_levels(self._tracked_click(video, p.value, seconds, progress)[1], seconds,
                              cfg.click_size_db, cfg.click_size_floor_db) if p.kind == "click" else None
                  for p in prompts]
        n = next(v for v in levels if v is not None).shape[-1]
        return torch.stack([torch.full((n,), float("nan")) if v is None else v for v in levels])

    def click_track(self, video, click, seconds: float, progress: bool = False):
        """The clicked object's box through a video file (:class:`separation.click.ClickTrack`), the
        same track its timing came from (kept from the separation when there was one)."""
        return self._tracked_click(video, click, seconds, progress)[1]

    def _tracked_click(self, video, click, seconds: float, progress: bool):
        """:func:`separation.visual.click_timing`, kept for the last few clicks: tracking is most of a
        click's cost, and the same click is often separated again (its residual, another setting)."""
        from separation.visual import click_timing

        if is_path(video):
            stat = Path(video).stat()
            source = (str(Path(video).resolve()), stat.st_mtime_ns, stat.st_size)
        else:  # frames in memory: the same tensor object, unchanged
            frames = torch.as_tensor(video[0])
            source = (id(video[0]), tuple(frames.shape), float(video[1]), int(frames.view(-1)[:: 9973].sum()))
        cfg = self.net.config
        sized = bool(cfg.click_size_db)  # boxes sized only for the size reading (docs/SEPARATION.md)
        key = (source, tuple(map(float, click)), cfg.click_box_fraction, cfg.click_timing_seconds, round(seconds, 3), sized)
        return _kept(self._timing_cache, key, lambda: click_timing(
            self.encoder, video, click, cfg.click_box_fraction, seconds, progress, around=cfg.click_timing_seconds,
            sized=sized))

    def prompt_queries(self, wave, sample_rate: int, text=None, audio_query=None, spans=None, video=None,
                       click=None, click_query: str | None = None) -> torch.Tensor:
        """The query embeddings [K, D] that ``separate`` would make of these prompts for this input
        (``click_query``: as for :meth:`queries`)."""
        audio, prompts = _checked_prompts(wave, sample_rate, text, audio_query, click, spans)
        return self.queries(audio, prompts, spans, video, click_query)

    def judge_queries(self, wave, sample_rate: int, text=None, audio_query=None, spans=None, video=None,
                      click=None) -> torch.Tensor:
        """One query embedding per prompt [K, D] as the judge reads it when it scores ``separate``'s output
        for these prompts on this input (a click: as ``_judge_queries`` says)."""
        audio, prompts = _checked_prompts(wave, sample_rate, text, audio_query, click, spans)
        groups, _, readings = self.queries_and_gains(audio, prompts, spans, video)
        return self._judge_queries(audio, prompts, spans, video, groups, readings)

    def _judge_queries(self, audio, prompts: list[Prompt], spans, video, groups: list, readings: list) -> torch.Tensor:
        """One query per prompt [K, D] for the judge, from the separation's own ``groups`` and ``readings``
        (queries_and_gains): the judge reads a click through the vocabulary, as it was trained to, except a
        click read by its timing, which it scores against the description the click was read as."""
        queries = _one_per_prompt(groups)
        if not self.net.config.visual_dim or self.net.config.click_query == "vocabulary":
            return queries  # a click's query is already its vocabulary reading
        clicks = [i for i, p in enumerate(prompts) if p.kind == "click"]
        described = [i for i in clicks if readings[i] not in (None, "silence")]
        for i in described:  # read by its timing: the description it was read as
            queries[i] = groups[i][0]
        unread = [i for i in clicks if i not in described]
        if unread:  # only these clicks are read again, not every prompt
            queries[unread] = self.queries(audio, [prompts[i] for i in unread], spans, video, click_query="vocabulary")
        return queries

    def candidates(self, excerpt: torch.Tensor, prompt: Prompt, query: torch.Tensor, k: int, spans=None,
                   segment: float | None = None, visual: torch.Tensor | None = None):
        """The first k best-of-k candidates (separation/bestof.py) of one prompt on a mono excerpt
        [1, n] at the net's rate: (their plan, variants, query embeddings [n, D] per distinct query,
        outputs [k, 1, n]). ``query``: the prompt's queries [n, D] (n parts of a union, else 1).
        ``visual``: the prompt's timing track over the excerpt [1, d, N] (a click, for a net that reads it)."""
        from separation.bestof import candidate_plan, variants_for

        n = excerpt.shape[-1]
        track = span_track(spans, n, self.sample_rate) if spans else None
        segment = self.net.config.segment_seconds if segment is None else segment
        plan = candidate_plan(k)
        names, variants = variants_for(plan, parts=len(query))
        embs = [query]
        if "reprompt" in names:  # what the plain prompt found, averaged into the query (into each part's)
            plain = SegmentStream(self.net, query, n, track, segment=segment, share=False, visual=visual,
                                  variants=[Variant(tuple(range(len(query))))])
            found = torch.cat(list(plain.run([excerpt])), dim=-1)[0]
            # nothing found (the gate closed): nothing to re-prompt with, the prompt stays as given
            heard = self.encoder.embed_audio(found, self.sample_rate) if found.abs().max() >= SILENCE_PEAK else query
            embs.append(torch.nn.functional.normalize(query + heard, dim=-1))
        visual = None if visual is None else visual.expand(len(embs) * len(query), -1, -1)
        stream = SegmentStream(self.net, torch.cat(embs), n, track, variants=variants, share=False, segment=segment,
                               visual=visual)
        return plan, variants, embs, torch.cat(list(stream.run([excerpt])), dim=-1)

    @torch.no_grad()
    def separate_query(self, excerpt: torch.Tensor, query: torch.Tensor, variant: Variant | None = None) -> torch.Tensor:
        """The target [1, n] of a query embedding [1, D] in a mono excerpt [1, n] at the net's rate, with no
        prompt handling (the judge's stand-in reference for a bare query, the judge corpus' variants):
        as trained, or as ``variant`` over query 0 makes it (mask power, gate sharpness)."""
        stream = SegmentStream(self.net, query, excerpt.shape[-1], share=False, segment=self.net.config.segment_seconds,
                               variants=[variant] if variant is not None else None)
        return torch.cat(list(stream.run([excerpt])), dim=-1)[0]

    def _choose(self, audio, prompts: list[Prompt], groups: list, spans, k: int, judge, segment: float,
                visual: torch.Tensor | None, judge_queries: torch.Tensor):
        """Per prompt, the best of its k candidates by the judge on an excerpt of the input: returns
        (per prompt: the chosen queries [n, D] and variant over them, judge scores, descriptions).
        ``groups``: each prompt's queries [n, D]; ``judge_queries``: one per prompt [K, D]."""
        from separation.bestof import EXCERPT_SECONDS, describe

        frames = min(audio.scan().frames, int(EXCERPT_SECONDS * audio.sample_rate))
        excerpt = self._mono(audio, 0.0, frames / audio.sample_rate)  # [1, n] at the net's rate
        chosen_q, chosen_v, scores, notes = [], [], [], []
        for i, prompt in enumerate(prompts):
            timing = None
            if visual is not None:  # the excerpt's stretch of the prompt's timing track
                per_second = visual.shape[-1] / (audio.scan().frames / audio.sample_rate)
                timing = visual[i: i + 1, :, : max(1, round(excerpt.shape[-1] / self.sample_rate * per_second))]
            plan, variants, embs, outputs = self.candidates(excerpt, prompt, groups[i], k, spans, segment, timing)
            text = prompt.value if prompt.kind == "text" else None
            ranked = judge.score_many(excerpt, self.sample_rate, outputs, query=judge_queries[i: i + 1], text=text,
                                      separated=outputs[0])  # the plain candidate is the separator's own output
            best = max(range(len(ranked)), key=lambda j: ranked[j].overall)
            if ranked[best].overall - ranked[0].overall <= judge.net.config.rerank_margin:
                best = 0  # an alternative must clearly beat the prompt as given
            rows, n = variants[best].indices, len(groups[i])
            chosen_q.append(embs[rows[0] // n])
            chosen_v.append(replace(variants[best], query=tuple(r % n for r in rows)))  # rows of its own query
            scores.append(ranked[best])
            notes.append(describe(plan[best]))
        return chosen_q, chosen_v, scores, notes

    def prepare(self, prompts: list[Prompt]) -> list[Prompt]:
        """The prompts with the embeddings of those that do not depend on the input (texts, an audio
        example) made now, once: for a prompt set reused over many inputs (several files, a batch)."""
        texts = [p for p in prompts if p.kind == "text" and p.embedding is None]
        flat = iter(self.encoder.embed_query_text([t for p in texts for t in p.texts]) if texts else [])
        text_embs = {id(p): torch.stack([next(flat) for _ in p.texts]) for p in texts}
        out = []
        for p in prompts:
            if id(p) in text_embs:
                p = replace(p, embedding=text_embs[id(p)])
            elif p.kind == "audio" and p.embedding is None:
                query = AudioFile(p.value) if is_path(p.value) else p.value
                emb = self.encoder.embed_audio_file(query) if isinstance(query, AudioFile) else self.encoder.embed_audio(*query)
                p = replace(p, embedding=emb)
            out.append(p)
        return out

    @torch.no_grad()
    def separate(self, wave: torch.Tensor, sample_rate: int, text=None, audio_query=None, spans=None,
                 video=None, click=None, progress: bool = False, segment: float | None = None,
                 prompts: list[Prompt] | None = None, candidates: int = 1, judge=None,
                 high_band: bool = True) -> Separation:
        """``click``: (t_seconds, x, y) or a list of them, on ``video`` (frames uint8 [T, 3, H, W], fps)
        or a video file, that goes with ``wave``; each prompt (text, audio example, click) gives one target.
        ``prompts``: instead of text/audio_query/click, the list :func:`separation.prompts.build_prompts`
        made of them. ``candidates``: best-of-k, the judge's favourite of k candidates per prompt
        (separation/bestof.py); ``judge``: a Judge (default: the shipped one when candidates > 1), whose
        scores come back in ``scores``. ``high_band``: an input at a higher rate than the net's has its
        content above the net's band shared out by each target's mask over the top octaves it hears
        (False: all of it stays in the residual)."""
        wave = _as_wave(wave)
        stream = self.separate_stream(AudioTensor(wave, sample_rate), text=text, audio_query=audio_query,
                                      spans=spans, video=video, click=click, progress=progress, segment=segment,
                                      prompts=prompts, candidates=candidates, judge=judge, high_band=high_band)
        targets = torch.empty(len(stream.prompts), *wave.shape)
        residual = torch.empty_like(wave)
        pos = 0
        for block_targets, block_residual in stream.blocks():
            n = block_residual.shape[-1]
            targets[..., pos: pos + n] = block_targets
            residual[..., pos: pos + n] = block_residual
            pos += n
        return Separation(targets=list(targets), residual=residual, sample_rate=int(sample_rate),
                          prompts=stream.prompts, presence=stream.presence, names=stream.names,
                          scores=stream.scores, choices=stream.choices, readings=stream.readings)

    def separate_stream(self, audio, sample_rate: int | None = None, text=None, audio_query=None, spans=None,
                        video=None, click=None, progress: bool = False, segment: float | None = None,
                        prompts: list[Prompt] | None = None, candidates: int = 1, judge=None,
                        high_band: bool = True) -> "StreamedSeparation":
        """As ``separate``, for an input of any length: ``audio`` is a file path, an :class:`AudioFile`
        or a wave [C, T] with its ``sample_rate``. The prompts are embedded now (reading only what they
        need of the input); the stems then come block by block from ``.blocks()``, while the input is
        decoded, resampled, separated and resampled back a block at a time."""
        if isinstance(audio, (str, Path)):
            audio = AudioFile(audio)
        elif not isinstance(audio, (AudioFile, AudioTensor)):
            if sample_rate is None:
                raise SoundSiftError("a wave needs its sample_rate")
            audio = AudioTensor(_as_wave(audio), sample_rate)
        if prompts is None:
            prompts = build_prompts(text, audio_query, click, spans)
        elif text is not None or audio_query is not None or click is not None:
            raise SoundSiftError("give either prompts or text/audio_query/click, not both")
        from separation.bestof import MAX_CANDIDATES

        if not 1 <= int(candidates) <= MAX_CANDIDATES:
            raise SoundSiftError(f"candidates must be 1 to {MAX_CANDIDATES}, got {candidates}")
        stats = check_input(audio, spans)
        groups, gains, readings = self.queries_and_gains(audio, prompts, spans, video)
        total = resampled_length(stats.frames, audio.sample_rate, self.sample_rate)
        track = span_track(spans, total, self.sample_rate) if spans else None
        segment = self.net.config.segment_seconds if segment is None else segment
        biases = [self.net.config.click_presence_bias if p.kind == "click" else 0.0 for p in prompts]
        variants = [Variant(tuple(range(len(g)))) for g in groups]  # mask power and sharpness as trained
        visual = self.timing_tracks(prompts, video, stats.frames / audio.sample_rate, progress)
        levels = self.size_levels(prompts, video, stats.frames / audio.sample_rate, progress)
        scores = choices = None
        if candidates > 1 or judge is not None:
            if judge is None:
                from judge import Judge

                judge = Judge.from_pretrained(separator=self)
            judge_queries = self._judge_queries(audio, prompts, spans, video, groups, readings)
            groups, variants, scores, choices = self._choose(audio, prompts, groups, spans, int(candidates),
                                                             judge, segment, visual, judge_queries)
        # every prompt's queries in one batch; each prompt's variant over its own rows
        starts = [sum(len(g) for g in groups[:i]) for i in range(len(groups))]
        variants = [replace(v, query=tuple(s + j for j in v.indices), gain=gain, bias=bias)
                    for v, s, gain, bias in zip(variants, starts, gains, biases)]
        if visual is not None:
            visual = visual.repeat_interleave(torch.tensor([len(g) for g in groups]), dim=0)
        segments = SegmentStream(self.net, torch.cat(groups), total, track, segment=segment, progress=progress,
                                 variants=variants, visual=visual, levels=levels,
                                 high_band=high_band and audio.sample_rate > self.sample_rate)
        return StreamedSeparation(audio, stats.frames, segments, self.sample_rate, [p.label for p in prompts],
                                  stem_names(prompts), scores, choices, readings)


def _kept(cache: dict, key, make, size: int = 8):
    """``cache[key]``, made by ``make()`` the first time; the oldest entry goes once ``size`` are kept."""
    if key not in cache:
        if len(cache) >= size:
            cache.pop(next(iter(cache)))
        cache[key] = make()
    return cache[key]


def _checked_prompts(wave, sample_rate: int, text, audio_query, click, spans) -> tuple[AudioTensor, list[Prompt]]:
    """An input given as a waveform and its prompts, checked as ``separate`` checks them."""
    audio = AudioTensor(_as_wave(wave), sample_rate)
    prompts = build_prompts(text, audio_query, click, spans)
    check_input(audio, spans)
    return audio, prompts


def _one_per_prompt(groups: list) -> torch.Tensor:
    """[K, D]: each prompt's query, a union's the normalised mean of its parts' (for the judge, which
    reads one query per prompt)."""
    return torch.cat([torch.nn.functional.normalize(g.mean(0, keepdim=True), dim=-1) if len(g) > 1 else g
                      for g in groups])


def check_input(audio, spans=None):
    """The checks every input gets before anything is written: decodable, finite, not silent, not
    absurdly long, spans inside it. Returns its ``AudioStats``."""
    name = f"{audio.path}: " if isinstance(audio, AudioFile) else ""
    stats = audio.scan()
    if stats.peak < SILENCE_PEAK:
        raise SoundSiftError(f"{name}input is silent: nothing to separate")
    duration = stats.frames / audio.sample_rate
    if duration > MAX_SECONDS:
        raise SoundSiftError(f"{name}input is {duration / 3600:.1f} h long; the limit is {MAX_SECONDS // 3600} h")
    if duration < MIN_SECONDS:
        raise SoundSiftError(f"{name}input is {duration * 1000:.0f} ms long; the shortest it separates is {MIN_SECONDS:g} s")
    for sign, start, end in spans or []:
        if sign not in ("+", "-"):
            raise SoundSiftError(f"span sign must be + or -, got {sign!r}")
        if not 0 <= start < end <= duration + 1e-6:
            raise SoundSiftError(f"{name}span {sign}{start}:{end} is outside the input (0 to {duration:.2f} s)")
    return stats


def _as_wave(wave) -> torch.Tensor:
    wave = torch.as_tensor(wave, dtype=torch.float32)
    if wave.dim() == 1:
        wave = wave[None]
    if wave.dim() != 2 or wave.shape[-1] == 0:
        raise SoundSiftError(f"input must be audio [C, T] with samples, got shape {tuple(wave.shape)}")
    if wave.shape[0] > MAX_CHANNELS:  # soundfile.read and many others give [T, C]
        raise SoundSiftError(f"input has shape {tuple(wave.shape)}: pass [channels, samples] (transpose a [samples, "
                             f"channels] array)")
    return wave  # finite and audible: AudioTensor.scan checks, in check_input


class _Fifo:
    """Blocks [C, n] of a signal held until the same stretch of output is ready: ``take(n)`` the oldest n."""

    def __init__(self, name: str):
        self.name, self.blocks = name, deque()

    def append(self, block: torch.Tensor) -> None:
        self.blocks.append(block)

    def take(self, n: int) -> torch.Tensor:
        parts, got = [], 0
        while got < n:
            if not self.blocks:
                raise SoundSiftError(f"{self.name}: changed while being read")
            block = self.blocks.popleft()
            parts.append(block[:, : n - got])
            if block.shape[-1] > n - got:
                self.blocks.appendleft(block[:, n - got:])
            got += parts[-1].shape[-1]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)


@dataclass
class StreamedSeparation:
    audio: object            # AudioFile or AudioTensor: the input
    frames: int              # its length
    segments: SegmentStream  # the separator over it, at the net's rate
    net_rate: int
    prompts: list            # per target, the prompt as shown
    names: list              # file-safe stem names: one per target, then "residual"
    scores: list | None = None   # per prompt, the judge's Scores of the kept candidate (on the excerpt it chose on)
    choices: list | None = None  # per prompt, which best-of-k candidate was kept
    readings: list | None = None  # per prompt, what a click was read as by its timing (a description, "silence"), else None

    @property
    def sample_rate(self) -> int:
        return self.audio.sample_rate

    @property
    def channels(self) -> int:
        return self.audio.channels

    @property
    def presence(self) -> list | None:
        """Per prompt, 0..1, once ``blocks()`` has run to the end (None before, or without a gate)."""
        p = self.segments.presence
        return None if p is None else [float(f"{float(x):.4g}") for x in p]

    def blocks(self):
        """Yield (targets [K, C, n], residual [C, n]) at the input's rate, consecutive along time: the
        input read once, resampled to the net's rate, separated and resampled back a block at a time;
        the residual is the input minus the targets (so stems add up to it). Above the net's band (an
        input at a higher rate), each target takes the share of the input's content there that its mask
        takes of the mixture's top octaves, frame by frame (``segments.high_band``)."""
        rate, total, k, c = self.sample_rate, self.frames, len(self.prompts), self.channels
        name = getattr(self.audio, "path", "input")
        held = _Fifo(name)  # input blocks read but not yet matched by targets (about a segment and two resampler blocks)
        held_net = _Fifo(name)  # the same at the net's rate (only for the band above it)
        high = self.segments.high_band

        def read():
            for block in self.audio.blocks():
                held.append(block)
                yield block

        def at_net_rate():
            for block in resample_stream(read(), rate, self.net_rate):
                if high:
                    held_net.append(block)
                yield block

        def outputs():  # [K * C (+ K gains + C input) , n] at the net's rate
            for t in self.segments.run(at_net_rate()):
                if not high:
                    yield t.flatten(0, 1)
                    continue
                yield torch.cat([t[:, :c].flatten(0, 1), t[:, c], held_net.take(t.shape[-1])])

        pos = 0
        for out in resample_stream(outputs(), self.net_rate, rate):
            n = min(out.shape[-1], total - pos)
            if n <= 0:
                break
            x = held.take(n)
            targets = out[: k * c, :n].reshape(k, c, n)
            if high:  # what the net's band cannot carry: the input less its own round trip through it
                gains, above = out[k * c: k * c + k, :n], x - out[k * c + k:, :n]
                targets = targets + gains[:, None] * above[None]
            yield targets, x - targets.sum(0)
            pos += n
        if pos < total:  # the resampled targets end early only by rounding: they are silent there
            rest = held.take(total - pos)
            yield torch.zeros(k, self.channels, total - pos), rest.clone()

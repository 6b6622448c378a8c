"""``PEAVEncoder``: the encoder as the rest of SoundSift uses it (any rate, channels, length)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from soundsift.checks import MIN_SECONDS, SILENCE_PEAK, check_device, check_texts
from soundsift.errors import SoundSiftError, reading_model
from soundsift.io import mono_blocks
from soundsift.resample import resample
from soundsift.timeline import SPAN_MIN_GAP, SPAN_MIN_LENGTH, runs, smooth_frames

DEFAULT_DIR = Path(__file__).resolve().parent / "pretrained" / "peav-small"
WINDOW_SECONDS = 10.0  # long audio is embedded window by window (attention cost grows with length)


def normalize_level(wave: torch.Tensor, target_rms: float = 0.05) -> torch.Tensor:
    """Scale each row of [B, T] to a fixed RMS: embeddings should not depend on playback level."""
    rms = wave.pow(2).mean(dim=-1, keepdim=True).sqrt().clamp(min=1e-8)
    return wave * (target_rms / rms)


def windows(n: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(s + size, n)) for s in range(0, n, size)]


class PEAVEncoder:
    """Text, audio and video embeddings in one L2-normalised space, plus frame-level activity."""

    def __init__(self, backend):
        self.backend = backend
        self.sample_rate = backend.sample_rate
        self.embed_dim = backend.embed_dim

    @property
    def device(self) -> torch.device:
        return self.backend.device

    # --- loading -------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, device="cpu") -> "PEAVEncoder":
        """``None``: the shipped default. Also loads official PE-AV checkpoints in transformers format.
        ``device``: where the model runs ("cpu", "cuda", ...); inputs and outputs stay on the CPU."""
        device = check_device(device)
        path = Path(path) if path is not None else DEFAULT_DIR
        config = path / "config.json"
        if not config.exists():
            raise SoundSiftError(f"{path}: not a model folder (no config.json)")
        with reading_model(path):
            model_type = json.loads(config.read_text()).get("model_type")
            if model_type == "soundsift_peav":
                from encoders.modeling import PEAVModel

                return cls(NativeBackend(PEAVModel.from_pretrained(path), device))
            if model_type in ("pe_audio", "pe_audio_video"):
                from encoders.official import OfficialBackend

                return cls(OfficialBackend(path, device))
        raise SoundSiftError(f"{path}: unknown model_type {model_type!r}")

    def save_pretrained(self, path: str | Path) -> Path:
        return self.backend.save_pretrained(path)

    # --- input checks --------------------------------------------------------------------
    def _audio_batch(self, wave: torch.Tensor, sample_rate: int) -> torch.Tensor:
        wave = torch.as_tensor(wave, dtype=torch.float32)
        if wave.dim() == 1:
            wave = wave[None]
        if wave.dim() == 2:
            wave = wave[None]
        if wave.dim() != 3:
            raise SoundSiftError(f"audio must be [C, T] or [B, C, T], got shape {tuple(wave.shape)}")
        if wave.shape[-1] < MIN_SECONDS * sample_rate:
            raise SoundSiftError(f"audio is too short ({wave.shape[-1] / sample_rate:.3f} s; need {MIN_SECONDS} s)")
        if not torch.isfinite(wave).all():
            raise SoundSiftError("audio contains NaN or Inf samples")
        mono = resample(wave.mean(dim=1), int(sample_rate), self.sample_rate)
        if (mono.abs().amax(dim=-1) < SILENCE_PEAK).any():
            raise SoundSiftError("audio is silent: nothing to embed")
        return mono

    # --- public API ----------------------------------------------------------------------
    @torch.no_grad()
    def embed_text(self, texts: list[str]) -> torch.Tensor:
        """Text in the space of the audio embeddings: what ``soundsift classify`` and zero-shot naming use."""
        return self.backend.embed_text(check_texts(texts))

    @torch.no_grad()
    def embed_query_text(self, texts: list[str]) -> torch.Tensor:
        """Text as a separator's query: through the text head the separator was trained on. The same as
        :meth:`embed_text` unless the text head was refit since (config ``own_query_text``)."""
        return self.backend.embed_query_text(check_texts(texts))

    @torch.no_grad()
    def embed_audio(self, wave: torch.Tensor, sample_rate: int) -> torch.Tensor:
        embedding, _ = self._embed_windows([self._audio_batch(wave, sample_rate)])
        return embedding

    @torch.no_grad()
    def embed_audio_file(self, audio) -> torch.Tensor:
        """``embed_audio`` of a :class:`soundsift.io.AudioFile`, decoded and embedded a window at a time:
        an example sound may be a whole recording, and it is never held whole."""
        frames = audio.scan().frames
        if frames < MIN_SECONDS * audio.sample_rate:
            raise SoundSiftError(f"{audio.path}: audio is too short ({frames / audio.sample_rate:.3f} s; need {MIN_SECONDS} s)")
        embedding, peak = self._embed_windows(mono_blocks(audio, self.sample_rate))
        if peak < SILENCE_PEAK:
            raise SoundSiftError(f"{audio.path}: audio is silent: nothing to embed")
        return embedding

    def _embed_windows(self, blocks) -> tuple[torch.Tensor, float]:
        """Consecutive mono blocks [B, n] at the model's rate -> (the length-weighted mean of the
        embeddings of their WINDOW_SECONDS windows, the peak sample). A tail shorter than MIN_SECONDS
        adds nothing a whole window did not, so it only counts when it is all there is."""
        size = int(WINDOW_SECONDS * self.sample_rate)
        parts, pending, peak = [], None, 0.0
        for block in blocks:
            peak = max(peak, float(block.abs().max()))
            pending = block if pending is None else torch.cat([pending, block], dim=-1)
            while pending.shape[-1] >= size:
                parts.append(self.backend.embed_audio(pending[:, :size]) * size)
                pending = pending[:, size:]
        if pending.shape[-1] and (pending.shape[-1] >= MIN_SECONDS * self.sample_rate or not parts):
            parts.append(self.backend.embed_audio(pending) * pending.shape[-1])
        return F.normalize(torch.stack(parts).sum(0), dim=-1), peak

    @torch.no_grad()
    def audio_views(self, mono: torch.Tensor, texts: list[str] | None = None) -> dict:
        """What the encoder makes of mono audio [B, T] at its own rate, in one pass per 10 s window:
        ``pooled`` [B, D] (as ``embed_audio``), ``frames`` [B, F, D] (each 40 ms token projected into
        the shared space: when the audio is like a query), and with ``texts`` ``text_scores``
        [B, N, F] (PE-A-Frame). Our own encoders only (official checkpoints lack the frame heads)."""
        if not hasattr(self.backend, "audio_views"):
            raise SoundSiftError("frame-level views need a SoundSift encoder, not an official checkpoint")
        size = int(WINDOW_SECONDS * self.sample_rate)
        parts = [self.backend.audio_views(mono[:, a:b], texts) for a, b in windows(mono.shape[-1], size)
                 if b - a >= MIN_SECONDS * self.sample_rate or a == 0]
        lengths = torch.tensor([p["frames"].shape[1] for p in parts], dtype=torch.float32)
        pooled = F.normalize(sum(p["pooled"] * n for p, n in zip(parts, lengths)), dim=-1)
        out = {"pooled": pooled, "frames": torch.cat([p["frames"] for p in parts], dim=1)}
        if texts:
            out["text_scores"] = torch.cat([p["text_scores"] for p in parts], dim=-1)
        return out

    @torch.no_grad()
    def embed_video(self, frames: torch.Tensor, fps: float, masks: torch.Tensor | None = None) -> torch.Tensor:
        return self.backend.embed_video(*self._video_batch(frames, fps, masks))

    def _video_batch(self, frames, fps: float, masks) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames as float [B, T, 3, H, W] in 0..1 at the model's video rate, and their masks."""
        frames = torch.as_tensor(frames)
        if frames.dim() == 4:
            frames = frames[None]
        if frames.dim() != 5 or frames.shape[2] != 3 or frames.shape[1] == 0:
            raise SoundSiftError(f"frames must be uint8 [T, 3, H, W] or [B, T, 3, H, W], got {tuple(frames.shape)}")
        b, t, _, h, w = frames.shape
        if masks is None:
            masks = torch.ones(b, t, h, w)
        masks = torch.as_tensor(masks, dtype=torch.float32)
        if masks.dim() == 3:
            masks = masks[None]
        if masks.shape != (b, t, h, w):
            raise SoundSiftError(f"masks must be [T, H, W] matching the frames, got {tuple(masks.shape)}")
        if fps <= 0:
            raise SoundSiftError("fps must be positive")
        target = self.backend.video_fps
        idx = torch.arange(0, t, fps / target).long().clamp(max=t - 1) if abs(fps - target) > 1e-3 else torch.arange(t)
        x = frames[:, idx].float() / 255.0 if frames.dtype == torch.uint8 else frames[:, idx].float()
        return x, masks[:, idx]

    # --- audio-visual synchrony (towers.SyncTower) ------------------------------------------
    @property
    def has_sync(self) -> bool:
        return getattr(self.backend, "has_sync", False)

    def _require_sync(self) -> None:
        if not self.has_sync:
            raise SoundSiftError("this encoder has no audio-visual sync tower (config sync_dim is 0)")

    @torch.no_grad()
    def sync_video(self, frames: torch.Tensor, fps: float) -> torch.Tensor:
        """Per-frame synchrony vectors [B, T, d] at the model's video rate."""
        self._require_sync()
        x, _ = self._video_batch(frames, fps, None)
        return self.backend.sync_video(x)

    @torch.no_grad()
    def sync_audio(self, wave: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """Per-frame synchrony vectors [B, T, d] of the sound, at the model's video rate."""
        self._require_sync()
        mono = self._audio_batch(wave, sample_rate)
        size = int(WINDOW_SECONDS * self.sample_rate)
        parts = [self.backend.sync_audio(mono[:, a:b]) for a, b in windows(mono.shape[-1], size)
                 if b - a >= MIN_SECONDS * self.sample_rate]
        return torch.cat(parts, dim=1)

    def video_audio_similarity(self, video_emb: torch.Tensor, audio_emb: torch.Tensor,
                               video_sync: list[torch.Tensor] | None = None,
                               audio_sync: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Match scores [N_video, N_audio]: cosine of the pooled embeddings plus, given sync
        sequences (from :meth:`sync_video` / :meth:`sync_audio`, [T, d] each), ``sync_weight``
        times their correlation over time."""
        scores = video_emb @ audio_emb.T
        if video_sync is None or audio_sync is None:
            return scores
        from encoders.towers import sync_similarity

        return scores + self.backend.sync_weight * sync_similarity(video_sync, audio_sync)

    @torch.no_grad()
    def frame_scores(self, wave: torch.Tensor, sample_rate: int, texts: list[str]) -> torch.Tensor:
        """Probability (0..1) that each text is active in each 40 ms frame: [N_text, N_frames]."""
        texts = check_texts(texts)
        mono = self._audio_batch(wave, sample_rate)[:1]
        size = int(WINDOW_SECONDS * self.sample_rate)
        n_frames = -(-mono.shape[-1] // self.backend.hop)
        out = [self.backend.frame_scores(mono[:, a:b], texts) for a, b in windows(mono.shape[-1], size)]
        return torch.cat(out, dim=-1)[:, :n_frames]

    def spans(self, wave: torch.Tensor, sample_rate: int, text: str, threshold: float | None = None,
              min_gap: float = SPAN_MIN_GAP, min_length: float = SPAN_MIN_LENGTH) -> list[tuple[float, float]]:
        """Time spans (seconds) where ``text`` is active, from :meth:`frame_scores`: frames at or above
        ``threshold``, gaps under ``min_gap`` seconds closed, then spans under ``min_length`` dropped
        (0 and 0: the raw runs of frames)."""
        threshold = self.backend.frame_threshold if threshold is None else threshold
        step = self.backend.hop / self.sample_rate
        active = (self.frame_scores(wave, sample_rate, [text])[0] >= threshold).numpy()
        active = smooth_frames(active, min_gap, min_length, frame_seconds=step)
        # The last frame covers a partial hop; a span must not end past the input.
        end = wave.shape[-1] / sample_rate
        return [(round(a * step, 3), round(min(b * step, end), 3)) for a, b in runs(active)]


class NativeBackend:
    """Our own PEAVModel (trained by recipes/encoders), on ``device``; tensors come back on the CPU."""

    def __init__(self, model, device="cpu"):
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        cfg = model.config
        self.sample_rate, self.embed_dim, self.hop = cfg.sample_rate, cfg.embed_dim, cfg.hop
        self.video_fps, self.frame_threshold = cfg.video_fps, cfg.frame_threshold
        self.has_sync, self.sync_weight = bool(cfg.sync_dim), cfg.sync_weight

    def save_pretrained(self, path):
        return self.model.save_pretrained(path)

    def embed_text(self, texts):
        return self.model.embed_text_anchored(texts).cpu()

    def embed_query_text(self, texts):
        return self.model.embed_query_text_anchored(texts).cpu()

    def embed_audio(self, mono):
        return self.model.embed_audio(normalize_level(mono.to(self.device)))[0].cpu()

    def embed_video(self, frames, masks):
        return self.model.embed_video(frames.to(self.device), masks.to(self.device))[0].cpu()

    def frame_scores(self, mono, texts):
        _, tokens = self.model.embed_audio(normalize_level(mono.to(self.device)))
        return torch.sigmoid(self.model.frame_logits(tokens, self.model.text_features(texts)))[0].cpu()

    def audio_views(self, mono, texts=None):
        pooled, tokens = self.model.embed_audio(normalize_level(mono.to(self.device)))
        frames = F.normalize(self.model.audio_head(tokens), dim=-1)
        out = {"pooled": pooled.cpu(), "frames": frames.cpu()}
        if texts:
            out["text_scores"] = torch.sigmoid(self.model.frame_logits(tokens, self.model.text_features(texts))).cpu()
        return out

    def sync_video(self, frames):
        return self.model.sync.video(frames.to(self.device)).cpu()

    def sync_audio(self, mono):
        level = normalize_level(mono.to(self.device))
        return self.model.sync.audio(level, self.model.sync_tokens(level)).cpu()

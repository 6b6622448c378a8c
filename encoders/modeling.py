"""PEAVModel: the towers, their projection heads into one space, and the sigmoid contrastive loss."""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from encoders.configuration import PEAVConfig
from encoders.towers import AudioTower, FusionTower, PeAudioContrastiveHead, SyncTower, TextTower, VideoTower

PAIRS = ("audio_text", "video_text", "audio_video", "av_text")
WEIGHTS_NAME = "model.safetensors"


def sigmoid_contrastive_loss(a: torch.Tensor, b: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor,
                             positives: torch.Tensor | None = None) -> torch.Tensor:
    """SigLIP loss between L2-normalised rows of ``a`` [N, D] and ``b`` [M, D].

    Labels are +1 on positives and -1 elsewhere, so every negative pair gets a gradient
    (transformers' PE loss uses 0 for negatives, which makes them constant; see NOTES).
    """
    logits = a @ b.T * scale.exp() + bias
    if positives is None:
        positives = torch.eye(a.shape[0], b.shape[0], dtype=torch.bool, device=a.device)
    labels = positives.to(logits.dtype) * 2 - 1
    return -F.logsigmoid(labels * logits).sum() / a.shape[0]


class PEAVModel(nn.Module):
    def __init__(self, config: PEAVConfig, text_model_dir: str | None = None):
        super().__init__()
        self.config = config
        d = config.embed_dim
        self.audio = AudioTower(config)
        self.video = VideoTower(config)
        self.fusion = FusionTower(config)
        self.text = TextTower(config, text_model_dir)
        self.audio_head = PeAudioContrastiveHead(config.audio_hidden, d)
        self.video_head = PeAudioContrastiveHead(config.video_hidden, d)
        self.av_head = PeAudioContrastiveHead(config.audio_hidden, d)
        self.text_head = PeAudioContrastiveHead(config.text_hidden, d)
        self.frame_head = PeAudioContrastiveHead(config.audio_hidden, d)
        self.frame_text_head = PeAudioContrastiveHead(config.text_hidden, d)
        # SigLIP's initialisation: temperature 10, bias -10 (few positives per batch).
        self.logit_scale = nn.Parameter(torch.full((len(PAIRS),), math.log(10.0)))
        self.logit_bias = nn.Parameter(torch.full((len(PAIRS),), -10.0))
        self.frame_scale = nn.Parameter(torch.tensor(math.log(10.0)))
        self.frame_bias = nn.Parameter(torch.tensor(-2.0))
        if config.sync_dim:
            self.sync = SyncTower(config)
            self.sync_scale = nn.Parameter(torch.tensor(math.log(10.0)))
            self.sync_bias = nn.Parameter(torch.tensor(-5.0))
            if config.sync_own_audio:
                self.sync_audio_tower = AudioTower(config).requires_grad_(False)
        if config.own_query_text:
            self.query_text_head = PeAudioContrastiveHead(config.text_hidden, d).requires_grad_(False)

    # --- embeddings (all L2-normalised) -----------------------------------------------------
    def text_features(self, texts: list[str]) -> torch.Tensor:
        return self.text(texts)

    def embed_text_features(self, feats: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text_head(feats), dim=-1)

    def embed_text_anchored(self, texts: list[str]) -> torch.Tensor:
        """Text embeddings for inference. The projection was fitted on a few hundred captions and
        generalises poorly to paraphrases; MiniLM's own space handles paraphrases well, so a prompt is
        blended with the projected training captions it is close to there (see PEAVConfig)."""
        return self._anchored(texts, self.text_head, "_anchors")

    def embed_query_text_anchored(self, texts: list[str]) -> torch.Tensor:
        """As :meth:`embed_text_anchored`, through the text head a separator's queries were trained on
        (``own_query_text``; else the text head itself)."""
        head = getattr(self, "query_text_head", None)
        return self.embed_text_anchored(texts) if head is None else self._anchored(texts, head, "_query_anchors")

    def _anchored(self, texts: list[str], head: nn.Module, cache: str) -> torch.Tensor:
        feats = self.text_features(texts)
        direct = F.normalize(head(feats), dim=-1)
        cfg = self.config
        if not cfg.text_anchors or cfg.anchor_weight <= 0:
            return direct
        anchors = getattr(self, cache, None)
        if anchors is None or self.training:  # at inference the text side is fixed: embed them once
            anchor_feats = self.text_features(cfg.text_anchors)
            anchors = (F.normalize(anchor_feats, dim=-1), F.normalize(head(anchor_feats), dim=-1))
            setattr(self, cache, None if self.training else anchors)
        keys, values = anchors
        weights = torch.softmax(F.normalize(feats, dim=-1) @ keys.T / cfg.anchor_temperature, dim=-1)
        return F.normalize((1 - cfg.anchor_weight) * direct + cfg.anchor_weight * (weights @ values), dim=-1)

    def embed_audio(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, T] -> (pooled embedding [B, D], tokens [B, F, H])."""
        tokens, pooled = self.audio(wave)
        return F.normalize(self.audio_head(pooled), dim=-1), tokens

    def sync_tokens(self, wave: torch.Tensor) -> torch.Tensor:
        """The audio tokens [B, F, H] the sync tower was trained on."""
        tower = getattr(self, "sync_audio_tower", None)
        return (self.audio if tower is None else tower)(wave)[0]

    def embed_video(self, frames: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tokens, pooled = self.video(frames, masks)
        return F.normalize(self.video_head(pooled), dim=-1), tokens

    def embed_audio_video(self, audio_tokens: torch.Tensor, video_tokens: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.av_head(self.fusion(audio_tokens, video_tokens)), dim=-1)

    def frame_logits(self, audio_tokens: torch.Tensor, text_feats: torch.Tensor) -> torch.Tensor:
        """Per-40 ms logits [B, N_text, F] of each text being active in each audio frame."""
        frames = F.normalize(self.frame_head(audio_tokens), dim=-1)
        texts = F.normalize(self.frame_text_head(text_feats), dim=-1)
        return torch.einsum("bfd,nd->bnf", frames, texts) * self.frame_scale.exp() + self.frame_bias

    def pair_loss(self, pair: str, a, b, positives=None) -> torch.Tensor:
        i = PAIRS.index(pair)
        return sigmoid_contrastive_loss(a, b, self.logit_scale[i], self.logit_bias[i], positives)

    # --- persistence (the frozen text model is not saved: it comes from its package) -------
    def trainable_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().contiguous() for k, v in self.state_dict().items() if not k.startswith("text.")}

    def save_pretrained(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.config.save(folder)
        save_file(self.trainable_state(), str(folder / WEIGHTS_NAME), metadata={"format": "pt"})
        return folder

    def load_weights(self, folder: str | Path, new_parts: tuple[str, ...] = ()) -> None:
        """The trainable weights saved in ``folder`` (the text model comes from its package);
        ``new_parts``: top-level parts this model adds to those in ``folder`` (left as initialised)."""
        state = load_file(str(Path(folder) / WEIGHTS_NAME))
        self._anchors = self._query_anchors = None  # cached anchor embeddings belong to the old weights
        missing, unexpected = self.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith(("text.", *new_parts))]
        if missing or unexpected:
            raise RuntimeError(f"{folder}: weights do not match the config (missing {missing[:3]}, unexpected {unexpected[:3]})")

    @classmethod
    def from_pretrained(cls, folder: str | Path, text_model_dir: str | None = None) -> "PEAVModel":
        model = cls(PEAVConfig.load(folder), text_model_dir)
        model.load_weights(folder)
        return model.eval()

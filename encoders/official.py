"""Adapter for official PE-AV / PE-A checkpoints saved in transformers format (a local folder).

transformers provides the models; this only maps our API onto their ``get_*_embeds`` methods.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from soundsift.errors import SoundSiftError


class OfficialBackend:
    def __init__(self, path: str | Path):
        from transformers import AutoTokenizer, PeAudioFrameLevelModel, PeAudioVideoModel

        path = Path(path)
        self.path = path
        config = json.loads((path / "config.json").read_text())
        self.kind = config["model_type"]
        if self.kind == "pe_audio":
            # Same weights as PeAudioModel; the frame-level class also exposes per-frame embeddings.
            self.model = PeAudioFrameLevelModel.from_pretrained(path).eval()
            audio_config = self.model.config.audio_config
        else:
            self.model = PeAudioVideoModel.from_pretrained(path).eval()
            audio_config = self.model.config.audio_video_config.audio_config
        # transformers' get_text_*_embeds read text hidden_states without asking for them.
        self.model.text_model.config.output_hidden_states = True
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        pre = path / "preprocessor_config.json"
        rate = json.loads(pre.read_text()).get("sampling_rate") if pre.exists() else None
        self.sample_rate = int(rate or audio_config.dac_config.sampling_rate)
        self.hop = int(audio_config.dac_config.hop_length)
        self.embed_dim = int(self.model.config.text_config.hidden_size)
        self.video_fps, self.frame_threshold = 1.0, 0.5

    def save_pretrained(self, path):
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        return Path(path)

    def _tokens(self, texts):
        return self.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")

    def embed_text(self, texts):
        t = self._tokens(texts)
        return F.normalize(self.model.get_text_audio_embeds(t["input_ids"], t["attention_mask"]), dim=-1)

    def embed_audio(self, mono):
        if self.kind == "pe_audio":
            pooled = self.model.audio_encoder(input_values=mono[:, None]).pooler_output
            return F.normalize(self.model.audio_head(pooled), dim=-1)
        return F.normalize(self.model.get_audio_embeds(mono[:, None]), dim=-1)

    def embed_video(self, frames, masks):
        if self.kind == "pe_audio":
            raise SoundSiftError(f"{self.path}: this checkpoint has no video tower (pe_audio)")
        dimmed = frames * (0.2 + 0.8 * masks[:, :, None])  # PE-AV has no mask input: dim the rest
        return F.normalize(self.model.get_video_embeds(dimmed), dim=-1)

    def frame_scores(self, mono, texts):
        if self.kind != "pe_audio":
            raise SoundSiftError(f"{self.path}: frame-level scores need a PE-A-Frame (pe_audio) checkpoint")
        t = self._tokens(texts)
        out = self.model(input_ids=t["input_ids"], attention_mask=t["attention_mask"], input_values=mono[:, None])
        return torch.sigmoid(out.logits_audio_text[0])

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
    def __init__(self, path: str | Path, device="cpu"):
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
        video_pre = path / "video_preprocessor_config.json"
        stats = json.loads(video_pre.read_text()) if video_pre.exists() else {}
        self.device = torch.device(device)
        self.model.to(self.device)
        self.pixel_mean = torch.tensor(stats.get("image_mean", [0.5] * 3)).view(1, 1, 3, 1, 1).to(self.device)
        self.pixel_std = torch.tensor(stats.get("image_std", [0.5] * 3)).view(1, 1, 3, 1, 1).to(self.device)

    def save_pretrained(self, path):
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        return Path(path)

    def _tokens(self, texts):
        return self.tokenizer(texts, padding=True, truncation=True, return_tensors="pt").to(self.device)

    def embed_text(self, texts):
        t = self._tokens(texts)
        # transformers 5.x: PeAudioVideoModel.get_text_audio_embeds calls a method PeAudioModel lacks;
        # its audio model's own get_text_audio_embeds is the same text->audio-space projection.
        source = self.model if self.kind == "pe_audio" else self.model.audio_model
        return F.normalize(source.get_text_audio_embeds(t["input_ids"], t["attention_mask"]), dim=-1).cpu()

    def embed_query_text(self, texts):  # one text head: a separator's queries are the text embeddings
        return self.embed_text(texts)

    def embed_audio(self, mono):
        mono = mono.to(self.device)
        if self.kind == "pe_audio":
            pooled = self.model.audio_encoder(input_values=mono[:, None]).pooler_output
            return F.normalize(self.model.audio_head(pooled), dim=-1).cpu()
        return F.normalize(self.model.get_audio_embeds(mono[:, None]), dim=-1).cpu()

    def embed_video(self, frames, masks):
        if self.kind == "pe_audio":
            raise SoundSiftError(f"{self.path}: this checkpoint has no video tower (pe_audio)")
        frames, masks = frames.to(self.device), masks.to(self.device)
        dimmed = frames * (0.2 + 0.8 * masks[:, :, None])  # PE-AV has no mask input: dim the rest
        pixels = (dimmed - self.pixel_mean) / self.pixel_std
        # transformers 5.x: PeAudioVideoModel.get_video_embeds calls a PeVideoModel method that does not
        # exist (its get_*_features are nested inside __init__), so take forward()'s own path.
        video = self.model.video_model
        pooled = video.video_encoder(pixel_values_videos=pixels, return_dict=True).pooler_output
        return F.normalize(video.video_head(pooled), dim=-1).cpu()

    def frame_scores(self, mono, texts):
        if self.kind != "pe_audio":
            raise SoundSiftError(f"{self.path}: frame-level scores need a PE-A-Frame (pe_audio) checkpoint")
        t = self._tokens(texts)
        out = self.model(input_ids=t["input_ids"], attention_mask=t["attention_mask"],
                         input_values=mono.to(self.device)[:, None])
        return torch.sigmoid(out.logits_audio_text[0]).cpu()

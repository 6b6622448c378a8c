"""LightningModule that trains PEAVModel: sigmoid contrastive losses over modality pairs plus the
frame-level (PE-A-Frame) activity loss."""

from __future__ import annotations

import copy
from dataclasses import asdict

import lightning as L
import torch
import torch.nn.functional as F

from encoders.api import normalize_level
from encoders.configuration import PEAVConfig
from encoders.modeling import PAIRS, PEAVModel
from recipes.common import adamw_one_cycle
from recipes.data.taxonomy import BY_LABEL, TARGET_LABELS

MIN_ACTIVE_FRAMES = 5  # a class counts as present in a mixture crop when it sounds for >= 0.2 s of it


class EncoderModule(L.LightningModule):
    def __init__(self, config: dict | None = None, tiny: bool = False, lr: float = 1e-3, weight_decay: float = 0.01,
                 frame_weight: float = 1.0, video_weight: float = 1.0, frame_items: int = 12,
                 init_from: str | None = None, frozen: list[str] | None = None, mixture_weight: float = 0.0,
                 distill_weight: float = 0.0, trainable: list[str] | None = None):
        """``init_from``: a ``from_pretrained`` folder to continue from (``config`` then overrides its
        config); ``frozen``: top-level parts of PEAVModel kept fixed, e.g. ``["text_head"]`` so that text
        queries, and so a separator trained on them, keep their meaning. ``mixture_weight``: a mixture
        crop against the captions of every class sounding in it (several positives), so that a
        mixture's embedding says which sounds it holds; ``distill_weight``: single-source audio
        embeddings held to those of the ``init_from`` model, so that audio-example queries (and the
        separator trained on them) keep their meaning while the audio tower learns mixtures (only
        the examples the data marks ``hold``, when it marks them: renders, not recordings). ``trainable``:
        the only top-level parts (modules or parameters) that learn; every other one is fixed, in eval
        mode (``frozen`` names modules one by one and leaves loose parameters such as temperatures to learn)."""
        super().__init__()
        self.save_hyperparameters()
        cfg = PEAVConfig.load(init_from) if init_from else PEAVConfig.tiny() if tiny else PEAVConfig()
        parent_own_audio, parent_own_query = cfg.sync_own_audio, cfg.own_query_text
        for key, value in (config or {}).items():
            setattr(cfg, key, value)
        self.model = PEAVModel(cfg)
        if init_from:
            own_audio = hasattr(self.model, "sync_audio_tower") and not parent_own_audio
            own_query = hasattr(self.model, "query_text_head") and not parent_own_query
            new = ("sync_audio_tower",) * own_audio + ("query_text_head",) * own_query
            self.model.load_weights(init_from, new_parts=new)
            if own_audio:  # the sync tower keeps the audio tower it was trained with
                self.model.sync_audio_tower.load_state_dict(self.model.audio.state_dict())
            if own_query:  # separators' queries keep the text head they were trained on
                self.model.query_text_head.load_state_dict(self.model.text_head.state_dict())
        for name in frozen or []:
            getattr(self.model, name).requires_grad_(False)
        if trainable is not None:
            self.model.requires_grad_(False)
            for name in trainable:
                getattr(self.model, name).requires_grad_(True)
        if distill_weight > 0:
            if not init_from:
                raise ValueError("distill_weight needs init_from: the model whose audio embeddings are kept")
            self.teacher = copy.deepcopy(torch.nn.ModuleDict({"audio": self.model.audio, "head": self.model.audio_head}))
            self.teacher.requires_grad_(False)
        self.train()
        self._text_cache: dict[str, torch.Tensor] = {}

    def train(self, mode: bool = True):
        # Frozen parts stay in eval mode: the audio tower's batch-norm statistics would otherwise
        # keep moving and change the "frozen" embeddings.
        super().train(mode)
        for name in self.hparams.frozen or []:
            getattr(self.model, name).eval()
        trainable = self.hparams.get("trainable")  # absent from checkpoints of older runs
        if trainable is not None:
            for name, part in self.model.named_children():
                if name not in trainable:
                    part.eval()
        for name in ("sync_audio_tower", "query_text_head"):
            if hasattr(self.model, name):
                getattr(self.model, name).eval()
        if hasattr(self, "teacher"):
            self.teacher.eval()
        return self

    def text_features(self, texts: list[str]) -> torch.Tensor:
        """The text tower is frozen, so each caption's features are computed once."""
        if not texts:
            return torch.zeros(0, self.model.config.text_hidden)
        todo = sorted({t for t in texts if t not in self._text_cache})
        if todo:
            for t, f in zip(todo, self.model.text_features(todo)):
                self._text_cache[t] = f
        return torch.stack([self._text_cache[t] for t in texts])

    def losses(self, batch: dict) -> dict[str, torch.Tensor]:
        m = self.model
        emb_a, tok_a = m.embed_audio(normalize_level(batch["audio"]))
        cls = batch["cls"]
        has_text = cls >= 0
        out = {}
        t_idx = has_text.nonzero().squeeze(1)
        captions = [batch["captions"][i] for i in t_idx.tolist()]
        feats = self.text_features(captions)
        emb_t = m.embed_text_features(feats)
        same = cls[t_idx][:, None] == cls[t_idx][None, :]
        out["audio_text"] = m.pair_loss("audio_text", emb_a[t_idx], emb_t, same) if len(t_idx) else emb_a.sum() * 0

        h = self.hparams
        if len(t_idx) and (h.frame_weight > 0 or h.mixture_weight > 0):
            # Frame level: every caption of the batch scored on every mixture crop; the target is that
            # class's activity in the crop (silence if the class is not in the mixture).
            # (on the first ``frame_items`` examples only: a second audio pass is the costliest part of a
            # step; the mixture loss needs every crop)
            f_idx = t_idx[: h.frame_items] if h.mixture_weight <= 0 else torch.arange(len(cls))
            emb_m, tok_m = m.embed_audio(normalize_level(batch["mixture"][f_idx]))
            logits = m.frame_logits(tok_m, feats)
            labels = [TARGET_LABELS[c] for c in cls[t_idx].tolist()]
            target = torch.zeros_like(logits)
            for i, b in enumerate(f_idx.tolist()):
                for j, label in enumerate(labels):
                    if label in batch["acts"][b]:
                        target[i, j] = batch["acts"][b][label][: logits.shape[-1]]
            if h.frame_weight > 0:
                out["frame"] = h.frame_weight * F.binary_cross_entropy_with_logits(logits, target)
            if h.mixture_weight > 0:
                present = target.sum(-1) >= MIN_ACTIVE_FRAMES  # [mixtures, captions]
                out["mixture_text"] = h.mixture_weight * m.pair_loss("audio_text", emb_m, emb_t, present)
        d_idx = t_idx[batch["hold"][t_idx]] if "hold" in batch else t_idx
        if h.distill_weight > 0 and len(d_idx):
            with torch.no_grad():
                _, pooled = self.teacher["audio"](normalize_level(batch["audio"][d_idx]))
                ref = F.normalize(self.teacher["head"](pooled), dim=-1)
            out["distill"] = h.distill_weight * (1 - (emb_a[d_idx] * ref).sum(-1)).mean()

        v = batch["video_index"]
        if v.numel() > 1:
            emb_v, tok_v = m.embed_video(batch["frames"].float() / 255.0, batch["masks"])
            w = self.hparams.video_weight
            silent = batch["silent"][v] if "silent" in batch else torch.zeros(len(v), dtype=torch.bool)
            out["audio_video"] = w * m.pair_loss("audio_video", emb_v[~silent], emb_a[v[~silent]])
            emb_av = m.embed_audio_video(tok_a[v], tok_v)
            vt = has_text[v]
            if vt.sum() > 1:
                same_v = cls[v[vt]][:, None] == cls[t_idx][None, :]
                out["av_text"] = w * m.pair_loss("av_text", emb_av[vt], emb_t, same_v)
                # a silent distractor is a row with no positive caption: pushed away from every class
                rows = vt | silent
                same_v = (cls[v[rows]][:, None] == cls[t_idx][None, :]) & ~silent[rows][:, None]
                out["video_text"] = w * m.pair_loss("video_text", emb_v[rows], emb_t, same_v)
        return out

    def training_step(self, batch, batch_idx):
        losses = self.losses(batch)
        loss = sum(losses.values())
        self.log_dict({f"train/{k}": v for k, v in losses.items()}, batch_size=len(batch["cls"]))
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["cls"]))
        return loss

    def validation_step(self, batch, batch_idx):
        losses = self.losses(batch)
        n = len(batch["cls"])
        self.log_dict({f"val/{k}": v for k, v in losses.items()}, batch_size=n)
        self.log("val/loss", sum(losses.values()), prog_bar=True, batch_size=n)
        # zero-shot accuracy against one plain prompt per class
        has_text = batch["cls"] >= 0
        if not has_text.any():
            return
        prompts = [BY_LABEL[label].captions[0] for label in TARGET_LABELS]
        emb_c = self.model.embed_text_features(self.text_features(prompts))
        emb_a, _ = self.model.embed_audio(normalize_level(batch["audio"][has_text]))
        acc = ((emb_a @ emb_c.T).argmax(-1) == batch["cls"][has_text]).float().mean()
        self.log("val/zero_shot_acc", acc, prog_bar=True, batch_size=int(has_text.sum()))
        v = batch["video_index"]
        objects = batch["cls"][v] >= 0  # masked objects: is the selected object recognised from its pixels?
        if v.numel() and objects.any():
            emb_v, _ = self.model.embed_video(batch["frames"][objects].float() / 255.0, batch["masks"][objects])
            acc_v = ((emb_v @ emb_c.T).argmax(-1) == batch["cls"][v][objects]).float().mean()
            self.log("val/video_zero_shot_acc", acc_v, prog_bar=True, batch_size=int(objects.sum()))
        silent = batch["silent"][v] if v.numel() else None
        if silent is not None and silent.any():  # distractors that look like no class (probability < 0.5)
            emb_s, _ = self.model.embed_video(batch["frames"][silent].float() / 255.0, batch["masks"][silent])
            i = PAIRS.index("video_text")
            prob = torch.sigmoid(emb_s @ emb_c.T * self.model.logit_scale[i].exp() + self.model.logit_bias[i])
            self.log("val/silent_rejected", (prob.max(-1).values < 0.5).float().mean(), batch_size=int(silent.sum()))

    def configure_optimizers(self):
        return adamw_one_cycle(self, [p for p in self.model.parameters() if p.requires_grad])

    def on_save_checkpoint(self, checkpoint):
        # The frozen text tower comes from its package; keep checkpoints small.
        # The distillation teacher is rebuilt from ``init_from``.
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items()
                                    if ".text." not in k and not k.startswith("teacher.")}
        # The full config, so that export needs neither ``init_from`` nor this class's defaults.
        checkpoint["model_config"] = asdict(self.model.config)

    def on_load_checkpoint(self, checkpoint):
        own = self.state_dict()
        checkpoint["state_dict"].update({k: v for k, v in own.items() if ".text." in k or k.startswith("teacher.")})

"""Encoder stage 6: the audio-visual sync tower (towers.SyncTower), everything else frozen.

Training scenes are drawn afresh each time by the data engine's own renderer (recipes/data/scenes):
the sources of a training mixture, or 2-4 training sources of different classes mixed anew, each
drawn as its emoji pulsing with its loudness. Validation uses the corpus' own scene videos (mp4).

    python -m recipes.encoders.sync fit --config recipes/encoders/sync.yaml
    python -m recipes.encoders.sync fit --config recipes/encoders/sync.yaml --ckpt_path last   # resume
    python -m recipes.encoders.export runs/encoders-sync/checkpoints/last.ckpt encoders/pretrained/peav-small
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import lightning as L
import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from encoders.api import normalize_level
from encoders.configuration import PEAVConfig
from encoders.modeling import PEAVModel, sigmoid_contrastive_loss
from encoders.towers import sync_vectors
from recipes.common import CorpusDataModule, adamw_one_cycle, train_cli
from recipes.data import taxonomy
from recipes.data.build import read_manifest


def _shrink(frames: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """uint8 [T, 3, H, W] -> uint8 [T, 3, size, size], as SyncTower would resize them."""
    x = torch.as_tensor(frames).float()
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8)


class SyncScenes(Dataset):
    """Training: ``length`` freshly rendered scenes an epoch; validation: the split's scene videos."""

    def __init__(self, root: str | Path, split: str, crop_seconds: float = 4.0, size: int = 64, train: bool = True,
                 length: int = 2000, own_prob: float = 0.5, fps: float = 10.0):
        self.root, self.crop, self.size, self.train, self.fps = Path(root), crop_seconds, size, train, fps
        rows = read_manifest(self.root, split)
        self.rate = rows[0]["sample_rate"]
        drawn = lambda row: [s for s in row["sources"] if taxonomy.get(s["label"]).emoji]  # noqa: E731
        if train:
            self.rows = [r for r in rows if len(drawn(r)) >= 2 and r["duration"] >= crop_seconds]
            self.pool = [(s, r["duration"]) for r in self.rows for s in drawn(r)]
            self.length, self.own_prob = length, own_prob
        else:
            self.rows = [r for r in rows if r["video"] and r["duration"] >= crop_seconds]
            self.length = len(self.rows)
        self._rng, self._cache = None, {}

    def __len__(self) -> int:
        return self.length

    def _read(self, rel: str, start: int, n: int) -> np.ndarray:
        data, _ = sf.read(self.root / rel, start=start, frames=n, dtype="float32")
        return np.pad(data, (0, n - len(data)))

    def _real(self, i: int, n: int) -> dict:
        from soundsift.io import load_video

        row = self.rows[i]
        frames = load_video(self.root / row["video"]).frames[: int(round(self.crop * self.fps))]
        return {"frames": _shrink(frames, self.size), "audio": torch.from_numpy(self._read(row["mixture"], 0, n))}

    def __getitem__(self, i: int) -> dict:
        n = int(round(self.crop * self.rate))
        if not self.train:
            if i not in self._cache:  # decoding is most of the cost; the split is small
                self._cache[i] = self._real(i, n)
            return self._cache[i]
        from recipes.data.scenes import render_scene

        if self._rng is None:  # one stream per worker (torch seeds each worker differently)
            self._rng = np.random.default_rng(torch.initial_seed() % 2**32)
        rng = self._rng
        if rng.random() < self.own_prob:  # a training mixture as it is, drawn anew
            row = self.rows[int(rng.integers(len(self.rows)))]
            start = int(rng.integers(0, int(row["duration"] * self.rate) - n + 1))
            mixture = self._read(row["mixture"], start, n)
            objects = [(taxonomy.get(s["label"]).emoji, self._read(s["path"], start, n))
                       for s in row["sources"] if taxonomy.get(s["label"]).emoji]
        else:  # 2-4 sources of different classes from different mixtures, each from its own offset
            picked, labels = [], set()
            while len(picked) < int(rng.integers(2, 5)):
                source, duration = self.pool[int(rng.integers(len(self.pool)))]
                if source["label"] in labels:
                    continue
                labels.add(source["label"])
                start = int(rng.integers(0, int(duration * self.rate) - n + 1))
                wave = self._read(source["path"], start, n) * 10 ** (rng.uniform(-6, 6) / 20)
                picked.append((taxonomy.get(source["label"]).emoji, wave))
            mixture = np.sum([w for _, w in picked], axis=0)
            mixture = mixture * min(1.0, 0.9 / (np.abs(mixture).max() + 1e-9))
            objects = picked
        frames, _ = render_scene(objects, self.rate, self.crop, rng, self.fps)
        return {"frames": _shrink(frames, self.size), "audio": torch.from_numpy(mixture.astype(np.float32))}


def collate(items: list[dict]) -> dict:
    return {"frames": torch.stack([it["frames"] for it in items]), "audio": torch.stack([it["audio"] for it in items])}


class SyncDataModule(CorpusDataModule):
    collate = staticmethod(collate)

    def __init__(self, root: str, val_root: str | None = None, batch_size: int = 32, crop_seconds: float = 4.0,
                 size: int = 64, epoch_length: int = 2000, own_prob: float = 0.5, num_workers: int = 1):
        """``val_root``: where the validation scene videos are (default ``root``)."""
        super().__init__()
        self.save_hyperparameters()

    def setup(self, stage: str | None = None) -> None:
        h = self.hparams
        self.train_set = SyncScenes(h.root, "train", h.crop_seconds, h.size, True, h.epoch_length, h.own_prob)
        self.val_set = SyncScenes(h.val_root or h.root, "val", h.crop_seconds, h.size, train=False)


class SyncModule(L.LightningModule):
    def __init__(self, init_from: str, sync_dim: int = 32, sync_size: int = 64, lr: float = 1e-3,
                 weight_decay: float = 0.01):
        """``init_from``: the encoder folder the sync tower is added to; all of it stays frozen."""
        super().__init__()
        self.save_hyperparameters()
        cfg = PEAVConfig.load(init_from)
        cfg.sync_dim, cfg.sync_size = sync_dim, sync_size
        self.model = PEAVModel(cfg)
        self.model.load_weights(init_from, new_parts=("sync",))
        self.model.requires_grad_(False)
        self.trained = [self.model.sync, self.model.sync_scale, self.model.sync_bias]
        for part in self.trained:
            part.requires_grad_(True)
        self._val: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.train()  # Lightning records each module's mode before the sanity check and restores it

    def train(self, mode: bool = True):
        # Only the sync tower trains; the frozen towers' batch-norm statistics must not move.
        super().train(False)
        self.model.sync.train(mode)
        return self

    def vectors(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        wave = normalize_level(batch["audio"])
        with torch.no_grad():
            tokens = self.model.sync_tokens(wave)
        v = self.model.sync.video(batch["frames"].float() / 255.0)
        a = self.model.sync.audio(wave, tokens)
        n = min(v.shape[1], a.shape[1])
        return sync_vectors(v, n), sync_vectors(a, n)

    def training_step(self, batch, batch_idx):
        v, a = self.vectors(batch)
        loss = sigmoid_contrastive_loss(v, a, self.model.sync_scale, self.model.sync_bias)
        hits = ((v @ a.T).argmax(1) == torch.arange(len(v))).float().mean()
        self.log("train/loss", loss, prog_bar=True, batch_size=len(v))
        self.log("train/R@1", hits, prog_bar=True, batch_size=len(v))
        return loss

    def validation_step(self, batch, batch_idx):
        self._val.append(self.vectors(batch))

    def on_validation_epoch_end(self):
        v, a = (torch.cat(x) for x in zip(*self._val))
        self._val.clear()
        self.log("val/loss", sigmoid_contrastive_loss(v, a, self.model.sync_scale, self.model.sync_bias), prog_bar=True)
        self.log("val/R@1", ((v @ a.T).argmax(1) == torch.arange(len(v))).float().mean(), prog_bar=True)

    def configure_optimizers(self):
        return adamw_one_cycle(self, [p for p in self.parameters() if p.requires_grad])

    def on_save_checkpoint(self, checkpoint):
        # As EncoderModule: no frozen text model in checkpoints, and the full config for export.
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if ".text." not in k}
        checkpoint["model_config"] = asdict(self.model.config)

    def on_load_checkpoint(self, checkpoint):
        own = self.state_dict()
        checkpoint["state_dict"].update({k: v for k, v in own.items() if ".text." in k})


def main(args=None) -> int:
    return train_cli(SyncModule, SyncDataModule, args)


if __name__ == "__main__":
    raise SystemExit(main())

"""LightningModule and DataModule for the judge: features of corpus separations -> their reference
measures (recipes/judge/data.py), binary cross-entropy on each of the four scores."""

from __future__ import annotations

from dataclasses import asdict

import lightning as L
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from torchmetrics.functional import spearman_corrcoef

from judge.configuration import SCORES, JudgeConfig
from judge.modeling import JudgeNet
from recipes.common import adamw_one_cycle


def _load_all(folders) -> tuple[torch.Tensor, torch.Tensor]:
    from recipes.judge.data import load

    parts = [load(f)[:2] for f in ([folders] if isinstance(folders, str) else folders)]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


class JudgeDataModule(L.LightningDataModule):
    def __init__(self, train: list[str], val: list[str], batch_size: int = 256, num_workers: int = 0):
        """``train``, ``val``: judge corpora built by recipes.judge.data (several are joined)."""
        super().__init__()
        self.save_hyperparameters()

    def setup(self, stage: str | None = None) -> None:
        h = self.hparams
        self.train_features, train_refs = _load_all(h.train)
        val_features, val_refs = _load_all(h.val)
        self.train_set = TensorDataset(self.train_features, train_refs)
        self.val_set = TensorDataset(val_features, val_refs)

    def train_dataloader(self):
        return DataLoader(self.train_set, batch_size=self.hparams.batch_size, shuffle=True, drop_last=True,
                          num_workers=self.hparams.num_workers)

    def val_dataloader(self):
        return DataLoader(self.val_set, batch_size=4096, num_workers=self.hparams.num_workers)


class JudgeModule(L.LightningModule):
    def __init__(self, config: dict | None = None, lr: float = 2e-3, weight_decay: float = 1e-4):
        super().__init__()
        self.save_hyperparameters()
        cfg = JudgeConfig()
        for key, value in (config or {}).items():
            setattr(cfg, key, value)
        self.net = JudgeNet(cfg)
        self._val = []

    def setup(self, stage: str) -> None:
        data = getattr(self.trainer, "datamodule", None)
        if data is not None and hasattr(data, "train_features") and stage == "fit":
            if data.train_features.shape[1] != len(self.net.config.features):
                from soundsift.errors import SoundSiftError

                raise SoundSiftError(f"the corpus has {data.train_features.shape[1]} features, the judge "
                                     f"{len(self.net.config.features)}: rebuild it with recipes.judge.data")
            self.net.set_normalization(data.train_features)  # saved with the weights

    def loss(self, features, refs) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(self.net(features), refs[:, : len(SCORES)])

    def training_step(self, batch, batch_idx):
        loss = self.loss(*batch)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        features, refs = batch
        self.log("val/loss", self.loss(features, refs), prog_bar=True)
        self._val.append((self.net.scores(features), refs))

    def on_validation_epoch_end(self):
        scores, refs = (torch.cat(x) for x in zip(*self._val))
        self._val.clear()
        for i, name in enumerate(SCORES):
            self.log(f"val/spearman_{name}", spearman_corrcoef(scores[:, i], refs[:, i]))
        present = torch.isfinite(refs[:, 4])
        self.log("val/spearman_overall_si_sdr", spearman_corrcoef(scores[present, 0], refs[present, 4]),
                 prog_bar=True)

    def on_save_checkpoint(self, checkpoint):
        checkpoint["net_config"] = asdict(self.net.config)

    def configure_optimizers(self):
        return adamw_one_cycle(self, self.net.parameters())

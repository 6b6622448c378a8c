"""LightningModule and DataModule for the judge: features of corpus separations -> their reference
measures (recipes/judge/data.py), binary cross-entropy on each of the four scores, and optionally a
ranking loss between candidates of one mixture and prompt (best-of-k chooses among those)."""

from __future__ import annotations

from dataclasses import asdict

import lightning as L
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from torchmetrics.functional import spearman_corrcoef

from judge.configuration import SCORES, JudgeConfig
from judge.features import FEATURE_SETS
from judge.modeling import JudgeNet
from recipes.common import adamw_one_cycle


def _load_all(folders, features: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(features, references, group) of corpora joined, the feature columns named; a group is one
    prompt on one mixture of one corpus (a corpus named twice is weighted twice, its groups kept apart)."""
    from recipes.judge.data import load

    feats, refs, groups, names = [], [], [], {}
    for n, folder in enumerate([folders] if isinstance(folders, str) else folders):
        f, r, meta = load(folder, features)
        feats.append(f)
        refs.append(r)
        groups.append(torch.tensor([names.setdefault((n, m["id"], m["prompt"]), len(names)) for m in meta]))
    return torch.cat(feats), torch.cat(refs), torch.cat(groups)


class GroupBatches(torch.utils.data.Sampler):
    """Batches of whole groups, shuffled every epoch: a ranking loss needs a group's candidates together."""

    def __init__(self, groups: torch.Tensor, batch_size: int, seed: int = 0):
        order = torch.argsort(groups, stable=True)
        counts = torch.bincount(groups).tolist()
        self.members = [m for m in torch.split(order, counts) if len(m)]
        self.per_batch = max(1, round(batch_size * len(self.members) / len(groups)))
        self.seed, self.epoch = seed, 0

    def __len__(self) -> int:
        return len(self.members) // self.per_batch

    def __iter__(self):
        perm = torch.randperm(len(self.members), generator=torch.Generator().manual_seed(self.seed + self.epoch))
        self.epoch += 1
        for b in range(len(self)):
            yield torch.cat([self.members[i] for i in perm[b * self.per_batch: (b + 1) * self.per_batch]]).tolist()


class JudgeDataModule(L.LightningDataModule):
    def __init__(self, train: list[str], val: list[str], batch_size: int = 256, num_workers: int = 0):
        """``train``, ``val``: judge corpora built by recipes.judge.data (several are joined)."""
        super().__init__()
        self.save_hyperparameters()

    def _selected(self) -> None:
        # JudgeModule.setup reads the corpora once with its judge's columns; alone, the default judge's
        if not hasattr(self, "train_set"):
            self.select(JudgeConfig().features)

    def select(self, features: list[str]) -> None:
        """Load the corpora's columns of these features (the judge's ``config.features``)."""
        h = self.hparams
        self.train_features, train_refs, self.train_groups = _load_all(h.train, features)
        val_features, val_refs, val_groups = _load_all(h.val, features)
        self.train_set = TensorDataset(self.train_features, train_refs, self.train_groups)
        self.val_set = TensorDataset(val_features, val_refs, val_groups)

    def train_dataloader(self):
        self._selected()
        return DataLoader(self.train_set, batch_sampler=GroupBatches(self.train_groups, self.hparams.batch_size),
                          num_workers=self.hparams.num_workers)

    def val_dataloader(self):
        self._selected()
        return DataLoader(self.val_set, batch_size=4096, num_workers=self.hparams.num_workers)


def rank_loss(logit: torch.Tensor, truth: torch.Tensor, groups: torch.Tensor, margin: float) -> torch.Tensor:
    """Logistic loss on every pair of one group whose true measure (SI-SDR, or a reference score)
    differs by more than ``margin``: the better one should score higher (NaN, as absent targets'
    SI-SDR, is left out)."""
    better = (groups[:, None] == groups[None]) & (truth[:, None] > truth[None] + margin)
    if not better.any():
        return logit.sum() * 0
    return F.softplus(logit[None] - logit[:, None])[better].mean()


class JudgeModule(L.LightningModule):
    def __init__(self, config: dict | None = None, lr: float = 2e-3, weight_decay: float = 1e-4,
                 rank_weight: float = 0.0, rank_margin_db: float = 1.0, rank_scores_margin: float = 0.0):
        """``rank_weight``: weight of the pairwise loss ranking overall by true SI-SDR between candidates
        of one group that differ by more than ``rank_margin_db``; ``rank_scores_margin`` > 0: recall,
        precision and faithfulness are ranked too (same weight), each by its own reference, between
        candidates whose references differ by more than this."""
        super().__init__()
        self.save_hyperparameters()
        cfg = JudgeConfig()
        for key, value in (config or {}).items():
            if key == "features" and isinstance(value, str):  # a named set (judge/features.py)
                value = list(FEATURE_SETS[value])
            setattr(cfg, key, value)
        self.net = JudgeNet(cfg)
        self._val = []

    def setup(self, stage: str) -> None:
        data = getattr(self.trainer, "datamodule", None)
        if isinstance(data, JudgeDataModule) and stage == "fit":
            data.select(self.net.config.features)  # the columns this judge reads, by name
            self.net.set_normalization(data.train_features)  # saved with the weights

    def loss(self, features, refs, groups) -> torch.Tensor:
        logits = self.net(features)
        loss = F.binary_cross_entropy_with_logits(logits, refs[:, : len(SCORES)])
        if self.hparams.rank_weight > 0:
            loss = loss + self.hparams.rank_weight * rank_loss(logits[:, 0], refs[:, 4], groups,
                                                               self.hparams.rank_margin_db)
            if self.hparams.rank_scores_margin > 0:
                for i in range(1, len(SCORES)):
                    loss = loss + self.hparams.rank_weight * rank_loss(logits[:, i], refs[:, i], groups,
                                                                       self.hparams.rank_scores_margin)
        return loss

    def training_step(self, batch, batch_idx):
        loss = self.loss(*batch)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        features, refs, groups = batch
        self.log("val/loss", self.loss(features, refs, groups), prog_bar=True)
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

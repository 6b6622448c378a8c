"""LightningModule for the separator: thresholded SNR on present targets, output energy on absent ones."""

from __future__ import annotations

import lightning as L
import torch
from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio as si_sdr

from recipes.common import adamw_one_cycle
from separation.modeling import SeparatorConfig, SeparatorNet

EPS = 1e-8
TAU = 1e-3  # caps the SNR a perfect estimate can earn at 30 dB, so easy examples stop dominating
ABSENT_WEIGHT = 0.1  # at full weight the -30 dB an all-silent output earns on absent targets made
# "always silent" the optimum (silence costs only 0 dB on present ones): the first run collapsed to it


def separation_loss(est: torch.Tensor, target: torch.Tensor, mixture: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """Per-example loss in dB (Wisdom et al.'s thresholded SNR; absent targets: output level vs mixture,
    down-weighted)."""
    err = (target - est).pow(2).sum(-1)
    ref = target.pow(2).sum(-1)
    mix = mixture.pow(2).sum(-1)
    present = 10 * torch.log10(err + TAU * ref + EPS) - 10 * torch.log10(ref + EPS)
    absent = 10 * torch.log10(est.pow(2).sum(-1) + TAU * mix + EPS) - 10 * torch.log10(mix + EPS)
    return torch.where(active, present, ABSENT_WEIGHT * absent)


class SeparationModule(L.LightningModule):
    def __init__(self, config: dict | None = None, tiny: bool = False, lr: float = 1e-3, weight_decay: float = 0.01):
        super().__init__()
        self.save_hyperparameters()
        cfg = SeparatorConfig.tiny() if tiny else SeparatorConfig()
        for key, value in (config or {}).items():
            setattr(cfg, key, value)
        self.net = SeparatorNet(cfg)

    def forward(self, batch):
        return self.net(batch["mixture"], batch["query"], batch["spans"])

    def training_step(self, batch, batch_idx):
        est = self(batch)
        loss = separation_loss(est, batch["target"], batch["mixture"], batch["active"]).mean()
        self.log("train/loss", loss, prog_bar=True, batch_size=len(est))
        return loss

    def validation_step(self, batch, batch_idx):
        est = self(batch)
        n = len(est)
        self.log("val/loss", separation_loss(est, batch["target"], batch["mixture"], batch["active"]).mean(),
                 prog_bar=True, batch_size=n)
        act = batch["active"]
        if act.any():
            gain = si_sdr(est[act], batch["target"][act]) - si_sdr(batch["mixture"][act], batch["target"][act])
            self.log("val/si_sdri", gain.mean(), prog_bar=True, batch_size=int(act.sum()))
        if (~act).any():
            level = 10 * torch.log10(est[~act].pow(2).sum(-1) + EPS) - 10 * torch.log10(
                batch["mixture"][~act].pow(2).sum(-1) + EPS)
            self.log("val/absent_db", level.mean(), batch_size=int((~act).sum()))

    def configure_optimizers(self):
        return adamw_one_cycle(self, self.net.parameters())

"""The separator's training loss (also what the recipes' validation reports)."""

from __future__ import annotations

import torch

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

"""The judge's head: a small MLP from the separation features (judge/features.py) to four scores.

The features are standardised by statistics of the training set, stored with the weights, so the
folder alone reproduces the scores."""

from __future__ import annotations

import torch
from torch import nn

from judge.configuration import SCORES, JudgeConfig
from soundsift.config import PretrainedModule


class JudgeNet(PretrainedModule, nn.Module):
    config_class = JudgeConfig

    def __init__(self, config: JudgeConfig):
        super().__init__()
        self.config = config
        n = len(config.features)
        self.register_buffer("feature_mean", torch.zeros(n))
        self.register_buffer("feature_std", torch.ones(n))
        layers, width = [], n
        for _ in range(config.layers):
            layers += [nn.Linear(width, config.hidden), nn.GELU(), nn.Dropout(config.dropout)]
            width = config.hidden
        self.mlp = nn.Sequential(*layers, nn.Linear(width, len(SCORES)))

    def set_normalization(self, features: torch.Tensor) -> None:
        """Standardise by these (training) features from now on."""
        self.feature_mean.copy_(features.mean(0))
        self.feature_std.copy_(features.std(0).clamp(min=1e-4))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Features [N, F] -> logits [N, 4] of (overall, recall, precision, faithfulness)."""
        return self.mlp((features - self.feature_mean) / self.feature_std)

    def scores(self, features: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self(features))

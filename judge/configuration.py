"""Configuration of the SoundSift judge (saved as ``config.json`` in a ``from_pretrained`` folder)."""

from __future__ import annotations

from dataclasses import dataclass, field

from judge.features import FEATURES, SEPARATOR_FEATURES
from soundsift.config import JsonConfig

SCORES = ("overall", "recall", "precision", "faithfulness")


@dataclass
class JudgeConfig(JsonConfig):
    model_type: str = "soundsift_judge"
    encoder: str = "peav-small"   # whose embeddings the features are made of (and the prompts' queries)
    separator: str = "separator-small"  # the separator it was trained beside (a record: callers pass one)
    sample_rate: int = 16000
    features: list = field(default_factory=lambda: list(FEATURES))
    hidden: int = 128
    layers: int = 2
    dropout: float = 0.1
    # A separation whose overall score is below this is flagged as failed (chosen on validation as the
    # best F1 for "SI-SDRi < 0"; docs/JUDGE.md).
    failed_threshold: float = 0.3
    # Best-of-k keeps an alternative candidate only if it scores this much above the prompt as given
    # (chosen on validation: recipes/judge/calibrate.py; among similar candidates the judge's ranking is weak).
    rerank_margin: float = 0.2
    lineage: dict = field(default_factory=dict)

    @property
    def uses_separator(self) -> bool:
        return any(name in SEPARATOR_FEATURES for name in self.features)

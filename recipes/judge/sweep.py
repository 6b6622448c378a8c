"""Compare judge heads on the same corpora: each variant of a sweep file (recipes/judge/sweep.yaml)
trained per seed like the head stage (60 epochs), then Spearman on each validation corpus of overall
with true SI-SDR, of each score with its reference, and of overall with SI-SDR inside each mixture's
candidates ("within": what best-of-k relies on).

    python -m recipes.judge.sweep recipes/judge/sweep.yaml [--only rank-0.25 ...]
"""

from __future__ import annotations

import argparse

import lightning as L
import torch
import yaml
from torchmetrics.functional import spearman_corrcoef

from judge.configuration import SCORES
from recipes.judge.module import JudgeDataModule, JudgeModule, _load_all


def within(score: torch.Tensor, sdr: torch.Tensor, groups: torch.Tensor) -> float:
    """Mean Spearman of score with SI-SDR inside each group (one mixture and prompt) of 3+ present targets."""
    out = []
    for g in groups.unique():
        m = (groups == g) & torch.isfinite(sdr)
        if m.sum() >= 3:
            out.append(float(spearman_corrcoef(score[m], sdr[m])))
    return sum(out) / max(len(out), 1)


def figures(net, corpus: str) -> dict:
    features, refs, groups = _load_all([corpus], net.config.features)
    with torch.no_grad():
        s = net.scores(features)
    present = torch.isfinite(refs[:, 4])
    row = {"overall_si_sdr": float(spearman_corrcoef(s[present, 0], refs[present, 4]))}
    row |= {name: float(spearman_corrcoef(s[:, i], refs[:, i])) for i, name in enumerate(SCORES)}
    return row | {"within": within(s[:, 0], refs[:, 4], groups)}


def train(variant: dict, val: list[str], seed: int):
    L.seed_everything(seed, workers=True)
    data = JudgeDataModule(train=variant["train"], val=val)
    model = JudgeModule(config=variant.get("config"), rank_weight=variant.get("rank_weight", 0.0),
                        rank_margin_db=variant.get("rank_margin_db", 1.0),
                        rank_scores_margin=variant.get("rank_scores_margin", 0.0))
    trainer = L.Trainer(max_epochs=60, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0, check_val_every_n_epoch=1000)
    trainer.fit(model, data)
    return model.net.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep")
    ap.add_argument("--only", nargs="*", help="these variants only")
    args = ap.parse_args(argv)
    spec = yaml.safe_load(open(args.sweep))
    for name, variant in spec["variants"].items():
        if args.only and name not in args.only:
            continue
        for seed in spec.get("seeds", [0]):
            net = train(variant, spec["val"], seed)
            for corpus in spec["val"]:
                f = figures(net, corpus)
                print(f"{name} seed {seed} {corpus}: " + " ".join(f"{k} {v:.3f}" for k, v in f.items()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

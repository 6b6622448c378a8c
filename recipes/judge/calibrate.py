"""Pick the judge's failure threshold on a validation corpus and write a copy of the judge with it
(``failed_threshold``): the overall score below which a separation is flagged as failed, chosen as
the best F1 of the flag against "SI-SDRi < 0" over present targets' candidates.

    python -m recipes.judge.calibrate runs/judge-small-raw --out runs/judge-small --data runs/judge-data/small-val
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from judge.configuration import JudgeConfig
from judge.modeling import JudgeNet
from recipes.common import run_tool, update_config
from recipes.judge.data import load
from recipes.judge.evaluate import flag_quality

# fine steps near 0: a head trained with the ranking loss spreads overall lower (v4's best F1 was under 0.05)
THRESHOLDS = np.round(np.concatenate([[0.01, 0.02, 0.03, 0.04], np.arange(0.05, 0.61, 0.025)]), 3)
MARGINS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3)


def choose(net, corpus) -> tuple[float, dict]:
    features, refs, meta = load(corpus, net.config.features)
    overall = net.scores(features)[:, 0].detach()
    present = torch.tensor([m["mix_si_sdr"] is not None for m in meta])
    si_sdri = refs[present, 4] - torch.tensor([m["mix_si_sdr"] for m in meta if m["mix_si_sdr"] is not None])
    table = {}
    for t in THRESHOLDS:
        q = flag_quality(overall[present], si_sdri, float(t))
        table[float(t)] = 2 * q["precision"] * q["recall"] / max(q["precision"] + q["recall"], 1e-9)
    return max(table, key=table.get), table


def choose_margin(net, separator, root, split: str = "val", limit: int = 60) -> tuple[float, dict]:
    """The best-of-8 margin with the best mean SI-SDRi on a split (ties: the larger margin)."""
    from judge import Judge
    from recipes.judge.evaluate import picks, rerank_arrays

    judge = Judge(net, separator.encoder, separator=separator)
    truth, overall, _, _ = rerank_arrays(separator, judge, Path(root), split, limit, progress=False)
    table = {margin: float(np.mean(picks(truth, overall, 8, margin))) for margin in MARGINS}
    return max(table, key=lambda m: (round(table[m], 2), m)), table


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--out", required=True)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--data", required=True, help="a judge corpus (recipes/judge/data.py) of a validation split")
    ap.add_argument("--split", default="val", help="(recorded only: the corpus is one split)")
    ap.add_argument("--rerank-data", default=None, help="a corpus whose split's mixtures choose the best-of-k margin")
    ap.add_argument("--rerank-limit", type=int, default=60)
    args = ap.parse_args(argv)
    net = JudgeNet.from_pretrained(args.model)
    best, table = choose(net, args.data)
    print(" ".join(f"{t:.3f}:{f:.3f}" for t, f in table.items()))
    fields = {"failed_threshold": best}
    if args.rerank_data:
        from separation import Separator

        margin, gains = choose_margin(net, Separator.from_pretrained(), Path(args.rerank_data), args.split,
                                      args.rerank_limit)
        print("best-of-8 mean SI-SDRi by margin: " + " ".join(f"{m:g}:{g:.2f}" for m, g in gains.items()))
        fields["rerank_margin"] = margin
    path = update_config(JudgeConfig, args.model, args.out, args.force, **fields)
    print(f"{fields} (failure F1 {table[best]:.3f}) -> {path}")


if __name__ == "__main__":
    raise SystemExit(run_tool(main))

"""Pick the judge's failure threshold on a validation corpus and write a copy of the judge with it
(``failed_threshold``): the overall score below which a separation is flagged as failed, chosen as
the best F1 of the flag against "SI-SDRi < 0" over present targets' candidates.

    python -m recipes.judge.calibrate runs/judge-small-raw --out runs/judge-small --data runs/judge-data/small-val
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from judge.configuration import JudgeConfig
from judge.modeling import JudgeNet
from recipes.common import run_tool, update_config
from recipes.judge.data import load
from recipes.judge.evaluate import flag_quality

THRESHOLDS = np.round(np.arange(0.05, 0.61, 0.025), 3)


def choose(net, corpus) -> tuple[float, dict]:
    features, refs, meta = load(corpus)
    overall = net.scores(features)[:, 0].detach()
    present = torch.tensor([m["mix_si_sdr"] is not None for m in meta])
    si_sdri = refs[present, 4] - torch.tensor([m["mix_si_sdr"] for m in meta if m["mix_si_sdr"] is not None])
    table = {}
    for t in THRESHOLDS:
        q = flag_quality(overall[present], si_sdri, float(t))
        table[float(t)] = 2 * q["precision"] * q["recall"] / max(q["precision"] + q["recall"], 1e-9)
    return max(table, key=table.get), table


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--out", required=True)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--data", required=True, help="a judge corpus (recipes/judge/data.py) of a validation split")
    ap.add_argument("--split", default="val", help="(recorded only: the corpus is one split)")
    args = ap.parse_args(argv)
    best, table = choose(JudgeNet.from_pretrained(args.model), args.data)
    print(" ".join(f"{t:.3f}:{f:.3f}" for t, f in table.items()))
    path = update_config(JudgeConfig, args.model, args.out, args.force, failed_threshold=best)
    print(f"failed_threshold = {best} (F1 {table[best]:.3f}) -> {path}")


if __name__ == "__main__":
    raise SystemExit(run_tool(main))

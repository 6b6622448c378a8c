"""Would the separator itself tell the judge more? Probe of two consistency features on a corpus
split's judge candidates (recipes/judge/data.py makes them as for training): the prompt separated
again out of the candidate's residual ("found": how much prompted sound the separator still hears in
what was left out, dB re the mixture; a recall cue) and out of the candidate target itself ("kept":
how much of the target survives a second pass, dB re the target; a precision cue). Prints each
feature's Spearman with the reference measures beside the shipped judge's scores, and what a linear fit
of the judge's score plus the two features reaches on held-out mixtures (two folds by mixture).

    python -m recipes.judge.consistency --data data/real --split val --limit 100
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from tqdm import tqdm

from recipes.data.build import read_manifest
from recipes.judge.data import candidates
from recipes.separation.evaluate import class_similarity, targets_by_label
from soundsift.errors import SoundSiftError
from soundsift.metrics import judge_references

MEASURES = ("recall", "precision", "overall")


def _db(num: torch.Tensor, den: torch.Tensor) -> float:
    return float(10 * torch.log10((num.pow(2).sum() + 1e-10) / (den.pow(2).sum() + 1e-10)).clamp(-80, 40))


def _again(sep, x: torch.Tensor, rate: int, caption: str) -> torch.Tensor:
    """The prompt separated out of ``x`` [T]; silence in, silence out (the separator refuses it)."""
    try:
        return sep.separate(x[None], rate, text=caption).targets[0][0]
    except SoundSiftError:
        return torch.zeros_like(x)


def collect(sep, judge, root: Path, split: str, limit: int, seed: int = 0) -> dict:
    rows = read_manifest(root, split)[:limit]
    by_label, class_sim = targets_by_label(read_manifest(root, split)), class_similarity(sep.encoder)
    out = {k: [] for k in ("group", "judge_recall", "judge_precision", "judge_overall", "found", "kept",
                           *MEASURES, "si_sdr")}
    for g, row in enumerate(tqdm(rows, desc=f"consistency {root} {split}")):
        rng = np.random.default_rng([seed, int(row["id"].split("-")[-1]), 31])
        mix, rate, groups = candidates(sep, root, row, rng, by_label, class_sim)
        caption, group = groups[0]  # the present target's candidates
        scores = judge.score_many(mix[None], rate, group["targets"][:, None], text=caption)
        for target, s in zip(group["targets"], scores):
            ref = judge_references(target, group["reference"], mix)
            again, left = (_again(sep, x, rate, caption) for x in (target, mix - target))
            out["group"].append(g)
            out["judge_recall"].append(s.recall)
            out["judge_precision"].append(s.precision)
            out["judge_overall"].append(s.overall)
            out["found"].append(_db(left, mix))
            out["kept"].append(_db(again, target))
            for m in (*MEASURES, "si_sdr"):
                out[m].append(ref[m])
    return {k: np.asarray(v, np.float64) for k, v in out.items()}


def held_out(d: dict, measure: str, columns: list[str]) -> float:
    """Spearman with ``measure`` of a least-squares fit of ``columns`` (two folds by mixture)."""
    x = np.stack([d[c] for c in columns] + [np.ones_like(d[measure])], 1)
    y, pred = d[measure], np.zeros_like(d[measure])
    fold = d["group"] % 2
    for f in (0, 1):
        w, *_ = np.linalg.lstsq(x[fold != f], y[fold != f], rcond=None)
        pred[fold == f] = x[fold == f] @ w
    return float(spearmanr(pred, y).statistic)


def main(argv=None) -> None:
    from judge import Judge
    from separation import Separator

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="val")
    p.add_argument("--limit", type=int, default=100)
    args = p.parse_args(argv)
    sep = Separator.from_pretrained()
    judge = Judge.from_pretrained(separator=sep)
    d = collect(sep, judge, Path(args.data), args.split, args.limit)
    print(f"{len(d['group'])} candidates of {int(d['group'].max()) + 1} mixtures ({args.data}, {args.split})")
    print("| feature | recall | precision | overall | SI-SDR |\n| --- | --- | --- | --- | --- |")
    for name in ("judge_recall", "judge_precision", "judge_overall", "found", "kept"):
        cells = [spearmanr(d[name], d[m]).statistic for m in MEASURES]
        present = np.isfinite(d["si_sdr"].astype(float))
        cells.append(spearmanr(d[name][present], d["si_sdr"][present]).statistic)
        print(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    print("\nheld-out linear fit (two folds by mixture), Spearman with its measure:")
    for measure, own in (("recall", "judge_recall"), ("precision", "judge_precision"), ("overall", "judge_overall")):
        print(f"  {measure}: judge alone {held_out(d, measure, [own]):.3f}, + found and kept "
              f"{held_out(d, measure, [own, 'found', 'kept']):.3f}")


if __name__ == "__main__":
    from recipes.common import run_tool

    raise SystemExit(run_tool(main))

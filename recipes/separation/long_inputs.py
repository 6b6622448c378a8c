"""Long inputs: separation in one streamed pass over recordings longer than a segment.

The corpus' mixtures (4-6 s) fit in one 8 s segment, so ``soundsift eval separation`` never sees a
segment edge, nor a prompted sound that comes and goes. Here consecutive mixtures of a split are
joined into long inputs (5 or 8 clips, 20-50 s), each prompted by the class present in most of its
clips and by a random present class; the target is that class where present and silence elsewhere.
For each segment length it prints SI-SDRi over the whole input, the same for every clip separated on
its own (which knows where the clips join), and the output level over the clips without the class.

    python -m recipes.separation.long_inputs --data data/small --split val --segments 3 4 8
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from recipes.common import run_tool
from recipes.data.build import read_manifest
from recipes.data.taxonomy import BY_LABEL
from soundsift.errors import SoundSiftError
from soundsift.io import load_audio
from soundsift.metrics import si_sdr

GROUP_SIZES = (5, 8)


def long_inputs(rows: list[dict], seed: int = 1) -> list[tuple[list[dict], str]]:
    """(consecutive rows, prompted class) pairs: per group, its most frequent class and a random one."""
    rng = np.random.default_rng(seed)
    cases = []
    for size in GROUP_SIZES:
        for g in range(0, len(rows) - size + 1, size):
            group = rows[g: g + size]
            counts = Counter(s["label"] for r in group for s in r["sources"] if s["target"])
            if not counts:
                continue
            labels = sorted(counts)
            chosen = [max(labels, key=lambda k: (counts[k], k)), labels[int(rng.integers(len(labels)))]]
            cases += [(group, label) for label in dict.fromkeys(chosen)]
    return cases


def _level_db(est: torch.Tensor, mixes: list[torch.Tensor], where: list[int], edges: np.ndarray) -> float:
    num = sum(float(est[..., edges[i]: edges[i + 1]].pow(2).sum()) for i in where)
    den = sum(float(mixes[i].pow(2).sum()) for i in where)
    return float(10 * np.log10(num / den + 1e-12))


def evaluate(separator, root: str | Path, split: str, segments=(3.0, 4.0, 8.0), progress: bool = True) -> dict:
    root = Path(root)
    rows = read_manifest(root, split)
    cases = long_inputs(rows)
    if not cases:
        raise SoundSiftError(f"{root}: too few mixtures in split {split!r} to join into long inputs")
    names = [f"{s:g} s" for s in segments] + ["clip by clip"]
    gains, leaks, seconds = {n: [] for n in names}, {n: [] for n in names}, []
    for group, label in tqdm(cases, desc="long inputs", disable=not progress):
        mixes, targets = [], []
        for r in group:
            mix, rate = load_audio(root / r["mixture"])
            src = [s for s in r["sources"] if s["target"] and s["label"] == label]
            mixes.append(mix)
            targets.append(load_audio(root / src[0]["path"])[0] if src else torch.zeros_like(mix))
        mix, target = torch.cat(mixes, -1), torch.cat(targets, -1)
        seconds.append(mix.shape[-1] / rate)
        edges = np.cumsum([0] + [m.shape[-1] for m in mixes])
        absent = [i for i, t in enumerate(targets) if not t.abs().max() > 0]
        prompt = BY_LABEL[label].captions[0]
        base = float(si_sdr(mix[0], target[0]))
        estimates = [separator.separate(mix, rate, text=prompt, segment=s).targets[0] for s in segments]
        estimates.append(torch.cat([separator.separate(m, rate, text=prompt).targets[0] for m in mixes], -1))
        for name, est in zip(names, estimates):
            gains[name].append(float(si_sdr(est[0], target[0])) - base)
            if absent:
                leaks[name].append(_level_db(est, mixes, absent, edges))
    return {"split": split, "inputs": len(cases), "seconds_median": float(np.median(seconds)),
            "rows": {n: {"si_sdri_median": float(np.median(gains[n])), "si_sdri_mean": float(np.mean(gains[n])),
                         "absent_db_median": float(np.median(leaks[n])),
                         "absent_above_-25db": float(np.mean(np.array(leaks[n]) > -25))} for n in names}}


def to_markdown(result: dict) -> str:
    lines = [f"{result['inputs']} long inputs from the {result['split']} split (median "
             f"{result['seconds_median']:.0f} s)", "",
             "| segment | SI-SDRi median | mean | level where the class is absent (median) | share above −25 dB |",
             "| --- | --- | --- | --- | --- |"]
    for name, r in result["rows"].items():
        lines.append(f"| {name} | {r['si_sdri_median']:.2f} | {r['si_sdri_mean']:.2f} | {r['absent_db_median']:.1f} dB | "
                     f"{100 * r['absent_above_-25db']:.0f} % |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    from separation import Separator

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="corpus folder (with manifest.jsonl)")
    ap.add_argument("--split", default="val", choices=["train", "val", "test"])
    ap.add_argument("--segments", type=float, nargs="+", default=[3.0, 4.0, 8.0], help="segment lengths (s)")
    ap.add_argument("--model", default=None, help="separator folder (default: the shipped one)")
    args = ap.parse_args(argv)
    if any(not s >= 0.5 for s in args.segments):
        raise SoundSiftError(f"segments must be at least 0.5 s, got {args.segments}")
    print(to_markdown(evaluate(Separator.from_pretrained(args.model), args.data, args.split, args.segments)))


if __name__ == "__main__":
    raise SystemExit(run_tool(main))

"""Two objects of the same class in one scene: only when each sounds tells them apart.

Each scene mixes two sources of one class from different mixtures of a corpus split (at -5..+5 dB)
and draws both in one picture style (recipes/data/pictures.py); each object is clicked at its box
centre halfway through. Prints the click SI-SDRi median, how often the click's output is nearer its
own object than the other (SI-SDR), and the text prompt naming the class, which cannot choose.

    python -m recipes.separation.pair_bench --data data/small --split test --style stamps [--pairs 30]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
from tqdm import tqdm

from recipes.data import pictures
from recipes.data.build import read_manifest
from recipes.data.scenes import render_scene
from recipes.separation.click_bench import click_at, parse_variant
from separation.api import Separator
from soundsift.io import load_audio
from soundsift.metrics import si_sdr

MAX_SECONDS = 6.0


def same_class_pairs(root: Path, split: str, style: str, count: int, seed: int = 0):
    """``count`` (label, source a, source b): two target sources of one drawable class, other mixtures."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list] = {}
    for row in read_manifest(root, split):
        for s in row["sources"]:
            if s["target"] and pictures.drawable(s["label"], style, split):
                by_label.setdefault(s["label"], []).append((row, s))
    labels = sorted(label for label, found in by_label.items() if len({r["id"] for r, _ in found}) >= 2)
    pairs = []
    while len(pairs) < count and labels:
        label = labels[len(pairs) % len(labels)]
        found = by_label[label]
        i, j = rng.choice(len(found), 2, replace=False)
        if found[i][0]["id"] != found[j][0]["id"]:
            pairs.append((label, found[i], found[j]))
    return pairs


def pair_scene(root: Path, pair, style: str, split: str, rng):
    """(mixture [1, n], rate, the two sources [2, n], frames, boxes) of one same-class pair."""
    label, (row_a, a), (row_b, b) = pair
    waves = [load_audio(root / s["path"])[0][0].numpy() for s in (a, b)]
    rate = row_a["sample_rate"]
    n = min(len(waves[0]), len(waves[1]), int(MAX_SECONDS * rate))
    gain = 10 ** (rng.uniform(-5, 5) / 20)
    waves = [waves[0][:n], waves[1][:n] * gain]
    mix = waves[0] + waves[1]
    scale = min(1.0, 0.9 / (np.abs(mix).max() + 1e-9))
    waves = [w * scale for w in waves]
    pics = [pictures.picture(label, style, rng, split) for _ in waves]
    frames, boxes = render_scene(list(zip(pics, waves)), rate, n / rate, rng, 10, 224)
    return np.sum(waves, 0)[None].astype(np.float32), rate, np.stack(waves).astype(np.float32), frames, boxes


def bench(sep: Separator, root: Path, split: str, style: str, count: int, variants: list[dict], seed: int = 0) -> dict:
    import torch

    shipped = sep.net.config
    out = {i: {"click": [], "own": []} for i in range(len(variants))}
    text = []
    rng = np.random.default_rng([seed, 1])
    for pair in tqdm(same_class_pairs(root, split, style, count, seed), desc=f"same-class pairs ({style})"):
        mix, rate, sources, frames, boxes = pair_scene(root, pair, style, split, rng)
        mix_t, src_t, video = torch.from_numpy(mix), torch.from_numpy(sources), (torch.from_numpy(frames), 10.0)
        base = [float(si_sdr(mix_t[0], src_t[k])) for k in range(2)]
        est = sep.separate(mix_t, rate, text=pair[1][1]["captions"][0]).targets[0]
        text.append(float(si_sdr(est[0], src_t[0])) - base[0])
        for k in range(2):
            click = click_at(boxes[k], frames.shape[0], 10.0)
            for i, change in enumerate(variants):
                sep.net.config = dataclasses.replace(shipped, **change)
                est = sep.separate(mix_t, rate, video=video, click=click).targets[0]
                own, other = float(si_sdr(est[0], src_t[k])), float(si_sdr(est[0], src_t[1 - k]))
                out[i]["click"].append(own - base[k])
                out[i]["own"].append(own > other)
        sep.net.config = shipped
    return {"pairs": len(text), "text": text, "variants": out}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/small")
    p.add_argument("--split", default="test")
    p.add_argument("--style", action="append", default=None, help="picture style(s) (default emoji, stamps, outline)")
    p.add_argument("--pairs", type=int, default=30)
    p.add_argument("--model", default=None)
    p.add_argument("--variant", action="append", default=[], help="as recipes.separation.click_bench's")
    args = p.parse_args(argv)
    sep = Separator.from_pretrained(args.model)
    variants = [{}] + [parse_variant(v) for v in args.variant]
    for style in args.style or ["emoji", "stamps", "outline"]:
        r = bench(sep, Path(args.data), args.split, style, args.pairs, variants)
        print(f"\n{r['pairs']} same-class pairs of {args.data} ({args.split}) drawn as {style}; text naming the "
              f"class: SI-SDRi median {np.median(r['text']):.2f} dB")
        print(f"{'variant':<40} {'click SI-SDRi median':>21} {'mean':>7} {'nearer its own object':>22}")
        for i, change in enumerate(variants):
            v = r["variants"][i]
            name = ", ".join(f"{k}={val}" for k, val in change.items()) or "shipped"
            print(f"{name:<40} {np.median(v['click']):21.2f} {np.mean(v['click']):7.2f} {np.mean(v['own']):22.0%}")


if __name__ == "__main__":
    main()

"""Calibrates the separator's size-to-level reading of a click (SeparatorConfig.click_size_db and its
companions) on a validation split's scenes.

1. How an object's size says its level: every object of the split's same-class pair scenes is clicked
   at its box centre halfway through, tracked and sized (separation/track.py); its sound's level per
   frame (dB below its loudest 0.1 s, as the scenes' renderer measures it) is fitted as
   ``db_per_size`` x (side / largest side - 1) over the frames whose size was measured and whose level
   lies above the renderer's -40 dB floor. Prints the slope, the fit's R² and the share of frames sized.
   (Errors in the measured size flatten such a fit, so the slope is chosen by what it does, below.)
2. Same-class pairs (recipes/separation/pair_bench.py) on the split: click SI-SDRi and how often the
   output is nearer its own object, for each ``--db`` slope (default: the fitted one) and ``--quantile``
   (the scale read from the output), against the reading turned off.

    python -m recipes.separation.pulse_gate --data data/small-eval --split val [--pairs 12] \
        [--db 70 --db 85 ...] [--quantile 0.5 ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from recipes.data.scenes import loudness_envelope
from recipes.separation.click_bench import click_at
from recipes.separation.pair_bench import bench, pair_scene, same_class_pairs
from separation.api import Separator
from separation.track import SIZE_MIN_MATCH, box_sides, object_box, track_frames

FLOOR_DB = -40.0  # the scenes' renderer draws an object at its smallest 40 dB below its loudest


def size_and_level(root: Path, split: str, style: str, pairs: int, box_fraction: float):
    """Per clicked object: (side / largest measured side [T], level dB [T], measured [T] bool)."""
    rng = np.random.default_rng([0, 1])
    out = []
    for pair in tqdm(same_class_pairs(root, split, style, pairs), desc=f"sizing objects ({style})"):
        _, rate, sources, frames, boxes = pair_scene(root, pair, style, split, rng)
        n = frames.shape[0]
        for k in range(2):
            t, x, y = click_at(boxes[k], n, 10.0)
            f = int(round(t * 10))
            box = object_box(frames[f].transpose(1, 2, 0), x, y, box_fraction, sized=True)  # as the separator sizes
            found, fit = track_frames(frames, f, box, sized=True)
            side = box_sides(found)
            sized = np.nan_to_num(fit) >= SIZE_MIN_MATCH
            level = FLOOR_DB * (1 - loudness_envelope(sources[k], rate, np.arange(n) / 10.0))
            out.append((side / side[sized].max(), level, sized))
    return out


def fit_slope(objects) -> tuple[float, float, float]:
    """(dB per unit of relative size, R², share of frames sized) over frames above the floor."""
    r = np.concatenate([o[0][o[2]] for o in objects]) - 1
    db = np.concatenate([o[1][o[2]] for o in objects])
    keep = db > FLOOR_DB + 1
    slope = float(np.sum(r[keep] * db[keep]) / np.sum(r[keep] ** 2))
    residual = db[keep] - slope * r[keep]
    r2 = 1 - float(np.sum(residual ** 2) / np.sum((db[keep] - db[keep].mean()) ** 2))
    sized = float(np.mean(np.concatenate([o[2] for o in objects])))
    return slope, r2, sized


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/small-eval")
    p.add_argument("--split", default="val")
    p.add_argument("--style", action="append", default=None, help="picture style(s) (default emoji, stamps)")
    p.add_argument("--pairs", type=int, default=12)
    p.add_argument("--quantile", type=float, action="append", default=None, help="default 0.2, 0.5")
    p.add_argument("--db", type=float, action="append", default=None, help="slopes to try (default: the fitted one)")
    p.add_argument("--model", default=None)
    args = p.parse_args(argv)
    torch.set_grad_enabled(False)
    root, styles = Path(args.data), args.style or ["emoji", "stamps"]
    sep = Separator.from_pretrained(args.model)
    objects = [o for style in styles for o in size_and_level(root, args.split, style, args.pairs,
                                                                sep.net.config.click_box_fraction)]
    slope, r2, sized = fit_slope(objects)
    print(f"\n{len(objects)} objects ({', '.join(styles)}; {args.split}): level = {slope:.1f} dB x (side / largest - 1), "
          f"R² {r2:.3f}; {sized:.0%} of frames sized")
    variants = [{"click_size_db": 0.0}] + [{"click_size_db": db, "click_size_quantile": q}
                                          for db in args.db or [round(slope, 1)] for q in args.quantile or [0.2, 0.5]]
    print(f"{'style':<8} {'variant':<48} {'pair click SI-SDRi median':>26} {'mean':>7} {'nearer its own':>15}")
    for style in styles:
        r = bench(sep, root, args.split, style, args.pairs, variants)
        for i, change in enumerate(variants):
            v = r["variants"][i]
            name = ", ".join(f"{k}={val}" for k, val in change.items())
            print(f"{style:<8} {name:<48} {np.median(v['click']):26.2f} {np.mean(v['click']):7.2f} {np.mean(v['own']):15.0%}")


if __name__ == "__main__":
    main()

"""How well a click's box covers the clicked object over time: mean IoU with the true boxes of
rendered scenes (the data engine's renderer), for the fixed click box and the tracked one.

    python -m recipes.separation.track_bench [--scenes 60] [--seconds 6]

Each scene has 2-4 objects that drift (up to 25 px/s on 224 px frames) and pulse with their sound;
every object is clicked at its box centre halfway through. IoU is averaged over the click frame, the
1 s window around it, 3 s around it, and the whole scene."""

from __future__ import annotations

import argparse
import time

import numpy as np
from tqdm import tqdm

from recipes.data import taxonomy
from recipes.data.scenes import render_scene
from separation.click import window_boxes
from separation.track import box_iou


def pulsing_scene(rng: np.random.Generator, objects: int, seconds: float, with_audio: bool = False):
    """A rendered scene of ``objects`` emoji whose sounds are noise bursts, so that they pulse as they do
    in the corpus: (frames uint8 [T, 3, H, W], true boxes per object [T, 4]), and (``with_audio``) the
    objects' sounds at 16 kHz."""
    drawn = [c for c in taxonomy.CLASSES if c.emoji]
    picks = rng.choice(len(drawn), size=objects, replace=False)
    waves = [(rng.standard_normal(int(seconds * 16000)) *
              np.repeat(rng.random(int(seconds * 4)) > 0.4, 4000)).astype(np.float32) for _ in range(objects)]
    frames, boxes = render_scene([(drawn[k].emoji, w) for k, w in zip(picks, waves)], 16000, seconds, rng)
    boxes = [np.asarray(b, np.float32) for b in boxes]
    return (frames, boxes, waves) if with_audio else (frames, boxes)


def _scenes(count: int, seconds: float, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        yield pulsing_scene(rng, int(rng.integers(2, 5)), seconds)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenes", type=int, default=60)
    p.add_argument("--seconds", type=float, default=6.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--box-fraction", type=float, default=0.25)
    args = p.parse_args(argv)
    spans = {"click frame": 0.0, "1 s window": 0.5, "3 s window": 1.5, "whole scene": 1e9}
    ious = {kind: {s: [] for s in spans} for kind in ("fixed box", "tracked")}
    seconds_per_frame = []
    for frames, boxes in tqdm(list(_scenes(args.scenes, args.seconds, args.seed)), desc="scenes"):
        mid = frames.shape[0] // 2
        for truth in boxes:
            x, y = (truth[mid, 0] + truth[mid, 2]) / 2, (truth[mid, 1] + truth[mid, 3]) / 2
            for kind in ious:
                start = time.perf_counter()
                got = window_boxes(frames, mid, x, y, args.box_fraction, track=kind == "tracked")
                if kind == "tracked":
                    seconds_per_frame.append((time.perf_counter() - start) / len(frames))
                iou = box_iou(got, truth)
                for name, half in spans.items():
                    lo, hi = max(0, round(mid - half * 10)), min(len(frames), round(mid + half * 10) + 1)
                    ious[kind][name].append(iou[lo:hi].mean())
    print(f"{'box':<10} " + " ".join(f"{s:>12}" for s in spans))
    for kind, per in ious.items():
        print(f"{kind:<10} " + " ".join(f"{np.mean(v):12.3f}" for v in per.values()))
    print(f"tracking: {1000 * np.mean(seconds_per_frame):.1f} ms per frame (224 px, outline included)")


if __name__ == "__main__":
    main()

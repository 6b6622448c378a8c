"""Click prompts under variations of how the click becomes a query, on a corpus split's scenes:
SI-SDRi of the clicked object (a click at its box centre halfway through the clip, as
``soundsift eval separation`` does), the text prompt naming it for comparison, and the level of the
answer to a click on a silent object (its source taken out of the mixture).

    python -m recipes.separation.click_bench --data data/small --split val \\
        [--variant track=false --variant track=true,window=2 ...]

A variant sets the separator config's ``click_track``, ``click_window_seconds`` and
``click_box_fraction`` (``track``, ``window``, ``box``) for that run; the shipped values are the
first row."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
from tqdm import tqdm

from separation.api import Separator
from soundsift.io import load_audio, load_video
from soundsift.metrics import level_db, si_sdr
from recipes.data.build import read_manifest

KEYS = {"track": ("click_track", lambda v: v.lower() in ("1", "true", "yes")),
        "window": ("click_window_seconds", float), "box": ("click_box_fraction", float)}


def parse_variant(text: str) -> dict:
    out = {}
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        if key not in KEYS:
            raise SystemExit(f"unknown variant key {key!r}: one of {', '.join(KEYS)}")
        field, cast = KEYS[key]
        out[field] = cast(value)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/small")
    p.add_argument("--split", default="val")
    p.add_argument("--model", default=None)
    p.add_argument("--limit", type=int, default=None, help="at most this many scenes")
    p.add_argument("--variant", action="append", default=[], help="e.g. track=true,window=2")
    args = p.parse_args(argv)
    sep = Separator.from_pretrained(args.model)
    shipped = sep.net.config
    variants = [{}] + [parse_variant(v) for v in args.variant]
    rows = [r for r in read_manifest(Path(args.data), args.split) if r.get("video")][: args.limit]
    results = {i: {"click": [], "silent": []} for i in range(len(variants))}
    text_gain = []
    for row in tqdm(rows, desc="scenes"):
        root = Path(args.data)
        mix, rate = load_audio(root / row["mixture"])
        video = load_video(root / row["video"])
        for s in row["sources"]:
            if not s["target"] or s["boxes"] is None:
                continue
            target, _ = load_audio(root / s["path"])
            base = float(si_sdr(mix[0], target[0]))
            f = min(video.frames.shape[0], len(s["boxes"])) // 2
            x0, y0, x1, y1 = s["boxes"][f]
            click = (f / video.fps, (x0 + x1) / 2, (y0 + y1) / 2)
            est = sep.separate(mix, rate, text=s["captions"][0]).targets[0]
            text_gain.append(float(si_sdr(est[0], target[0])) - base)
            rest = mix - target
            for i, change in enumerate(variants):
                sep.net.config = dataclasses.replace(shipped, **change)
                est = sep.separate(mix, rate, video=(video.frames, video.fps), click=click).targets[0]
                results[i]["click"].append(float(si_sdr(est[0], target[0])) - base)
                out = sep.separate(rest, rate, video=(video.frames, video.fps), click=click).targets[0]
                results[i]["silent"].append(level_db(out) - level_db(rest))
            sep.net.config = shipped
    print(f"{len(text_gain)} clicked objects in {len(rows)} scenes of {args.data} ({args.split}); "
          f"text prompt naming the object: SI-SDRi median {np.median(text_gain):.2f} dB")
    print(f"{'variant':<40} {'click SI-SDRi median':>21} {'mean':>7} {'silent p90 dB':>14} {'> -25 dB':>9}")
    for i, change in enumerate(variants):
        name = ", ".join(f"{k}={v}" for k, v in change.items()) or (
            f"shipped (track={shipped.click_track}, window={shipped.click_window_seconds})")
        c, q = np.array(results[i]["click"]), np.array(results[i]["silent"])
        print(f"{name:<40} {np.median(c):21.2f} {c.mean():7.2f} {np.percentile(q, 90):14.1f} {np.mean(q > -25):9.0%}")


if __name__ == "__main__":
    main()

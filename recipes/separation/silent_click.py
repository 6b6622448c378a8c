"""Pick the separator's ``click_silent_below`` on validation scenes and store it in a copy of the model:
a click whose box is no more like any vocabulary description than this (cosine) answers silence.

    python -m recipes.separation.silent_click separation/pretrained/separator-small --out runs/separator-silent \\
        --data data/scenes/multi-emoji --data data/scenes/multi-stamps --split val

Clicks as ``soundsift eval`` makes them (box centre, halfway through the scene), on every drawn
sounding object and on every silent distractor of the scenes (``soundsift data scenes``).
Rule: the highest threshold that silences at most 5 % of the clicks on sounding objects (a click on
what the user hears must almost never come back empty); the table shows what each threshold does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from recipes.common import run_tool, update_config
from recipes.data.build import read_manifest
from recipes.separation.click_bench import click_at
from separation.click import click_window
from separation.configuration import SeparatorConfig
from soundsift.errors import SoundSiftError
from soundsift.io import load_video

MAX_OBJECTS_SILENCED = 0.05


def similarities(separator, roots: list[str], split: str, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Highest cosine to the vocabulary of clicks on sounding objects and on silent distractors."""
    cfg = separator.net.config
    texts = separator.vocabulary_embeddings()
    objects, silent = [], []
    for root in map(Path, roots):
        rows = [r for r in read_manifest(root, split) if r.get("video")][:limit]
        for row in tqdm(rows, desc=f"clicks on {root}"):
            video = load_video(root / row["video"])
            frames, n = torch.as_tensor(video.frames), video.frames.shape[0]
            boxes = [(s["boxes"], objects) for s in row["sources"] if s["target"] and s["boxes"] is not None]
            boxes += [(b, silent) for b in row.get("distractors") or []]
            for track, out in boxes:
                click = click_at(track, n, video.fps)
                window, masks = click_window(frames, video.fps, click, cfg.click_window_seconds,
                                             cfg.click_box_fraction, cfg.click_track)
                emb = separator.encoder.embed_video(window, video.fps, masks)
                out.append(float((emb @ texts.T).max()))
    if not objects or not silent:
        raise SoundSiftError("no clicks on objects or no distractors: give scenes of 'soundsift data scenes'")
    return np.array(objects), np.array(silent)


def choose(objects: np.ndarray, silent: np.ndarray) -> float:
    """The highest threshold silencing at most MAX_OBJECTS_SILENCED of object clicks (two decimals)."""
    grid = np.round(np.arange(0.0, 1.0, 0.01), 2)
    ok = [t for t in grid if np.mean(objects <= t) <= MAX_OBJECTS_SILENCED]
    return float(max(ok)) if ok else 0.0


def main(argv=None) -> None:
    from encoders.api import PEAVEncoder
    from separation import Separator

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="a separator folder (left as it is)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--data", action="append", required=True, help="scene corpora (several allowed)")
    ap.add_argument("--split", default="val")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--encoder", default=None, help="an encoder folder in place of the separator's own")
    args = ap.parse_args(argv)
    encoder = PEAVEncoder.from_pretrained(args.encoder) if args.encoder else None
    sep = Separator.from_pretrained(args.model, encoder=encoder)
    objects, silent = similarities(sep, args.data, args.split, args.limit)
    print(f"{len(objects)} clicks on sounding objects, {len(silent)} on silent distractors")
    print(f"{'threshold':>9} {'objects silenced':>17} {'distractors silenced':>21}")
    for t in np.round(np.quantile(objects, [0.01, 0.02, 0.05, 0.1, 0.2, 0.3]), 2):  # thresholds near the rule's
        print(f"{t:9.2f} {np.mean(objects <= t):17.1%} {np.mean(silent <= t):21.1%}")
    t = choose(objects, silent)
    print(f"chosen: {t:.2f} (objects silenced {np.mean(objects <= t):.1%}, distractors {np.mean(silent <= t):.1%})")
    print(f"click_silent_below = {t} -> "
          f"{update_config(SeparatorConfig, args.model, args.out, args.force, click_silent_below=t)}")


if __name__ == "__main__":
    raise SystemExit(run_tool(main))

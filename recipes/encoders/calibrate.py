"""Pick the frame-level model's decision threshold on a validation split and store it in the model's
config (``frame_threshold``), so ``spans()`` and ``soundsift spans`` use it by default.

    python -m recipes.encoders.calibrate encoders/pretrained/peav-small --data data/small --split val

The sigmoid's 0.5 is not the F1-optimal cut: active frames are the minority of (caption, frame)
pairs, so the trained scores sit low and 0.5 trades most of the recall away. The objective counts
prompts for absent classes as often as prompts for present ones (each mixture's absent-class row is
weighted by its number of present targets): a user asks about sounds that are not there too, and
F1 on present targets alone is maximised by flagging every sounding frame whatever the prompt.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from encoders.configuration import PEAVConfig
from recipes.common import config_tool_args, run_tool, update_config
from recipes.data.build import read_manifest
from recipes.encoders.evaluate import span_scores
from soundsift.errors import SoundSiftError
from soundsift.io import load_audio
from soundsift.metrics import f1, frame_counts

THRESHOLDS = np.round(np.concatenate([np.arange(0.01, 0.05, 0.01), np.arange(0.05, 0.96, 0.05)]), 2)


def calibrate(encoder, root: str | Path, split: str = "val", limit: int | None = None,
              progress: bool = True) -> tuple[float, dict[float, float]]:
    """(best threshold, F1 at each candidate threshold), micro-averaged over present targets and
    absent-class prompts (weighted as many as the present ones)."""
    root = Path(root)
    rows = read_manifest(root, split)[:limit]
    if not rows:
        raise SoundSiftError(f"{root}: no rows in split {split!r}")
    counts = np.zeros((len(THRESHOLDS), 3), dtype=np.int64)
    rng = np.random.default_rng(0)
    for row in tqdm(rows, desc="calibrating span threshold", disable=not progress):
        mix, rate = load_audio(root / row["mixture"])
        scores, truth = span_scores(encoder, mix, rate, row, rng)
        for i, t in enumerate(THRESHOLDS):
            flagged = scores >= t
            counts[i] += frame_counts(flagged[:-1], truth[:-1]) + (len(truth) - 1) * frame_counts(flagged[-1:], truth[-1:])
    by_threshold = {float(t): f1(*c) for t, c in zip(THRESHOLDS, counts.tolist())}
    return max(by_threshold, key=by_threshold.get), by_threshold


def main(argv=None) -> None:
    from encoders import PEAVEncoder

    args = config_tool_args(__doc__.splitlines()[0], argv)
    best, f1 = calibrate(PEAVEncoder.from_pretrained(args.model), args.data, args.split, args.limit)
    print(" ".join(f"{t:.2f}:{v:.3f}" for t, v in f1.items()))
    path = update_config(PEAVConfig, args.model, args.out, args.force, frame_threshold=best)
    print(f"frame_threshold = {best:.2f} (F1 {f1[best]:.3f} on {args.split}) -> {path}")


if __name__ == "__main__":
    raise SystemExit(run_tool(main))

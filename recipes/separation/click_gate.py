"""Pick the bar a click's presence gate must clear (``click_presence_bias``) on validation scenes and
store it in the separator's config.

    python -m recipes.separation.click_gate runs/separator-stage9 --out runs/separator-stage9-gated \\
        --data data/scenes/multi-emoji,data/scenes/multi-stamps [--split val] [--limit 40]

A click on an object that makes no sound (a silent distractor, or the clicked object with its sound
taken out of the mixture) gets presence logits not far below a sounding one's, so the gate the text
prompts were calibrated for lets it through. The gate is sigmoid(k x (logit - bias)) for clicks. Every
scene's objects are clicked (at the box centre halfway through, as click_bench does) once with the
source in the mixture and once with it taken out, and each silent distractor once, at bias 0; the scenes
fit in one segment, so the level at any bias follows from the presence: it moves by
20 log10(gate_bias / gate_0). SI-SDR does not see that gain: the cost is counted as sounding clicks
made more than 6 dB quieter. Rule: the largest bias at which at most 5 % of them are.
Without ``--out`` the table is printed and nothing is written (to report a test split).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from recipes.common import run_tool, update_config
from recipes.separation.calibrate import _logit, _sigmoid
from recipes.separation.click_bench import click_cases
from separation.configuration import SeparatorConfig
from soundsift.errors import SoundSiftError
from soundsift.metrics import level_db

BIASES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5)
SILENT_DB = -25.0
LOUDER_THAN = -6.0   # a sounding click's output made more than this much quieter counts as harmed
HARMED_SHARE = 0.05


def click_levels(separator, roots: list[Path], split: str, limit: int | None, progress: bool = True) -> list[dict]:
    """Per click (kind "sounding", "removed" or "distractor"): presence and output level re its input
    (dB), measured at bias 0."""
    separator.net.config.click_presence_bias = 0.0
    out = []
    for corpus, kind, wave, rate, scene, click in click_cases(roots, split, limit, progress):
        res = separator.separate(wave, rate, video=scene, click=click)
        out.append({"corpus": corpus, "kind": kind, "presence": float(res.presence[0]),
                    "level_db": level_db(res.targets[0]) - level_db(wave)})
    return out


def table(clicks: list[dict], sharpness: float) -> dict[float, dict]:
    """Per bias: sounding clicks' median change (dB) and share harmed; silent clicks' share above -25 dB."""
    def moved(kind: str, bias: float) -> tuple[np.ndarray, np.ndarray]:
        p = np.array([c["presence"] for c in clicks if c["kind"] == kind])
        level = np.array([c["level_db"] for c in clicks if c["kind"] == kind])
        change = 20 * np.log10(_sigmoid(sharpness * (_logit(p) - bias)) / _sigmoid(sharpness * _logit(p)))
        return level + change, change

    rows = {}
    for b in BIASES:
        _, change = moved("sounding", b)
        removed, distractor = moved("removed", b)[0], moved("distractor", b)[0]
        silent = np.r_[removed, distractor]
        rows[b] = {"sounding_median_change_db": float(np.median(change)),
                   "sounding_harmed": float(np.mean(change < LOUDER_THAN)),
                   "silent_above": float(np.mean(silent > SILENT_DB)),
                   "silent_p90_db": float(np.quantile(silent, 0.9)),
                   "removed_above": float(np.mean(removed > SILENT_DB)) if len(removed) else float("nan"),
                   "distractor_above": float(np.mean(distractor > SILENT_DB)) if len(distractor) else float("nan")}
    return rows


def choose(rows: dict[float, dict]) -> float:
    return max(b for b, r in rows.items() if r["sounding_harmed"] <= HARMED_SHARE)


def main(argv=None) -> None:
    from separation import Separator

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="a separator folder (left as it is)")
    ap.add_argument("--out", default=None, help="write a copy of the model with the chosen bias here")
    ap.add_argument("--force", action="store_true", help="replace --out if it exists")
    ap.add_argument("--data", required=True, help="scene corpora, comma-separated")
    ap.add_argument("--split", default="val")
    ap.add_argument("--limit", type=int, default=40, help="scenes per corpus")
    args = ap.parse_args(argv)
    sep = Separator.from_pretrained(args.model)
    if not sep.net.config.presence_gate:
        raise SoundSiftError(f"{args.model}: this separator has no presence gate")
    clicks = click_levels(sep, [Path(d) for d in args.data.split(",")], args.split, args.limit)
    rows = table(clicks, sep.net.config.presence_sharpness)
    counts = {k: sum(c["kind"] == k for c in clicks) for k in ("sounding", "removed", "distractor")}
    print(f"{counts['sounding']} sounding clicks, {counts['removed']} with their sound taken out, "
          f"{counts['distractor']} silent distractors ({args.split})")
    print("bias  sounding: median change, share > 6 dB quieter | silent: share above -25 dB (removed, distractor), p90")
    for b, r in rows.items():
        print(f"{b:4.2f}  {r['sounding_median_change_db']:6.2f} dB {100 * r['sounding_harmed']:5.1f} % | "
              f"{100 * r['silent_above']:5.1f} % ({100 * r['removed_above']:.0f} %, {100 * r['distractor_above']:.0f} %), "
              f"{r['silent_p90_db']:6.1f} dB")
    if args.out:
        b = choose(rows)
        print(f"click_presence_bias = {b} -> "
              f"{update_config(SeparatorConfig, args.model, args.out, args.force, click_presence_bias=b)}")


if __name__ == "__main__":
    raise SystemExit(run_tool(main))

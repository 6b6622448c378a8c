"""Does the clicked object's picture move with what the separator gave back? A gate for clicks on silent
things, measured on scenes.

    python -m recipes.separation.sync_gate --data data/scenes/small-val-emoji,data/scenes/small-val-stamps \\
        --split val [--limit 40] [--out runs/sync-gate-val.json]

A click on something that makes no sound (a silent distractor, or the clicked object with its sound
taken out of the mixture) gets a presence not far below a sounding one's (click_gate.py), so the
separator answers it with some other sound. But a silent object's picture does not pulse with that
sound. The encoder's sync tower was trained to make a picture's sequence correlate with its sound's:
here the object's sequence (the one the separator read) is correlated with the sync sequence of the
separator's own output (``sync_output``) and of the mixture (``sync_mixture``). Every scene's objects
are clicked once with their source in the mixture and once with it taken out, and each silent
distractor once. Printed: each measure's ROC AUC, sounding against silent clicks, and, at the bar that
silences at most 5 % of sounding clicks (chosen on the first ``--data``'s clicks unless ``--bar``), the
share of silent clicks still above -25 dB and their p90, per corpus."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from recipes.common import run_tool
from recipes.separation.click_bench import click_cases
from soundsift.errors import SoundSiftError
from soundsift.io import atomic_path
from soundsift.metrics import level_db

SILENT_DB = -25.0
SILENCED_SHARE = 0.05  # at most this share of sounding clicks may be silenced by the bar
MEASURES = ("presence", "sync_output", "sync_mixture", "motion")


def click_measures(separator, roots: list[Path], split: str, limit: int | None, progress: bool = True) -> list[dict]:
    """Per click (kind "sounding", "removed" or "distractor"): output level re its input (dB), presence
    and the two sync correlations."""
    from separation.prompts import build_prompts
    from separation.visual import sync_correlation

    out = []
    for corpus, kind, wave, rate, scene, click in click_cases(roots, split, limit, progress):
        res = separator.separate(wave, rate, video=scene, click=click)
        seconds = wave.shape[-1] / rate  # the timing separate read, from its cache
        timing = separator.timing_tracks(build_prompts(None, None, click, None), scene, seconds)[0]
        out.append({"corpus": corpus, "kind": kind, "presence": float(res.presence[0]),
                    "level_db": level_db(res.targets[0]) - level_db(wave),
                    "sync_output": sync_correlation(separator.encoder, timing, res.targets[0], rate),
                    "sync_mixture": sync_correlation(separator.encoder, timing, wave, rate),
                    "motion": float(timing.std(dim=1).mean())})
    return out


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC: the chance a sounding click's measure exceeds a silent one's (nan without both kinds)."""
    from sklearn.metrics import roc_auc_score

    if not len(pos) or not len(neg):
        return float("nan")
    return float(roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg]))


def choose_bar(clicks: list[dict], measure: str) -> float:
    """The highest bar below which at most ``SILENCED_SHARE`` of sounding clicks fall."""
    values = np.array([c[measure] for c in clicks if c["kind"] == "sounding"])
    return float(np.quantile(values, SILENCED_SHARE, method="lower"))  # interpolating could silence more


def report(clicks: list[dict], measure: str, bar: float) -> dict:
    """Silent clicks' share above -25 dB and p90 before and after silencing every click below ``bar``;
    sounding clicks silenced."""
    def pick(kind):
        rows = [c for c in clicks if c["kind"] in kind]
        return np.array([c["level_db"] for c in rows]), np.array([c[measure] for c in rows])

    level, value = pick(("removed", "distractor"))
    gated = np.where(value < bar, -np.inf, level)
    s_level, s_value = pick(("sounding",))
    d_level, d_value = pick(("distractor",))
    return {"silent_clicks": int(len(level)), "sounding_clicks": int(len(s_level)),
            "auc": auc(s_value, value), "auc_distractor": auc(s_value, d_value),
            "silent_above": float(np.mean(level > SILENT_DB)), "silent_p90_db": float(np.quantile(level, 0.9)),
            "gated_silent_above": float(np.mean(gated > SILENT_DB)),
            "gated_silent_p90_db": float(np.quantile(gated, 0.9)),
            "gated_distractor_above": float(np.mean(np.where(d_value < bar, -np.inf, d_level) > SILENT_DB)),
            "sounding_silenced": float(np.mean(s_value < bar))}


def main(argv=None) -> None:
    from separation import Separator

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="a separator folder (default: the shipped one)")
    ap.add_argument("--data", required=True, help="scene corpora, comma-separated; the bar is chosen on the first")
    ap.add_argument("--split", default="val")
    ap.add_argument("--limit", type=int, default=40, help="scenes per corpus")
    ap.add_argument("--bar", action="append", default=[], metavar="MEASURE=VALUE",
                    help="a bar chosen elsewhere (on validation), e.g. sync_output=0.1")
    ap.add_argument("--out", default=None, help="write every click's measures here (json)")
    ap.add_argument("--force", action="store_true", help="replace --out if it exists")
    args = ap.parse_args(argv)
    if args.out and Path(args.out).exists() and not args.force:  # said now, not after the clicks
        raise SoundSiftError(f"{args.out}: already exists (use --force to overwrite)")
    given = {}
    for b in args.bar:  # read before the clicks are measured, so a typo costs nothing
        name, _, value = b.partition("=")
        try:
            given[name] = float(value)
        except ValueError:
            raise SoundSiftError(f"--bar {b!r}: write MEASURE=VALUE, e.g. sync_output=0.1") from None
        if name not in MEASURES:
            raise SoundSiftError(f"--bar {b!r}: the measure is one of {', '.join(MEASURES)}")
    sep = Separator.from_pretrained(args.model)
    if not sep.net.config.visual_dim:
        raise SoundSiftError("this separator reads no timing from a click")
    roots = [Path(d) for d in args.data.split(",")]
    clicks = click_measures(sep, roots, args.split, args.limit)
    first = [c for c in clicks if c["corpus"] == roots[0].name]
    results = {}
    for m in MEASURES:
        bar = given.get(m, choose_bar(first, m))
        print(f"\n{m}: bar {bar:.4f} ({'given' if m in given else 'chosen on ' + roots[0].name})")
        print("corpus                 AUC (distractors)  silent above -25 dB: before -> gated (distractors), p90   sounding silenced")
        for root in roots:
            r = report([c for c in clicks if c["corpus"] == root.name], m, bar)
            results.setdefault(root.name, {})[m] = {"bar": bar, **r}
            print(f"{root.name:22s} {r['auc']:.3f} ({r['auc_distractor']:.3f})       "
                  f"{100 * r['silent_above']:5.1f} % -> {100 * r['gated_silent_above']:5.1f} % "
                  f"({100 * r['gated_distractor_above']:.0f} %), {r['silent_p90_db']:6.1f} -> {r['gated_silent_p90_db']:6.1f} dB"
                  f"   {100 * r['sounding_silenced']:4.1f} %")
    if args.out:
        with atomic_path(args.out, overwrite=args.force) as tmp:
            Path(tmp).write_text(json.dumps({"clicks": clicks, "results": results}, indent=1))


if __name__ == "__main__":
    raise SystemExit(run_tool(main))

"""Reading a click by which of the mixture's sounds moves with the clicked object's picture: records
and chooses the rule's settings (``click_pick_*`` in the separator's config; separation/visual.py).

    python -m recipes.separation.timing_pick record --model runs/separator-stage15 \\
        --data data/scenes/multi-emoji,data/scenes/multi-stamps --split val --limit 25 --out runs/timing-pick/val.json
    python -m recipes.separation.timing_pick choose runs/timing-pick/val.json --model runs/separator-stage15 \\
        --out runs/separator-stage15-pick
    python -m recipes.separation.timing_pick report runs/timing-pick/test-outline.json [--rule BELOW,WEIGHT,BAR]

``record``: per click on a scene (every drawn object with its sound in the mixture, "sounding", and
taken out, "removed"; every silent distractor), the click's own separation (the box's video query,
``click_pick_below`` 0) and every vocabulary description's separation with and without the click's
timing track beside it, each with its presence, its output's sync correlation with the object's
picture sequence (and the rest of the mixture's), its level and (sounding clicks) its SI-SDRi; and how surely the box reads as each
description. ``choose``: on such validation records, the surety below which a click is read by its
timing and the weight of log-presence that give the highest SI-SDRi (median per corpus, averaged),
with the bar on the picked sound's correlation at 0 (a sound whose timing does not correlate
positively with the picture's does not move with it; the 5 % quantile of the sounding clicks' would be
about -0.09 and silence few silent ones) and 6 s of mixture read around a click (``PICK_SECONDS``); written into a copy
of the model's config. ``report``: a rule's figures per corpus.

Why: a click's query is the box's video embedding, which the separator learnt class by class on two
picture styles; on a style it never saw (held-out outlines) clicks gain -4 to -8 dB. The sync tower
tells which of a few sounds follows a picture (docs/SEPARATION.md), whatever the picture looks like."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

from recipes.common import run_tool, update_config
from soundsift.errors import SoundSiftError
from soundsift.io import atomic_path
from soundsift.metrics import level_db, si_sdr

PRESENCE_FLOOR = 0.5  # a description must sound this surely in the mixture to be picked (the gate's own 0.5)
SURETY = (0.5, 0.6, 0.7, 0.8, 0.9, 1.01)  # 1.01: every click read by its timing
WEIGHTS = (0.0, 0.1, 0.2, 0.4, 0.6, 1.0)
MIN_SYNC = 0.0  # below this correlation the picked sound does not move with the picture: silence
# Mixture read around a click: the scenes the rule is chosen on are 4-6 s long, so it was never measured
# on more, and each second more costs 27 separations of it (click_cost: 10 s made a click 2.0-2.5x a text prompt).
PICK_SECONDS = 6.0


def vocabulary_outputs(sep, mono: torch.Tensor, timing: torch.Tensor | None):
    """Every vocabulary description's separation of a mono mixture [1, n] at the net's rate, with the
    click's timing track [d, N] beside it (None: without): (outputs [V, 1, n], presence [V])."""
    from separation.apply import SegmentStream

    queries = sep.vocabulary_embeddings()
    visual = None if timing is None else timing[None].expand(len(queries), -1, -1)
    stream = SegmentStream(sep.net, queries, mono.shape[-1], segment=sep.net.config.segment_seconds,
                           share=False, visual=visual)
    return torch.cat(list(stream.run([mono])), dim=-1), stream.presence


def click_records(sep, roots: list[Path], split: str, limit: int | None) -> list[dict]:
    """Per click, the click's own separation and every description's, measured (module docstring)."""
    from recipes.data import taxonomy
    from recipes.separation.click_bench import scene_clicks
    from separation.prompts import build_prompts
    from separation.visual import sync_correlation

    labels = list(taxonomy.TARGET_LABELS)
    sep.net.config = dataclasses.replace(sep.net.config, click_pick_below=0.0)  # the box's own reading
    texts = sep.vocabulary_embeddings()
    out = []

    def measure(corpus, kind, wave, rate, scene, click, target=None, label=None):
        if rate != sep.sample_rate or wave.shape[0] != 1:
            raise SoundSiftError("scenes are mono at the net's rate")
        base = None if target is None else float(si_sdr(wave[0], target[0]))
        res = sep.separate(wave, rate, video=scene, click=click)
        timing = sep.timing_tracks(build_prompts(None, None, click, None), scene, wave.shape[-1] / rate)[0]

        def row(est, presence):
            r = {"presence": float(presence), "sync": sync_correlation(sep.encoder, timing, est, rate),
                 "rest_sync": sync_correlation(sep.encoder, timing, wave - est, rate), "level": level_db(est)}
            if target is not None:
                r["sdri"] = float(si_sdr(est[0], target[0])) - base
            return r

        video_emb = sep.prompt_queries(wave, rate, video=scene, click=click, click_query="video")
        rec = {"corpus": corpus, "kind": kind, "level_mix": level_db(wave), "label": label,
               "class": labels.index(label) if label in labels else -1,
               "look": [float(x) for x in (video_emb @ texts.T)[0]],
               "plain": row(res.targets[0], res.presence[0])}
        for name, t in (("text", None), ("text_timing", timing)):
            outputs, presence = vocabulary_outputs(sep, wave, t)
            rec[name] = [row(outputs[v], presence[v]) for v in range(len(outputs))]
        out.append(rec)

    for root in roots:
        for mix, rate, scene, objects, distractors in scene_clicks(root, split, limit, desc=f"clicking {root.name}"):
            for s, target, click in objects:
                measure(root.name, "sounding", mix, rate, scene, click, target, s["label"])
                measure(root.name, "removed", mix - target, rate, scene, click, label=s["label"])
            for click in distractors:
                measure(root.name, "distractor", mix, rate, scene, click)
    return out


def surety(r: dict, temperature: float = 0.1) -> float:
    """How surely the box reads as one description (``click_temperature``), as the separator computes it."""
    from separation.visual import box_surety

    return box_surety(torch.tensor(r["look"], dtype=torch.float64), temperature)


def picked(r: dict, weight: float) -> int:
    """The description separation/visual.py's timing_reading picks from a record."""
    from separation.visual import timing_choice

    return timing_choice([c["presence"] for c in r["text"]], [c["sync"] for c in r["text"]], PRESENCE_FLOOR, weight)


def outcome(r: dict, below: float, weight: float, bar: float | None) -> tuple[str, float | None, float]:
    """(path, SI-SDRi, level re the input) of a click under a rule: the box's own reading ("box"), the
    picked description with the click's timing ("timing"), or silence ("silenced")."""
    if surety(r) > below:
        return "box", r["plain"].get("sdri"), r["plain"]["level"] - r["level_mix"]
    v = picked(r, weight)
    if bar is not None and r["text"][v]["sync"] < bar:
        return "silenced", -30.0, -np.inf  # silence stands at -30 dB SI-SDRi in medians
    c = r["text_timing"][v]
    return "timing", c.get("sdri"), c["level"] - r["level_mix"]


def corpus_figures(rows: list[dict], rule: tuple) -> dict:
    sounding = [r for r in rows if r["kind"] == "sounding"]
    silent = [r for r in rows if r["kind"] != "sounding"]
    outs = [outcome(r, *rule) for r in sounding]
    levels = np.array([outcome(r, *rule)[2] for r in silent])
    plain_levels = np.array([r["plain"]["level"] - r["level_mix"] for r in silent])
    named = [r["text"][r["class"]]["sdri"] for r in sounding if r["class"] >= 0]
    right = [picked(r, rule[1]) == r["class"] for r, o in zip(sounding, outs) if o[0] != "box" and r["class"] >= 0]
    return {"clicks": len(sounding), "text_named": float(np.median(named)) if named else None,
            "box": float(np.median([r["plain"]["sdri"] for r in sounding])),
            "rule": float(np.median([o[1] for o in outs])),
            "by_timing": float(np.mean([o[0] != "box" for o in outs])),
            "silenced": float(np.mean([o[0] == "silenced" for o in outs])),
            "picked_right": float(np.mean(right)) if right else None,
            "silent_clicks": len(silent),
            "silent_above_-25db_box": float(np.mean(plain_levels > -25)) if len(silent) else None,
            "silent_above_-25db_rule": float(np.mean(levels > -25)) if len(silent) else None,
            "silent_p90_db_rule": float(np.percentile(levels, 90)) if len(silent) else None}


def choose(records: list[dict]) -> tuple[float, float, float]:
    """(below, weight, bar) on validation records (module docstring)."""
    corpora = sorted({r["corpus"] for r in records})

    def score(below, weight):
        return np.mean([corpus_figures([r for r in records if r["corpus"] == c], (below, weight, None))["rule"]
                        for c in corpora])

    below, weight = max(((b, w) for b in SURETY for w in WEIGHTS), key=lambda bw: (round(score(*bw), 2), -bw[0]))
    return below, weight, MIN_SYNC


def report(records: list[dict], rule: tuple) -> dict:
    below, weight, bar = rule
    print(f"rule: read by timing below surety {below}, weight {weight}, bar {bar}")
    print("corpus                 clicks  text naming it  box's reading -> rule  by timing  silenced  picked right"
          "  silent clicks above -25 dB: box -> rule (p90)")
    out = {}
    for corpus in sorted({r["corpus"] for r in records}):
        f = out[corpus] = corpus_figures([r for r in records if r["corpus"] == corpus], rule)
        pct = lambda x: "-" if x is None else f"{x:.0%}"  # noqa: E731
        print(f"{corpus:22s} {f['clicks']:6d}  {f['text_named']:14.2f}  {f['box']:13.2f} -> {f['rule']:5.2f}"
              f"  {pct(f['by_timing']):>9}  {pct(f['silenced']):>8}  {pct(f['picked_right']):>12}"
              f"  {pct(f['silent_above_-25db_box']):>5} -> {pct(f['silent_above_-25db_rule'])}"
              f" ({f['silent_p90_db_rule']:.1f} dB)")
    return out


def main(argv=None) -> None:
    from separation import Separator
    from separation.api import DEFAULT_DIR
    from separation.configuration import SeparatorConfig

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["record", "choose", "report"])
    ap.add_argument("records", nargs="?", help="records written by `record` (choose, report)")
    ap.add_argument("--model", default=None, help="a separator folder (default: the shipped one)")
    ap.add_argument("--data", default=None, help="scene corpora, comma-separated (record)")
    ap.add_argument("--split", default="val")
    ap.add_argument("--limit", type=int, default=25, help="scenes per corpus (record)")
    ap.add_argument("--rule", default=None, help="BELOW,WEIGHT,BAR for report (default: the model's config)")
    ap.add_argument("--out", default=None, help="records file (record) or model folder (choose)")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    if args.action == "record":
        if not args.data or not args.out:
            raise SoundSiftError("record needs --data and --out")
        if Path(args.out).exists() and not args.force:
            raise SoundSiftError(f"{args.out}: already exists (use --force to overwrite)")
        sep = Separator.from_pretrained(args.model)
        with torch.no_grad():
            records = click_records(sep, [Path(d) for d in args.data.split(",")], args.split, args.limit)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(args.out, overwrite=args.force) as tmp:
            Path(tmp).write_text(json.dumps(records))
        return
    if not args.records or not Path(args.records).is_file():
        raise SoundSiftError(f"{args.action} needs a records file written by `record`")
    records = json.loads(Path(args.records).read_text())
    if args.action == "choose":
        if not args.out:
            raise SoundSiftError("choose needs --out (the model folder to write)")
        if Path(args.out).exists() and not args.force:
            raise SoundSiftError(f"{args.out}: already exists (use --force to overwrite)")
        below, weight, bar = choose(records)
        report(records, (below, weight, bar))
        path = update_config(SeparatorConfig, args.model or DEFAULT_DIR, args.out, args.force,
                             click_pick_below=below, click_pick_weight=weight, click_pick_min_sync=bar,
                             click_pick_presence=PRESENCE_FLOOR, click_pick_seconds=PICK_SECONDS)
        print(path)
        return
    if args.rule:
        parts = args.rule.split(",")
        try:
            if len(parts) != 3:
                raise ValueError
            below, weight, bar = float(parts[0]), float(parts[1]), None if parts[2].lower() == "none" else float(parts[2])
        except ValueError:
            raise SoundSiftError(f"--rule {args.rule!r}: write BELOW,WEIGHT,BAR, e.g. 0.7,0.4,0 (BAR may be none)") from None
    else:
        cfg = SeparatorConfig.load(args.model or DEFAULT_DIR)
        below, weight, bar = cfg.click_pick_below, cfg.click_pick_weight, cfg.click_pick_min_sync
    report(records, (below, weight, bar))


if __name__ == "__main__":
    raise SystemExit(run_tool(main))

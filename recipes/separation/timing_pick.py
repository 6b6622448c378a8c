"""Which of a mixture's sounds moves with the clicked object's picture? Records, per click on a
scene, the click's own separation and every vocabulary description's separation (with and without the
click's timing track), each with its presence, its output's sync correlation with the object's
picture sequence and (sounding clicks) its SI-SDRi; rules that pick one of them by timing are then
compared offline (``--analyse``).

    python -m recipes.separation.timing_pick --data data/scenes/multi-emoji,data/scenes/multi-stamps \\
        --split val --limit 30 --out runs/timing-pick/val.json
    python -m recipes.separation.timing_pick --analyse runs/timing-pick/val.json

Why: a click's query is the box's video embedding, which the separator learnt class by class on two
picture styles; on a style it never saw (held-out outlines) clicks gain -7 to -9 dB. The sync tower
tells which of a few sounds follows a picture (docs/SEPARATION.md), whatever the picture looks like."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from recipes.common import run_tool
from recipes.separation.sync_gate import correlation
from soundsift.errors import SoundSiftError
from soundsift.io import atomic_path
from soundsift.metrics import level_db, si_sdr


def vocabulary_outputs(sep, mono: torch.Tensor, timing: torch.Tensor | None):
    """Every vocabulary description's separation of a mono mixture [1, n] at the net's rate, with the
    click's timing track [d, N] beside it (None: without): (outputs [V, 1, n], presence [V])."""
    from separation.apply import SegmentStream

    queries = sep.vocabulary_embeddings()
    visual = None if timing is None else timing[None].expand(len(queries), -1, -1)
    stream = SegmentStream(sep.net, queries, mono.shape[-1], segment=sep.net.config.segment_seconds,
                           share=False, visual=visual)
    outputs = torch.cat(list(stream.run([mono])), dim=-1)
    return outputs, stream.presence


def click_records(sep, roots: list[Path], split: str, limit: int | None) -> list[dict]:
    """Per click (every drawn object with its sound in the mixture, "sounding", and taken out, "removed";
    every silent distractor): the click's own separation and every description's, measured."""
    from recipes.data import taxonomy
    from recipes.separation.click_bench import scene_clicks
    from separation.prompts import build_prompts

    labels = list(taxonomy.TARGET_LABELS)
    out = []

    def measure(corpus, kind, wave, rate, scene, click, target=None, label=None):
        if rate != sep.sample_rate or wave.shape[0] != 1:
            raise SoundSiftError("scenes are mono at the net's rate")
        base = None if target is None else float(si_sdr(wave[0], target[0]))

        def row(est, presence):
            r = {"presence": float(presence), "sync": correlation(sep, timing, est, rate), "level": level_db(est)}
            if target is not None:
                r["sdri"] = float(si_sdr(est[0], target[0])) - base
            return r

        res = sep.separate(wave, rate, video=scene, click=click)
        timing = sep.timing_tracks(build_prompts(None, None, click, None), scene, wave.shape[-1] / rate)[0]
        rec = {"corpus": corpus, "kind": kind, "level_mix": level_db(wave), "label": label,
               "class": labels.index(label) if label in labels else -1,
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


def analyse(records: list[dict]) -> None:
    """Pick rules, per corpus: SI-SDRi median of the pick over sounding clicks, how often the pick is the
    clicked class, and the share of silent clicks (removed, distractor) whose pick is above -25 dB re input."""
    corpora = sorted({r["corpus"] for r in records})
    rules = {"plain": lambda r: ("plain", None)}
    for family in ("text", "text_timing"):
        for k in (1, 2, 3, 5):
            for margin in (0.0, 0.1, 0.2):
                rules[f"{family} top{k} m{margin}"] = (lambda fam, k, m: lambda r: pick(r, fam, k, m))(family, k, margin)
    rules["oracle text_timing"] = lambda r: ("text_timing", int(np.argmax([c.get("sdri", 0) for c in r["text_timing"]])))
    print(f"{'rule':<28}" + "".join(f"{c[:22]:>34}" for c in corpora))
    for name, rule in rules.items():
        cells = []
        for corpus in corpora:
            rows = [r for r in records if r["corpus"] == corpus]
            sounding = [r for r in rows if r["kind"] == "sounding"]
            gains, right = [], []
            for r in sounding:
                fam, v = rule(r)
                gains.append(r["plain"]["sdri"] if fam == "plain" else r[fam][v]["sdri"])
                if fam != "plain":
                    right.append(v == r["class"])
            silent = [r for r in rows if r["kind"] != "sounding"]
            levels = []
            for r in silent:
                fam, v = rule(r)
                lvl = r["plain"]["level"] if fam == "plain" else r[fam][v]["level"]
                levels.append(lvl - r["level_mix"])
            cells.append(f"{np.median(gains):6.2f} {np.mean(right) if right else float('nan'):4.0%} "
                         f"{np.mean(np.array(levels) > -25):4.0%} p90 {np.percentile(levels, 90):6.1f}")
        print(f"{name:<28}" + "".join(f"{c:>34}" for c in cells))


def pick(r: dict, family: str, k: int, margin: float):
    """Among the k vocabulary classes with the highest presence, the one whose output moves most with
    the picture; the click's own separation unless that beats its sync by more than ``margin``."""
    cands = r[family]
    top = np.argsort([-c["presence"] for c in cands])[:k]
    best = max(top, key=lambda v: cands[v]["sync"])
    if cands[best]["sync"] - r["plain"]["sync"] > margin:
        return family, int(best)
    return "plain", None


def main(argv=None) -> None:
    from separation import Separator

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="scene corpora, comma-separated")
    ap.add_argument("--split", default="val")
    ap.add_argument("--limit", type=int, default=30, help="scenes per corpus")
    ap.add_argument("--out", default=None)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--analyse", default=None, help="a records file written by --out: compare the pick rules")
    args = ap.parse_args(argv)
    if args.analyse:
        analyse(json.loads(Path(args.analyse).read_text()))
        return
    if not args.data or not args.out:
        raise SoundSiftError("give --data and --out (or --analyse FILE)")
    if Path(args.out).exists() and not args.force:
        raise SoundSiftError(f"{args.out}: already exists (use --force to overwrite)")
    sep = Separator.from_pretrained()
    roots = [Path(d) for d in args.data.split(",")]
    with torch.no_grad():
        records = click_records(sep, roots, args.split, args.limit)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out, overwrite=args.force) as tmp:
        Path(tmp).write_text(json.dumps(records))
    analyse(records)


if __name__ == "__main__":
    raise SystemExit(run_tool(main))

"""How `PEAVEncoder.spans` should join its 40 ms frames into spans: measured, not guessed.

The frame-level model's raw runs break a sentence into a dozen 40-160 ms pieces. Closing gaps shorter
than ``min_gap`` and then dropping spans shorter than ``min_length`` gives spans a person can use; this
prints, per setting, frame F1 at 40 ms (as `soundsift eval encoders` counts it), how many spans each
present target gets against how many its true activity has, and the share of absent prompts given any
span at all.

    python -m recipes.encoders.span_smoothing --sets synthetic:data/small-eval:val,real:data/real:val

``--presence`` asks instead what the separator's presence gate adds (as ``soundsift spans`` uses it): per
bar on the gate's presence, the F1 if spans of prompts below it were dropped, how many present targets with
spans fall below it (would be dropped or flagged) and how many absent prompts keep a span above it.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
from tqdm import tqdm

from encoders import PEAVEncoder
from recipes.encoders.evaluate import span_scores, span_texts
from recipes.data.build import read_manifest
from soundsift.io import load_audio
from soundsift.metrics import f1, frame_counts
from soundsift.timeline import FRAME_SECONDS, SPAN_MIN_GAP, SPAN_MIN_LENGTH, runs, smooth_frames

GAPS = (0.0, 0.12, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5)
LENGTHS = (0.0, 0.12, 0.2, 0.3)
BARS = (0.0, 0.3, 0.5, 0.7)  # presence bars for --presence; 0.5 is where `soundsift separate` says "absent"


def collect(encoder, root: str, split: str, limit: int | None, separator=None):
    """Frame flags [N, F] and true activity per mixture (last row: an absent class), and with a
    ``separator`` each row's presence by its gate (as a separation of that prompt reports it)."""
    rng = np.random.default_rng(0)
    out = []
    for row in tqdm(read_manifest(root, split)[:limit], desc=f"{root}:{split}", leave=False):
        mix, rate = load_audio(f"{root}/{row['mixture']}")
        texts = span_texts(row, rng)
        scores, truth = span_scores(encoder, mix, rate, row, rng, texts=texts)
        presence = None if separator is None else np.array(separator.separate(mix, rate, text=texts).presence)
        out.append((scores >= encoder.backend.frame_threshold, truth, presence))
    return out


def measure(pairs, gap: float, length: float) -> dict:
    counts = np.zeros(3, dtype=np.int64)
    found, true, absent_hit = [], [], 0
    for flags, truth, _ in pairs:
        flags = np.stack([smooth_frames(f, gap, length) for f in flags])
        counts += frame_counts(flags[:-1], truth[:-1])
        found += [len(runs(f)) for f in flags[:-1]]
        true += [len(runs(t)) for t in truth[:-1]]
        absent_hit += bool(flags[-1].any())
    tp, fp, fn = counts.tolist()
    return {"f1": f1(tp, fp, fn), "spans": float(np.median(found)), "true_spans": float(np.median(true)), "true_mean": float(np.mean(true)),
            "spans_mean": float(np.mean(found)), "absent_any": absent_hit / len(pairs)}


def gated(pairs, bar: float) -> dict:
    """Spans at the shipped joining, dropped where the gate's presence is below ``bar``."""
    counts = np.zeros(3, dtype=np.int64)
    present = below = absent_kept = 0
    for flags, truth, presence in pairs:
        flags = np.stack([smooth_frames(f, SPAN_MIN_GAP, SPAN_MIN_LENGTH) for f in flags])
        kept = flags & (presence >= bar)[:, None]
        counts += frame_counts(kept[:-1], truth[:-1])
        present += len(flags) - 1
        below += int((flags[:-1].any(1) & ~kept[:-1].any(1)).sum())
        absent_kept += bool(kept[-1].any())
    tp, fp, fn = counts.tolist()
    return {"f1": f1(tp, fp, fn), "present_below": below / present, "absent_kept": absent_kept / len(pairs)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default="synthetic:data/small-eval:val,real:data/real:val",
                    help="name:root:split, comma-separated")
    ap.add_argument("--model", default=None, help="encoder folder (default: the shipped one)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--presence", action="store_true", help="what the separator's presence gate adds (see above)")
    args = ap.parse_args(argv)
    encoder = PEAVEncoder.from_pretrained(args.model)
    separator = None
    if args.presence:
        from separation import Separator

        separator = Separator.from_pretrained()
    sets = [s.split(":") for s in args.sets.split(",")]
    data = {name: collect(encoder, root, split, args.limit, separator) for name, root, split in sets}
    names = [name for name, _, _ in sets]
    if args.presence:
        print("spans joined as shipped; per set: F1 with spans below the bar dropped / present targets with spans "
              "below the bar / absent prompts with a span above it")
        print("| presence bar | " + " | ".join(names) + " |")
        print("| --- | " + " | ".join("---" for _ in names) + " |")
        for bar in BARS:
            cells = [gated(data[name], bar) for name in names]
            print(f"| {bar:g} | " + " | ".join(f"{c['f1']:.3f} / {c['present_below']:.3f} / {c['absent_kept']:.2f}"
                                              for c in cells) + " |")
        return
    print(f"frames of {FRAME_SECONDS * 1000:.0f} ms; per set: F1 / spans per present target, median (mean) / "
          f"true spans, median (mean) / absent prompts with any span")
    print("| min gap s | min length s | " + " | ".join(names) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in names) + " |")
    for gap, length in itertools.product(GAPS, LENGTHS):
        cells = []
        for name in names:
            m = measure(data[name], gap, length)
            cells.append(f"{m['f1']:.3f} / {m['spans']:.0f} ({m['spans_mean']:.1f}) / {m['true_spans']:.0f} "
                             f"({m['true_mean']:.1f}) / "
                         f"{m['absent_any']:.2f}")
        print(f"| {gap:g} | {length:g} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

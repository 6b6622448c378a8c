"""Audio-example queries anchored like text prompts (tried, not shipped: docs/SEPARATION.md): the
example's embedding blended (weight w) with the separator's caption queries, weighted by a softmax of
its similarity to them (temperature tau). Prints the median SI-SDRi of audio-example prompts per
(w, tau) beside text prompts, and how often the example is nearest its own class.

    python -m recipes.separation.audio_anchor --data data/real --split val [--limit 170]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from recipes.data.build import read_manifest
from recipes.data.taxonomy import BY_LABEL, TARGET_LABELS
from recipes.separation.evaluate import targets_by_label
from soundsift.io import load_audio
from soundsift.metrics import si_sdr

SETTINGS = [(0.0, None)] + [(w, tau) for w in (0.3, 0.5, 0.7) for tau in (0.03, 0.1)]


def evaluate(root: str | Path, split: str, limit: int | None = None) -> dict:
    from separation import Separator
    from separation.prompts import Prompt

    root, sep = Path(root), Separator.from_pretrained()
    captions = F.normalize(sep.encoder.embed_query_text([BY_LABEL[label].captions[0] for label in TARGET_LABELS]), dim=-1)
    rows = read_manifest(root, split)[:limit]
    by_label = targets_by_label(rows)
    rng = np.random.default_rng(0)  # examples drawn as eval separation draws them (its draws also pick absent classes)
    gains, text, nearest = defaultdict(list), [], []
    for row in rows:
        mix, rate = load_audio(root / row["mixture"])
        present = [s for s in row["sources"] if s["target"]]
        by_text = sep.separate(mix, rate, text=[s["captions"][0] for s in present]).targets
        for s, est in zip(present, by_text):
            others = [o for rid, o in by_label[s["label"]] if rid != row["id"]]
            if not others:
                continue
            example = load_audio(root / others[int(rng.integers(len(others)))]["path"])
            target = load_audio(root / s["path"])[0][0]
            base = float(si_sdr(mix[0], target))
            text.append(float(si_sdr(est[0], target)) - base)
            query = F.normalize(sep.encoder.embed_audio(*example), dim=-1)
            sims = query @ captions.T
            nearest.append(TARGET_LABELS[int(sims.argmax())] == s["label"])
            for w, tau in SETTINGS:
                emb = query if w == 0 else F.normalize((1 - w) * query + w * torch.softmax(sims / tau, -1) @ captions, dim=-1)
                out = sep.separate(mix, rate, prompts=[Prompt("audio", "audio-query", example, embedding=emb)]).targets[0]
                gains[(w, tau)].append(float(si_sdr(out[0], target)) - base)
    return {"targets": len(text), "text": float(np.median(text)), "nearest_own_class": float(np.mean(nearest)),
            "audio": {f"w={w} tau={tau}": float(np.median(v)) for (w, tau), v in gains.items()}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    r = evaluate(args.data, args.split, args.limit)
    print(f"{args.data} {args.split}: {r['targets']} targets; text prompts {r['text']:.2f} dB; "
          f"examples nearest their own class {r['nearest_own_class']:.2f}")
    for name, v in r["audio"].items():
        print(f"  audio example, {name}: {v:.2f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

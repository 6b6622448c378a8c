"""Audio-example queries anchored like text prompts (tried, not shipped: docs/SEPARATION.md): the
example's embedding blended (weight w) with the separator's caption queries, weighted by a softmax of
its similarity to them (temperature tau). Prints the median SI-SDRi of audio-example prompts per
(w, tau) beside text prompts, and how often the example is nearest its own class.

    python -m recipes.separation.audio_anchor --data data/real --split val [--limit 170]

``--yamnet POOL``: also read each example by YAMNet (the separator's conditioning from a front-end that
has heard real sound; issue 18): a logistic regression on YAMNet's clip embeddings, fitted on POOL's
training clips (a real clip pool such as data/real-more) and ``--synthetic``'s training sources, gives the
example's class probabilities, which weight the caption queries (blended with the example's own embedding
at weight w). Needs the ``probe`` extra.
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
YAMNET_WEIGHTS = (0.5, 1.0)  # --yamnet: the example's own embedding blended with YAMNet's class reading


def yamnet_reader(pool: Path, synthetic: Path | None, cache: Path | None = None):
    """(wave, rate) -> class probabilities [len(TARGET_LABELS)] from YAMNet's clip embedding (see the docstring)."""
    from recipes.encoders.frontend_probe import YAMNet, features, fit_probe, mixture_sources, pool_clips

    yamnet = YAMNet()
    train = pool_clips(pool, "train") + (mixture_sources(synthetic, "train", 1500) if synthetic else [])
    x = features(train, {"yamnet": yamnet.embed}, "YAMNet on training clips", cache)["yamnet"]
    y = np.array([TARGET_LABELS.index(label) for _, label, _ in train])
    scaler, probe = fit_probe(x, y, 0.01)  # C as frontend_probe chose

    def read(wave: torch.Tensor, rate: int) -> torch.Tensor:
        p = probe.predict_proba(scaler.transform(yamnet.embed(wave, rate)[None]))[0]
        out = np.zeros(len(TARGET_LABELS))
        out[probe.classes_] = p
        return torch.tensor(out, dtype=torch.float32)

    return read


def evaluate(root: str | Path, split: str, limit: int | None = None, reader=None, settings=SETTINGS) -> dict:
    from separation import Separator
    from separation.prompts import Prompt

    root, sep = Path(root), Separator.from_pretrained()
    captions = F.normalize(sep.encoder.embed_query_text([BY_LABEL[label].captions[0] for label in TARGET_LABELS]), dim=-1)
    rows = read_manifest(root, split)[:limit]
    by_label = targets_by_label(rows)
    rng = np.random.default_rng(0)  # examples drawn as eval separation draws them (its draws also pick absent classes)
    gains, text, nearest, nearest_yamnet = defaultdict(list), [], [], []
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

            def gain(emb: torch.Tensor) -> float:  # the example's prompt made with this embedding
                out = sep.separate(mix, rate, prompts=[Prompt("audio", "audio-query", example, embedding=emb)]).targets[0]
                return float(si_sdr(out[0], target)) - base

            sims = query @ captions.T
            nearest.append(TARGET_LABELS[int(sims.argmax())] == s["label"])
            for w, tau in settings:
                emb = query if w == 0 else F.normalize((1 - w) * query + w * torch.softmax(sims / tau, -1) @ captions, dim=-1)
                gains[(w, tau)].append(gain(emb))
            if reader is not None:
                probs = reader(*example)
                nearest_yamnet.append(TARGET_LABELS[int(probs.argmax())] == s["label"])
                for w in YAMNET_WEIGHTS:
                    gains[(w, "yamnet")].append(gain(F.normalize((1 - w) * query + w * (probs @ captions)[None], dim=-1)))
    return {"targets": len(text), "text": float(np.median(text)), "nearest_own_class": float(np.mean(nearest)),
            "yamnet_own_class": float(np.mean(nearest_yamnet)) if nearest_yamnet else None,
            "audio": {f"w={w} tau={tau}": float(np.median(v)) for (w, tau), v in gains.items()}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--settings", choices=["all", "plain"], default="all",
                    help="plain: only the example's own embedding (w=0) beside the YAMNet readings")
    ap.add_argument("--yamnet", type=Path, default=None, help="a real clip pool whose training clips fit YAMNet's reader")
    ap.add_argument("--synthetic", type=Path, default=None, help="a corpus whose training sources join the reader's fit")
    ap.add_argument("--cache", type=Path, default=None, help="an .npz for the reader's training embeddings")
    args = ap.parse_args(argv)
    reader = yamnet_reader(args.yamnet, args.synthetic, args.cache) if args.yamnet else None
    r = evaluate(args.data, args.split, args.limit, reader, SETTINGS[:1] if args.settings == "plain" else SETTINGS)
    print(f"{args.data} {args.split}: {r['targets']} targets; text prompts {r['text']:.2f} dB; "
          f"examples nearest their own class {r['nearest_own_class']:.2f}"
          + (f"; read as their own class by YAMNet {r['yamnet_own_class']:.2f}" if r["yamnet_own_class"] is not None else ""))
    for name, v in r["audio"].items():
        print(f"  audio example, {name}: {v:.2f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

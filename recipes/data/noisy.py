"""A noisy copy of a corpus' evaluation splits: every mixture laid over an ambience recording of the
same split (the real corpus' clips labelled "background": recordings never trained on, for the test
and validation splits) at a mixture-to-ambience ratio drawn from ``--snr`` dB. The ambience becomes
one more non-target source, so ``soundsift eval separation --data OUT`` scores the same prompts as on
the clean split, with a recording place's noise under them.

    python -m recipes.data.noisy --data data/real --out data/real-noisy [--splits val,test] [--snr 0 10]

Sources are written again beside the new mixture (rescaled with it when the sum would clip).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from recipes.data.augment import noise_under
from recipes.data.build import read_manifest
from soundsift.errors import SoundSiftError
from soundsift.outputs import written_folder


def ambience_clips(root: Path, split: str) -> list[Path]:
    """The real corpus' ambience recordings of one split (clips labelled "background")."""
    clips_file = root / "clips.jsonl"
    if not clips_file.exists():
        raise SoundSiftError(f"{root}: no clips.jsonl (a real corpus from 'soundsift data real' has one)")
    clips = [json.loads(line) for line in clips_file.read_text().splitlines() if line.strip()]
    found = [root / c["path"] for c in clips if c["label"] == "background" and c["split"] == split]
    if not found:
        raise SoundSiftError(f"{root}: no ambience clips in the {split} split")
    return found


def build(root: str | Path, out: str | Path, splits=("val", "test"), snr=(0.0, 10.0), seed: int = 0,
          force: bool = False, progress: bool = True) -> Path:
    root, out = Path(root), Path(out)
    if out.exists() and not force:
        raise SoundSiftError(f"{out} exists (--force replaces it)")
    rows = [r for split in splits for r in read_manifest(root, split)]
    if not rows:
        raise SoundSiftError(f"{root}: no {', '.join(splits)} rows")
    noises = {split: ambience_clips(root, split) for split in splits}
    rng = np.random.default_rng(seed)
    with written_folder(out, force) as stage:
        written = []
        for row in tqdm(rows, desc="noisy mixtures", disable=not progress):
            split = row["split"]
            mix, rate = sf.read(root / row["mixture"], dtype="float32")
            noise = sf.read(noises[split][int(rng.integers(len(noises[split])))], dtype="float32")[0]
            start = int(rng.integers(0, max(len(noise) - len(mix), 0) + 1))
            noise = np.resize(noise[start:], len(mix))  # loop a short ambience
            ratio = float(rng.uniform(*snr))
            noise = noise_under(mix, noise, ratio)
            scale = min(1.0, 0.99 / (np.abs(mix + noise).max() + 1e-8))
            folder = Path(split) / row["id"]
            (stage / folder).mkdir(parents=True)
            sources = []
            for s in row["sources"]:
                wave = sf.read(root / s["path"], dtype="float32")[0] * scale
                sf.write(stage / folder / Path(s["path"]).name, wave, rate)
                sources.append({**s, "path": str(folder / Path(s["path"]).name)})
            sf.write(stage / folder / "ambience.flac", noise * scale, rate)
            sources.append({"path": str(folder / "ambience.flac"), "label": "background", "target": False,
                            "captions": [], "activity": [], "gain_db": -ratio, "attributes": {"snr_db": ratio}})
            sf.write(stage / folder / "mixture.flac", (mix + noise) * scale, rate)
            # num_sources stays the clean row's, so per-count tables compare with the clean split's
            written.append({**row, "mixture": str(folder / "mixture.flac"), "sources": sources, "video": None})
        (stage / "manifest.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in written))
        (stage / "build.json").write_text(json.dumps({"preset": "noisy", "from": str(root), "splits": list(splits),
                                                      "snr_db": list(snr), "seed": seed}, indent=1))
    return out / "manifest.jsonl"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="a real corpus (soundsift data real)")
    ap.add_argument("--splits", default="val,test", help="comma-separated, e.g. val,test")
    ap.add_argument("--out", required=True)
    ap.add_argument("--snr", type=float, nargs=2, default=(0.0, 10.0), help="mixture over ambience, dB (low high)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--force", action="store_true", help="replace --out")
    args = ap.parse_args(argv)
    try:
        print(build(args.data, args.out, tuple(args.splits.split(",")), tuple(args.snr), args.seed, args.force))
    except SoundSiftError as e:
        raise SystemExit(f"error: {e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

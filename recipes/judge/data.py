"""The judge's corpus: separations whose references are known, across the whole range of quality.

For each mixture of a split, one present target (prompted by its caption) gets candidates of every
kind below, and one absent class (prompted by its caption; the right answer is silence) gets a few.
Each candidate is stored with its features (judge/features.py, against the caption the user asked
for) and its reference measures (soundsift.metrics.judge_references).

    python -m recipes.judge.data --data data/small --split train --limit 1000 --out runs/judge-data/small-train

Candidate kinds (present target): the shipped separator (``separator``), an unseen paraphrase
(``paraphrase``), an audio example of the class (``audio_prompt``), another present source's caption
(``wrong_prompt``), the mask raised to a power (``mask_power``), a softer presence gate (``gate_soft``),
partial masks a*target + b*rest (``partial``), the mixture passed through (``mixture``), silence
(``silence``), the reference itself (``reference``), and the reference or the separator's output
clipped, low-passed or with noise added (``degraded_reference``, ``degraded_separator``). Absent class:
the separator's output for it (``absent_separator``), for the missing class most like a present one
(``absent_confusable``), and a present source leaking in at some level (``absent_leak``).
Written a chunk of mixtures at a time (safetensors + JSON); a rerun skips finished chunks.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from recipes.data.build import read_manifest
from recipes.data.taxonomy import BY_LABEL
from recipes.separation.evaluate import absent_classes, class_similarity, targets_by_label
from separation.apply import Variant
from soundsift.errors import SoundSiftError
from soundsift.io import load_audio
from soundsift.metrics import judge_references, si_sdr

PRESENT_KINDS = ("separator", "paraphrase", "audio_prompt", "wrong_prompt", "mask_power", "gate_soft", "partial",
                 "mixture", "silence", "reference", "degraded_reference", "degraded_separator")
ABSENT_KINDS = ("absent_separator", "absent_confusable", "absent_leak")
KINDS = PRESENT_KINDS + ABSENT_KINDS
REFERENCES = ("overall", "recall", "precision", "faithfulness", "si_sdr", "level")
CHUNK = 25


def degrade(x: torch.Tensor, rate: int, rng) -> torch.Tensor:
    """Clipped, low-passed or noisy: artefacts no mask of the mixture could make."""
    from soundsift.filters import lowpass

    peak = float(x.abs().max()) + 1e-9
    how = rng.integers(3)
    if how == 0:
        return x.clamp(-peak * rng.uniform(0.05, 0.4), peak * rng.uniform(0.05, 0.4))
    if how == 1:
        return torch.from_numpy(lowpass(x.numpy(), rate, float(rng.uniform(600, 3000))))
    rms = float(x.pow(2).mean().sqrt()) + 1e-9
    return x + torch.randn(x.shape, generator=torch.Generator().manual_seed(int(rng.integers(1 << 30)))) \
        * rms * 10 ** (-rng.uniform(0, 20) / 20)


def _variant(separator, mix: torch.Tensor, query: torch.Tensor, power: float = 1.0, sharpness=None) -> torch.Tensor:
    return separator.separate_query(mix[None], query, Variant(0, power, sharpness))[0]


def candidates(separator, root: Path, row: dict, rng, by_label: dict, class_sim) -> list[tuple[str, dict]]:
    """[(prompt caption, {kind, target [T], reference [T]})...] for one mixture (16 kHz mono)."""
    mix, rate = load_audio(root / row["mixture"])
    mix = mix[0]
    present = [s for s in row["sources"] if s["target"]]
    chosen = present[int(rng.integers(len(present)))]
    ref = load_audio(root / chosen["path"])[0][0]
    caption = chosen["captions"][0]
    sep = lambda **prompt: separator.separate(mix[None], rate, **prompt).targets[0][0]  # noqa: E731
    query = separator.encoder.embed_query_text([caption])
    default = sep(text=caption)
    others = [s for s in present if s["label"] != chosen["label"]]
    examples = [o for rid, o in by_label[chosen["label"]] if rid != row["id"]]
    example = load_audio(root / examples[int(rng.integers(len(examples)))]["path"]) if examples else None
    out = {"separator": default,
           "paraphrase": sep(text=BY_LABEL[chosen["label"]].unseen[int(rng.integers(len(BY_LABEL[chosen["label"]].unseen)))]),
           "audio_prompt": sep(audio_query=example) if example else default,
           "wrong_prompt": sep(text=others[int(rng.integers(len(others)))]["captions"][0]) if others else mix * 0.5,
           "mask_power": _variant(separator, mix, query, float(rng.choice([0.5, 0.7, 1.5, 2.0, 3.0]))),
           "gate_soft": _variant(separator, mix, query, 1.0, float(rng.choice([0.5, 1.0]))),
           "partial": float(rng.uniform(0.1, 1.0)) * ref + float(rng.uniform(0.0, 0.7)) * (mix - ref),
           "mixture": mix.clone(), "silence": torch.zeros_like(mix), "reference": ref.clone(),
           "degraded_reference": degrade(ref, rate, rng), "degraded_separator": degrade(default, rate, rng)}
    groups = [(caption, {"kinds": list(out), "targets": torch.stack(list(out.values())), "reference": ref,
                         "separated": default})]
    label, near = absent_classes(present, class_sim, rng)
    absent_caption = BY_LABEL[label].captions[0]
    leak_src = load_audio(root / present[int(rng.integers(len(present)))]["path"])[0][0]
    level = 10 ** (rng.uniform(-35, 0) / 20) * float(mix.pow(2).sum().sqrt()) / (float(leak_src.pow(2).sum().sqrt()) + 1e-9)
    absent = {"absent_separator": sep(text=absent_caption),
              "absent_confusable": sep(text=BY_LABEL[near].captions[0]) if near else sep(text=absent_caption),
              "absent_leak": leak_src * level}
    groups.append((absent_caption, {"kinds": list(absent), "targets": torch.stack(list(absent.values())),
                                    "reference": torch.zeros_like(mix), "separated": absent["absent_separator"]}))
    return mix, rate, groups


def build(separator, root: str | Path, split: str, out: str | Path, limit: int | None = None, seed: int = 0,
          progress: bool = True) -> Path:
    """Write the candidates' features and references for ``split`` into ``out`` (resumable)."""
    from judge.features import ALL_FEATURES, judge_features

    root, out = Path(root), Path(out)
    rows = read_manifest(root, split)[:limit]
    if not rows:
        raise SoundSiftError(f"{root}: no rows in split {split!r}")
    out.mkdir(parents=True, exist_ok=True)
    by_label = targets_by_label(read_manifest(root, split))
    class_sim = class_similarity(separator.encoder)
    chunks = [rows[i: i + CHUNK] for i in range(0, len(rows), CHUNK)]
    with tqdm(total=len(rows), desc=f"judge corpus {split}", unit="mix", disable=not progress) as bar:
        for c, chunk in enumerate(chunks):
            path = out / f"chunk-{c:04d}.safetensors"
            if path.exists():
                bar.update(len(chunk))
                continue
            feats, refs, meta = [], [], []
            for row in chunk:
                rng = np.random.default_rng([seed, int(row["id"].split("-")[-1]), 31])
                mix, rate, groups = candidates(separator, root, row, rng, by_label, class_sim)
                mix_si_sdr = None
                for caption, g in groups:
                    query = separator.encoder.embed_query_text([caption])
                    feats.append(judge_features(separator.encoder, mix, g["targets"], query, caption, g["separated"]))
                    present = float(g["reference"].pow(2).sum()) > 0
                    if present:
                        mix_si_sdr = float(si_sdr(mix, g["reference"]))
                    for kind, target in zip(g["kinds"], g["targets"]):
                        r = judge_references(target, g["reference"], mix)
                        refs.append([r[k] if r[k] is not None else float("nan") for k in REFERENCES])
                        meta.append({"id": row["id"], "kind": kind, "prompt": caption, "n": row["num_sources"],
                                     "mix_si_sdr": mix_si_sdr if present else None})
                bar.update(1)
            tensors = {"features": torch.cat(feats).contiguous(), "references": torch.tensor(refs, dtype=torch.float32)}
            save_file(tensors, str(path), metadata={"meta": json.dumps(meta), "features": json.dumps(ALL_FEATURES)})
    return out


def load(folder: str | Path, features: list[str] | None = None) -> tuple[torch.Tensor, torch.Tensor, list[dict]]:
    """(features [N, F], references [N, len(REFERENCES)], meta per row) of a built judge corpus;
    ``features``: these columns, by name (a judge's ``config.features``), in this order."""
    from safetensors import safe_open

    from judge.features import FEATURES

    files = sorted(Path(folder).glob("chunk-*.safetensors"))
    if not files:
        raise SoundSiftError(f"{folder}: no judge corpus here (build it with python -m recipes.judge.data)")
    feats, refs, meta = [], [], []
    for f in files:
        tensors = load_file(str(f))
        with safe_open(str(f), "pt") as handle:
            meta += json.loads(handle.metadata()["meta"])
            names = json.loads(handle.metadata().get("features", "null")) or FEATURES  # older corpora: no names
        if features is not None:
            missing = [n for n in features if n not in names]
            if missing:
                raise SoundSiftError(f"{folder}: the corpus lacks features {missing}: rebuild it with recipes.judge.data")
            tensors["features"] = tensors["features"][:, [names.index(n) for n in features]]
        feats.append(tensors["features"])
        refs.append(tensors["references"])
    return torch.cat(feats), torch.cat(refs), meta


def main(argv=None) -> None:
    from separation import Separator

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="train")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", default=None, help="separator folder (default: the shipped one)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    print(build(Separator.from_pretrained(args.model), args.data, args.split, args.out, args.limit, args.seed))


if __name__ == "__main__":
    from recipes.common import run_tool

    raise SystemExit(run_tool(main))

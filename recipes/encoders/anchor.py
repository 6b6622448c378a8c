"""Choose the text-anchoring blend on a validation split and store it in the model's config, with
the training captions as anchors (``text_anchors``, ``anchor_weight``, ``anchor_temperature``).

    python -m recipes.encoders.anchor encoders/pretrained/peav-small --data data/small --split val

The objective is zero-shot accuracy with paraphrases the data engine never writes (the "unseen"
prompts of the taxonomy), averaged with the seen class prompts' accuracy so that anchoring may not
cost the plain prompts anything.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tqdm import tqdm

from encoders.configuration import PEAVConfig
from recipes.common import config_tool_args, run_tool, update_config
from recipes.data.build import read_manifest
from recipes.data.taxonomy import BY_LABEL, TARGET_LABELS
from soundsift.errors import SoundSiftError
from soundsift.io import load_audio

WEIGHTS = (0.0, 0.3, 0.5, 0.7)  # not 1: a prompt would then be nothing but a mix of training captions
TEMPERATURES = (0.02, 0.05, 0.1)


def training_captions() -> list[str]:
    return [c for label in TARGET_LABELS for c in BY_LABEL[label].captions]


def clip_embeddings(encoder, root: Path, split: str, limit: int | None, progress: bool):
    rows = read_manifest(root, split)[:limit]
    if not rows:
        raise SoundSiftError(f"{root}: no rows in split {split!r}")
    embs, labels = [], []
    for row in tqdm(rows, desc="embedding clips", disable=not progress):
        for s in row["sources"]:
            if s["target"]:
                wave, rate = load_audio(root / s["path"])
                embs.append(encoder.embed_audio(wave, rate)[0])
                labels.append(TARGET_LABELS.index(s["label"]))
    return torch.stack(embs), torch.tensor(labels)


def choose(encoder, root: str | Path, split: str = "val", limit: int | None = None,
           progress: bool = True) -> tuple[tuple[float, float], dict]:
    """((weight, temperature) with the best score, {(weight, temperature): (seen, unseen)})."""
    audio, labels = clip_embeddings(encoder, Path(root), split, limit, progress)
    cfg = encoder.backend.model.config
    cfg.text_anchors = training_captions()
    seen_prompts = [BY_LABEL[c].captions[0] for c in TARGET_LABELS]
    unseen_sets = [[BY_LABEL[c].unseen[j % len(BY_LABEL[c].unseen)] for c in TARGET_LABELS] for j in range(2)]

    def accuracy(prompts):
        return float(((audio @ encoder.embed_text(prompts).T).argmax(1) == labels).float().mean())

    scores = {}
    for weight in WEIGHTS:
        for temperature in TEMPERATURES if weight > 0 else TEMPERATURES[:1]:
            cfg.anchor_weight, cfg.anchor_temperature = weight, temperature
            scores[(weight, temperature)] = (accuracy(seen_prompts),
                                             sum(accuracy(p) for p in unseen_sets) / len(unseen_sets))
    best = max(scores, key=lambda k: (sum(scores[k]), -k[0]))
    return best, scores


def main(argv=None) -> None:
    from encoders import PEAVEncoder

    args = config_tool_args(__doc__.splitlines()[0], argv)
    (weight, temperature), scores = choose(PEAVEncoder.from_pretrained(args.model), args.data, args.split, args.limit)
    for (w, t), (seen, unseen) in scores.items():
        print(f"weight {w:.1f} temperature {t:.2f}: seen {seen:.3f} unseen {unseen:.3f}")
    path = update_config(PEAVConfig, args.model, args.out, args.force, text_anchors=training_captions(), anchor_weight=weight,
                         anchor_temperature=temperature)
    seen, unseen = scores[(weight, temperature)]
    print(f"anchor_weight = {weight}, anchor_temperature = {temperature} (seen {seen:.3f}, unseen {unseen:.3f} "
          f"on {args.split}) -> {path}")


if __name__ == "__main__":
    raise SystemExit(run_tool(main))

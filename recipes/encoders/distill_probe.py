"""Would YAMNet as a teacher give our audio tower embeddings that name recordings better? A measurement.

The shipped encoder's audio tower is fine-tuned to predict YAMNet's pooled embedding (standardised,
cosine loss through a new linear head) on random 3 s crops of the probe's training clips (the real pool's
and ``--synthetic``'s, as ``frontend_probe``), for ``--steps`` steps; then the same linear probe as
``frontend_probe`` is fitted on the tuned tower's embeddings (``embed_audio``, and the head's 1024-d output)
and read on each ``--eval`` split beside the untuned tower's. Nothing is saved but the figures: the
tower's other users (queries, sync, judge) are not retrained here, so this only says whether the teacher's
knowledge transfers at all. Needs the ``probe`` extra.

    python -m recipes.encoders.distill_probe --train-real data/real-more --train-synthetic data/small-multi \
        --eval data/real:val data/real:test data/alt-test:test data/small:test --steps 1500
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from recipes.data.taxonomy import TARGET_LABELS
from recipes.encoders.frontend_probe import YAMNet, mixture_sources, pool_clips, print_table, probe_table
from soundsift.io import load_audio
from soundsift.resample import resample

CROP = 3.0


def load_mono(path: Path, rate: int) -> torch.Tensor:
    wave, r = load_audio(path)
    return resample(wave.mean(0, keepdim=True), r, rate)[0]


def crop(wave: torch.Tensor, n: int, rng) -> torch.Tensor:
    if len(wave) <= n:
        return F.pad(wave, (0, n - len(wave)))
    start = int(rng.integers(0, len(wave) - n + 1))
    return wave[start: start + n]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train-real", type=Path, required=True)
    p.add_argument("--train-synthetic", type=Path)
    p.add_argument("--eval", nargs="+", required=True)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    from encoders import PEAVEncoder

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    encoder = PEAVEncoder.from_pretrained()
    model = encoder.backend.model
    rate = encoder.sample_rate
    yamnet = YAMNet()
    train = pool_clips(args.train_real, "train")
    if args.train_synthetic:
        train += mixture_sources(args.train_synthetic, "train", 1500)
    waves = [load_mono(path, rate) for path, *_ in tqdm(train, desc="loading training clips")]
    n = int(CROP * rate)
    # the teacher's embeddings are standardised on a first pass of crops, so the cosine sees their spread
    sample = np.stack([yamnet.embed(crop(waves[i], n, rng)[None], rate) for i in rng.choice(len(waves), 500)])
    mean, std = torch.tensor(sample.mean(0)), torch.tensor(sample.std(0) + 1e-3)

    tower = copy.deepcopy(model.audio).train()
    head = torch.nn.Linear(tower.encoder.config.hidden_size, 1024)
    opt = torch.optim.AdamW([*tower.parameters(), *head.parameters()], lr=args.lr, weight_decay=0.01)
    bar = tqdm(range(args.steps), desc="distilling YAMNet into the audio tower")
    for step in bar:
        idx = rng.integers(len(waves), size=args.batch)
        batch = torch.stack([crop(waves[i], n, rng) for i in idx])
        target = torch.stack([torch.tensor(yamnet.embed(w[None], rate)) for w in batch])
        target = (target - mean) / std
        _, pooled = tower(batch)
        loss = (1 - F.cosine_similarity(head(pooled), target, dim=-1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    tower.eval()

    @torch.no_grad()
    def fronts(wave: torch.Tensor, r: int) -> dict:
        mono = resample(wave.mean(0, keepdim=True), r, rate)
        _, before = model.audio(mono)
        _, after = tower(mono)
        return {"encoder": F.normalize(model.audio_head(before), dim=-1)[0].numpy(),
                "distilled": F.normalize(model.audio_head(after), dim=-1)[0].numpy(),
                "distilled-1024": head(after)[0].numpy()}

    def embed(items, desc: str) -> dict[str, np.ndarray]:
        rows = [fronts(*load_audio(path)) for path, *_ in tqdm(items, desc=desc)]
        return {k: np.stack([r[k] for r in rows]) for k in rows[0]}

    labels = np.array([TARGET_LABELS.index(c) for _, c, _ in train])
    x_train = embed(train, "training clips")
    evals = []
    for spec in args.eval:
        root, split = spec.rsplit(":", 1)
        items = mixture_sources(Path(root), split)
        evals.append((spec, embed(items, spec), np.array([TARGET_LABELS.index(c) for _, c, _ in items])))
    rows = probe_table(x_train, labels, evals, [0.01, 0.1, 1.0])
    print_table(rows, args.eval, f"\nlinear probe after {args.steps} distillation steps")


if __name__ == "__main__":
    main()

"""Could another front-end tell whether a prompted sound is there better than the separator's gate?

Absent prompts leak because the presence gate cannot tell present from absent well enough (ROC AUC
about 0.84 on real validation). For every (mixture, class) pair of a split, this scores presence
four ways and prints ROC AUC and the share of absent pairs that pass a bar letting 95 % of present
ones through:

- ``gate``: the shipped separator's presence probability for the class caption (one 8 s-or-shorter
  pass of the gate over the mixture, as ``separation.apply.presence_probs``);
- ``encoder``: a one-vs-rest logistic regression per class on the shipped encoder's audio embedding
  of the mixture, fitted on ``--train`` mixtures;
- ``yamnet``: the same on YAMNet's pooled embedding (``recipes.encoders.frontend_probe.YAMNet``; needs
  the ``probe`` extra);
- ``frames``: the encoder's frame-level (PE-A-Frame) scores for the class caption over the mixture, the
  mean of its 25 highest 40 ms frames (a second text-conditioned listener; nothing to fit);
- ``gate+X``: the gate's logit and probe X's logit joined by a logistic regression fitted on the first
  ``--eval`` split (so it is read fairly only on the others).

    python -m recipes.separation.presence_probe --train data/real-mix-more --eval data/real:val data/real:test
    python -m recipes.separation.presence_probe --no-probes --eval data/real:val data/real:test  # gate, frames
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from recipes.data.build import read_manifest
from recipes.data.taxonomy import BY_LABEL, TARGET_LABELS
from soundsift.io import load_audio
from soundsift.resample import resample

KEEP_PRESENT = 0.95  # the bar lets this share of present pairs through
TOP_FRAMES = 25  # 1 s of 40 ms frames: a sound shorter than that still counts whole


def mixtures(root: Path, split: str, limit: int | None = None) -> list[tuple[Path, set[str]]]:
    """(mixture path, the target classes in it) for a split."""
    return [(root / row["mixture"], {s["label"] for s in row["sources"] if s["target"]})
            for row in read_manifest(root, split)][:limit]


def presence_table(items, labels: list[str]) -> np.ndarray:
    """[mixtures, classes] bool: the class is in the mixture."""
    return np.array([[label in present for label in labels] for _, present in items])


def leak_at_bar(scores: np.ndarray, present: np.ndarray) -> float:
    """Share of absent pairs scoring above the bar that lets ``KEEP_PRESENT`` of present pairs through."""
    bar = np.quantile(scores[present], 1 - KEEP_PRESENT)
    return float(np.mean(scores[~present] > bar))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", type=Path, default=None, help="mixtures the probes are fitted on (train split)")
    p.add_argument("--train-limit", type=int, default=4000)
    p.add_argument("--eval", nargs="+", required=True, help="DIR:SPLIT; the first also fits the gate+X joins")
    p.add_argument("--model", default=None, help="separator folder (default: the shipped one)")
    p.add_argument("--no-yamnet", action="store_true", help="leave YAMNet out (no probe extra installed)")
    p.add_argument("--no-probes", action="store_true", help="no fitted probes: the gate and the frame scores only")
    args = p.parse_args(argv)
    if not args.no_probes and args.train is None:
        p.error("--train is needed for the probes (or --no-probes)")
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    from recipes.encoders.frontend_probe import YAMNet
    from separation import Separator
    from separation.apply import presence_probs

    sep = Separator.from_pretrained(args.model)
    labels = list(TARGET_LABELS)
    texts = [BY_LABEL[c].captions[0] for c in labels]
    captions = sep.encoder.embed_query_text(texts)
    fronts = {} if args.no_probes else {"encoder": lambda w, r: sep.encoder.embed_audio(w, r)[0].numpy()}
    if not args.no_yamnet and not args.no_probes:
        fronts["yamnet"] = YAMNet().embed

    def embed(items, desc: str, gate: bool) -> dict[str, np.ndarray]:
        out = {name: [] for name in [*fronts, *(["gate", "frames"] if gate else [])]}
        for path, _ in tqdm(items, desc=desc):
            wave, rate = load_audio(path)
            for name, f in fronts.items():
                out[name].append(f(wave, rate))
            if gate:
                mono = resample(wave.mean(0, keepdim=True), rate, sep.sample_rate)
                prob = presence_probs(sep.net, mono, captions).clamp(1e-6, 1 - 1e-6)
                out["gate"].append(torch.logit(prob).numpy())
                frames = sep.encoder.frame_scores(wave, rate, texts).numpy()
                top = np.sort(frames, axis=1)[:, -TOP_FRAMES:].mean(1).clip(1e-6, 1 - 1e-6)
                out["frames"].append(np.log(top / (1 - top)))
        return {k: np.stack(v) for k, v in out.items()}

    probes = {}
    if fronts:
        train = mixtures(args.train, "train", args.train_limit)
        y_train = presence_table(train, labels)
        x_train = embed(train, "training mixtures", gate=False)
    for name in fronts:
        scaler = StandardScaler().fit(x_train[name])
        x = scaler.transform(x_train[name])
        # one logistic regression per class seen both present and absent in training
        probes[name] = (scaler, {c: LogisticRegression(C=0.1, max_iter=2000).fit(x, y_train[:, c])
                                 for c in range(len(labels)) if 0 < y_train[:, c].sum() < len(y_train)})
    joins, rows = {}, []
    for k, spec in enumerate(args.eval):
        root, split = spec.rsplit(":", 1)
        items = mixtures(Path(root), split)
        present = presence_table(items, labels)
        feats = embed(items, spec, gate=True)
        scores = {"gate": feats["gate"], "frames": feats["frames"]}
        for name, (scaler, per_class) in probes.items():
            x = scaler.transform(feats[name])
            s = np.full(present.shape, -20.0)
            for c, model in per_class.items():
                s[:, c] = model.decision_function(x)
            scores[name] = s
        for name in [*fronts, "frames"]:
            pair = np.stack([scores["gate"].ravel(), scores[name].ravel()], axis=1)
            if k == 0:
                joins[name] = LogisticRegression().fit(pair, present.ravel())
            scores[f"gate+{name}"] = joins[name].decision_function(pair).reshape(present.shape)
        for name, s in scores.items():
            rows.append((spec, name, roc_auc_score(present.ravel(), s.ravel()), leak_at_bar(s, present),
                         int(present.sum()), int((~present).sum())))
    print(f"\npresence of each class caption in each mixture: ROC AUC, present vs absent; absent pairs above "
          f"the bar that keeps {KEEP_PRESENT:.0%} of present ones (gate+X fitted on {args.eval[0]})")
    print("| set | scorer | ROC AUC | absent above the bar | present / absent pairs |")
    print("| --- | --- | --- | --- | --- |")
    for spec, name, auc, leak, n_present, n_absent in rows:
        print(f"| {spec} | {name} | {auc:.3f} | {leak:.0%} | {n_present} / {n_absent} |")


if __name__ == "__main__":
    main()

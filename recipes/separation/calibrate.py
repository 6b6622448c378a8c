"""Pick the separator's presence-gate sharpness on a validation split and store it in the model's
config (``presence_sharpness``), so every prompt uses it.

    python -m recipes.separation.calibrate runs/separator-stage6 --data data/small --split val

The gate scales the mask by sigmoid(k x presence logit). Training uses k = 1; a larger k keeps the
0.5 point (where the CLI says a sound was not found) and pushes absent prompts quieter and present
ones louder. SI-SDR does not see a gain, so the choice rests on output levels: for every mixture, one
random absent class and the confusable one (evaluate.absent_classes), and the gate on every present
target. Clips shorter than one inference segment with one prompt make the level at any k exact from
the level at k = 1: it moves by 20 log10(gate_k / gate_1).
Rule: the smallest k whose share of absent prompts above -25 dB is within one point of the best.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from recipes.common import config_tool_args, run_tool, update_config
from recipes.data.build import read_manifest
from recipes.data.taxonomy import BY_LABEL
from recipes.separation.evaluate import absent_classes, class_similarity
from separation.configuration import SeparatorConfig
from soundsift.errors import SoundSiftError
from soundsift.io import load_audio
from soundsift.metrics import level_db

SHARPNESS = (1.0, 1.5, 2.0, 3.0, 4.0)
ABSENT_DB = -25.0


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def gate_levels(separator, root: str | Path, split: str = "val", limit: int | None = None,
                progress: bool = True, sharpness: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(presence of every present target [N], absent prompts' (presence, level dB) [M, 2]), measured
    at gate sharpness ``sharpness`` (1 for calibration; presence is always the k = 1 probability)."""
    root = Path(root)
    rows = read_manifest(root, split)[:limit]
    if not rows:
        raise SoundSiftError(f"{root}: no rows in split {split!r}")
    separator.net.config.presence_sharpness = sharpness
    class_sim = class_similarity(separator.encoder)
    rng = np.random.default_rng(0)
    present_p, absent = [], []
    for row in tqdm(rows, desc="calibrating presence gate", disable=not progress):
        mix, rate = load_audio(root / row["mixture"])
        present = [s for s in row["sources"] if s["target"]]
        res = separator.separate(mix, rate, text=[s["captions"][0] for s in present])
        present_p += res.presence
        for label in absent_classes(present, class_sim, rng):
            if label is not None:
                out = separator.separate(mix, rate, text=BY_LABEL[label].captions[0])
                absent.append((out.presence[0], level_db(out.targets[0]) - level_db(mix)))
    return np.array(present_p), np.array(absent)


def sharpened(absent: np.ndarray, k: float) -> np.ndarray:
    """Absent prompts' levels (dB) at sharpness k, from their (presence, level dB) at k = 1."""
    p, level = absent.T
    return level + 20 * np.log10(_sigmoid(k * _logit(p)) / np.clip(p, 1e-6, None))


def table(present_p: np.ndarray, absent: np.ndarray) -> dict[float, dict]:
    """Per sharpness: absent prompts' median level and share above -25 dB, present targets' 5th
    percentile gate (dB)."""
    out = {}
    for k in SHARPNESS:
        moved = sharpened(absent, k)
        out[k] = {"absent_median_db": float(np.median(moved)), "absent_above": float(np.mean(moved > ABSENT_DB)),
                  "present_gate_p5_db": float(20 * np.log10(np.quantile(_sigmoid(k * _logit(present_p)), 0.05)))}
    return out


def presence_auc(present_p: np.ndarray, absent: np.ndarray) -> float:
    """Chance that a present target gets a higher presence than an absent prompt (ROC AUC): how well
    the gate tells them apart, whatever its threshold or sharpness."""
    from sklearn.metrics import roc_auc_score

    labels = np.r_[np.ones(len(present_p)), np.zeros(len(absent))]
    return float(roc_auc_score(labels, np.r_[present_p, absent[:, 0]]))


def choose(rows: dict[float, dict]) -> float:
    best = min(r["absent_above"] for r in rows.values())
    return min(k for k, r in rows.items() if r["absent_above"] <= best + 0.01)


def main(argv=None) -> None:
    from separation import Separator

    args = config_tool_args(__doc__.splitlines()[0], argv)
    present_p, absent = gate_levels(Separator.from_pretrained(args.model), args.data, args.split, args.limit)
    rows = table(present_p, absent)
    print(f"presence ROC AUC (present targets vs absent prompts): {presence_auc(present_p, absent):.3f}; "
          f"at presence 0.5: {100 * np.mean(present_p < 0.5):.1f} % of present targets below, "
          f"{100 * np.mean(absent[:, 0] >= 0.5):.1f} % of absent prompts above")
    for k, r in rows.items():
        print(f"k={k}: absent median {r['absent_median_db']:.1f} dB, {100 * r['absent_above']:.1f} % above "
              f"{ABSENT_DB:.0f} dB; present gate 5th percentile {r['present_gate_p5_db']:.1f} dB")
    k = choose(rows)
    print(f"presence_sharpness = {k} -> {update_config(SeparatorConfig, args.model, args.out, args.force, presence_sharpness=k)}")


if __name__ == "__main__":
    raise SystemExit(run_tool(main))

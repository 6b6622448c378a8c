"""Could the judge's features tell an absent prompt from a present one better than the separator's
own presence gate? Probe on the judge corpora (recipes/judge/data.py): the separator's plain output
for a present target (kind ``separator``, label 1) against its output for a random absent class
(``absent_separator``, label 0). A logistic regression on the 39 features is fitted on the training corpora; the
silencing bar is the highest that silences at most ``--budget`` of present separations on validation
(the real-only corpus: it guides every choice); each test corpus then prints how often absent outputs
stay above -25 dB and their p90, before and after, and what the bar costs the present targets
(share silenced, SI-SDRi median counting a silenced target as a failure).

    python -m recipes.judge.presence --train runs/judge-data/small-train runs/judge-data/real-train \
        --val runs/judge-data/real-val --test runs/judge-data/small-test runs/judge-data/alt-test-test \
        runs/judge-data/real-test
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from judge.features import FEATURES
from recipes.judge.data import REFERENCES, load

# Only "absent_separator" is the output for the caption its features were taken against (the corpus
# scores "absent_confusable", made by another class's caption, against the absent caption too).
ABSENT = "absent_separator"
SILENCED = -120.0  # dB re the mixture: what a silenced output counts as
FAILED = -60.0  # dB SI-SDRi counted for a silenced present target


def plain_outputs(folder: str) -> dict:
    """Features, present label, output level (dB re mixture) and SI-SDRi of the plain outputs."""
    feats, refs, meta = load(folder, FEATURES)
    keep = [i for i, m in enumerate(meta) if m["kind"] in ("separator", ABSENT)]
    level, si_sdr = refs[:, REFERENCES.index("level")].numpy(), refs[:, REFERENCES.index("si_sdr")].numpy()
    return {"x": feats[keep].numpy().astype(np.float64),
            "present": np.array([meta[i]["kind"] == "separator" for i in keep]),
            "level": level[keep],
            "si_sdri": np.array([si_sdr[i] - meta[i]["mix_si_sdr"] if meta[i]["mix_si_sdr"] is not None
                                 else np.nan for i in keep])}


def _concat(parts: list[dict]) -> dict:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def report(name: str, d: dict, p_present: np.ndarray, bar: float) -> str:
    shut, pres = p_present < bar, d["present"]
    before, after = d["level"][~pres], np.where(shut[~pres], SILENCED, d["level"][~pres])
    si, si_gated = d["si_sdri"][pres], np.where(shut[pres], FAILED, d["si_sdri"][pres])
    auc = roc_auc_score(d["present"], p_present)
    level_auc = roc_auc_score(d["present"], d["level"])
    return (f"{name}: ROC AUC present vs absent {auc:.3f} (output level alone {level_auc:.3f}); present silenced "
            f"{shut[pres].mean():.1%}, SI-SDRi median {np.median(si):.2f} -> {np.median(si_gated):.2f} dB; "
            f"{ABSENT}: above -25 dB {np.mean(before > -25):.0%} -> {np.mean(after > -25):.0%}, "
            f"p90 {np.percentile(before, 90):.1f} -> {np.percentile(after, 90):.1f} dB")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", nargs="+", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--test", nargs="+", default=[])
    ap.add_argument("--budget", type=float, nargs="+", default=[0.02, 0.05, 0.1],
                    help="share of present validation separations a bar may silence")
    args = ap.parse_args(argv)
    train = _concat([plain_outputs(f) for f in args.train])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    model.fit(train["x"], train["present"])
    val = plain_outputs(args.val)
    p_val = model.predict_proba(val["x"])[:, 1]
    tests = [(f, plain_outputs(f)) for f in args.test]
    for budget in args.budget:
        bar = float(np.quantile(p_val[val["present"]], budget))
        print(f"\n## bar {bar:.3f} (silences {budget:.0%} of present separations on {args.val})")
        for name, d in [(args.val, val), *tests]:
            print(report(name, d, model.predict_proba(d["x"])[:, 1], bar))


if __name__ == "__main__":
    from recipes.common import run_tool

    raise SystemExit(run_tool(main))

"""``soundsift eval judge``: how well the judge's scores follow the reference measures they stand
for, against an embedding-cosine baseline, and what best-of-k reranking gains.

On a split's judge corpus (recipes/judge/data.py: every candidate kind, built if missing):
- Spearman and Pearson of each score with its reference measure, and of overall with true SI-SDR
  (targets that are present), overall and per candidate kind and number of sources; the same for
  the baseline, the cosine between the prompt's and the target's embeddings (one number for all four);
- the failure flag (overall below the judge's threshold) against "SI-SDRi < 0": precision and recall.
Best-of-k on every present target of the split's first ``rerank_limit`` mixtures: median SI-SDRi of
the default output, of the judge's pick among the first k candidates and of the best of them
(oracle), for k = 2, 4, 8, and the time best-of-8 takes against one separation. Scoring speed: a 10 s
clip after loading.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from torchmetrics.functional import pearson_corrcoef, spearman_corrcoef
from tqdm import tqdm

from judge.configuration import SCORES
from recipes import common
from recipes.data.build import read_manifest
from recipes.judge.data import KINDS, build, load
from soundsift.errors import SoundSiftError
from soundsift.io import load_audio
from soundsift.metrics import si_sdr

KS = (2, 4, 8)


def _corr(a: torch.Tensor, b: torch.Tensor) -> dict:
    keep = torch.isfinite(a) & torch.isfinite(b)
    if keep.sum() < 5 or float(a[keep].std()) == 0 or float(b[keep].std()) == 0:
        return {"spearman": float("nan"), "pearson": float("nan"), "count": int(keep.sum())}
    return {"spearman": float(spearman_corrcoef(a[keep], b[keep])),
            "pearson": float(pearson_corrcoef(a[keep], b[keep])), "count": int(keep.sum())}


def correlations(pred: torch.Tensor, refs: torch.Tensor, meta: list[dict], baseline: torch.Tensor) -> dict:
    """Per score, Spearman/Pearson with its reference; ``overall_si_sdr``: overall vs true SI-SDR."""
    out = {}
    for i, name in enumerate(SCORES):
        out[name] = _corr(pred[:, i], refs[:, i])
        out[f"baseline_{name}"] = _corr(baseline, refs[:, i])
    out["overall_si_sdr"] = _corr(pred[:, 0], refs[:, 4])
    out["baseline_overall_si_sdr"] = _corr(baseline, refs[:, 4])
    return out


def flag_quality(overall: torch.Tensor, si_sdri: torch.Tensor, threshold: float) -> dict:
    flagged, failed = overall < threshold, si_sdri < 0
    tp = int((flagged & failed).sum())
    return {"threshold": threshold, "flagged": int(flagged.sum()), "failed": int(failed.sum()),
            "precision": tp / max(int(flagged.sum()), 1), "recall": tp / max(int(failed.sum()), 1)}


def corpus_report(judge, corpus: str | Path) -> dict:
    names = judge.net.config.features
    features, refs, meta = load(corpus, names)
    pred = judge.net.scores(features).detach()
    baseline = features[:, names.index("cos_q_target")]
    result = {"candidates": len(meta), "all": correlations(pred, refs, meta, baseline), "by_kind": {}, "by_sources": {}}
    for kind in KINDS:
        idx = [i for i, m in enumerate(meta) if m["kind"] == kind]
        if idx:
            sel = torch.tensor(idx)
            result["by_kind"][kind] = {"count": len(idx), "overall_si_sdr": _corr(pred[sel, 0], refs[sel, 4]),
                                       "mean_overall": float(pred[sel, 0].mean()), "mean_reference": float(refs[sel, 0].mean())}
    for n in sorted({m["n"] for m in meta}):
        sel = torch.tensor([i for i, m in enumerate(meta) if m["n"] == n])
        result["by_sources"][str(n)] = correlations(pred[sel], refs[sel], [meta[i] for i in sel.tolist()], baseline[sel])
    present = torch.tensor([m["mix_si_sdr"] is not None for m in meta])
    si_sdri = refs[present, 4] - torch.tensor([m["mix_si_sdr"] for m in meta if m["mix_si_sdr"] is not None])
    result["failure_flag"] = flag_quality(pred[present, 0], si_sdri, judge.net.config.failed_threshold)
    return result


def rerank_arrays(separator, judge, root: Path, split: str, limit: int | None, progress: bool):
    """Best-of-8 on every present target (text prompt: its caption) of the first ``limit`` mixtures:
    (true SI-SDRi [N, 8] and judge overall [N, 8] of the candidates, seconds of one separation and of
    making and scoring the candidates, summed)."""
    from separation.prompts import build_prompts

    rows = read_manifest(root, split)[:limit]
    truth, overall = [], []
    single = best_of = 0.0
    for row in tqdm(rows, desc="best-of-k", disable=not progress):
        mix, rate = load_audio(root / row["mixture"])
        for s in [s for s in row["sources"] if s["target"]]:
            target = load_audio(root / s["path"])[0][0]
            base = float(si_sdr(mix[0], target))
            prompt = build_prompts(text=s["captions"][0])[0]
            query = separator.encoder.embed_query_text([prompt.value])
            began = time.perf_counter()
            separator.separate(mix, rate, text=prompt.value)
            single += time.perf_counter() - began
            began = time.perf_counter()
            _, _, _, outputs = separator.candidates(mix, prompt, query, max(KS))
            scores = judge.score_many(mix, rate, outputs, query=query, text=prompt.value, separated=outputs[0])
            best_of += time.perf_counter() - began  # (the chosen output is recomputed once more in separate())
            truth.append([float(si_sdr(o[0], target)) - base for o in outputs])
            overall.append([sc.overall for sc in scores])
    return np.array(truth), np.array(overall), single, best_of


def picks(truth: np.ndarray, overall: np.ndarray, k: int, margin: float) -> np.ndarray:
    """SI-SDRi of the judge's pick among the first k candidates (an alternative only if it scores
    ``margin`` above the first)."""
    best = overall[:, :k].argmax(1)
    keep = overall[np.arange(len(best)), best] - overall[:, 0] > margin
    return truth[np.arange(len(best)), np.where(keep, best, 0)]


def rerank_report(separator, judge, root: Path, split: str, limit: int | None, progress: bool) -> dict:
    truth, overall, single, best_of = rerank_arrays(separator, judge, root, split, limit, progress)
    margin = judge.net.config.rerank_margin
    gains = {"default": truth[:, 0]}
    for k in KS:
        gains[f"judge@{k}"] = picks(truth, overall, k, margin)
        gains[f"judge_no_margin@{k}"] = picks(truth, overall, k, -1.0)
        gains[f"oracle@{k}"] = truth[:, :k].max(1)
    out = {k: float(np.median(v)) for k, v in gains.items()}
    out.update({f"mean_{k}": float(np.mean(v)) for k, v in gains.items()})
    out.update({"targets": len(truth), "cost_best_of_8_vs_one": (best_of + single) / max(single, 1e-9)})
    return out


def scoring_speed(judge, seconds: float = 10.0, repeats: int = 5) -> float:
    """Median seconds to score one 10 s separation after loading."""
    rng = np.random.default_rng(0)
    mix = torch.from_numpy(rng.standard_normal(int(seconds * 16000)).astype(np.float32)) * 0.1
    target = 0.5 * mix
    judge.score(mix[None], 16000, target[None], text="a violin")  # warm-up
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        judge.score(mix[None], 16000, target[None], text="a violin")
        times.append(time.perf_counter() - began)
    return float(np.median(times))


def evaluate(judge, separator, root: str | Path, split: str = "test", corpus: str | Path | None = None,
             limit: int | None = None, rerank_limit: int | None = 100, progress: bool = True) -> dict:
    root = Path(root)
    if not read_manifest(root, split):
        raise SoundSiftError(f"{root}: no rows in split {split!r}")
    corpus = Path(corpus) if corpus else Path("runs") / "judge-data" / f"{root.resolve().name}-{split}"
    build(separator, root, split, corpus, limit=limit, progress=progress)
    result = {"split": split, "corpus": str(corpus), **corpus_report(judge, corpus)}
    if rerank_limit != 0:
        result["best_of_k"] = rerank_report(separator, judge, root, split, rerank_limit, progress)
    result["seconds_per_10s_clip"] = scoring_speed(judge)
    return result


def to_markdown(result: dict, title: str) -> str:
    a = result["all"]
    fmt = lambda c: f"{c['spearman']:.2f} / {c['pearson']:.2f}"  # noqa: E731
    lines = [f"### {title}", "", f"{result['candidates']} candidate separations of every kind.", "",
             "| score | reference measure | judge: Spearman / Pearson | cosine baseline |", "| --- | --- | --- | --- |"]
    for name in SCORES:
        lines.append(f"| {name} | its reference | {fmt(a[name])} | {fmt(a[f'baseline_{name}'])} |")
    lines.append(f"| overall | true SI-SDR (present targets) | {fmt(a['overall_si_sdr'])} | "
                 f"{fmt(a['baseline_overall_si_sdr'])} |")
    lines += ["", "| sources | overall vs SI-SDR (Spearman) | baseline |", "| --- | --- | --- |"]
    for n, c in result["by_sources"].items():
        lines.append(f"| {n} | {c['overall_si_sdr']['spearman']:.2f} | {c['baseline_overall_si_sdr']['spearman']:.2f} |")
    lines += ["", "| candidate kind | count | overall vs SI-SDR | mean overall | mean reference |", "| --- | --- | --- | --- | --- |"]
    for kind, c in result["by_kind"].items():
        lines.append(f"| {kind} | {c['count']} | {c['overall_si_sdr']['spearman']:.2f} | {c['mean_overall']:.2f} | "
                     f"{c['mean_reference']:.2f} |")
    f = result["failure_flag"]
    lines += ["", f"Failure flag (overall < {f['threshold']:.2f}) against SI-SDRi < 0: precision {f['precision']:.2f}, "
                  f"recall {f['recall']:.2f} ({f['flagged']} flagged, {f['failed']} failed)."]
    if "best_of_k" in result:
        b = result["best_of_k"]
        lines += ["", f"Best-of-k on {b['targets']} targets, median SI-SDRi (dB): default {b['default']:.2f} "
                  f"(mean {b['mean_default']:.2f}); "
                  + "; ".join(f"k={k}: judge {b[f'judge@{k}']:.2f} (mean {b[f'mean_judge@{k}']:.2f}; without the margin "
                              f"{b[f'judge_no_margin@{k}']:.2f}), oracle {b[f'oracle@{k}']:.2f}" for k in KS)
                  + f". Best-of-8 costs {b['cost_best_of_8_vs_one']:.1f}x one separation."]
    lines.append(f"Scoring a 10 s clip: {result['seconds_per_10s_clip']:.3f} s.")
    return "\n".join(lines) + "\n"


def write_report(result: dict, out: str | Path, title: str) -> tuple[Path, Path]:
    return common.write_report(result, to_markdown(result, title), out, "judge")

"""``soundsift eval separation``: SI-SDR(i) and BSSEval v4 against the mixture and oracle-mask bounds.

For every target source of every mixture in the split:
- text prompt: the source's first caption (a plain class paraphrase); ``paraphrase``: a class
  paraphrase the data engine never writes (taxonomy ``unseen``);
- audio prompt (``--audio-queries``): another clip of the same class from another mixture;
- click prompt (mixtures with a scene video): a click at the centre of the object's box halfway
  through the clip;
- bounds on the same mixture: the mixture itself (0 dB improvement by definition) and the oracle
  ideal ratio mask on the separator's own STFT (the ceiling for a mask model);
- museval BSSEval v4 SDR/SIR/SAR of (target, residual), median over 1 s frames, then over tracks;
- absent prompts: one class not in the mixture; the output level relative to the mixture (dB);
  and a confusable one: the missing class whose description is nearest (in the encoder's text
  space) to a present class's, e.g. "a man speaking" over a woman's voice.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from recipes import common
from recipes.data.build import read_manifest
from recipes.data.taxonomy import BY_LABEL, TARGET_LABELS
from soundsift.errors import SoundSiftError
from soundsift.io import load_audio, load_video
from soundsift.metrics import bss_eval, level_db, oracle_irm, si_sdr, snr


def class_similarity(encoder) -> np.ndarray:
    """[class, class] cosine between the classes' first captions in the encoder's text space."""
    class_text = encoder.embed_query_text([BY_LABEL[c].captions[0] for c in TARGET_LABELS])
    return (class_text @ class_text.T).numpy()


def targets_by_label(rows: list[dict]) -> dict[str, list[tuple[str, dict]]]:
    """Each class's target sources in ``rows``, as (mixture id, source): where audio examples are drawn."""
    by_label = defaultdict(list)
    for row in rows:
        for s in row["sources"]:
            if s["target"]:
                by_label[s["label"]].append((row["id"], s))
    return by_label


def absent_classes(present: list[dict], class_sim: np.ndarray, rng) -> tuple[str, str | None]:
    """(a random class missing from the mixture, the missing class nearest a present one or None)."""
    missing = [c for c in TARGET_LABELS if c not in {s["label"] for s in present}]
    label = missing[int(rng.integers(len(missing)))]
    p_idx = [TARGET_LABELS.index(s["label"]) for s in present if s["label"] in TARGET_LABELS]
    if not p_idx:
        return label, None
    return label, max(missing, key=lambda c: float(class_sim[TARGET_LABELS.index(c), p_idx].max()))


def evaluate(separator, root: str | Path, split: str = "test", limit: int | None = None,
             audio_queries: bool = True, museval_metrics: bool = True, progress: bool = True, clicks: bool = True,
             figure: str | Path | None = None) -> dict:
    root = Path(root)
    rows = read_manifest(root, split)[:limit]
    if not rows:
        raise SoundSiftError(f"{root}: no rows in split {split!r}")
    by_label = targets_by_label(rows)
    rng = np.random.default_rng(0)
    records, absent, similar, silent, shown = [], [], [], [], []
    class_sim = class_similarity(separator.encoder)
    for row in tqdm(rows, desc="evaluating separation", disable=not progress):
        mix, rate = load_audio(root / row["mixture"])
        present = [s for s in row["sources"] if s["target"]]
        res = separator.separate(mix, rate, text=[s["captions"][0] for s in present])
        para = separator.separate(mix, rate, text=[BY_LABEL[s["label"]].unseen[0] for s in present])
        video = load_video(root / row["video"]) if clicks and row.get("video") else None
        for s, est, est_p in zip(present, res.targets, para.targets):
            target, _ = load_audio(root / s["path"])
            oracle = oracle_irm(mix[0], target[0], separator.net.config.n_fft, separator.net.config.hop)
            rec = {"id": row["id"], "label": s["label"], "n": row["num_sources"],
                   "mix": float(si_sdr(mix[0], target[0])), "text": float(si_sdr(est[0], target[0])),
                   # level-aware beside SI-SDR: plain SNR, and the output's level against the true target's
                   "snr_mix": float(snr(mix[0], target[0])), "snr_text": float(snr(est[0], target[0])),
                   "level_text": level_db(est[0]) - level_db(target[0]),
                   "paraphrase": float(si_sdr(est_p[0], target[0])),
                   "oracle": float(si_sdr(oracle, target[0]))}
            if audio_queries:
                others = [o for rid, o in by_label[s["label"]] if rid != row["id"]]
                if others:
                    q, q_rate = load_audio(root / others[int(rng.integers(len(others)))]["path"])
                    est_a = separator.separate(mix, rate, audio_query=(q, q_rate)).targets[0]
                    rec["audio"] = float(si_sdr(est_a[0], target[0]))
            if video is not None and s["boxes"] is not None:
                # a click at the centre of the object's box, halfway through the clip
                f = min(video.frames.shape[0], len(s["boxes"])) // 2
                x0, y0, x1, y1 = s["boxes"][f]
                click = (f / video.fps, (x0 + x1) / 2, (y0 + y1) / 2)
                est_c = separator.separate(mix, rate, video=(video.frames, video.fps), click=click).targets[0]
                rec["click"] = float(si_sdr(est_c[0], target[0]))
                # the same click with the object's sound taken out: a silent object, whose answer is silence
                rest = mix - target
                out = separator.separate(rest, rate, video=(video.frames, video.fps), click=click).targets[0]
                silent.append(level_db(out) - level_db(rest))
            if museval_metrics:
                rec.update({f"bss_{k}": v for k, v in
                            bss_eval(target[0].numpy(), est[0].numpy(), mix[0].numpy(), rate).items()})
                rec.update({f"oracle_bss_{k}": v for k, v in
                            bss_eval(target[0].numpy(), oracle.numpy(), mix[0].numpy(), rate).items()})
            records.append(rec)
            if len(shown) < 3:
                shown.append((row["id"], s["label"], mix[0], target[0], est[0], oracle))
        label, near = absent_classes(present, class_sim, rng)
        out = separator.separate(mix, rate, text=BY_LABEL[label].captions[0]).targets[0]
        absent.append(level_db(out) - level_db(mix))
        if near is not None:
            out = separator.separate(mix, rate, text=BY_LABEL[near].captions[0]).targets[0]
            similar.append(level_db(out) - level_db(mix))
    result = summarize(records, absent, similar, silent)
    result.update({"split": split, "mixtures": len(rows)})
    if figure is not None and shown:
        spectrogram_figure(shown, figure, separator.net)
    return result


def _median(records, key):
    vals = [r[key] for r in records if key in r and np.isfinite(r[key])]
    return float(np.median(vals)) if vals else float("nan")


def _block(records) -> dict:
    out = {"count": len(records)}
    for key in ("text", "paraphrase", "audio", "click", "oracle", "mix"):
        out[f"si_sdr_{key}"] = _median(records, key)
    out["click_count"] = sum("click" in r for r in records)
    for key in ("text", "paraphrase", "audio", "click", "oracle"):
        gains = [dict(r, g=r[key] - r["mix"]) for r in records if key in r]
        out[f"si_sdri_{key}"] = _median(gains, "g")
    out["snri_text"] = _median([dict(r, g=r["snr_text"] - r["snr_mix"]) for r in records if "snr_text" in r], "g")
    out["level_text"] = _median(records, "level_text")
    for key in ("bss_sdr", "bss_sir", "bss_sar", "oracle_bss_sdr"):
        out[key] = _median(records, key)
    return out


def _levels(levels: list[float], name: str) -> dict:
    return {f"{name}_db_median": float(np.median(levels)) if levels else float("nan"),
            f"{name}_db_p90": float(np.percentile(levels, 90)) if levels else float("nan"),
            f"{name}_share_above_-25db": float(np.mean(np.array(levels) > -25)) if levels else float("nan")}


def summarize(records: list[dict], absent: list[float], similar: list[float] | None = None,
              silent: list[float] | None = None) -> dict:
    result = {"overall": _block(records),
              "by_sources": {str(n): _block([r for r in records if r["n"] == n]) for n in sorted({r["n"] for r in records})},
              "by_class": {c: _block([r for r in records if r["label"] == c]) for c in sorted({r["label"] for r in records})},
              **_levels(absent, "absent_level"), **_levels(similar or [], "absent_similar_level"),
              **_levels(silent or [], "silent_click_level")}
    o = result["overall"]
    result["si_sdri_fraction_of_oracle"] = o["si_sdri_text"] / o["si_sdri_oracle"] if o["si_sdri_oracle"] > 0 else float("nan")
    return result


def to_markdown(result: dict, title: str) -> str:
    cols = ["count", "si_sdri_text", "snri_text", "level_text", "si_sdri_paraphrase", "si_sdri_audio", "si_sdri_click",
            "si_sdri_oracle", "si_sdr_text", "bss_sdr", "bss_sir", "bss_sar", "oracle_bss_sdr"]
    head = "| group | " + " | ".join(cols) + " |\n|" + " --- |" * (len(cols) + 1) + "\n"
    fmt = lambda v: f"{v:.2f}" if isinstance(v, float) else str(v)  # noqa: E731
    line = lambda name, b: f"| {name} | " + " | ".join(fmt(b[c]) for c in cols) + " |\n"  # noqa: E731
    text = (f"### {title}\n\nMedians in dB. Mixture baseline: SI-SDRi 0 by definition; oracle: ideal ratio mask; "
            "snri: plain SNR improvement (sees a wrong output level); level: output level minus the true "
            "target's.\n\n" + head)
    text += line("all", result["overall"])
    text += "".join(line(f"{n} sources", b) for n, b in result["by_sources"].items())
    text += "".join(line(c, b) for c, b in result["by_class"].items())
    levels = lambda name, what, unit="dB": (  # noqa: E731
        f"{what}: median {result[f'{name}_db_median']:.1f} dB, 90th percentile {result[f'{name}_db_p90']:.1f} "
        f"{unit}; {100 * result[f'{name}_share_above_-25db']:.0f} % above -25 dB.\n")
    text += ("\n" + levels("absent_level", "Absent-target output level", "dB relative to the mixture")
             + levels("absent_similar_level", "Confusable absent prompt (the missing class nearest a present one)")
             + levels("silent_click_level", "Click on a silent object (its source taken out of the mixture)")
             + f"Text-prompt SI-SDRi as a fraction of the oracle mask's: {result['si_sdri_fraction_of_oracle']:.2f}.\n")
    return text


def spectrogram_figure(shown, path, net) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(shown), 4, figsize=(14, 2.6 * len(shown)), squeeze=False)
    for r, (rid, label, *waves) in enumerate(shown):
        for c, (name, w) in enumerate(zip(("mixture", f"true {label}", "separated", "oracle mask"), waves)):
            spec = 20 * torch.log10(net.stft(w).abs() + 1e-5)
            axes[r, c].imshow(spec.numpy(), origin="lower", aspect="auto", vmin=-80, vmax=float(spec.max()), cmap="magma")
            axes[r, c].set_title(f"{rid}: {name}", fontsize=8)
            axes[r, c].axis("off")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def write_report(result: dict, out: str | Path, title: str) -> tuple[Path, Path]:
    return common.write_report(result, to_markdown(result, title), out, "separation")

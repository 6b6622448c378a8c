"""The measured figures behind the README's results table, kept in one file that the eval commands
write (``soundsift eval ... --record SET``, ``soundsift bench --record``), so that the page and the
measurements cannot drift apart.

    python -m recipes.results            # rewrite the README's table from docs/results.json
    python -m recipes.results --check    # exit 1 if the README's table is not what the file says
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results.json"
README = ROOT / "README.md"
BEGIN, END = "<!-- results:begin (python -m recipes.results) -->", "<!-- results:end -->"
# Test sets, in the order the table shows them side by side.
SETS = {"synthetic": "synthetic test", "alt": "alt-test (unheard soundfont, voices)", "real": "real-test (recordings)"}


def load(path: Path = RESULTS) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def record(kind: str, test_set: str, figures: dict, model: str, data: str | None = None,
           path: Path = RESULTS) -> Path:
    """Store an eval's full result as ``kind`` (separation, encoders, judge, speed) on ``test_set``."""
    if test_set not in SETS and kind != "speed":
        raise ValueError(f"unknown test set {test_set!r}: one of {', '.join(SETS)}")
    results = load(path)
    results.setdefault(kind, {})[test_set] = {"model": model, "data": data, "date": time.strftime("%Y-%m-%d"),
                                              "figures": figures}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def _get(results, kind, test_set, *keys):
    value = results.get(kind, {}).get(test_set, {}).get("figures")
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _fmt(value, spec: str) -> str:
    if value is None or value != value:  # missing or NaN
        return "–"
    return format(value, spec)


THEN = None  # in a row's cells: the figures after it are the same after a change ("before → after")
# (row label, kind, [(keys, format)...]): several figures in one cell are joined by " / ".
ROWS = [
    ("text prompt SI-SDRi, dB (all / 2 / 3 sources)", "separation",
     [(("overall", "si_sdri_text"), ".2f"), (("by_sources", "2", "si_sdri_text"), ".2f"),
      (("by_sources", "3", "si_sdri_text"), ".2f")]),
    ("text prompt SNRi, dB / output level vs true target, dB", "separation",
     [(("overall", "snri_text"), ".2f"), (("overall", "level_text"), "+.1f")]),
    ("unseen paraphrase SI-SDRi, dB", "separation", [(("overall", "si_sdri_paraphrase"), ".2f")]),
    ("audio-example SI-SDRi, dB", "separation", [(("overall", "si_sdri_audio"), ".2f")]),
    ("click SI-SDRi, dB, on emoji / drawings and photos / held-out outline pictures", "clicks",
     [(("emoji", "si_sdri_click"), ".2f"), (("stamps", "si_sdri_click"), ".2f"), (("outline", "si_sdri_click"), ".2f")]),
    ("click names the object's class (pictures as above)", "clicks",
     [(("emoji", "class_top1"), ".0%"), (("stamps", "class_top1"), ".0%"), (("outline", "class_top1"), ".0%")]),
    ("oracle ratio mask SI-SDRi, dB (the ceiling)", "separation", [(("overall", "si_sdri_oracle"), ".2f")]),
    ("44.1 kHz pairs, whole-band SI-SDRi / SNR above 8 kHz, dB: band above kept in the residual → shared out",
     "fullband", [(("before_sisdri",), ".2f"), (("before_above_snr",), ".2f"), THEN, (("high_band_sisdri",), ".2f"),
                  (("high_band_above_snr",), ".2f")]),
    ("absent prompt: output p90, dB / share above −25 dB", "separation",
     [(("absent_level_db_p90",), ".1f"), (("absent_level_share_above_-25db",), ".0%")]),
    ("click on a silent object: share above −25 dB (as above)", "clicks",
     [(("emoji", "distractor_share_above_-25db"), ".0%"), (("stamps", "distractor_share_above_-25db"), ".0%"),
      (("outline", "distractor_share_above_-25db"), ".0%")]),
    ("zero-shot class accuracy (caption / unseen paraphrase)", "encoders",
     [(("zero_shot_acc_seen",), ".2f"), (("zero_shot_acc_unseen",), ".2f")]),
    ("span F1 at 40 ms: flagged frames / the spans returned (pauses under 0.3 s closed)", "encoders",
     [(("span_f1",), ".2f"), (("span_f1_joined",), ".2f")]),
    ("video→audio R@1 (scene finds its own mixture)", "encoders", [(("video_to_audio_R@1",), ".2f")]),
    ("judge: Spearman of overall with SI-SDR (cosine baseline)", "judge",
     [(("all", "overall_si_sdr", "spearman"), ".2f"), (("all", "baseline_overall_si_sdr", "spearman"), ".2f")]),
    ("judge: Spearman of recall / precision / faithfulness with theirs", "judge",
     [(("all", "recall", "spearman"), ".2f"), (("all", "precision", "spearman"), ".2f"),
      (("all", "faithfulness", "spearman"), ".2f")]),
    ("best of 8 by the judge vs the plain separation, median SI-SDRi, dB", "judge",
     [(("best_of_k", "judge@8"), ".2f"), (("best_of_k", "default"), ".2f")]),
]


def _cell(results: dict, kind: str, test_set: str, cells: list) -> str:
    parts, current = [], []
    for cell in cells + [THEN]:
        if cell is THEN:
            parts.append(" / ".join(current))
            current = []
        else:
            keys, spec = cell
            current.append(_fmt(_get(results, kind, test_set, *keys), spec))
    return " → ".join(parts)


def render(results: dict) -> str:
    kinds = ("separation", "encoders", "judge", "clicks", "fullband")
    sets = [s for s in SETS if any(s in results.get(kind, {}) for kind in kinds)]
    lines = ["| measure | " + " | ".join(SETS[s] for s in sets) + " |", "| --- |" + " --- |" * len(sets)]
    for label, kind, cells in ROWS:
        row = [_cell(results, kind, s, cells) for s in sets]
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    entries = [results[kind][s] for kind in kinds for s in sets if s in results.get(kind, {})]
    if entries:
        models = ", ".join(sorted({e["model"] for e in entries}))
        data = ", ".join(sorted({e["data"] for e in entries if e["data"]}))
        dates = sorted({e["date"] for e in entries})
        lines.append(f"\n<sub>Models {models}; data {data}; measured {dates[0]}"
                     + (f" to {dates[-1]}" if len(dates) > 1 else "") + ".</sub>")
    speed = results.get("speed", {}).get("bench", {}).get("figures")
    if speed:
        lines.append("\nSpeed and peak memory (`soundsift bench`: 2 cores, one text prompt, from a wav file to its two stems):")
        for rate, channels in sorted({(r["rate"], r["channels"]) for r in speed}):
            rows = [r for r in speed if (r["rate"], r["channels"]) == (rate, channels)]
            fmt = f"{rate / 1000:g} kHz {'mono' if channels == 1 else 'stereo'}"
            lines.append(f"{fmt}, " + " / ".join(f"{r['seconds']:.0f}" for r in rows) + " s: "
                         + " / ".join(f"{r['x_realtime']:.0f}×" for r in rows) + " real time, "
                         + " / ".join(f"{r['peak_rss_mb']:.0f}" for r in rows) + " MB.  ")
    return "\n".join(lines)


def update_readme(readme: Path = README, results_path: Path = RESULTS, check: bool = False) -> bool:
    """Put the rendered table between the README's markers; with ``check``, only say whether it is there."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme}: no results markers")
    head, rest = text.split(BEGIN, 1)
    old, tail = rest.split(END, 1)
    new = "\n" + render(load(results_path)) + "\n"
    if check:
        return old == new
    readme.write_text(head + BEGIN + new + END + tail)
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the README's table differs from the file")
    args = ap.parse_args(argv)
    ok = update_readme(check=args.check)
    if args.check and not ok:
        print("README.md's results table is not what docs/results.json says: run python -m recipes.results",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

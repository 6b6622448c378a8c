"""Speaker sex from pitch: labels speech whose file names do not say it, and checks the labels that
names give.

Method: the median fundamental frequency (F0) of a clip's voiced frames by librosa's probabilistic
YIN (pYIN, searched over 65-400 Hz; pYIN says which frames are voiced); below 165 Hz the speaker is
called male, above female (adult speaking F0 lies around 85-155 Hz for men and 165-255 Hz for women;
the boundary is the textbook one, not fitted to the check below). A recording (one speaker) takes the
majority of its clips' calls.

    python -m recipes.data.speaker_sex --data data/real [--per-recording 20]

prints, per speech recording of the ingested clips (``clips.jsonl``), the label its package's naming
gives, the median F0 of a sample of its clips, and how many of them the method agrees with.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

THRESHOLD_HZ = 165.0


def median_f0(wave: np.ndarray, rate: int) -> float:
    """The median F0 (Hz) of the clip's voiced frames; NaN when pYIN finds none."""
    import librosa

    x = np.asarray(wave, np.float32).reshape(-1)
    if not np.any(x):
        return float("nan")
    f0, voiced, _ = librosa.pyin(x, fmin=65, fmax=400, sr=rate, frame_length=1024)
    return float(np.nanmedian(f0[voiced])) if voiced.any() else float("nan")


def sex_from_pitch(f0: float) -> str | None:
    if not np.isfinite(f0):
        return None
    return "male" if f0 < THRESHOLD_HZ else "female"


SAMPLE_LINES = 12
MIN_AGREEMENT = 0.9


def recording_sex(waves: list, rate: int) -> tuple[str | None, str]:
    """A speaker's sex from a sample of their lines ([T] arrays at ``rate``): the side of the boundary
    that at least ``MIN_AGREEMENT`` of the voiced lines fall on, or None when they do not agree that
    well (a second speaker, shouting, song); and what was measured, for the manifest or a rejection."""
    calls = [sex_from_pitch(median_f0(w, rate)) for w in waves]
    voiced = [c for c in calls if c is not None]
    if not voiced:
        return None, "no voiced line"
    best = max(("male", "female"), key=voiced.count)
    share = voiced.count(best) / len(voiced)
    detail = f"{voiced.count('male')} of {len(voiced)} voiced lines under {THRESHOLD_HZ:g} Hz"
    return (best if share >= MIN_AGREEMENT else None), detail


def check(data: Path, per_recording: int = 20, seed: int = 0) -> list[dict]:
    """Per speech recording: its label, median F0 over a sample of clips, the share the method agrees with."""
    clips = [json.loads(line) for line in (data / "clips.jsonl").read_text().splitlines()]
    by_recording = defaultdict(list)
    for c in clips:
        if c["label"] in ("male speech", "female speech"):
            by_recording[c["recording"]].append(c)
    rng = np.random.default_rng(seed)
    rows = []
    for recording, items in sorted(by_recording.items()):
        picks = rng.choice(len(items), min(per_recording, len(items)), replace=False)
        f0s = []
        for i in picks:
            wave, rate = sf.read(data / items[i]["path"], dtype="float32")
            f0s.append(median_f0(wave, rate))
        calls = [sex_from_pitch(f) for f in f0s]
        label = items[0].get("sex") or items[0]["label"].split()[0]
        agree = np.mean([c == label for c in calls])
        majority = max(("male", "female"), key=calls.count)
        rows.append({"recording": recording, "label": label, "clips": len(picks),
                     "median_f0": float(np.nanmedian(f0s)), "agree": float(agree), "majority": majority})
    return rows


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/real")
    p.add_argument("--per-recording", type=int, default=20)
    args = p.parse_args(argv)
    rows = check(Path(args.data), args.per_recording)
    print(f"{'recording':<20} {'label':<7} {'clips':>5} {'median F0':>10} {'agree':>6}  majority")
    for r in rows:
        print(f"{r['recording']:<20} {r['label']:<7} {r['clips']:>5} {r['median_f0']:>8.0f} Hz {r['agree']:>6.0%}  {r['majority']}")
    clips = sum(r["clips"] for r in rows)
    agree = sum(r["agree"] * r["clips"] for r in rows) / max(clips, 1)
    right = sum(r["majority"] == r["label"] for r in rows)
    print(f"clips agreeing with their label: {agree:.0%} of {clips}; recordings by majority: {right} of {len(rows)}")


if __name__ == "__main__":
    main()

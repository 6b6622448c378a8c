"""One corpus made of others: training rows from several corpora (real and synthetic), validation
and test rows from one (the real corpus' real-only validation guides training choices).

    python -m recipes.data.combine --out data/real-mix --train data/real data/small-multi --eval data/real

The manifest's paths point into the source corpora (relative to the new folder), so nothing is copied.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from recipes.data.build import read_manifest


def _recording(source: dict) -> str | None:
    """The recording a source comes from (None for a render)."""
    return (source.get("attributes") or {}).get("recording")


def kept_recordings(rows: list[dict], share: float, seed: int) -> set[str]:
    """A seeded ``share`` of the recordings (attributes.recording) the rows' sources come from, drawn
    per class (at least one of each), so that every class keeps some recordings."""
    by_label: dict[str, set[str]] = {}
    for row in rows:
        for s in row["sources"]:
            rec = _recording(s)
            if rec:
                by_label.setdefault(s["label"], set()).add(rec)
    rng = np.random.default_rng(seed)
    kept = set()
    for label in sorted(by_label):
        recs = sorted(by_label[label])
        kept.update(rng.choice(recs, size=max(1, round(share * len(recs))), replace=False).tolist())
    return kept


def combine(out: str | Path, train: list[str], evaluation: str, keep_recordings: float = 1.0,
            seed: int = 0) -> Path:
    """``keep_recordings``: below 1, a training row of a recorded corpus is kept only when every source
    comes from the seeded share of its corpus' recordings (kept_recordings); renders are all kept."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, counts = [], {}
    for root, splits in [(t, ("train",)) for t in train] + [(evaluation, ("val", "test"))]:
        prefix = os.path.relpath(Path(root).resolve(), out.resolve())
        for split in splits:
            found = read_manifest(root, split)
            if split == "train" and keep_recordings < 1:
                kept = kept_recordings(found, keep_recordings, seed)
                allowed = kept | {None}  # None: a rendered source, always kept
                found = [r for r in found if all(_recording(s) in allowed for s in r["sources"])]
                counts[root] = {"recordings": len(kept), "rows": len(found)}
            for row in found:
                name = Path(root).resolve().name
                row = {**row, "id": f"{name}-{row['id']}", "mixture": f"{prefix}/{row['mixture']}",
                       "sources": [{**s, "path": f"{prefix}/{s['path']}"} for s in row["sources"]],
                       "video": f"{prefix}/{row['video']}" if row.get("video") else None}
                rows.append(row)
    tmp = out / "manifest.part"
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    tmp.replace(out / "manifest.jsonl")
    build = {"preset": "combined", "train": train, "eval": evaluation}
    if keep_recordings < 1:
        build.update(keep_recordings=keep_recordings, seed=seed, kept=counts)
    (out / "build.json").write_text(json.dumps(build, indent=1))
    return out / "manifest.jsonl"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--train", nargs="+", required=True, help="corpora whose training rows are used")
    ap.add_argument("--eval", required=True, help="the corpus whose val and test rows are used")
    ap.add_argument("--keep-recordings", type=float, default=1.0, metavar="SHARE",
                    help="keep only training rows made of this seeded share of each class's recordings "
                         "(a learning curve over real data; default 1: all)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not 0 < args.keep_recordings <= 1:
        ap.error("--keep-recordings is a share in (0, 1]")
    print(combine(args.out, args.train, args.eval, args.keep_recordings, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

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

from recipes.data.build import read_manifest


def combine(out: str | Path, train: list[str], evaluation: str) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for root, splits in [(t, ("train",)) for t in train] + [(evaluation, ("val", "test"))]:
        prefix = os.path.relpath(Path(root).resolve(), out.resolve())
        for split in splits:
            for row in read_manifest(root, split):
                name = Path(root).resolve().name
                row = {**row, "id": f"{name}-{row['id']}", "mixture": f"{prefix}/{row['mixture']}",
                       "sources": [{**s, "path": f"{prefix}/{s['path']}"} for s in row["sources"]],
                       "video": f"{prefix}/{row['video']}" if row.get("video") else None}
                rows.append(row)
    tmp = out / "manifest.part"
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    tmp.replace(out / "manifest.jsonl")
    (out / "build.json").write_text(json.dumps({"preset": "combined", "train": train, "eval": evaluation}, indent=1))
    return out / "manifest.jsonl"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--train", nargs="+", required=True, help="corpora whose training rows are used")
    ap.add_argument("--eval", required=True, help="the corpus whose val and test rows are used")
    args = ap.parse_args(argv)
    print(combine(args.out, args.train, args.eval))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

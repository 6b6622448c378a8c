"""Throughput of many-file separation: ``soundsift batch`` on Ray with 1 and 2 workers against the
plain command line over the same files (one ``soundsift separate`` call for all of them, and one call
per file as a shell loop would make).

    python -m recipes.separation.batch_bench --data data/small --files 200 [--loop-files 20]

Inputs are the first FILES test mixtures of the corpus (16 kHz mono, 4-6 s each) copied to a temp
folder; every run writes its own output folder; wall-clock time includes loading the models (and
starting Ray), as a user would see it. The per-file loop runs on LOOP_FILES files and is scaled up.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from recipes.data.build import read_manifest
from soundsift.io import AudioFile


def _timed(cmd: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def bench(data: str, files: int, loop_files: int, text: str = "a piano") -> list[dict]:
    rows = read_manifest(data, "test")[:files]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs = []
        for row in rows:
            dst = tmp / "in" / f"{row['id']}.flac"
            dst.parent.mkdir(exist_ok=True)
            shutil.copy(Path(data) / row["mixture"], dst)
            inputs.append(dst)
        hours = sum(AudioFile(p).scan().frames / AudioFile(p).sample_rate for p in inputs) / 3600
        cli = [sys.executable, "-m", "cli"]
        runs = [("soundsift separate, one call for all files", len(inputs),
                 _timed(cli + ["separate", *map(str, inputs), "--text", text, "-o", str(tmp / "cli"), "--quiet"]))]
        began = time.perf_counter()
        for p in inputs[:loop_files]:
            subprocess.run(cli + ["separate", str(p), "--text", text, "-o", str(tmp / "loop"), "--quiet"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        runs.append(("soundsift separate, one call per file (shell loop)", loop_files, time.perf_counter() - began))
        for workers in (1, 2):
            runs.append((f"soundsift batch --workers {workers} (local Ray)", len(inputs),
                         _timed(cli + ["batch", str(tmp / "in"), "-o", str(tmp / f"batch{workers}"), "--text", text,
                                       "--workers", str(workers), "--quiet"])))
    per_file_hours = hours / len(inputs)
    return [{"how": how, "files": n, "seconds": s, "files_per_hour": n / s * 3600,
             "audio_hours_per_hour": n * per_file_hours / (s / 3600)} for how, n, s in runs]


def to_markdown(rows: list[dict]) -> str:
    lines = ["| how | files | time | files per hour | audio hours per hour |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['how']} | {r['files']} | {r['seconds']:.0f} s | {r['files_per_hour']:.0f} | "
                     f"{r['audio_hours_per_hour']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--loop-files", type=int, default=20)
    args = ap.parse_args(argv)
    print(to_markdown(bench(args.data, args.files, args.loop_files)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

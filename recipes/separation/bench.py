"""``soundsift bench``: separation speed (x real time) and peak memory for 10 s, 60 s and 600 s inputs.

Each duration runs in a fresh process so its peak RSS is its own. The input is a shipped example
mixture tiled to length; timing covers the prompt embedding and the separation, not file I/O.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "test" / "test-000001" / "mixture.flac"


def child(seconds: float, model: str | None) -> dict:
    from separation import Separator
    from soundsift.io import load_audio

    sep = Separator.from_pretrained(model)
    wave, rate = load_audio(EXAMPLE)
    reps = int(seconds * rate // wave.shape[-1]) + 1
    wave = wave.repeat(1, reps)[:, : int(seconds * rate)]
    sep.separate(wave[:, : rate * 2], rate, text="a woman speaking")  # warm-up
    start = time.perf_counter()
    res = sep.separate(wave, rate, text="a woman speaking")
    elapsed = time.perf_counter() - start
    assert res.targets[0].shape == wave.shape
    return {"seconds": seconds, "elapsed_s": elapsed, "x_realtime": seconds / elapsed,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "threads": torch.get_num_threads()}


def bench(durations=(10, 60, 600), model: str | None = None) -> list[dict]:
    rows = []
    for seconds in durations:
        cmd = [sys.executable, "-m", "recipes.separation.bench", str(seconds)] + ([model] if model else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return rows


def to_markdown(rows: list[dict]) -> str:
    lines = ["| input | time | speed | peak memory |", "| --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['seconds']:.0f} s | {r['elapsed_s']:.2f} s | {r['x_realtime']:.1f}x real time | "
                     f"{r['peak_rss_mb']:.0f} MB |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(json.dumps(child(float(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None)))

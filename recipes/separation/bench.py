"""``soundsift bench``: separation speed (x real time) and peak memory for 10 s, 60 s and 600 s inputs,
as 16 kHz mono (the network's own format) and as 44.1 kHz stereo (a typical file).

Each case runs in a fresh process so its peak RSS is its own. The input is a shipped example
mixture tiled to length (and resampled and duplicated to stereo); timing covers the prompt
embedding, the separation and writing the stems as the CLI does (block by block), not decoding.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "test" / "test-000001" / "mixture.flac"
FORMATS = ((16000, 1), (44100, 2))


def child(seconds: float, model: str | None, rate: int = 16000, channels: int = 1) -> dict:
    from separation import Separator
    from separation.cli import write_stems
    from soundsift.io import load_audio

    sep = Separator.from_pretrained(model)
    wave, _ = load_audio(EXAMPLE, sample_rate=rate)
    reps = int(seconds * rate // wave.shape[-1]) + 1
    wave = wave.repeat(channels, reps)[:, : int(seconds * rate)]
    sep.separate(wave[:, : rate * 2], rate, text="a woman speaking")  # warm-up
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        res = sep.separate_stream(wave, rate, text="a woman speaking")
        write_stems([Path(out) / "target.wav", Path(out) / "residual.wav"], res)
        elapsed = time.perf_counter() - start
    return {"seconds": seconds, "rate": rate, "channels": channels, "elapsed_s": elapsed,
            "x_realtime": seconds / elapsed, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "threads": torch.get_num_threads()}


def bench(durations=(10, 60, 600), model: str | None = None, formats=FORMATS) -> list[dict]:
    rows = []
    for rate, channels in formats:
        for seconds in durations:
            cmd = [sys.executable, "-m", "recipes.separation.bench", str(seconds), str(rate), str(channels)]
            proc = subprocess.run(cmd + ([model] if model else []), capture_output=True, text=True, check=True)
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return rows


def to_markdown(rows: list[dict]) -> str:
    lines = ["| input | time | speed | peak memory |", "| --- | --- | --- | --- |"]
    for r in rows:
        fmt = f"{r['rate'] / 1000:g} kHz {'mono' if r['channels'] == 1 else 'stereo'}"
        lines.append(f"| {r['seconds']:.0f} s, {fmt} | {r['elapsed_s']:.2f} s | {r['x_realtime']:.1f}x real time | "
                     f"{r['peak_rss_mb']:.0f} MB |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    seconds, rate, channels = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(child(seconds, sys.argv[4] if len(sys.argv) > 4 else None, rate, channels)))

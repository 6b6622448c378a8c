"""``soundsift bench``: separation speed (x real time) and peak memory for 10 s, 60 s and 600 s inputs,
as 16 kHz mono (the network's own format) and as 44.1 kHz stereo (a typical file).

Each case runs in a fresh process so its peak RSS is its own. The input is a shipped example
mixture tiled to length (and resampled and duplicated to stereo), written to a wav file first;
timing covers what the CLI does after loading the model: checking the file, embedding the prompt,
and decoding, separating and writing the stems a block at a time.
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

from soundsift.errors import SoundSiftError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "test" / "test-000001" / "mixture.flac"
FORMATS = ((16000, 1), (44100, 2))


def child(path: str, model: str | None) -> dict:
    from separation import Separator
    from separation.stems import write_stems
    from soundsift.io import AudioFile

    sep = Separator.from_pretrained(model)
    audio = AudioFile(path)
    sep.separate(audio.read(0, 2 * audio.sample_rate), audio.sample_rate, text="a woman speaking")  # warm-up
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        res = sep.separate_stream(audio, text="a woman speaking")
        write_stems(Path(out) / "track", res)
        elapsed = time.perf_counter() - start
    seconds = audio.scan().frames / audio.sample_rate
    return {"seconds": seconds, "rate": audio.sample_rate, "channels": audio.channels, "elapsed_s": elapsed,
            "x_realtime": seconds / elapsed, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "threads": torch.get_num_threads()}


def make_input(path: Path, seconds: float, rate: int, channels: int) -> Path:
    from soundsift.io import load_audio, open_audio_writer

    wave, _ = load_audio(EXAMPLE, sample_rate=rate)
    total = int(seconds * rate)
    with open_audio_writer(path, rate, channels, overwrite=True) as write:
        for a in range(0, total, wave.shape[-1]):
            write(wave[:, : total - a].expand(channels, -1))
    return path


def bench(durations=(10, 60, 600), model: str | None = None, formats=FORMATS) -> list[dict]:
    if any(not seconds >= 1 for seconds in durations):
        raise SoundSiftError(f"bench durations must be at least 1 s, got {list(durations)}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for rate, channels in formats:
            for seconds in durations:
                path = make_input(Path(tmp) / "input.wav", seconds, rate, channels)
                cmd = [sys.executable, "-m", "recipes.separation.bench", str(path)]
                proc = subprocess.run(cmd + ([model] if model else []), capture_output=True, text=True)
                if proc.returncode != 0:  # the child's own last line says why (a bad --model, say)
                    last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                    raise SoundSiftError(f"bench case {seconds:g} s at {rate} Hz failed: {last}")
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
    try:
        print(json.dumps(child(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)))
    except SoundSiftError as err:
        sys.exit(str(err))

"""What a click's timing is worth on a long video, and what it costs: the shipped example scene (its
video and its mixture, the violin's true source) looped to ``--minutes``, a click on the violin 3 s in
and halfway through, separated with the click's timing read through the whole video, only ``W``
seconds either side of the click (``click_timing_seconds``), or not at all (a one-frame window), and
a text prompt for comparison. Prints per variant the click's time (after loading; its tracking is
not reused between variants) and the violin's SI-SDRi per loop of the scene: median over the loops
within 30 s of the click ("near"), over the others ("far"), and over all.

    python -m recipes.separation.click_long [--minutes 10] [--windows none 60 30 15 0]
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from recipes.separation.click_bench import timing_seconds
from recipes.separation.click_cost import CLICK, SCENE, TEXT  # the same scene, prompt and click
from soundsift.io import load_audio
from soundsift.metrics import si_sdr

EXAMPLE = SCENE.parent
LOOP_FRAMES, FPS = 77, 10    # the scene's picture: 7.7 s; its sound (7.68 s) is padded to match
NEAR = 30.0


def looped(minutes: float, folder: Path) -> tuple[Path, torch.Tensor, torch.Tensor, int]:
    """(video file, mixture [1, T], violin [T], samples per loop): the scene repeated whole."""
    loops = max(1, int(round(minutes * 60 * FPS / LOOP_FRAMES)))
    video = folder / "long.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops - 1), "-i", str(EXAMPLE / "scene.mp4"),
                    "-an", "-c", "copy", str(video)], check=True)
    mix, rate = load_audio(EXAMPLE / "mixture.flac")
    violin, _ = load_audio(EXAMPLE / "s1-violin.flac")
    n = LOOP_FRAMES * rate // FPS
    pad = lambda x: torch.nn.functional.pad(x[..., :n], (0, n - min(n, x.shape[-1])))  # noqa: E731
    return video, pad(mix).repeat(1, loops), pad(violin)[0].repeat(loops), n


def per_loop(est: torch.Tensor, ref: torch.Tensor, mix: torch.Tensor, n: int) -> np.ndarray:
    loops = ref.shape[-1] // n
    base = float(si_sdr(mix[:n], ref[:n]))
    return np.array([float(si_sdr(est[i * n: (i + 1) * n], ref[i * n: (i + 1) * n])) - base for i in range(loops)])


def main(argv=None) -> None:
    from separation import Separator

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--windows", nargs="+", default=["none", "60", "30", "15", "0"],
                   help="seconds either side of the click ('none': the whole video)")
    args = p.parse_args(argv)
    sep = Separator.from_pretrained()
    shipped = sep.net.config
    with tempfile.TemporaryDirectory() as tmp:
        video, mix, violin, n = looped(args.minutes, Path(tmp))
        rate, seconds = 16000, mix.shape[-1] / 16000
        middle = (LOOP_FRAMES / FPS) * (mix.shape[-1] // n // 2) + CLICK[0]
        sep.separate(mix[:, : 2 * rate], rate, text=TEXT)  # warm-up
        start = time.perf_counter()
        text = per_loop(sep.separate(mix, rate, text=TEXT).targets[0][0], violin, mix[0], n)
        text_s = time.perf_counter() - start
        print(f"{seconds / 60:.1f} min ({mix.shape[-1] // n} loops of the scene); text prompt: {text_s:.1f} s, "
              f"SI-SDRi per loop median {np.median(text):.2f} dB")
        print("| timing read | click at | time | / text | SI-SDRi near | far | all loops |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        loop_t = np.arange(mix.shape[-1] // n) * n / rate + n / rate / 2
        for w in args.windows:
            around = timing_seconds(w)
            sep.net.config = dataclasses.replace(shipped, click_timing_seconds=around)
            for at in (CLICK[0], middle):
                click = (at, CLICK[1], CLICK[2])
                start = time.perf_counter()
                est = sep.separate(mix, rate, video=str(video), click=click).targets[0][0]
                took = time.perf_counter() - start
                gains = per_loop(est, violin, mix[0], n)
                near = np.abs(loop_t - at) <= NEAR
                name = "whole video" if around is None else f"±{around:g} s"
                far = f"{np.median(gains[~near]):.2f}" if (~near).any() else "–"
                print(f"| {name} | {at:.0f} s | {took:.1f} s | {took / text_s:.2f}x | {np.median(gains[near]):.2f} | "
                      f"{far} | {np.median(gains):.2f} |", flush=True)
        sep.net.config = shipped


if __name__ == "__main__":
    from recipes.common import run_tool

    raise SystemExit(run_tool(main))

"""What a click costs against a text prompt on a long video: the shipped example scene looped to
``--minutes`` (as it is, 224 px at 10 fps, and re-encoded as a typical camera file, 1280x720 at
30 fps), separated once by a text prompt and by a click on its violin 3 s in and halfway through,
each in a fresh process.
Timing covers what ``soundsift separate`` does after loading the model: for the click, tracking the
object through the whole video, cropping it and embedding its timing, then separating and writing the
stems. Prints the time of each, their ratio (the target is at most 2x) and peak memory.

    python -m recipes.separation.click_cost [--minutes 10] [--formats 224 720] [--timing SECONDS|none]

``--timing``: the click's ``click_timing_seconds`` (how far either side of the click it is tracked;
``none``: the whole video); default the shipped config's. ``--pick``: its ``click_pick_below`` (1.01:
every click read by its timing, the dearer path a click on an unlearnt picture takes); ``--pick-seconds``:
its ``click_pick_seconds`` (how much mixture around the click that reading separates).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from soundsift.errors import SoundSiftError

SCENE = Path(__file__).resolve().parents[2] / "examples" / "test" / "test-000003" / "scene.mp4"
TEXT = "a violin"
CLICK = (3.0, 170.0, 100.0)  # the violin, 3 s in (examples/manifest.jsonl's boxes, on the 224 px frames)
MIDDLE = 39 * 7.7  # 39 loops of the 7.7 s scene later: the same place, halfway through a 10-minute video
FORMATS = {"224": None, "720": (1280, 720, 30)}


def make_video(path: Path, seconds: float, form: tuple[int, int, int] | None) -> Path:
    """The example scene looped to ``seconds``; ``form`` (width, height, fps): re-encoded at that size."""
    cmd = ["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(SCENE), "-t", f"{seconds:g}"]
    if form is None:
        cmd += ["-c", "copy"]
    else:
        w, h, fps = form
        cmd += ["-vf", f"scale={w}:{h},fps={fps}", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "copy"]
    subprocess.run(cmd + [str(path)], check=True)
    return path


def child(path: str, prompt: str, timing: str | None = None, pick: float | None = None,
          pick_seconds: float | None = None) -> dict:
    import dataclasses

    from recipes.separation.click_bench import timing_seconds
    from separation import Separator
    from separation.prompts import build_prompts
    from separation.stems import write_stems
    from soundsift.io import AudioFile

    sep = Separator.from_pretrained()
    if timing is not None:
        sep.net.config = dataclasses.replace(sep.net.config, click_timing_seconds=timing_seconds(timing))
    if pick is not None:
        sep.net.config = dataclasses.replace(sep.net.config, click_pick_below=pick)
    if pick_seconds is not None:
        sep.net.config = dataclasses.replace(sep.net.config, click_pick_seconds=pick_seconds)
    audio = AudioFile(path)
    sep.separate(audio.read(0, 2 * audio.sample_rate), audio.sample_rate, text=TEXT)  # warm-up
    from soundsift.io import probe

    video = probe(path)["video"]
    sx, sy = int(video["width"]) / 224, int(video["height"]) / 224  # the click where the violin is at this size
    at = CLICK[0] + (MIDDLE if prompt == "click-middle" else 0.0)
    click = [(at, CLICK[1] * sx, CLICK[2] * sy)] if prompt.startswith("click") else None
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        prompts = build_prompts([TEXT] if click is None else None, None, click, [])
        res = sep.separate_stream(audio, prompts=sep.prepare(prompts), video=path if click else None)
        write_stems(Path(out) / "track", res)
        elapsed = time.perf_counter() - start
    return {"prompt": prompt, "seconds": audio.scan().frames / audio.sample_rate, "elapsed_s": elapsed,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "threads": torch.get_num_threads()}


def run_case(path: Path, prompt: str, timing: str | None = None, pick: float | None = None,
             pick_seconds: float | None = None) -> dict:
    extra = (["--timing", timing] if timing is not None else []) + (["--pick", str(pick)] if pick is not None else [])
    extra += ["--pick-seconds", str(pick_seconds)] if pick_seconds is not None else []
    proc = subprocess.run([sys.executable, "-m", "recipes.separation.click_cost", "--child", str(path), prompt, *extra],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise SoundSiftError(f"click cost case {prompt} on {path.name} failed: {last}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--formats", nargs="+", choices=sorted(FORMATS), default=sorted(FORMATS))
    p.add_argument("--timing", default=None, help="seconds either side of the click it is tracked, or 'none'")
    p.add_argument("--pick", type=float, default=None, help="click_pick_below (1.01: every click read by its timing)")
    p.add_argument("--pick-seconds", type=float, default=None,
                   help="click_pick_seconds (mixture around the click separated by every description)")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child, args.timing, args.pick, args.pick_seconds)))
        return
    print("| video | text prompt | click at 3 s | click / text | click halfway | click / text | peak memory (text, click) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.formats:
            form = FORMATS[name]
            path = make_video(Path(tmp) / f"long-{name}.mp4", args.minutes * 60, form)
            text, click = run_case(path, "text"), run_case(path, "click", args.timing, args.pick, args.pick_seconds)
            middle = run_case(path, "click-middle", args.timing, args.pick, args.pick_seconds) if args.minutes * 60 > MIDDLE + CLICK[0] else None
            label = "224x224, 10 fps" if form is None else f"{form[0]}x{form[1]}, {form[2]} fps"
            mid = (f"{middle['elapsed_s']:.1f} s | {middle['elapsed_s'] / text['elapsed_s']:.2f}x" if middle else "– | –")
            print(f"| {args.minutes:g} min, {label} | {text['elapsed_s']:.1f} s | {click['elapsed_s']:.1f} s | "
                  f"{click['elapsed_s'] / text['elapsed_s']:.2f}x | {mid} | {text['peak_rss_mb']:.0f} MB, "
                  f"{click['peak_rss_mb']:.0f} MB |", flush=True)


if __name__ == "__main__":
    try:
        main()
    except SoundSiftError as err:
        sys.exit(str(err))

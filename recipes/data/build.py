"""The data engine: render sources, mix them, draw scenes, and write ``manifest.jsonl``.

Work is planned up front (which classes go in which mixture, deterministic for a seed), then
rendered in shards by a process pool. A shard's manifest lines are written only after all its
media, so an interrupted build resumes by skipping finished shards.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from recipes.data import taxonomy
from recipes.data.activity import activity_spans
from recipes.data.captions import describe
from recipes.data.synth import EXPRESSIVE, SOUNDFONTS
from soundsift.errors import SoundSiftError
from soundsift.names import slug
from soundsift.outputs import FolderLock
from soundsift.timeline import FRAME_SECONDS

SPLITS = ("train", "val", "test")
SAMPLE_RATE = 16000
SHARD_SIZE = 8
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Preset:
    counts: dict            # split -> number of mixtures
    duration: tuple         # (min, max) seconds
    video_share: float      # fraction of mixtures that get an mp4 scene
    noise_share: float = 0.2
    fps: int = 10
    size: int = 224
    sources: tuple = (2, 3, 4)
    source_probs: tuple = (0.45, 0.35, 0.2)


PRESETS = {
    "tiny": Preset({"train": 24, "val": 6, "test": 6}, (3.0, 4.0), 0.5),
    "small": Preset({"train": 2000, "val": 200, "test": 200}, (4.0, 6.0), 0.3),
    "full": Preset({"train": 20000, "val": 1000, "test": 1000}, (4.0, 8.0), 0.3),
    # small's validation and test splits alone (mixtures are seeded by split and index: the same ones)
    "small-eval": Preset({"val": 200, "test": 200}, (4.0, 6.0), 0.3),
    "test": Preset({"test": 200}, (4.0, 6.0), 0.3),  # an extra test split, e.g. with --variant alt
    "examples": Preset({"test": 4}, (6.0, 8.0), 0.5, noise_share=0.0),
}


@dataclass(frozen=True)
class Job:
    split: str
    index: int
    labels: tuple
    video: bool
    noise: bool

    @property
    def id(self) -> str:
        return f"{self.split}-{self.index:06d}"


def plan(preset: Preset, seed: int) -> list[Job]:
    """Which classes each mixture holds. A shuffled deck of classes keeps every class equally used."""
    jobs = []
    for split_idx, split in enumerate(SPLITS):
        rng = np.random.default_rng([seed, split_idx, 7919])
        deck: list[str] = []
        for i in range(preset.counts.get(split, 0)):
            n = int(rng.choice(preset.sources, p=preset.source_probs))
            labels: list[str] = []
            while len(labels) < n:
                if len(deck) < 8:
                    deck = [str(x) for x in rng.permutation(taxonomy.TARGET_LABELS)] + deck
                label = deck.pop()
                if label in labels:
                    deck.insert(0, label)
                else:
                    labels.append(label)
            video = int((i + 1) * preset.video_share) > int(i * preset.video_share)
            jobs.append(Job(split, i, tuple(labels), video, bool(rng.random() < preset.noise_share)))
    return jobs


def _segments(rng: np.random.Generator, duration: float) -> list[tuple[float, float]]:
    """Where a source may play: the whole clip, one stretch, or two stretches."""
    grid = lambda t: round(round(t / FRAME_SECONDS) * FRAME_SECONDS, 2)  # noqa: E731
    mode = rng.choice(["full", "one", "two"], p=[0.3, 0.4, 0.3])
    if mode == "full":
        return [(0.0, grid(duration))]
    if mode == "one":
        length = rng.uniform(0.35, 0.75) * duration
        start = rng.uniform(0, duration - length)
        return [(grid(start), grid(start + length))]
    half = duration / 2
    l1, l2 = rng.uniform(0.2, 0.4, size=2) * duration
    s1 = rng.uniform(0, half - l1 * 0.9)
    s2 = rng.uniform(half, duration - l2)
    return [(grid(s1), grid(min(s1 + l1, half))), (grid(s2), grid(s2 + l2))]


def _colored_noise(n: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    color, alpha = [("white", 0.0), ("pink", 1.0), ("brown", 2.0)][int(rng.integers(3))]
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n)
    freqs[0] = freqs[1]
    noise = np.fft.irfft(spectrum / freqs ** (alpha / 2), n)
    return (noise / (np.abs(noise).max() + 1e-9)).astype(np.float32), color


def _active_rms(wave: np.ndarray) -> float:
    loud = wave[np.abs(wave) > 1e-4]
    return float(np.sqrt(np.mean(loud ** 2))) if loud.size else 0.0


# ---- worker side -------------------------------------------------------------------------

_WORKER: dict = {}


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this worker when the build's main process dies (kill -9 included), so that no
    orphan keeps writing shards that a rerun would render again at the same time."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the build lock still keeps a rerun out while we live
        return
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


def _init_worker(soundfonts: list[str], parent: int | None = None, expressive: bool = False) -> None:
    import torch

    if parent is not None:
        _die_with_parent(parent)

    torch.set_num_threads(1)
    from recipes.data.synth import Renderer

    _WORKER["renderers"] = [Renderer(sf, SAMPLE_RATE, expressive) for sf in soundfonts]


def render_mixture(job: Job, out: Path, preset: Preset, seed: int, variant: str) -> dict:
    """Render one mixture and its sources to ``out/<split>/<id>/``; return its manifest row."""
    from recipes.data.scenes import render_scene
    from recipes.data.speech import speech_clip
    from soundsift.io import save_audio, save_video

    rng = np.random.default_rng([seed, SPLITS.index(job.split), job.index])
    duration = round(round(rng.uniform(*preset.duration) / FRAME_SECONDS) * FRAME_SECONDS, 2)
    n = int(round(duration * SAMPLE_RATE))
    waves, infos, fonts = [], [], []
    for label in job.labels:
        cls = taxonomy.get(label)
        segments = _segments(rng, duration)
        if cls.kind == "speech":
            wave, attrs = speech_clip(cls.gender, job.split, segments, duration, SAMPLE_RATE, rng, variant)
            fonts.append(None)
        else:
            renderers = _WORKER["renderers"]  # one draw only when there is a choice: default builds stay as they were
            renderer = renderers[int(rng.integers(len(renderers)))] if len(renderers) > 1 else renderers[0]
            wave, attrs = renderer.clip(cls, segments, duration, rng)
            fonts.append(renderer.soundfont)
        level = _active_rms(wave)
        if level == 0.0:
            raise RuntimeError(f"{job.id}: {label} rendered silent")
        gain_db = float(rng.uniform(-10, 10))
        waves.append(wave[:n] * (0.1 * 10 ** (gain_db / 20) / level))
        infos.append((cls, attrs, gain_db))
    if job.noise:
        cls = taxonomy.get("background noise")
        wave, color = _colored_noise(n, rng)
        gain_db = float(rng.uniform(-30, -18))
        waves.append(wave * (0.1 * 10 ** (gain_db / 20) / _active_rms(wave)))
        infos.append((cls, {"color": color, "loudness": "soft"}, gain_db))
        fonts.append(None)

    # Exactness: sources are quantised to 16-bit first and the mixture is their integer sum, so
    # the FLAC files on disk satisfy mixture == sum(sources) bit for bit.
    peak = np.abs(np.sum(waves, axis=0)).max()
    scale = min(1.0, 0.9 / peak)
    ints = [np.clip(np.round(w * scale * 32768), -32768, 32767).astype(np.int32) for w in waves]
    mix_int = np.sum(ints, axis=0)
    if np.abs(mix_int).max() > 32767:
        raise RuntimeError(f"{job.id}: mixture overflows 16 bits")

    folder = out / job.split / job.id
    rel = lambda p: str(p.relative_to(out))  # noqa: E731
    sources = []
    for k, ((cls, attrs, gain_db), q) in enumerate(zip(infos, ints)):
        path = folder / f"s{k}-{slug(cls.label)}.flac"
        save_audio(path, q.astype(np.int16), SAMPLE_RATE, subtype="PCM_16", overwrite=True)
        sources.append({"path": rel(path), "label": cls.label, "target": cls.target,
                        "captions": describe(cls, attrs, rng), "activity": activity_spans(q / 32768.0, SAMPLE_RATE),
                        "gain_db": round(float(gain_db + 20 * np.log10(scale)), 2), "attributes": attrs, "boxes": None,
                        "soundfont": Path(fonts[k]).name if fonts[k] else None})
    mix_path = folder / "mixture.flac"
    save_audio(mix_path, mix_int.astype(np.int16), SAMPLE_RATE, subtype="PCM_16", overwrite=True)
    row = {"id": job.id, "split": job.split, "mixture": rel(mix_path), "sample_rate": SAMPLE_RATE,
           "duration": duration, "num_sources": len(job.labels), "sources": sources, "video": None, "seed": seed}
    if job.video:
        drawn = [k for k, (cls, _, _) in enumerate(infos) if cls.emoji]
        objects = [(infos[k][0].emoji, ints[k] / 32768.0) for k in drawn]
        frames, boxes = render_scene(objects, SAMPLE_RATE, duration, rng, preset.fps, preset.size)
        for k, b in zip(drawn, boxes):
            sources[k]["boxes"] = b
        video_path = folder / "scene.mp4"
        save_video(video_path, frames, preset.fps, mix_int[None] / 32768.0, SAMPLE_RATE, overwrite=True)
        row.update(video=rel(video_path), video_fps=preset.fps, video_size=[preset.size, preset.size])
    return row


def _run_shard(task) -> int:
    shard_path, jobs, out, preset_name, seed, variant = task
    preset = PRESETS[preset_name]
    rows = [render_mixture(job, out, preset, seed, variant) for job in jobs]
    tmp = shard_path.with_suffix(".part")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    os.replace(tmp, shard_path)
    return len(jobs)


# ---- driver ------------------------------------------------------------------------------

def build(preset: str, out: str | os.PathLike, seed: int = 0, workers: int | None = None,
          variant: str = "default", force: bool = False, progress: bool = True) -> Path:
    """Build (or resume) a corpus; returns the manifest path."""
    if preset not in PRESETS:
        raise SoundSiftError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    if variant not in SOUNDFONTS:
        raise SoundSiftError(f"unknown variant {variant!r}; choose one of {sorted(SOUNDFONTS)}")
    soundfonts = SOUNDFONTS[variant]
    for soundfont in soundfonts:
        if not Path(soundfont).exists():
            raise SoundSiftError(f"soundfont {soundfont} is missing (apt-get install fluid-soundfont-gm "
                                 "timgm6mb-soundfont musescore-general-soundfont-small csound-soundfont)")
    if shutil.which("espeak-ng") is None:
        raise SoundSiftError("espeak-ng is not installed (apt-get install espeak-ng)")
    out = Path(out)
    with FolderLock(out):  # a second build into OUT stops with a clear error instead of racing this one
        return _build_locked(preset, out, seed, workers, variant, force, progress, soundfonts)


def _clean_temp_files(out: Path) -> int:
    """Temp files of a build that was killed mid-write (shards, mixtures, sources, scene videos)."""
    count = 0
    for path in [*out.glob("manifest.part"), *out.glob(".shards/*.part"), *out.glob("*/*/.*.part*")]:
        if path.is_file():
            path.unlink()
            count += 1
    return count


def _build_locked(preset: str, out: Path, seed: int, workers, variant: str, force: bool, progress: bool,
                  soundfonts) -> Path:
    _clean_temp_files(out)
    meta = {"preset": preset, "seed": seed, "variant": variant, "format": FORMAT_VERSION,
            "preset_settings": json.loads(json.dumps(asdict(PRESETS[preset])))}  # as it reads back from disk
    meta_path, manifest, shard_dir = out / "build.json", out / "manifest.jsonl", out / ".shards"
    if meta_path.exists():
        old = json.loads(meta_path.read_text())
        if old != meta:
            if not force:
                raise SoundSiftError(f"{out} holds a build with preset={old.get('preset')} seed={old.get('seed')} "
                                     f"variant={old.get('variant')}; use another --out or --force to rebuild")
            shutil.rmtree(shard_dir, ignore_errors=True)
            manifest.unlink(missing_ok=True)
        elif manifest.exists() and not force:
            return manifest
    if force:
        shutil.rmtree(shard_dir, ignore_errors=True)
        manifest.unlink(missing_ok=True)
    shard_dir.mkdir(parents=True, exist_ok=True)
    meta_path.write_text(json.dumps(meta, indent=1))

    jobs = plan(PRESETS[preset], seed)
    shards = []
    for split in SPLITS:
        split_jobs = [j for j in jobs if j.split == split]
        for s in range(0, len(split_jobs), SHARD_SIZE):
            shards.append((shard_dir / f"{split}-{s // SHARD_SIZE:05d}.jsonl", split_jobs[s: s + SHARD_SIZE]))
    todo = [(path, js, out, preset, seed, variant) for path, js in shards if not path.exists()]
    done = len(jobs) - sum(len(t[1]) for t in todo)
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    with tqdm(total=len(jobs), initial=done, desc=f"building {preset}", unit="mix", disable=not progress) as bar:
        if todo:
            ctx = mp.get_context("spawn")  # torch and FluidSynth are not fork-safe
            with ctx.Pool(workers, initializer=_init_worker, initargs=(soundfonts, os.getpid(), variant in EXPRESSIVE)) as pool:
                for count in pool.imap_unordered(_run_shard, todo):
                    bar.update(count)
    tmp = manifest.with_suffix(".part")
    with open(tmp, "w") as f:
        for path, _ in shards:
            f.write(path.read_text())
    os.replace(tmp, manifest)
    return manifest


def read_manifest(path: str | os.PathLike, split: str | None = None) -> list[dict]:
    """Manifest rows (optionally one split) with paths left relative to the manifest's folder."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.jsonl"
    if not path.exists():
        raise SoundSiftError(f"{path}: no manifest (build one with 'soundsift data build')")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if split is None or r["split"] == split]

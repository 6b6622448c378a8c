"""``soundsift data scenes``: draw a corpus' mixtures as scenes in one picture style (recipes/data/pictures.py).

The sound is the source corpus' own (its files are hard-linked, or copied across file systems); each scene
shows the sources whose class has a picture in that style, among silent distractors, over a cluttered
background, under drifting light. Rows get ``style``, their sources ``boxes`` and the row ``distractors``
(boxes of the silent things: a click there must give silence). One style per output corpus, so that
``soundsift eval`` and the click benchmark report each style on its own; training takes a list of them.
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from pathlib import Path

import numpy as np
from tqdm import tqdm

from recipes.data import pictures
from recipes.data.build import read_manifest
from soundsift.errors import SoundSiftError

FPS, SIZE = 10, 224


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:  # another file system
        shutil.copy2(src, dst)


def restyle_row(row: dict, src: Path, out: Path, style: str, seed: int, distractors=(0, 2), clutter=(0, 3),
                lighting: float = 0.5) -> dict | None:
    """Draw one row's scene in ``style`` under ``out``; None when no target source has a picture."""
    from recipes.data.scenes import render_scene
    from soundsift.io import load_audio, save_video

    rng = np.random.default_rng([seed, pictures.STYLES.index(style), zlib.crc32(row["id"].encode())])
    split = row["split"]
    pics = [pictures.picture(s["label"], style, rng, split) if s["target"] else None for s in row["sources"]]
    if all(p is None for p in pics):
        return None
    waves = {k: load_audio(src / s["path"])[0][0].numpy() for k, s in enumerate(row["sources"]) if pics[k] is not None}
    mix, rate = load_audio(src / row["mixture"])
    silent = [pictures.silent_object(rng, split) for _ in range(int(rng.integers(distractors[0], distractors[1] + 1)))]
    behind = [pictures.silent_object(rng, split) for _ in range(int(rng.integers(clutter[0], clutter[1] + 1)))]
    drawn = sorted(waves)
    frames, boxes = render_scene([(pics[k], waves[k]) for k in drawn], rate, row["duration"], rng, FPS, SIZE,
                                 distractors=silent, clutter=behind, lighting=bool(rng.random() < lighting))
    new = json.loads(json.dumps(row))
    new["id"] = f"{row['id']}-{style}"
    folder = out / split / new["id"]
    video = folder / "scene.mp4"
    save_video(video, frames, FPS, mix.numpy(), rate, overwrite=True)
    for s in new["sources"]:
        _link(src / s["path"], out / s["path"])
        s["boxes"] = None
    _link(src / row["mixture"], out / row["mixture"])
    for k, b in zip(drawn, boxes):
        new["sources"][k]["boxes"] = b
    new.update(video=str(video.relative_to(out)), video_fps=FPS, video_size=[SIZE, SIZE], style=style,
               distractors=boxes[len(drawn):], scene_from=str(src))
    return new


def _work(task) -> list[dict]:
    rows, src, out, style, seed = task
    return [r for r in (restyle_row(row, src, out, style, seed) for row in rows) if r is not None]


def restyle(src: str | os.PathLike, out: str | os.PathLike, style: str, splits=("train", "val", "test"),
            seed: int = 0, limit: int | None = None, workers: int | None = None, force: bool = False,
            progress: bool = True) -> Path:
    """Write ``out/manifest.jsonl`` with one scene per source row that has a drawable
    target; rows that had no video are drawn too (real recordings have none of their own)."""
    from concurrent.futures import ProcessPoolExecutor

    src, out = Path(src), Path(out)
    if style not in pictures.STYLES:
        raise SoundSiftError(f"unknown style {style!r}: one of {', '.join(pictures.STYLES)}")
    if style not in pictures.TRAIN_STYLES and set(splits) - {"test"}:
        raise SoundSiftError(f"style {style!r} is the held-out visual style: build it for --splits test only")
    if out.exists() and any(out.iterdir()):
        if not (out / "build.json").is_file() or "scenes_from" not in json.loads((out / "build.json").read_text()):
            raise SoundSiftError(f"{out} exists and is not a scenes folder: give a new --out")
        if not force:
            raise SoundSiftError(f"{out} already holds scenes; pass --force to replace them")
    rows = [r for split in splits for r in read_manifest(src, split)[:limit]]
    if not rows:
        raise SoundSiftError(f"{src} has no rows in splits {', '.join(splits)}")
    # drawn into a sibling folder and moved into place at the end: never a half-drawn OUT
    final, out = out, out.with_name(out.name + ".part")
    if out.exists():
        shutil.rmtree(out)
    workers = workers or os.cpu_count() or 1
    chunks = [(rows[i::workers * 8], src, out, style, seed) for i in range(workers * 8)]
    done: list[dict] = []
    with ProcessPoolExecutor(workers) as pool, tqdm(total=len(chunks), desc=f"scenes ({style})",
                                                     disable=not progress) as bar:
        for part in pool.map(_work, chunks):
            done += part
            bar.update()
    done.sort(key=lambda r: (r["split"], r["id"]))
    (out / "build.json").write_text(json.dumps({"scenes_from": str(src), "style": style, "seed": seed,
                                                "splits": list(splits), "limit": limit}, indent=1))
    _write(out / "manifest.jsonl", done)
    if final.exists():
        shutil.rmtree(final)
    os.replace(out, final)
    return final / "manifest.jsonl"


def _write(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    os.replace(tmp, path)
    return path

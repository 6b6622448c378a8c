"""Click examples for the separator, from audio-visual scene corpora (``soundsift data scenes``).

An example is what a click gives: the clicked object's timing (its sync sequence, separation/visual.py,
from its true boxes) and a query (the click box's video embedding, a caption naming the object, or
none: timing alone), with the target that object's sound. Silent examples (target silence, gate
shut) are clicks on a silent distractor and clicks on an object whose sound was taken out of the
mixture. Other sources may be swapped for sources of other scenes (dynamic mixing, as for text
examples): the object's own sound and picture stay together, which is all a click says.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from recipes.common import example_rng, torch_seeded_rng
from recipes.data.build import read_manifest
from recipes.data.taxonomy import BY_LABEL
from recipes.separation.click_bench import click_at
from recipes.separation.data import SeparationExamples, _crop_around, _read, caption_bank
from separation.click import click_window
from separation.visual import object_track
from soundsift.io import atomic_path
from soundsift.timeline import FRAME_SECONDS

QUERY_PROBS = (0.5, 0.25, 0.25)  # the click box's video embedding, a caption, no query (timing alone)


def _boxes(track, n: int) -> np.ndarray:
    """A box track cut or padded (last box held) to ``n`` frames."""
    boxes = np.asarray(track, np.float32)[:n]
    return np.concatenate([boxes, np.repeat(boxes[-1:], n - len(boxes), 0)]) if len(boxes) < n else boxes


def build_scene_banks(encoder, root: Path, splits=("train", "val"), progress: bool = True) -> dict:
    """Per scene row id: each drawn target source's and each distractor's sync sequence [T, d] (fp16)
    and click-box video embedding [D] (a click at its box centre halfway through the clip, as the
    click bench clicks). Cached under the corpus like the text banks."""
    probe = encoder.sync_video(torch.full((4, 3, 32, 32), 128, dtype=torch.uint8), 10.0)
    key = hashlib.sha1(probe.numpy().round(5).tobytes() + str(root.resolve()).encode()).hexdigest()[:12]
    cache = root / ".cache" / f"scene-banks-{key}.pt"
    if cache.exists():
        return torch.load(cache, weights_only=True)
    from soundsift.io import load_video

    rows = [r for s in splits for r in read_manifest(root, s) if r.get("video")]
    banks = {}
    for row in tqdm(rows, desc=f"object tracks of {root}", disable=not progress):
        video = load_video(root / row["video"])
        frames, fps, n = video.frames, video.fps, video.frames.shape[0]
        entries = [("s", i, s["boxes"]) for i, s in enumerate(row["sources"]) if s["target"] and s["boxes"]]
        entries += [("d", j, b) for j, b in enumerate(row.get("distractors") or [])]
        windows, masks, out = [], [], {}
        for kind, i, track in entries:
            boxes = _boxes(track, n)
            out[f"{kind}{i}"] = {"track": object_track(encoder, frames, fps, boxes).half()}
            w, m = click_window(frames, fps, click_at(boxes, n, fps))
            windows.append(w)
            masks.append(m)
        if entries:
            emb = encoder.embed_video(torch.stack(windows), fps, torch.stack(masks))
            for (kind, i, _), e in zip(entries, emb):
                out[f"{kind}{i}"]["video"] = e
        banks[row["id"]] = out
    cache.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache, overwrite=True) as tmp:  # a run killed while saving leaves no half-written cache
        torch.save(banks, tmp)
    return banks


def text_banks(encoder, rows: list[dict]) -> dict:
    """Text embeddings of the rows' captions and every class's (what SeparationExamples reads)."""
    captions, text = caption_bank(encoder, rows)
    return {"captions": captions, "text": text, "audio": torch.zeros(0, text.shape[1]), "audio_label": [],
            "audio_row": []}


class SceneExamples(SeparationExamples):
    """Click examples of one scene corpus split (see the module's docstring). ``silent_prob``: share
    of silent examples, half on a distractor (where the scene has one), half on a removed source.
    ``exclude``: classes never clicked (they still sound as other sources): held out, to measure
    clicks on classes the separator never learnt to click."""

    def __init__(self, root, split: str, banks: dict, scene_banks: dict, visual_dim: int, fps: float = 10.0,
                 crop_seconds: float = 3.0, train: bool = True, seed: int = 0, remix_prob: float = 0.5,
                 silent_prob: float = 0.2, query_probs=QUERY_PROBS, exclude=(), twin_prob: float = 0.0, **augment):
        super().__init__(root, split, banks, crop_seconds, train=train, seed=seed, remix_prob=remix_prob, **augment)
        self.exclude, self.twin_prob = set(exclude), twin_prob
        self.by_label: dict[str, list] = {}  # the corpus' sources per class, for same-class twins
        for r, src in self.sources:
            self.by_label.setdefault(src["label"], []).append((r, src))
        self.rows = [r for r in self.rows if self._clickable(r, scene_banks.get(r["id"], {}))]
        self.scene_banks, self.visual_dim, self.fps = scene_banks, visual_dim, fps
        self.silent_prob, self.query_probs = silent_prob, query_probs

    def _clickable(self, row: dict, bank: dict) -> list[str]:
        """The bank keys of the row's drawn sources that may be clicked."""
        return [k for k in bank if k.startswith("s") and row["sources"][int(k[1:])]["label"] not in self.exclude]

    def _visual(self, track: torch.Tensor, start_s: float) -> torch.Tensor:
        """The sync sequence over the crop, [d, crop x fps] (the last frame held past the video's end)."""
        n = int(round(self.crop_seconds * self.fps))
        f0 = int(round(start_s * self.fps))
        idx = torch.arange(f0, f0 + n).clamp(max=len(track) - 1)
        return track[idx].float().T

    def _query(self, entry: dict, label: str | None, rng) -> tuple[torch.Tensor, str]:
        kind = str(rng.choice(("video", "text", "none"), p=self.query_probs))
        if kind == "text" and label is not None:
            return self._text(str(rng.choice(BY_LABEL[label].captions))), "click+text"
        if kind == "video":
            return entry["video"].float(), "click+video"
        return torch.zeros_like(entry["video"].float()), "click"

    def __getitem__(self, i: int) -> dict:
        row = self.rows[i]
        rng = example_rng(self.train, self.seed, i)
        rate = row["sample_rate"]
        n = int(round(self.crop_seconds * rate))
        bank = self.scene_banks[row["id"]]
        drawn = self._clickable(row, bank)
        distractors = [k for k in bank if k.startswith("d")]
        silent = rng.random() < self.silent_prob
        if silent and distractors and rng.random() < 0.5:  # a click on something that makes no sound
            key = distractors[int(rng.integers(len(distractors)))]
            start = int(rng.integers(0, max(int(round(row["duration"] * rate)) - n, 0) + 1))
            start -= start % int(FRAME_SECONDS * rate)
            mixture, label = _read(self.root / row["mixture"], start, n), None
            target = np.zeros_like(mixture)
        else:
            key = drawn[int(rng.integers(len(drawn)))]
            src = row["sources"][int(key[1:])]
            label = src["label"]
            start = _crop_around(src["activity"], row["duration"], rate, n, rng)
            target = _read(self.root / src["path"], start, n)
            if self.train and rng.random() < self.remix_prob:
                mixture, target, _ = self._remix(target, label, n, rng)
            else:
                mixture = _read(self.root / row["mixture"], start, n)
            if silent:  # the clicked object's sound taken out: what is left must not be passed off as it
                mixture, target = (mixture - target).astype(np.float32), np.zeros_like(target)
            elif self.train and rng.random() < self.twin_prob:
                mixture, target = self._twin(mixture, target, label, row["id"], n, rng)
        query, mode = self._query(bank[key], label, rng)
        return {"mixture": torch.from_numpy(mixture), "target": torch.from_numpy(target), "query": query,
                "spans": torch.zeros(2, int(round(self.crop_seconds / FRAME_SECONDS))),
                "visual": self._visual(bank[key]["track"], start / rate), "active": not silent,
                "label": label or "silent object", "mode": mode}

    def _twin(self, mixture: np.ndarray, target: np.ndarray, label: str, row_id: str, n: int, rng):
        """The mixture with another recording of the clicked object's class added (from another row, not
        drawn, at -5..+5 dB to the target): the query names both, so only the clicked object's timing
        tells which one is asked for. (mixture, target), rescaled together if the sum would clip."""
        found = [(r, src) for r, src in self.by_label.get(label, []) if r["id"] != row_id]
        if not found:
            return mixture, target
        r, src = found[int(rng.integers(len(found)))]
        wave = _read(self.root / src["path"], _crop_around(src["activity"], r["duration"], r["sample_rate"], n, rng), n)
        level = np.sqrt(np.mean(target ** 2) / (np.mean(wave ** 2) + 1e-10))
        mixture = mixture + self._eq(wave, rng) * level * 10 ** (rng.uniform(-5, 5) / 20)
        scale = min(1.0, 0.99 / (np.abs(mixture).max() + 1e-8))
        return (mixture * scale).astype(np.float32), (target * scale).astype(np.float32)


class Mixed(torch.utils.data.Dataset):
    """Text/audio examples with click examples among them (``click_prob`` of draws; training), or
    both sets one after the other (validation). Text examples get an all-zero timing track."""

    def __init__(self, plain, clicks, visual_dim: int, frames: int, click_prob: float = 0.5, train: bool = True):
        self.plain, self.clicks, self.visual_dim, self.frames = plain, clicks, visual_dim, frames
        self.click_prob, self.train = click_prob, train
        self._rng = None

    def __len__(self) -> int:
        return len(self.plain) if self.train else len(self.plain) + len(self.clicks)

    def __getitem__(self, i: int) -> dict:
        if self.train:
            if self._rng is None:  # one stream per worker
                self._rng = torch_seeded_rng()
            if self._rng.random() < self.click_prob:
                return self.clicks[int(self._rng.integers(len(self.clicks)))]
            item = self.plain[i]
        elif i >= len(self.plain):
            return self.clicks[i - len(self.plain)]
        else:
            item = self.plain[i]
        return {**item, "visual": torch.zeros(self.visual_dim, self.frames)}

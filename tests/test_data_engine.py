import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from recipes.data import taxonomy
from soundsift.timeline import FRAME_SECONDS, frames_from_spans
from recipes.data.build import PRESETS, SPLITS, Job, _init_worker, build, plan, read_manifest, render_mixture
from recipes.data.scenes import source_at
from recipes.data.synth import SOUNDFONTS
from soundsift.errors import SoundSiftError
from soundsift.io import load_audio, load_video

REQUIRED = {"id", "split", "mixture", "sample_rate", "duration", "sources", "video"}


def read(corpus, rel):
    data, rate = sf.read(corpus / rel, dtype="float64")
    return data, rate


def test_manifest_rows_and_exact_mixtures(tiny_corpus):
    rows = read_manifest(tiny_corpus)
    assert len(rows) == sum(PRESETS["tiny"].counts.values())
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert REQUIRED <= row.keys()
        mix, rate = read(tiny_corpus, row["mixture"])
        assert rate == row["sample_rate"] == 16000
        assert len(mix) == round(row["duration"] * rate)
        targets = [s for s in row["sources"] if s["target"]]
        assert 2 <= len(targets) <= 4 and len({s["label"] for s in targets}) == len(targets)
        total = sum(read(tiny_corpus, s["path"])[0] for s in row["sources"])
        np.testing.assert_array_equal(total, mix)  # exact, bit for bit
        assert np.abs(mix).max() < 1.0


def test_sources_are_described_and_spans_follow_the_audio(tiny_corpus):
    unseen = {p for c in taxonomy.CLASSES for p in c.unseen}
    partial = 0
    for row in read_manifest(tiny_corpus):
        for src in row["sources"]:
            assert src["label"] in taxonomy.BY_LABEL
            assert len(src["captions"]) >= 2 and not unseen & set(src["captions"])
            wave, rate = read(tiny_corpus, src["path"])
            n = int(np.ceil(len(wave) / 640))
            mask = frames_from_spans(src["activity"], n)
            assert mask.any()
            for a, b in src["activity"]:
                assert 0 <= a < b <= row["duration"] + 1e-6
                assert abs(a / FRAME_SECONDS - round(a / FRAME_SECONDS)) < 1e-6  # on the 40 ms grid
            frames = np.pad(wave, (0, n * 640 - len(wave))).reshape(n, 640)
            energy = (frames ** 2).sum(1)
            if (~mask).any():
                partial += 1
                # nearly all energy lies inside the spans
                assert energy[~mask].sum() < 0.01 * energy.sum()
    assert partial >= 10  # many sources are active only in parts of their clip


def test_scenes_are_playable_and_boxes_map_clicks(tiny_corpus):
    rows = [r for r in read_manifest(tiny_corpus) if r["video"]]
    assert len(rows) >= 0.25 * sum(PRESETS["tiny"].counts.values())
    for row in rows[:4]:
        video = load_video(tiny_corpus / row["video"])
        n_frames = round(row["duration"] * row["video_fps"])
        assert video.frames.shape == (n_frames, 3, 224, 224)
        audio, rate = load_audio(tiny_corpus / row["video"], sample_rate=16000)
        mix, _ = read(tiny_corpus, row["mixture"])
        n = min(len(mix), audio.shape[1])
        corr = np.corrcoef(audio[0, :n].numpy(), mix[:n])[0, 1]
        assert corr > 0.5 or n < 16000  # the scene's audio track is the mixture (AAC delay aside)
        drawn = [k for k, s in enumerate(row["sources"]) if s["boxes"] is not None]
        assert drawn == [k for k, s in enumerate(row["sources"]) if s["label"] != "background noise"]
        boxes = [s["boxes"] for s in row["sources"]]
        for k in drawn:
            assert len(boxes[k]) == n_frames
            for x0, y0, x1, y1 in boxes[k]:
                assert 0 <= x0 < x1 <= 224 and 0 <= y0 < y1 <= 224
        # the object drawn last is on top: a click on its centre selects it
        top = drawn[-1]
        x0, y0, x1, y1 = boxes[top][0]
        assert source_at(boxes, 0, (x0 + x1) / 2, (y0 + y1) / 2) == top
        # the box really holds the emoji: its pixels differ from the frame around it
        frame = video.frames[0].float()
        inside = frame[:, y0:y1, x0:x1]
        assert inside.std() > 10


def test_splits_are_disjoint_in_sentences(tiny_corpus):
    texts = {split: set() for split in SPLITS}
    for row in read_manifest(tiny_corpus):
        for src in row["sources"]:
            if "text" in src["attributes"]:
                texts[row["split"]] |= {s.strip() + "." for s in src["attributes"]["text"].split(".") if s.strip()}
    assert texts["train"]
    assert not texts["train"] & texts["val"] and not texts["train"] & texts["test"] and not texts["val"] & texts["test"]


def test_small_plan_covers_every_class_in_every_split():
    preset = PRESETS["small"]
    jobs = plan(preset, seed=0)
    for split in SPLITS:
        split_jobs = [j for j in jobs if j.split == split]
        assert len(split_jobs) >= (2000 if split == "train" else 200)
        assert {l for j in split_jobs for l in j.labels} == set(taxonomy.TARGET_LABELS)
        assert sum(j.video for j in split_jobs) >= 0.25 * len(split_jobs)
    assert len(taxonomy.TARGET_LABELS) >= 26
    assert 4.0 <= preset.duration[0] and preset.duration[1] <= 6.0
    assert plan(preset, seed=0) == jobs and plan(preset, seed=1) != jobs


def test_rendering_is_deterministic(tmp_path):
    _init_worker(SOUNDFONTS["default"])
    job = Job("train", 3, ("violin", "female speech", "drum kit"), True, True)
    rows = [render_mixture(job, tmp_path / name, PRESETS["tiny"], 5, "default") for name in ("a", "b")]
    assert rows[0] == rows[1]
    for src in rows[0]["sources"]:
        a, _ = sf.read(tmp_path / "a" / src["path"])
        b, _ = sf.read(tmp_path / "b" / src["path"])
        np.testing.assert_array_equal(a, b)
    other = render_mixture(job, tmp_path / "c", PRESETS["tiny"], 6, "default")
    assert other["sources"][0]["activity"] != rows[0]["sources"][0]["activity"] or \
        other["sources"][0]["captions"] != rows[0]["sources"][0]["captions"]


@pytest.mark.slow
def test_multi_variant_draws_a_soundfont_per_clip(tmp_path):
    _init_worker(SOUNDFONTS["multi"])
    fonts = set()
    for index in range(8):
        job = Job("train", index, ("violin", "piano", "male speech"), False, False)
        row = render_mixture(job, tmp_path / "multi", PRESETS["tiny"], 0, "multi")
        fonts |= {s["soundfont"] for s in row["sources"] if s["label"] != "male speech"}
        assert [s["soundfont"] for s in row["sources"] if s["label"] == "male speech"] == [None]
        again = render_mixture(job, tmp_path / "again", PRESETS["tiny"], 0, "multi")
        assert again == row  # still deterministic
    assert fonts == {"FluidR3_GM.sf2", "MuseScore_General.sf3", "sf_GMbank.sf2"}


def _pitch_spread(wave: np.ndarray, rate: int) -> float:
    """90th percentile of |cents| from the median pitch (pYIN, 300-600 Hz, 2-cent resolution)."""
    import librosa

    f0, voiced, _ = librosa.pyin(wave, fmin=300, fmax=600, sr=rate, frame_length=1024, hop_length=160,
                                 resolution=0.02)
    cents = 1200 * np.log2(f0[voiced])
    return float(np.percentile(np.abs(cents - np.median(cents)), 90))


@pytest.mark.slow
def test_expressive_variant_plays_with_vibrato_and_stays_deterministic(tmp_path):
    from recipes.data.expression import perform
    from recipes.data.synth import Note, Renderer

    violin = taxonomy.get("violin")
    note = [Note(0.0, 2.0, 69, 90)]
    plain = Renderer(SOUNDFONTS["multi"][0])
    played = Renderer(SOUNDFONTS["expressive"][0], expressive=True)
    rng = np.random.default_rng(3)
    notes, controls, attrs = perform(violin, note, 2.0, rng)
    assert attrs["vibrato_hz"] and controls and all(c[1] in (2, 3) for c in controls)
    dry = plain.render(note, 2.0, violin.bank, violin.program)
    wet = played.render(notes, 2.0, violin.bank, violin.program, controls)
    # after the vibrato's onset delay the expressive note wavers in pitch; the plain one holds it
    # (the soundfont's violin sample has a little vibrato of its own: 6-14 cents)
    assert _pitch_spread(wet[8000:28000], 16000) - _pitch_spread(dry[8000:28000], 16000) > 0.4 * attrs["vibrato_cents"]
    # guitars bend, drums keep no controls but are phrased; effects are not played at all
    assert perform(taxonomy.get("drum kit"), note, 2.0, np.random.default_rng(0))[1] == []
    _init_worker(SOUNDFONTS["expressive"][:1], expressive=True)  # one soundfont: quicker, and enough here
    job = Job("train", 2, ("flute", "electric guitar", "bird song"), False, False)
    row = render_mixture(job, tmp_path / "a", PRESETS["tiny"], 0, "expressive")
    assert render_mixture(job, tmp_path / "b", PRESETS["tiny"], 0, "expressive") == row
    for src in row["sources"]:
        np.testing.assert_array_equal(sf.read(tmp_path / "a" / src["path"])[0], sf.read(tmp_path / "b" / src["path"])[0])
    by_label = {s["label"]: s["attributes"] for s in row["sources"]}
    assert "vibrato_hz" in by_label["flute"] and "detune_cents" in by_label["electric guitar"]
    assert "phrase" not in by_label["bird song"]


@pytest.mark.slow
def test_build_resumes_after_interruption(tiny_corpus, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_corpus, copy)
    before = (copy / "manifest.jsonl").read_text()
    # an interruption: the manifest was never written, one shard never finished
    (copy / "manifest.jsonl").unlink()
    (copy / ".shards" / "train-00001.jsonl").unlink()
    lost = json.loads(before.splitlines()[8])  # first row of the second shard
    (copy / lost["mixture"]).unlink()
    build("tiny", copy, seed=0, progress=False)
    assert (copy / "manifest.jsonl").read_text() == before
    assert (copy / lost["mixture"]).exists()
    # a finished build is not redone
    mtime = (copy / "manifest.jsonl").stat().st_mtime_ns
    build("tiny", copy, seed=0, progress=False)
    assert (copy / "manifest.jsonl").stat().st_mtime_ns == mtime
    with pytest.raises(SoundSiftError, match="--force"):
        build("tiny", copy, seed=1, progress=False)


def test_unknown_preset_is_refused(tmp_path):
    with pytest.raises(SoundSiftError, match="unknown preset"):
        build("huge", tmp_path)

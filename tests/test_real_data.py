"""Real recordings in the data engine, on the small packages the set-up installs (asterisk voices, the
hydrogen drum kit, qabcs' one-clip-per-thing recordings, keyboard clicks as ambience)."""

import json
from collections import defaultdict

import numpy as np
import pytest
import soundfile as sf

from recipes.data.real import build, check_clip, recordings
from recipes.data.real_sources import CATALOG

TEST_PACKAGES = {"asterisk-core-sounds-en-wav", "asterisk-core-sounds-it-wav", "hydrogen-data", "qabcs-data",
                 "bucklespring-data"}
CATALOG_HERE = [e for e in CATALOG if e.package in TEST_PACKAGES]


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    if not recordings(CATALOG_HERE):
        pytest.skip("the real-recording packages are not installed (make setup installs them)")
    out = tmp_path_factory.mktemp("real")
    build(out, counts={"train": 8, "val": 3, "test": 6}, progress=False, catalog=CATALOG_HERE)
    return out


@pytest.mark.slow
def test_clips_carry_their_provenance_and_never_share_a_recording_across_splits(real):
    clips = [json.loads(line) for line in (real / "clips.jsonl").read_text().splitlines()]
    assert clips and all(c["package"] in TEST_PACKAGES and c["licence"] and c["file"] and c["recording"] for c in clips)
    splits_of = defaultdict(set)
    for c in clips:
        splits_of[c["recording"]].add(c["split"])
    assert all(len(s) == 1 for s in splits_of.values())
    speakers = {c["recording"]: c["sex"] for c in clips if "speech" in c["label"]}
    assert speakers == {"allison-en": "female", "carlo-it": "male"}
    assert {c["split"] for c in clips} >= {"train", "test"}
    for c in clips[:20]:  # normalised where active, never clipped
        x, rate = sf.read(real / c["path"], dtype="float32")
        assert rate == 16000 and np.abs(x).max() <= 0.96 and c["duration"] >= 0.8
    rejected = [json.loads(line) for line in (real / "rejected.jsonl").read_text().splitlines()]
    assert all(r["reason"] for r in rejected)


def test_a_clip_is_rejected_for_a_reason():
    rng = np.random.default_rng(0)
    assert check_clip(np.zeros(32000, dtype=np.float32))[1]  # silence
    burst = np.zeros(16000 * 5, dtype=np.float32)
    burst[:2000] = 0.5 * rng.standard_normal(2000)
    assert "shorter than 0.8 s" in check_clip(burst)[1]  # 0.125 s of sound in 5 s: trimmed to under 0.8 s
    tone = (0.3 * np.sin(np.arange(16000 * 3) / 7)).astype(np.float32)
    clip, reason, active = check_clip(tone)
    assert reason is None and abs(20 * np.log10(np.sqrt(np.mean(clip ** 2))) + 20) < 0.5


@pytest.mark.slow
def test_real_mixtures_are_a_corpus_the_evals_read(real):
    from recipes.data.build import read_manifest

    for split in ("train", "test"):
        rows = read_manifest(real, split)
        assert rows, split
        for row in rows:
            mix = sf.read(real / row["mixture"], dtype="int16")[0].astype(np.int64)
            parts = [sf.read(real / s["path"], dtype="int16")[0].astype(np.int64) for s in row["sources"]]
            assert np.array_equal(mix, np.clip(sum(parts), -32768, 32767))  # exactly the sum of its sources
            targets = [s for s in row["sources"] if s["target"]]
            assert 2 <= len(targets) <= 3 and len({s["label"] for s in targets}) == len(targets)
            assert all(s["attributes"]["package"] in TEST_PACKAGES for s in row["sources"])
            assert all(s["captions"][0] for s in targets)
    clips = {json.loads(line)["recording"]: json.loads(line)["split"] for line in (real / "clips.jsonl").read_text().splitlines()}
    for row in read_manifest(real, "test"):
        assert all(clips[s["attributes"]["recording"]] == "test" for s in row["sources"] if s["label"] != "background")


def test_speech_benchmark_takes_noise_from_the_speech_split_only(tmp_path):
    from recipes.separation.speech_peers import mixtures

    rng, clips = np.random.default_rng(0), []
    for split, label, count in (("test", "male speech", 2), ("test", "background", 2), ("train", "background", 3),
                                ("val", "background", 1)):
        for i in range(count):
            path = f"{split}-{label.replace(' ', '-')}-{i}.flac"
            sf.write(tmp_path / path, (0.1 * rng.standard_normal(16000)).astype(np.float32), 16000)
            clips.append({"split": split, "label": label, "path": path})
    (tmp_path / "clips.jsonl").write_text("".join(json.dumps(c) + "\n" for c in clips))
    def head(x):  # a clip's first samples at unit spread: which clip a rescaled noise came from
        return x[:100] / x[:100].std()

    heads = [(head(sf.read(tmp_path / c["path"], dtype="float32")[0]), c["split"]) for c in clips
             if c["label"] == "background"]

    def splits(**kw):
        found = set()
        for clean, noise, sex in mixtures(tmp_path, "test", 12, **kw):
            assert clean.shape == noise.shape == (5 * 16000,) and sex == "male"
            snr = 10 * np.log10(np.sum(clean ** 2) / np.sum(noise ** 2))
            assert -5.01 <= snr <= 5.01
            found |= {split for h, split in heads if np.allclose(h, head(noise), atol=1e-3)}
        return found

    assert splits() == {"test"}  # test speech meets test ambience only, never one trained on
    assert splits(noise_split="train") == {"train"}


def test_noisy_copy_lays_each_mixture_over_its_own_splits_ambience(tmp_path):
    from recipes.data.build import read_manifest
    from recipes.data.noisy import build
    from soundsift.errors import SoundSiftError

    rng, src = np.random.default_rng(0), tmp_path / "src"
    rows, clips = [], []
    for split in ("val", "test"):
        amb = f"clips/{split}-ambience.flac"
        (src / "clips").mkdir(parents=True, exist_ok=True)
        sf.write(src / amb, (0.05 * rng.standard_normal(8000)).astype(np.float32), 16000)  # shorter: looped
        clips.append({"split": split, "label": "background", "path": amb})
        for i in range(2):
            folder = src / split / f"{split}-{i}"
            folder.mkdir(parents=True)
            parts = [(0.2 * np.sin(np.arange(32000) * (0.01 + 0.02 * k))).astype(np.float32) for k in range(2)]
            for k, part in enumerate(parts):
                sf.write(folder / f"s{k}.flac", part, 16000)
            sf.write(folder / "mixture.flac", parts[0] + parts[1], 16000)
            rows.append({"id": f"{split}-{i}", "split": split, "mixture": f"{split}/{split}-{i}/mixture.flac",
                         "sample_rate": 16000, "duration": 2.0, "num_sources": 2,
                         "sources": [{"path": f"{split}/{split}-{i}/s{k}.flac", "label": "violin", "target": True}
                                     for k in range(2)]})
    (src / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (src / "clips.jsonl").write_text("".join(json.dumps(c) + "\n" for c in clips))
    out = tmp_path / "noisy"
    build(src, out, snr=(3.0, 6.0), progress=False)
    for split in ("val", "test"):
        for row in read_manifest(out, split):
            assert row["num_sources"] == 2 and row["sources"][-1]["label"] == "background"
            assert not row["sources"][-1]["target"] and all(s["target"] for s in row["sources"][:2])
            waves = [sf.read(out / s["path"], dtype="float32")[0] for s in row["sources"]]
            mix = sf.read(out / row["mixture"], dtype="float32")[0]
            assert np.abs(mix - sum(waves)).max() < 1e-3  # the mixture is its sources, ambience included
            ratio = 10 * np.log10(np.mean(sum(waves[:2]) ** 2) / np.mean(waves[2] ** 2))
            assert 3.0 - 0.01 <= ratio <= 6.0 + 0.01
    with pytest.raises(SoundSiftError, match="exists"):
        build(src, out, progress=False)  # nothing replaced without force
    (src / "clips.jsonl").write_text(json.dumps(clips[0]) + "\n")  # no test-split ambience
    with pytest.raises(SoundSiftError, match="no ambience clips in the test split"):
        build(src, tmp_path / "other", progress=False)


def test_a_recording_with_a_fixed_split_takes_it_and_moves_no_other():
    """Recordings added to training later (fillets-ng-data-cs) leave every other recording's split, and so
    the validation and test splits, as they were, even when the addition is the class's largest."""
    from recipes.data.real import assign_splits
    from recipes.data.real_sources import Entry

    entry = Entry("male speech", "pkg", (), "GPL-2+", "folder")
    recs = [{"label": "male speech", "entry": entry, "group": f"speaker-{i}", "files": ["f"] * (3 + i)}
            for i in range(12)]
    before = assign_splits(recs)
    assert {"train", "val", "test"} <= set(before.values())
    added = Entry("male speech", "pkg2", (), "GPL-2", "new-speaker", split="train")
    after = assign_splits(recs + [{"label": "male speech", "entry": added, "group": "new-speaker", "files": ["f"] * 99}])
    assert after.pop("new-speaker") == "train" and after == before


def test_skipping_a_package_the_catalog_lacks_is_one_error_line(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "cli", "data", "real", "--out", tmp_path / "real", "--skip", "nope"],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.strip().splitlines() == [
        "soundsift: error: --skip nope: not a package of the catalog (recipes/data/real_sources.py)"]
    assert not (tmp_path / "real").exists()


def test_later_additions_train_only_and_come_after_the_rest():
    """Recordings added later (`--more`) must leave validation and test as they were and the ingest's random
    draws for every earlier recording unchanged: fixed to training, and last in the catalog."""
    first_more = next(i for i, e in enumerate(CATALOG) if e.more)
    assert all(e.more for e in CATALOG[first_more:])
    assert all(e.split == "train" for e in CATALOG[first_more:])


def test_a_soundfont_kit_is_ingested_as_drum_patterns_of_its_own_samples(tmp_path):
    from recipes.data.real import ingest

    kit = [e for e in CATALOG if e.kind == "sf2kit"]
    if not recordings(kit):
        pytest.skip("avldrums.lv2-soundfont is not installed (make setup installs it)")
    ingest(tmp_path, progress=False, catalog=kit)
    clips = [json.loads(line) for line in (tmp_path / "clips.jsonl").read_text().splitlines()]
    assert len(clips) == 40 and {c["label"] for c in clips} == {"drum kit"} and {c["split"] for c in clips} == {"train"}
    assert {c["file"] for c in clips} == {"/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2"}
    assert {c["licence"] for c in clips} == {"GPL-2+"} and {c["kind"] for c in clips} == {"sf2kit"}
    waves = [sf.read(tmp_path / c["path"])[0] for c in clips[:6]]
    assert all(4.0 <= len(w) / 16000 <= 5.0 for w in waves)  # 5 s patterns, trimmed where the last hit fades
    # patterns, not one clip repeated: their envelopes differ
    env = [np.abs(w[: 4 * 16000]).reshape(-1, 400).max(axis=1) for w in waves]
    assert min(np.abs(a - b).mean() for i, a in enumerate(env) for b in env[i + 1:]) > 0.01

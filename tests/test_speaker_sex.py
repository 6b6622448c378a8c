"""Speaker sex from pitch (recipes/data/speaker_sex.py) on speech rendered by espeak-ng's male and
female voice variants, whose sex is known."""

import subprocess

import pytest
import soundfile as sf

from recipes.data.speaker_sex import median_f0, sex_from_pitch

SENTENCE = "The quick brown fox jumps over the lazy dog while the band plays on"


@pytest.mark.parametrize("voice,sex", [("en+m1", "male"), ("en+m3", "male"), ("en-us+m7", "male"),
                                       ("en+f2", "female"), ("en+f3", "female"), ("en-us+f4", "female")])
def test_espeak_voices_are_told_apart_by_pitch(tmp_path, voice, sex):
    path = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), SENTENCE], check=True, capture_output=True)
    wave, rate = sf.read(path, dtype="float32")
    f0 = median_f0(wave, rate)
    assert 70 <= f0 <= 400 and sex_from_pitch(f0) == sex, f0


def test_silence_has_no_pitch():
    import numpy as np

    assert sex_from_pitch(median_f0(np.zeros(16000, np.float32), 16000)) is None


def _say(tmp_path, voice: str, text: str):
    path = tmp_path / f"{voice}-{abs(hash(text))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
    return sf.read(path, dtype="float32")


LINES = ["The quick brown fox jumps over the lazy dog", "A violin plays in the next room",
         "Bring the map to the captain", "Rain fell on the old tin roof"]


def test_a_speaker_is_told_by_most_of_their_lines_and_a_mixed_sample_is_left_unclear(tmp_path):
    import numpy as np

    from recipes.data.speaker_sex import recording_sex

    man = [_say(tmp_path, "en+m3", t) for t in LINES]
    woman = [_say(tmp_path, "en+f3", t) for t in LINES]
    rate = man[0][1]
    silent = np.zeros(rate, np.float32)
    assert recording_sex([w for w, _ in man] + [silent], rate)[0] == "male"  # an unvoiced line does not count
    assert recording_sex([w for w, _ in woman], rate)[0] == "female"
    sex, detail = recording_sex([w for w, _ in man[:2] + woman[:2]], rate)  # two speakers under one name
    assert sex is None and detail == "2 of 4 voiced lines under 165 Hz"
    assert recording_sex([silent], rate) == (None, "no voiced line")


def test_a_speaker_told_by_pitch_must_have_a_fixed_split():
    from recipes.data.real_sources import Entry

    with pytest.raises(ValueError, match="fixed split"):
        Entry("speech", "pkg", (), "GPL-2", "someone", "pitch")
    assert Entry("speech", "pkg", (), "GPL-2", "someone", "pitch", split="train").split == "train"


def test_the_ingest_labels_a_speaker_by_pitch_and_leaves_out_one_it_cannot_tell(tmp_path):
    import json

    from recipes.data.real import ingest
    from recipes.data.real_sources import Entry

    for voice, folder in (("en+m3", "him"), ("en+f3", "her"), ("en+m3", "both"), ("en+f3", "both")):
        (tmp_path / folder).mkdir(exist_ok=True)
        for i, text in enumerate(LINES[:3]):
            wave, rate = _say(tmp_path, voice, text)
            sf.write(tmp_path / folder / f"{voice}-{i}.wav", wave, rate)
    catalog = [Entry("speech", "espeak-ng", (str(tmp_path / name / "*.wav"),), "GPL-3+", name, "pitch", split="train")
               for name in ("him", "her", "both")]
    out = ingest(tmp_path / "corpus", progress=False, catalog=catalog)
    clips = [json.loads(line) for line in (out / "clips.jsonl").read_text().splitlines()]
    assert {(c["recording"], c["label"], c["sex"]) for c in clips} == {("him", "male speech", "male"),
                                                                       ("her", "female speech", "female")}
    assert all(c["path"].startswith(f"clips/train/{c['label'].replace(' ', '-')}/") for c in clips)
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    assert [r["recording"] for r in rejected] == ["both"] and "sex unclear by pitch" in rejected[0]["reason"]

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

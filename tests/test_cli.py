"""The `soundsift` command end to end, with the shipped models and the shipped examples."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "test" / "test-000001"


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def test_separate_writes_stems_that_sum_to_the_input(tmp_path):
    out = tmp_path / "sep"
    proc = run("separate", EXAMPLE / "mixture.flac", "--text", "a woman speaking", "--text", "a piano", "-o", out)
    assert proc.returncode == 0, proc.stderr
    paths = [Path(p) for p in proc.stdout.split()]
    assert [p.name for p in paths] == ["a-woman-speaking.wav", "a-piano.wav", "residual.wav"]
    assert all(p.parent == out / "separator-small" / "mixture" for p in paths)
    mix, rate = sf.read(EXAMPLE / "mixture.flac", dtype="float32")
    stems = [sf.read(p, dtype="float32")[0] for p in paths]
    assert all(s.shape == mix.shape for s in stems)
    np.testing.assert_allclose(sum(stems), mix, atol=1e-5)
    # an existing output is not overwritten without --force, and nothing changes
    before = [p.stat().st_mtime_ns for p in paths]
    again = run("separate", EXAMPLE / "mixture.flac", "--text", "a woman speaking", "--text", "a piano", "-o", out)
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0 and "--force" in again.stderr
    assert [p.stat().st_mtime_ns for p in paths] == before
    forced = run("separate", EXAMPLE / "mixture.flac", "--text", "a woman speaking", "--text", "a piano", "-o", out,
                 "--force", "--quiet")
    assert forced.returncode == 0


def test_an_absent_prompt_is_reported_with_its_stem_level(tmp_path):
    proc = run("separate", EXAMPLE / "mixture.flac", "--text", "a helicopter", "--text", "a piano", "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    notes = [line for line in proc.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "'a helicopter' does not seem to be in mixture.flac" in notes[0]  # the piano is there
    mix, _ = sf.read(EXAMPLE / "mixture.flac", dtype="float64")
    stem, _ = sf.read(tmp_path / "separator-small" / "mixture" / "a-helicopter.wav", dtype="float64")
    written = -10 * np.log10(((stem ** 2).sum() + 1e-20) / (mix ** 2).sum())  # dB below the input
    said = notes[0].split("its stem is ")[1]
    if said.startswith("silent"):  # past 120 dB the note says so instead of a figure
        assert written > 120
    else:
        assert abs(float(said.split(" dB")[0]) - written) < 1 and 25 < written <= 120


@pytest.mark.slow
def test_speech_of_either_sex_is_one_stem_of_both_speech_classes(tmp_path):
    """'speech' names no sex: the stem is the union of the two speech classes' masks, and holds the voice."""
    proc = run("separate", EXAMPLE / "mixture.flac", "--text", "speech", "--text", "a piano", "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "note: 'speech' is one stem holding 'a man speaking' and 'a woman speaking'" in proc.stderr
    folder = tmp_path / "separator-small" / "mixture"
    mix = sf.read(EXAMPLE / "mixture.flac", dtype="float64")[0]
    voice = sf.read(EXAMPLE / "s2-female-speech.flac", dtype="float64")[0]
    stem = sf.read(folder / "speech.wav", dtype="float64")[0]
    gain = (stem @ voice) / (voice @ voice)  # SI-SDR against the voice, before and after
    before = (mix @ voice) / (voice @ voice)
    si_sdr = 10 * np.log10(np.sum((gain * voice) ** 2) / np.sum((stem - gain * voice) ** 2))
    si_sdr_mix = 10 * np.log10(np.sum((before * voice) ** 2) / np.sum((mix - before * voice) ** 2))
    assert si_sdr > si_sdr_mix + 3
    assert abs(10 * np.log10(np.sum(stem ** 2) / np.sum(voice ** 2))) < 3  # at the voice's level
    stems = [sf.read(folder / n, dtype="float64")[0] for n in ("speech.wav", "a-piano.wav", "residual.wav")]
    np.testing.assert_allclose(sum(stems), mix, atol=1e-5)


@pytest.mark.slow
def test_an_absent_voice_of_one_sex_is_reported_with_the_prompt_for_either(tmp_path):
    proc = run("separate", EXAMPLE / "s0-piano.flac", "--text", "a woman speaking", "--text", "a violin", "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    notes = [line for line in proc.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 2 and all("does not seem to be in s0-piano.flac" in n for n in notes)
    assert notes[0].endswith("for a voice of either sex ask for 'speech'") and "speech" not in notes[1]


@pytest.mark.slow
def test_separate_accepts_video_spans_and_audio_queries(tmp_path):
    out = tmp_path / "sep"
    query = ROOT / "examples" / "test" / "test-000003" / "s1-violin.flac"
    proc = run("separate", EXAMPLE / "scene.mp4", "--audio-query", query, "--span", "+0.5:2.0", "--span", "-4:5",
               "-o", out)
    assert proc.returncode == 0, proc.stderr
    names = [Path(p).name for p in proc.stdout.split()]
    assert names == ["audio-query.wav", "residual.wav"]


def test_separate_by_clicks_on_the_video(tmp_path):
    """Each click on an object of the shipped scene gives its own stem, named after the click."""

    row = next(json.loads(line) for line in (ROOT / "examples" / "manifest.jsonl").open()
               if json.loads(line)["id"] == EXAMPLE.name)
    clicks = []
    for s in row["sources"]:
        x0, y0, x1, y1 = s["boxes"][30]
        clicks += ["--click", f"3:{(x0 + x1) // 2}:{(y0 + y1) // 2}"]
    out = tmp_path / "sep"
    proc = run("separate", EXAMPLE / "scene.mp4", *clicks, "-o", out)
    assert proc.returncode == 0, proc.stderr
    paths = [Path(p) for p in proc.stdout.split()]
    assert [p.name for p in paths] == [f"click-{c.replace(':', 's-', 1).replace(':', '-')}.wav" for c in clicks[1::2]] \
        + ["residual.wav"]
    stems = [sf.read(p, dtype="float32")[0] for p in paths]
    mix = sf.read(paths[-1], dtype="float32")[0] + sum(stems[:-1])
    assert all(np.abs(s).max() > 0 for s in stems[:-1]) and np.abs(mix).max() > 0.01
    # a click whose picture the separator does not read surely is read by its timing, and says as what
    vocabulary = json.loads((ROOT / "separation" / "pretrained" / "separator-small" / "config.json").read_text())
    notes = [line for line in proc.stderr.splitlines() if "the sound that moves with the clicked object" in line]
    assert notes and all(line.split("was read as '")[1].split("'")[0] in vocabulary["click_vocabulary"] for line in notes)


def _nan_wav(path):
    x = np.zeros(16000, dtype=np.float32)
    x[5] = np.nan
    sf.write(path, x, 16000, subtype="FLOAT")
    return path


@pytest.mark.parametrize("case", ["missing", "empty", "nan", "silent", "no-prompt", "empty-text", "empty-union", "bad-span",
                                  "span-outside", "corrupt", "click-outside", "click-late", "click-no-video",
                                  "bad-click", "second-silent", "second-short-for-span", "same-name", "too-short"])
def test_bad_input_gives_one_line_and_writes_nothing(tmp_path, case):
    out = tmp_path / "sep"
    good = EXAMPLE / "mixture.flac"
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "corrupt.mp3").write_bytes(b"ID3" + bytes(range(256)) * 20)
    sf.write(tmp_path / "silent.wav", np.zeros(16000, dtype=np.float32), 16000)
    sf.write(tmp_path / "short.wav", 0.1 * np.sin(np.arange(16000, dtype=np.float32) / 5), 16000)
    sf.write(tmp_path / "blip.wav", 0.1 * np.sin(np.arange(300, dtype=np.float32) / 3), 44100)  # 7 ms
    (tmp_path / "other").mkdir()
    sf.write(tmp_path / "other" / "mixture.wav", 0.1 * np.sin(np.arange(16000, dtype=np.float32) / 5), 16000)
    args = {
        "missing": [tmp_path / "nope.wav", "--text", "a violin"],
        "empty": [tmp_path / "empty.wav", "--text", "a violin"],
        "nan": [_nan_wav(tmp_path / "nan.wav"), "--text", "a violin"],
        "silent": [tmp_path / "silent.wav", "--text", "a violin"],
        "no-prompt": [good],
        "empty-text": [good, "--text", "  "],
        "empty-union": [good, "--text", "a violin | "],
        "bad-span": [good, "--text", "a violin", "--span", "1:2"],
        "span-outside": [good, "--text", "a violin", "--span", "+5:60"],
        "corrupt": [tmp_path / "corrupt.mp3", "--text", "a violin"],
        "click-outside": [EXAMPLE / "scene.mp4", "--click", "1:500:20"],
        "click-late": [EXAMPLE / "scene.mp4", "--click", "60:20:20"],
        "click-no-video": [good, "--click", "1:20:20"],
        "bad-click": [EXAMPLE / "scene.mp4", "--click", "20,20"],
        # several inputs: a bad later one stops the run before the good first one is written
        "second-silent": [good, tmp_path / "silent.wav", "--text", "a violin"],
        "second-short-for-span": [good, tmp_path / "short.wav", "--text", "a violin", "--span", "+2:3"],
        "too-short": [tmp_path / "blip.wav", "--text", "a violin"],
        "same-name": [good, tmp_path / "other" / "mixture.wav", "--text", "a violin"],  # one output folder
    }[case]
    proc = run("separate", *args, "-o", out)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("soundsift: error:"), proc.stderr
    assert not out.exists()
    if case.startswith("second") or case == "same-name":
        assert str(args[1]) in lines[0]  # the line names the file


@pytest.mark.slow  # over 8 s: CI runs it (make test ALL=1)
def test_spans_and_classify_print_results():
    proc = run("spans", EXAMPLE / "mixture.flac", "--text", "a telephone ringing", "--text", "a woman speaking")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("a telephone ringing:")
    labels = ["a violin", "a telephone ringing", "a helicopter"]
    proc = run("classify", EXAMPLE / "s1-telephone-ring.flac", "--labels", *labels)
    assert proc.returncode == 0, proc.stderr
    ranked = [line.split("  ", 1)[1] for line in proc.stdout.strip().splitlines()]
    assert sorted(ranked) == sorted(labels)
    scores = [float(line.split()[0]) for line in proc.stdout.strip().splitlines()]
    assert scores == sorted(scores, reverse=True)
    known = run("classify", EXAMPLE / "s1-telephone-ring.flac")  # no labels: the separator's known sounds
    assert known.returncode == 0, known.stderr
    named = [line.split("  ", 1)[1] for line in known.stdout.strip().splitlines()]
    assert len(named) == 5 and len(set(named)) == 5 and named[0] == "a telephone ringing"
    as_json = json.loads(run("classify", EXAMPLE / "s1-telephone-ring.flac", "--json").stdout)
    assert [r["label"] for r in as_json] == named
    assert run("classify", EXAMPLE / "s1-telephone-ring.flac", "--top", "0").returncode == 1
    assert run("spans", EXAMPLE / "mixture.flac", "--text", "").returncode == 1

    def spans_of(*options):
        proc = run("spans", EXAMPLE / "mixture.flac", "--text", "a woman speaking", "--json", *options)
        assert proc.returncode == 0, proc.stderr
        return [tuple(s) for s in json.loads(proc.stdout)["a woman speaking"]]

    raw, joined = spans_of("--min-gap", "0", "--min-length", "0"), spans_of()
    assert len(joined) < len(raw)  # speech's short pauses are closed
    for a, b in raw:  # every raw run long enough to keep lies inside a joined span
        assert b - a < 0.12 or any(a >= c - 1e-6 and b <= d + 1e-6 for c, d in joined)
    assert all(c - b >= 0.3 - 1e-6 for (_, b), (c, _) in zip(joined, joined[1:]))
    bad = run("spans", EXAMPLE / "mixture.flac", "--text", "speech", "--min-gap", "-1")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1


@pytest.mark.slow  # over 8 s: CI runs it (make test ALL=1)
def test_spans_of_a_sound_the_separator_hears_as_absent_get_a_note(tmp_path):
    proc = run("spans", EXAMPLE / "mixture.flac", "--text", "a helicopter", "--text", "a woman speaking",
               "--text", "a dog barking")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("a helicopter: ") and "none" not in proc.stdout.splitlines()[0]  # frames flag some
    notes = [line for line in proc.stderr.splitlines() if "does not seem to be in" in line]
    assert len(notes) == 1 and notes[0].startswith("note: 'a helicopter' does not seem to be in mixture.flac")
    # a wording the separator does not know: it says what it reads it as, since its verdict is on that
    assert any(line.startswith("note: 'a dog barking' is like none of the") for line in proc.stderr.splitlines())
    # the same verdict, to the digit, as `soundsift separate` gives the same prompt on the same file
    sep = run("separate", EXAMPLE / "mixture.flac", "--text", "a helicopter", "-o", tmp_path / "out")
    assert sep.returncode == 0, sep.stderr
    presence = re.search(r"\(presence (\d\.\d\d)", notes[0]).group(1)
    assert f"(presence {presence})" in sep.stderr
    quiet = run("spans", EXAMPLE / "mixture.flac", "--text", "a helicopter", "--no-presence")
    assert quiet.stdout == proc.stdout.splitlines()[0] + "\n" and "note:" not in quiet.stderr


@pytest.mark.slow  # over 8 s: CI runs it (make test ALL=1)
def test_a_long_compressed_input_shows_progress_while_checked_and_separated(tmp_path):
    mix, rate = sf.read(EXAMPLE / "mixture.flac", dtype="float32")
    long = np.tile(mix, int(40 * rate / len(mix)) + 1)[: 40 * rate]  # over the 30 s that turn the bars on
    sf.write(tmp_path / "long.wav", long, rate)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(tmp_path / "long.wav"), str(tmp_path / "long.mp3")], check=True)
    proc = run("separate", tmp_path / "long.mp3", "--text", "a woman speaking", "-o", tmp_path / "sep")
    assert proc.returncode == 0, proc.stderr
    assert "checking long.mp3" in proc.stderr and "separating" in proc.stderr
    target = sf.read(tmp_path / "sep" / "separator-small" / "long" / "a-woman-speaking.wav", dtype="float32")[0]
    assert abs(len(target) - len(long)) < 2000  # mp3 pads a little
    quiet = run("separate", tmp_path / "long.mp3", "--text", "a woman speaking", "-o", tmp_path / "sep", "--force",
                "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""


@pytest.mark.slow  # over 8 s: CI runs it (make test ALL=1)
def test_integer_and_flac_outputs_clip_at_full_scale_and_say_so(tmp_path):
    mix, rate = sf.read(EXAMPLE / "mixture.flac", dtype="float32")
    loud = mix * (1.6 / np.abs(mix).max())  # a float wav past full scale
    sf.write(tmp_path / "loud.wav", loud, rate, subtype="FLOAT")
    proc = run("separate", tmp_path / "loud.wav", "--text", "a woman speaking", "--format", "flac", "-o", tmp_path / "sep")
    assert proc.returncode == 0, proc.stderr
    paths = [Path(p) for p in proc.stdout.split()]
    assert [p.name for p in paths] == ["a-woman-speaking.flac", "residual.flac"]
    assert sf.info(paths[0]).subtype == "PCM_24" and sf.info(paths[0]).samplerate == rate
    assert "clipped at full scale" in proc.stderr
    stems = [sf.read(p, dtype="float32")[0] for p in paths]
    assert all(np.abs(s).max() <= 1.0 for s in stems)
    float_run = run("separate", tmp_path / "loud.wav", "--text", "a woman speaking", "-o", tmp_path / "float", "--quiet")
    exact = [sf.read(tmp_path / "float" / p.relative_to(tmp_path / "sep").with_suffix(".wav"), dtype="float32")[0]
             for p in paths]
    np.testing.assert_allclose(sum(exact), loud, atol=1e-5)
    inside = np.abs(exact[0]) < 0.99
    np.testing.assert_allclose(stems[0][inside], exact[0][inside], atol=1e-6)  # 24-bit: same stem where unclipped
    assert float_run.returncode == 0
    bad = run("separate", tmp_path / "loud.wav", "--text", "a", "--format", "mp3", "-o", tmp_path / "sep")
    assert bad.returncode != 0 and "invalid choice" in bad.stderr


def test_an_output_folder_that_cannot_be_made_gives_one_line(tmp_path):
    (tmp_path / "taken").write_text("a file where the output folder should go")
    proc = run("separate", EXAMPLE / "mixture.flac", "--text", "a piano", "-o", tmp_path / "taken")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write there" in lines[0], proc.stderr
    assert (tmp_path / "taken").read_text().startswith("a file")


@pytest.mark.slow  # over 8 s: CI runs it (make test ALL=1)
@pytest.mark.parametrize("damage", ["truncated-weights", "bad-config", "other-weights"])
def test_a_damaged_model_folder_gives_one_line(tmp_path, damage):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(ROOT / "separation" / "pretrained" / "separator-small", model)
    weights = model / "model.safetensors"
    if damage == "truncated-weights":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "bad-config":
        (model / "config.json").write_text("{not json")
    else:  # a readable file with the wrong tensors in it
        shutil.copy(ROOT / "encoders" / "pretrained" / "peav-small" / "model.safetensors", weights)
    proc = run("separate", EXAMPLE / "mixture.flac", "--text", "a piano", "--model", model, "-o", tmp_path / "sep")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a usable model folder" in lines[0], proc.stderr
    assert not (tmp_path / "sep").exists()


@pytest.mark.slow
def test_a_wording_the_model_does_not_know_is_told_what_it_is_read_as(tmp_path):
    proc = run("separate", EXAMPLE / "mixture.flac", "--text", "drums", "--text", "a piano", "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "note: 'drums' is read as 'a drum kit' (similarity" in proc.stderr
    assert "'a piano' is read as" not in proc.stderr  # a description the model knows needs no note

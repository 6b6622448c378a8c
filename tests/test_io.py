import math
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from soundsift.errors import MediaError
from soundsift.io import load_audio, load_video, probe, save_audio, save_video


def tone(seconds=1.0, rate=16000, channels=1, freq=440.0):
    t = torch.arange(int(seconds * rate)) / rate
    wave = 0.5 * torch.sin(2 * math.pi * freq * t)
    return torch.stack([wave * (1 - 0.3 * c) for c in range(channels)])


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_soundfile_formats_round_trip(tmp_path, suffix):
    wave = tone(channels=2)
    path = save_audio(tmp_path / f"a{suffix}", wave, 16000)
    back, rate = load_audio(path)
    assert rate == 16000 and back.shape[0] == 2
    assert abs(back.shape[1] - wave.shape[1]) <= 1024  # ogg may pad a little
    n = min(back.shape[1], wave.shape[1])
    tol = 1e-6 if suffix == ".wav" else 5e-2
    assert torch.allclose(back[:, :n], wave[:, :n], atol=tol)


@pytest.mark.parametrize("suffix,codec", [(".mp3", "libmp3lame"), (".m4a", "aac")])
def test_compressed_formats_decode_through_ffmpeg(tmp_path, suffix, codec):
    wav = save_audio(tmp_path / "a.wav", tone(seconds=2.0, rate=44100), 44100)
    out = tmp_path / f"a{suffix}"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-c:a", codec, str(out)], check=True)
    back, rate = load_audio(out, sample_rate=16000, mono=True)
    assert rate == 16000 and back.shape[0] == 1
    assert abs(back.shape[1] - 32000) < 2000
    spectrum = torch.fft.rfft(back[0, 4000:20000]).abs()
    peak_hz = spectrum.argmax().item() * 16000 / 16000
    assert abs(peak_hz - 440) < 5  # the tone survived decoding and resampling


def test_resample_changes_rate_and_length(tmp_path):
    path = save_audio(tmp_path / "a.wav", tone(rate=48000), 48000)
    back, rate = load_audio(path, sample_rate=16000)
    assert rate == 16000 and back.shape == (1, 16000)


def test_video_round_trip_with_audio(tmp_path):
    frames = torch.zeros(20, 3, 64, 96, dtype=torch.uint8)
    frames[:, 0] = torch.arange(20, dtype=torch.uint8)[:, None, None] * 12  # red ramps over time
    path = save_video(tmp_path / "v.mp4", frames, fps=10, audio=tone(seconds=2.0), sample_rate=16000)
    info = probe(path)
    assert info["audio"] is not None and info["video"] is not None
    video = load_video(path)
    assert video.frames.dtype == torch.uint8 and video.frames.shape[1:] == (3, 64, 96)
    assert video.frames.shape[0] == 20 and video.fps == 10
    assert torch.allclose(video.timestamps[:3], torch.tensor([0.0, 0.1, 0.2], dtype=torch.float64))
    red = video.frames[:, 0].float().mean(dim=(1, 2))
    assert red[-1] > red[0] + 100
    audio, rate = load_audio(path)
    assert rate == 16000 and abs(audio.shape[1] - 32000) < 2048
    resized = load_video(path, fps=5, size=32)
    assert resized.frames.shape == (10, 3, 32, 32)


def test_video_without_audio_track_is_refused(tmp_path):
    path = save_video(tmp_path / "silent.mp4", torch.zeros(5, 3, 32, 32, dtype=torch.uint8), fps=5)
    with pytest.raises(MediaError, match="no audio track"):
        load_audio(path)


def test_load_video_names_what_is_wrong_even_when_the_caller_skipped_probing(tmp_path):
    # fps and size given: load_video does not probe first (a long video's chunks), so a bad file is only
    # found when ffmpeg fails; the error must still say why.
    audio_only = save_audio(tmp_path / "speech.wav", tone(), 16000)
    for kwargs in ({}, {"fps": 5, "size": 32}):
        with pytest.raises(MediaError, match="has no video track"):
            load_video(audio_only, **kwargs)
        with pytest.raises(MediaError, match="no such file"):
            load_video(tmp_path / "nope.mp4", **kwargs)


def test_missing_empty_and_non_media(tmp_path):
    with pytest.raises(MediaError, match="no such file"):
        load_audio(tmp_path / "nope.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        load_audio(tmp_path / "empty.wav")
    (tmp_path / "text.mp3").write_text("this is not audio at all\n" * 50)
    with pytest.raises(MediaError, match="not a readable media file|could not be decoded"):
        load_audio(tmp_path / "text.mp3")
    (tmp_path / "junk.wav").write_bytes(np.random.default_rng(0).bytes(4000))
    with pytest.raises(MediaError, match="not a readable audio file"):
        load_audio(tmp_path / "junk.wav")


def test_truncated_files(tmp_path):
    wav = save_audio(tmp_path / "a.wav", tone(), 16000)
    data = wav.read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match="truncated"):
        load_audio(tmp_path / "cut.wav")
    mp4 = save_video(tmp_path / "v.mp4", torch.zeros(10, 3, 32, 32, dtype=torch.uint8), 5, tone(2.0), 16000)
    (tmp_path / "cut.mp4").write_bytes(mp4.read_bytes()[:300])
    with pytest.raises(MediaError):
        load_audio(tmp_path / "cut.mp4")


def test_zero_length_and_nan(tmp_path):
    sf.write(tmp_path / "zero.wav", np.zeros((0, 1), dtype=np.float32), 16000)
    with pytest.raises(MediaError, match="no audio samples"):
        load_audio(tmp_path / "zero.wav")
    bad = np.zeros(1600, dtype=np.float32)
    bad[10] = np.nan
    sf.write(tmp_path / "nan.wav", bad, 16000, subtype="FLOAT")
    with pytest.raises(MediaError, match="NaN or Inf"):
        load_audio(tmp_path / "nan.wav")
    with pytest.raises(MediaError, match="NaN/Inf"):
        save_audio(tmp_path / "out.wav", torch.tensor([[0.0, float("inf")]]), 16000)
    assert not (tmp_path / "out.wav").exists()


def test_save_is_atomic_and_does_not_overwrite(tmp_path):
    path = save_audio(tmp_path / "a.wav", tone(), 16000)
    before = path.read_bytes()
    with pytest.raises(MediaError, match="already exists"):
        save_audio(path, tone(freq=880), 16000)
    assert path.read_bytes() == before
    save_audio(path, tone(freq=880), 16000, overwrite=True)
    assert path.read_bytes() != before
    with pytest.raises(MediaError):
        save_video(tmp_path / "v.mp4", torch.zeros(4, 3, 33, 32, dtype=torch.uint8), 5)  # odd height
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]  # no temp files left behind


def test_cli_reports_one_line_error(tmp_path):
    out = tmp_path / "corpus"
    out.mkdir()
    (out / "build.json").write_text('{"preset": "small", "seed": 3}')
    proc = subprocess.run([sys.executable, "-m", "cli", "data", "build", "--preset", "tiny", "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("soundsift: error:") and "--force" in lines[0]


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    umask = os.umask(0)
    os.umask(umask)
    path = save_audio(tmp_path / "a.wav", np.zeros((1, 1600), dtype=np.float32), 16000)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


@pytest.mark.parametrize("orig,new", [(44100, 16000), (16000, 44100), (48000, 16000), (22050, 16000), (96000, 8000)])
def test_resampling_a_stream_equals_the_whole_signal(orig, new):
    import torchaudio.functional as AF

    from soundsift.resample import StreamResampler, resample_blocks

    gen = torch.Generator().manual_seed(0)
    wave = torch.randn(2, orig + 7, generator=gen)
    whole = AF.resample(wave, orig, new)
    blocks = list(resample_blocks(wave, orig, new, block_seconds=0.05))  # many block edges in a second
    assert torch.allclose(torch.cat(blocks, dim=-1), whole, atol=1e-6)
    # pushed in pieces of random size, unrelated to the resampler's blocks: same output, bounded buffer
    resampler, out, pos, held = StreamResampler(orig, new, block_seconds=0.05), [], 0, 0
    while pos < wave.shape[-1]:
        n = int(torch.randint(1, orig // 40, (1,), generator=gen))
        out.append(resampler.push(wave[:, pos: pos + n]))
        held = max(held, resampler.buffer.shape[-1])
        pos += n
    out.append(resampler.flush())
    assert sum(o.shape[-1] for o in out[:-1]) > 0  # output came before the end
    assert torch.allclose(torch.cat(out, dim=-1), whole, atol=1e-6)
    assert held <= resampler.block + 2 * resampler.margin + orig // 40


def test_long_audio_is_written_and_read_in_blocks(tmp_path, monkeypatch):
    import soundsift.io as io

    monkeypatch.setattr(io, "BLOCK_FRAMES", 1000)
    wave = torch.randn(2, 4567, generator=torch.Generator().manual_seed(1)) * 0.1
    back, rate = load_audio(save_audio(tmp_path / "a.wav", wave, 16000))
    assert rate == 16000 and torch.equal(back, wave)
    # NaN in a late block: refused, and no file (not even a partial one) is left behind
    wave[1, 3500] = float("nan")
    with pytest.raises(MediaError, match="NaN"):
        save_audio(tmp_path / "b.wav", wave, 16000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]


def test_load_mono_equals_loading_whole_then_downmixing_and_resampling(tmp_path, monkeypatch):
    import soundsift.io as io
    import soundsift.resample as resampling
    from soundsift.io import load_mono
    from soundsift.resample import resample

    wave = torch.randn(2, 44100 * 3 + 17, generator=torch.Generator().manual_seed(2)) * 0.1
    path = save_audio(tmp_path / "st.wav", wave, 44100)
    monkeypatch.setattr(io, "BLOCK_FRAMES", 10000)
    monkeypatch.setattr(resampling, "RESAMPLE_BLOCK_SECONDS", 0.7)
    assert torch.allclose(load_mono(path, 16000), resample(wave.mean(0, keepdim=True), 44100, 16000), atol=1e-6)
    bad = np.zeros(1600, dtype=np.float32)
    bad[10] = np.nan
    sf.write(tmp_path / "nan.wav", bad, 16000, subtype="FLOAT")
    with pytest.raises(MediaError, match="NaN"):
        load_mono(tmp_path / "nan.wav", 16000)


def test_biquads_match_torchaudios():
    """soundsift.filters computes torchaudio's biquads (same cookbook coefficients) without its slow loop."""
    import torchaudio.functional as AF

    from soundsift.filters import lowpass, peaking_eq

    x = (0.1 * np.random.default_rng(0).standard_normal(4000)).astype(np.float32)
    want = AF.equalizer_biquad(torch.from_numpy(x), 16000, 1200.0, -7.0, 1.3).numpy()
    np.testing.assert_allclose(peaking_eq(x, 16000, 1200.0, -7.0, 1.3), want, atol=1e-5)
    want = AF.lowpass_biquad(AF.lowpass_biquad(torch.from_numpy(x), 16000, 3500.0), 16000, 3500.0).numpy()
    np.testing.assert_allclose(lowpass(x, 16000, 3500.0, stages=2), want, atol=1e-5)

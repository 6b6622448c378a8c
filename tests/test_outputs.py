"""What the command line and the data engine write: never lost, mixed up, half-written or misplaced.
Each case reproduces a way the old code lost or misplaced output."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from soundsift.errors import SoundSiftError
from soundsift.outputs import FolderLock

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "test" / "test-000001" / "mixture.flac"


def run(*args, cwd=None, wait=True):
    cmd = [sys.executable, "-m", "cli", *map(str, args)]
    if not wait:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_two_runs_on_one_track_never_replace_each_other(tmp_path):
    out = tmp_path / "sep"
    procs = [run("separate", EXAMPLE, "--text", "a piano", "-o", out, wait=False) for _ in range(2)]
    results = [(p.wait(), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, err in results if code == 1)
    assert "being written by another run" in loser or "already exists" in loser
    stems = sorted((out / "separator-small" / "mixture").iterdir())
    assert [p.name for p in stems] == ["a-piano.wav", "residual.wav"]
    mix = sf.read(EXAMPLE, dtype="float32")[0]
    np.testing.assert_allclose(sum(sf.read(p, dtype="float32")[0] for p in stems), mix, atol=1e-5)
    # a track folder held by a live run: refused at once, nothing touched
    with FolderLock(out / "separator-small" / "mixture"):
        held = run("separate", EXAMPLE, "--text", "a piano", "-o", out, "--force")
    assert held.returncode == 1 and "being written by another run" in held.stderr
    assert held.stderr.strip().count("\n") == 0


@pytest.mark.slow
def test_a_stem_set_is_committed_as_a_group(tmp_path):
    out = tmp_path / "sep"
    assert run("separate", EXAMPLE, "--text", "a piano", "-o", out).returncode == 0
    track = out / "separator-small" / "mixture"
    residual = (track / "residual.wav").read_bytes()
    (track / "a-piano.wav").unlink()
    (track / "a-piano.wav").mkdir()  # something that is not a stem where a stem goes
    proc = run("separate", EXAMPLE, "--text", "a piano", "--text", "a woman speaking", "-o", out, "--force")
    assert proc.returncode == 1 and "not replacing" in proc.stderr
    assert (track / "residual.wav").read_bytes() == residual and (track / "a-piano.wav").is_dir()
    assert sorted(p.name for p in out.rglob("*")) == sorted(["separator-small", "mixture", "residual.wav", "a-piano.wav"])


def test_a_failed_write_leaves_no_stem_and_no_temp_files(tmp_path):
    import torch

    from separation.stems import write_stems

    class Failing:  # a StreamedSeparation whose input breaks after its first block
        prompts, names, sample_rate, channels = ["a violin"], ["a-violin", "residual"], 16000, 1

        def blocks(self):
            yield torch.zeros(1, 1, 1000), torch.zeros(1, 1000)
            raise SoundSiftError("input changed while being read")

    with pytest.raises(SoundSiftError):
        write_stems(tmp_path / "track", Failing())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_killed_run_leaves_nothing_the_next_run_does_not_clean(tmp_path):
    long = tmp_path / "long.wav"
    rng = np.random.default_rng(0)
    sf.write(long, (0.1 * rng.standard_normal(16000 * 600)).astype(np.float32), 16000)
    out = tmp_path / "sep"
    proc = run("separate", long, "--text", "a piano", "-o", out, "--quiet", wait=False)
    model_dir = out / "separator-small"
    deadline = time.time() + 120
    while time.time() < deadline and not list(model_dir.glob(".long.*.part")):
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    staged = list(model_dir.glob(".long.*.part"))
    assert staged and not (model_dir / "long").exists()  # killed mid-write: no track, a staging folder
    again = run("separate", long, "--text", "a piano", "-o", out, "--quiet")
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in model_dir.iterdir()) == ["long"]  # the dead run's leftovers are gone
    assert sorted(p.name for p in (model_dir / "long").iterdir()) == ["a-piano.wav", "residual.wav"]


@pytest.mark.slow  # over 8 s: CI runs it (make test ALL=1)
def test_names_stay_inside_the_output_folder_and_within_limits(tmp_path):
    dots = tmp_path / "...wav"
    dots.write_bytes(EXAMPLE.with_suffix(".flac").read_bytes())
    dots_flac = tmp_path / "...flac"
    dots.rename(dots_flac)
    model = tmp_path / "models" / "mine"
    import shutil

    shutil.copytree(ROOT / "separation" / "pretrained" / "separator-small", model)
    (model / "sub").mkdir()
    out = tmp_path / "out"
    wide = "𠀀" * 100  # 400 bytes of 4-byte letters
    proc = run("separate", dots_flac, "--model", model / "sub" / "..", "-o", out, "--text", wide,
               *sum((["--text", "a violin"] for _ in range(50)), []))
    assert proc.returncode == 0, proc.stderr
    track = out / "mine" / "track"  # neither '..' as a track nor as a model climbs out of OUT
    names = sorted(p.name for p in track.iterdir())
    assert len(names) == 52 and "residual.wav" in names
    assert {"a-violin.wav", "a-violin-2.wav", "a-violin-50.wav"} <= set(names)
    assert not [n for n in names if "-2-2" in n]  # duplicates numbered once
    wide_name = next(n for n in names if n.startswith("𠀀"))
    assert len(wide_name.encode()) <= 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["...flac", "models", "out"]


@pytest.mark.slow  # over 8 s: CI runs it (make test ALL=1)
def test_a_file_named_like_an_ffmpeg_protocol_is_read_as_a_file(tmp_path):
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(EXAMPLE), str(tmp_path / "concat:x.mp3")], check=True)
    proc = run("separate", "concat:x.mp3", "--text", "a piano", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "separator-small" / "concat:x" / "a-piano.wav").is_file()


def test_a_click_after_the_picture_ends_says_so(tmp_path):
    video = tmp_path / "short.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=64x64:d=2:r=10", "-f", "lavfi",
                    "-i", "sine=f=440:d=5", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(video)],
                   check=True)
    proc = run("separate", video, "--click", "3:20:20", "-o", tmp_path / "out")
    assert proc.returncode == 1 and "past the end of the video (2.00 s; the audio goes on to 5.00 s)" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_data_engine_workers_die_with_it_and_a_second_build_waits_its_turn(tmp_path):
    from recipes.data.build import build, read_manifest

    out = tmp_path / "tiny"
    proc = subprocess.Popen([sys.executable, "-m", "cli", "data", "build", "--preset", "tiny", "--out", str(out),
                             "--workers", "2", "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, workers = time.time() + 60, []
    while time.time() < deadline and len(workers) < 2:
        workers = [c for c in children(proc.pid) if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        time.sleep(0.05)
    assert len(workers) == 2
    with pytest.raises(SoundSiftError, match="being written by another run"):
        build("tiny", out, progress=False)  # no race with the build in progress
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(alive(w) for w in workers):
        time.sleep(0.05)
    assert not any(alive(w) for w in workers)  # no orphan goes on writing shards
    (out / "train").mkdir(exist_ok=True)
    (out / "train" / "train-000000").mkdir(exist_ok=True)
    (out / "train" / "train-000000" / ".mixture.abcd.part.flac").write_bytes(b"half")  # as a killed write leaves
    manifest = build("tiny", out, progress=False)
    assert len(read_manifest(manifest)) == 36
    assert not list(out.rglob("*.part*"))

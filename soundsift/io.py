"""Audio and video I/O shared by every part of SoundSift.

Audio comes back as float32 ``[channels, samples]`` tensors, video as uint8 ``[T, 3, H, W]``.
wav/flac/ogg go through libsndfile (soundfile); every other container (mp3, m4a, mp4, mkv,
webm, ...) is decoded by the ffmpeg binary, which torchaudio 2.9 would need anyway (via
torchcodec) and which keeps decoding identical across formats.
Long inputs are read a block at a time through :class:`AudioFile` (``load_audio`` reads a file
whole). Writes are atomic: a temp file in the target folder, then ``os.replace``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from soundsift.errors import MediaError
from soundsift.resample import resample, resample_stream

SOUNDFILE_EXTENSIONS = {".wav", ".flac", ".ogg"}
VIDEO_EXTENSIONS = {".mp4", ".mkv", ".webm", ".mov", ".avi"}
BLOCK_FRAMES = 1 << 18  # audio is read and written in blocks of this many frames (6 s at 44.1 kHz)


def _require_binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise MediaError(f"'{name}' is not installed; SoundSift needs it to read this format (apt-get install ffmpeg)")
    return found


def ffmpeg_path(path: str | os.PathLike) -> str:
    """A file path as ffmpeg must be given it: 'file:' first, or a file named like a protocol
    ('concat:a|b', 'http:...', 'subfile,,...') would be read as that protocol."""
    return "file:" + os.fspath(path)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise MediaError(f"{path}: no such file")
    if path.is_dir():
        raise MediaError(f"{path}: is a folder, not a media file")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: file is empty")


def probe(path: str | os.PathLike) -> dict:
    """ffprobe's view of a media file: ``{"audio": stream|None, "video": stream|None, "duration": s}``."""
    path = Path(path)
    _check_file(path)
    cmd = [_require_binary("ffprobe"), "-v", "error", "-print_format", "json", "-show_streams", "-show_format",
           ffmpeg_path(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise MediaError(f"{path}: not a readable media file (corrupt, truncated or not audio/video)")
    info = json.loads(proc.stdout or "{}")
    streams = info.get("streams", [])
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    video = next(
        (s for s in streams if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")),
        None,
    )
    if audio is None and video is None:
        raise MediaError(f"{path}: not a readable media file (no audio or video stream)")
    duration = float(info.get("format", {}).get("duration", "nan") or "nan")
    return {"audio": audio, "video": video, "duration": duration}


def _validate_wave(path: Path, wave: np.ndarray) -> None:
    if wave.size == 0 or wave.shape[-1] == 0:
        raise MediaError(f"{path}: contains no audio samples (zero length)")
    if not np.isfinite(wave).all():
        raise MediaError(f"{path}: contains NaN or Inf samples")


def _wav_is_truncated(path: Path, info: sf._SoundFileInfo) -> bool:
    """libsndfile silently reads what is there; compare the declared data size with the real one."""
    if info.format != "WAV" or info.subtype in ("IMA_ADPCM", "MS_ADPCM", "GSM610"):
        return False
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    pos = 12
    while pos + 8 <= len(head):
        chunk, size = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk == b"data":
            return size != 0xFFFFFFFF and pos + 8 + size > path.stat().st_size
        pos += 8 + size + (size & 1)
    return False


def _soundfile_blocks(path: Path, block_frames: int, start: int = 0, frames: int = -1):
    """float32 [C, n] blocks of a wav/flac/ogg file, from frame ``start``, ``frames`` of them (-1: to the end)."""
    try:
        info = sf.info(str(path))
        if _wav_is_truncated(path, info):
            raise MediaError(f"{path}: truncated audio file (data ends before its header says)")
        with sf.SoundFile(str(path)) as f:
            if start:
                f.seek(min(start, f.frames))
            for block in f.blocks(block_frames, frames=frames, dtype="float32", always_2d=True):
                yield np.ascontiguousarray(block.T)
    except MediaError:
        raise
    except (sf.LibsndfileError, RuntimeError, ValueError) as err:
        raise MediaError(f"{path}: not a readable audio file (corrupt or not {path.suffix[1:]}): {err}") from None


def _ffmpeg_blocks(path: Path, rate: int, channels: int, block_frames: int, start: float = 0.0,
                   seconds: float | None = None):
    """float32 [C, n] blocks of a file's first audio track, decoded by ffmpeg as they are read (the
    pipe is read a block at a time, so a long file is never held whole)."""
    seek = (["-ss", f"{start:.6f}"] if start > 0 else []) + (["-t", f"{seconds:.6f}"] if seconds is not None else [])
    cmd = [_require_binary("ffmpeg"), "-v", "error", "-nostdin", *seek, "-i", ffmpeg_path(path), "-map", "0:a:0",
           "-f", "f32le", "-acodec", "pcm_f32le", "-ac", str(channels), "-ar", str(rate), "-"]
    frame_bytes = 4 * channels
    # stderr to a file, not a pipe: a corrupt file's error flood must not fill a pipe nobody reads yet
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        try:
            while True:
                data = proc.stdout.read(block_frames * frame_bytes)
                if len(data) < frame_bytes:
                    break
                data = data[: len(data) - len(data) % frame_bytes]
                yield np.frombuffer(data, dtype="<f4").reshape(-1, channels).T.copy()
            proc.wait()
        finally:
            if proc.poll() is None:  # the reader stopped early
                proc.kill()
                proc.wait()
            proc.stdout.close()
        err.seek(0)
        if proc.returncode != 0:
            raise MediaError(f"{path}: audio track could not be decoded (corrupt or truncated)")
        if b"Invalid data" in err.read():
            raise MediaError(f"{path}: audio track is corrupt or truncated")


def _collect(blocks, channels: int) -> np.ndarray:
    parts = list(blocks)
    return np.concatenate(parts, axis=1) if parts else np.zeros((channels, 0), np.float32)


class AudioFile:
    """A file's audio (or a video's audio track) read a block at a time: ``blocks()`` streams it,
    ``read(a, b)`` decodes one stretch, ``scan()`` checks the whole of it in one pass. Long inputs
    go through SoundSift this way, so memory does not grow with their duration."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        _check_file(self.path)
        self._soundfile = self.path.suffix.lower() in SOUNDFILE_EXTENSIONS
        self._stats = None
        if self._soundfile:
            try:
                info = sf.info(str(self.path))
            except (sf.LibsndfileError, RuntimeError, ValueError) as err:
                raise MediaError(f"{self.path}: not a readable audio file (corrupt or not {self.path.suffix[1:]}): {err}") from None
            self.sample_rate, self.channels = int(info.samplerate), int(info.channels)
            self.seconds = info.frames / max(self.sample_rate, 1)  # as the header says; scan() counts
        else:
            info = probe(self.path)
            stream, self.seconds = info["audio"], info["duration"] if math.isfinite(info["duration"]) else 0.0
            if stream is None:
                raise MediaError(f"{self.path}: has no audio track")
            self.sample_rate, self.channels = int(stream.get("sample_rate") or 0), int(stream.get("channels") or 0)
            if self.sample_rate <= 0 or self.channels <= 0:
                raise MediaError(f"{self.path}: audio track has no sample rate or channels (corrupt?)")

    def blocks(self, block_frames: int | None = None):
        """float32 tensors [C, n], consecutive, the last one shorter."""
        block_frames = block_frames or BLOCK_FRAMES
        raw = (_soundfile_blocks(self.path, block_frames) if self._soundfile
               else _ffmpeg_blocks(self.path, self.sample_rate, self.channels, block_frames))
        for block in raw:
            yield torch.from_numpy(block)

    def read(self, start: int, end: int) -> torch.Tensor:
        """Frames [start, end) as [C, n] (fewer where the file ends sooner)."""
        if self._soundfile:
            parts = _soundfile_blocks(self.path, BLOCK_FRAMES, start=start, frames=end - start)
        else:
            parts = _ffmpeg_blocks(self.path, self.sample_rate, self.channels, BLOCK_FRAMES,
                                   start=start / self.sample_rate, seconds=(end - start) / self.sample_rate)
        return torch.from_numpy(_collect(parts, self.channels)[:, : end - start])

    def scan(self, progress: bool = False) -> "AudioStats":
        """Decode the whole file once (cached): its length, peak and energy; MediaError if unusable.
        ``progress``: a bar in seconds of audio (a long compressed file takes a while to decode)."""
        if self._stats is None:
            from tqdm import tqdm

            frames, peak, energy = 0, 0.0, 0.0
            with tqdm(total=round(self.seconds), unit="s", desc=f"checking {self.path.name}", disable=not progress,
                      bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} s") as bar:
                for block in self.blocks():
                    if not torch.isfinite(block).all():
                        raise MediaError(f"{self.path}: contains NaN or Inf samples")
                    frames += block.shape[-1]
                    peak = max(peak, float(block.abs().max()))
                    energy += float(torch.linalg.vector_norm(block)) ** 2
                    bar.update(block.shape[-1] / self.sample_rate)
            if frames == 0:
                raise MediaError(f"{self.path}: contains no audio samples (zero length)")
            self._stats = AudioStats(frames, peak, energy)
        return self._stats


class AudioTensor:
    """A waveform [C, T] already in memory, with the same interface as :class:`AudioFile`."""

    def __init__(self, wave: torch.Tensor, sample_rate: int):
        self.wave, self.sample_rate = wave, int(sample_rate)
        self.channels = wave.shape[0]
        self._stats = None

    def blocks(self, block_frames: int | None = None):
        block_frames = block_frames or BLOCK_FRAMES
        for a in range(0, self.wave.shape[-1], block_frames):
            yield self.wave[:, a: a + block_frames]

    def read(self, start: int, end: int) -> torch.Tensor:
        return self.wave[:, start:end]

    def scan(self) -> "AudioStats":
        """Its length, peak and energy (cached, as for a file: callers ask more than once)."""
        if self._stats is None:
            if self.wave.shape[-1] == 0:
                raise MediaError("input contains no audio samples (zero length)")
            if not torch.isfinite(self.wave).all():
                raise MediaError("input contains NaN or Inf samples")
            peak = max(float(self.wave.max()), -float(self.wave.min()))  # no full-length abs() copy
            self._stats = AudioStats(self.wave.shape[-1], peak, float(torch.linalg.vector_norm(self.wave)) ** 2)
        return self._stats


@dataclass
class AudioStats:
    frames: int
    peak: float
    energy: float  # sum of squares over every channel and sample


def mono_blocks(audio, sample_rate: int):
    """An :class:`AudioFile`'s (or :class:`AudioTensor`'s) audio down-mixed and resampled to
    ``sample_rate``, as consecutive blocks [1, n]."""
    return resample_stream((block.mean(0, keepdim=True) for block in audio.blocks()), audio.sample_rate, sample_rate)


def load_mono(path: str | os.PathLike, sample_rate: int) -> torch.Tensor:
    """A file's audio down-mixed and resampled a block at a time: [1, T] at ``sample_rate``, never
    holding the file itself whole (a 20-min 44.1 kHz stereo file is 423 MB; its 16 kHz mono, 77 MB)."""
    audio = AudioFile(path)
    audio.scan()
    return torch.cat(list(mono_blocks(audio, sample_rate)), dim=-1)


def _load_soundfile(path: Path) -> tuple[np.ndarray, int]:
    info = sf.info(str(path))
    # blocks straight into [C, T]: sf.read's [T, C] array and its transpose would be two more
    # full-length copies of a long file
    data = np.empty((info.channels, info.frames), dtype=np.float32)
    pos = 0
    for block in _soundfile_blocks(path, BLOCK_FRAMES):
        if pos + block.shape[1] > data.shape[1]:  # a header that undercounts its frames
            data = np.concatenate([data, np.empty((info.channels, block.shape[1]), np.float32)], axis=1)
        data[:, pos: pos + block.shape[1]] = block
        pos += block.shape[1]
    return data[:, :pos], int(info.samplerate)


def load_audio(path: str | os.PathLike, sample_rate: int | None = None, mono: bool = False) -> tuple[torch.Tensor, int]:
    """Load any supported audio file or the audio track of a video.

    Returns ``(wave [C, T] float32, rate)``; resampled to ``sample_rate`` and/or down-mixed when asked.
    Raises MediaError with a one-line reason for anything unusable.
    """
    audio = AudioFile(path)
    if audio._soundfile:
        data, rate = _load_soundfile(audio.path)
    else:
        data = _collect(_ffmpeg_blocks(audio.path, audio.sample_rate, audio.channels, BLOCK_FRAMES), audio.channels)
        rate = audio.sample_rate
    _validate_wave(audio.path, data)
    wave = torch.from_numpy(data)
    if mono and wave.shape[0] > 1:
        wave = wave.mean(0, keepdim=True)
    if sample_rate is not None and sample_rate != rate:
        wave = resample(wave, rate, sample_rate)
        rate = sample_rate
    return wave, rate


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = False):
    """Yield a temp path beside ``path`` (same suffix); move it into place only if the block succeeds."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise MediaError(f"{path}: already exists (use --force to overwrite)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent)
    except OSError as err:
        raise MediaError(f"{path.parent}: cannot write there ({err.strerror or err})") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; outputs get the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_audio(path: str | os.PathLike, wave: torch.Tensor | np.ndarray, sample_rate: int,
               subtype: str | None = None, overwrite: bool = False) -> Path:
    """Write ``wave [C, T]`` (or ``[T]``) atomically; format from the suffix (wav/flac/ogg).

    ``subtype`` defaults to 32-bit float for wav (lossless round trip) and 16-bit for flac.
    """
    path = Path(path)
    data = wave.detach().cpu().numpy() if isinstance(wave, torch.Tensor) else np.asarray(wave)
    if data.ndim == 1:
        data = data[None]
    if data.ndim != 2 or data.shape[-1] == 0:
        raise MediaError(f"{path}: refusing to write audio of shape {tuple(data.shape)}")
    if data.dtype != np.int16:  # int16 is written as-is (exact 16-bit samples); all else as float32
        data = data.astype(np.float32, copy=False)
    with open_audio_writer(path, sample_rate, data.shape[0], subtype, overwrite) as write:
        for a in range(0, data.shape[-1], BLOCK_FRAMES):
            write(data[:, a: a + BLOCK_FRAMES])
    return path


@contextlib.contextmanager
def open_audio_writer(path: str | os.PathLike, sample_rate: int, channels: int, subtype: str | None = None,
                      overwrite: bool = False):
    """Yield ``write(block [C, n])`` that appends to a temp file, renamed to ``path`` only if the block
    succeeds: long audio is written a block at a time, never as one transposed full-length copy."""
    path = Path(path)
    if path.suffix.lower() not in SOUNDFILE_EXTENSIONS:
        raise MediaError(f"{path}: can only write {sorted(SOUNDFILE_EXTENSIONS)} audio")
    if subtype is None:
        subtype = {".wav": "FLOAT", ".flac": "PCM_16", ".ogg": "VORBIS"}[path.suffix.lower()]
    with atomic_path(path, overwrite=overwrite) as tmp, \
            sf.SoundFile(str(tmp), "w", int(sample_rate), int(channels), subtype=subtype) as f:
        def write(block) -> None:
            block = block.detach().cpu().numpy() if isinstance(block, torch.Tensor) else np.asarray(block)
            if block.dtype != np.int16:
                block = block.astype(np.float32, copy=False)
                if not np.isfinite(block).all():
                    raise MediaError(f"{path}: refusing to write NaN/Inf samples")
            try:
                f.write(np.ascontiguousarray(block.T))
            except sf.LibsndfileError as err:  # libsndfile says only "System error." when the disk is full
                free = shutil.disk_usage(path.parent).free / 2**20
                raise MediaError(f"{path}: writing failed ({err.error_string.rstrip('.')}; {free:.0f} MB free there)") from None

        yield write


@dataclass
class Video:
    frames: torch.Tensor      # uint8 [T, 3, H, W]
    timestamps: torch.Tensor  # float64 [T], seconds
    fps: float


def _parse_rate(text: str | None) -> float:
    if not text or text in ("0/0",):
        return 0.0
    num, _, den = text.partition("/")
    return float(num) / float(den or 1)


def load_video(path: str | os.PathLike, fps: float | None = None, size: int | tuple[int, int] | None = None,
               max_frames: int | None = None, start: float = 0.0) -> Video:
    """Decode RGB frames (optionally resampled to ``fps``, resized to ``size`` = (H, W) or square, from
    ``start`` seconds on, at most ``max_frames``)."""
    path = Path(path)
    native_fps = None
    if fps is None or size is None:  # given both, the caller has probed it (a long video's chunks are not probed again)
        stream = probe(path)["video"]
        if stream is None:
            raise MediaError(f"{path}: has no video track")
        width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
        if width <= 0 or height <= 0:
            raise MediaError(f"{path}: video track has no frame size (corrupt?)")
        native_fps = _parse_rate(stream.get("avg_frame_rate")) or _parse_rate(stream.get("r_frame_rate"))
    out_fps = float(fps or native_fps or 25.0)
    filters = [f"fps={out_fps}"]
    if size is not None:
        height, width = (size, size) if isinstance(size, int) else size
        filters.append(f"scale={width}:{height}")
    seek = ["-ss", f"{start:.3f}"] if start > 0 else []
    cmd = [_require_binary("ffmpeg"), "-v", "error", "-nostdin", *seek, "-i", ffmpeg_path(path), "-map", "0:v:0",
           "-vf", ",".join(filters), "-f", "rawvideo", "-pix_fmt", "rgb24"]
    if max_frames is not None:
        cmd += ["-frames:v", str(int(max_frames))]
    frame_bytes = width * height * 3
    # Read straight into one buffer that torch then uses as it is: the frames are copied once (to
    # channels first), not four times as through communicate(), slicing and numpy.
    with subprocess.Popen(cmd + ["-"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        if max_frames is not None:
            buf, got = bytearray(frame_bytes * int(max_frames)), 0
            view = memoryview(buf)
            while got < len(buf) and (n := proc.stdout.readinto(view[got:])):
                got += n
            view.release()
            proc.stdout.read()
        else:
            buf = bytearray(proc.stdout.read())
            got = len(buf)
        code = proc.wait()
    if code != 0 or got < frame_bytes:
        if fps is not None and size is not None and probe(path)["video"] is None:  # probing was skipped above
            raise MediaError(f"{path}: has no video track")
        raise MediaError(f"{path}: video track could not be decoded (corrupt or truncated)")
    count = got // frame_bytes
    frames = torch.frombuffer(buf, dtype=torch.uint8)[: count * frame_bytes].view(count, height, width, 3)
    frames = frames.permute(0, 3, 1, 2).contiguous()
    timestamps = start + torch.arange(count, dtype=torch.float64) / out_fps
    return Video(frames=frames, timestamps=timestamps, fps=out_fps)


@contextlib.contextmanager
def open_mask_writer(path: str | os.PathLike, size: tuple[int, int], fps: float, overwrite: bool = False):
    """Yield ``write(masks)``: uint8 [N, H, W] grey frames (0 or 255) streamed into a lossless
    (FFV1) video ``path`` of ``size`` = (H, W), so a long mask is never held whole; atomic."""
    path = Path(path)
    h, w = size
    with atomic_path(path, overwrite=overwrite) as tmp:
        cmd = [_require_binary("ffmpeg"), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{w}x{h}",
               "-r", str(fps), "-i", "-", "-c:v", "ffv1", "-f", "matroska", ffmpeg_path(tmp)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            yield lambda masks: proc.stdin.write(np.ascontiguousarray(masks, dtype=np.uint8).tobytes())
            proc.stdin.close()
            error = proc.stderr.read().decode(errors="replace").strip()
            if proc.wait() != 0:
                raise MediaError(f"{path}: ffmpeg could not write the mask video: {error[-300:]}")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def save_video(path: str | os.PathLike, frames: torch.Tensor | np.ndarray, fps: float,
               audio: torch.Tensor | np.ndarray | None = None, sample_rate: int | None = None,
               overwrite: bool = False, crf: int = 28) -> Path:
    """Write an H.264/AAC mp4 from uint8 frames ``[T, 3, H, W]`` and optional audio ``[C, S]``."""
    path = Path(path)
    arr = frames.detach().cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if arr.ndim != 4 or arr.shape[1] != 3 or arr.shape[0] == 0:
        raise MediaError(f"{path}: frames must be uint8 [T, 3, H, W], got {tuple(arr.shape)}")
    n, _, h, w = arr.shape
    if h % 2 or w % 2:
        raise MediaError(f"{path}: frame height and width must be even for H.264, got {h}x{w}")
    raw = np.ascontiguousarray(arr.astype(np.uint8).transpose(0, 2, 3, 1)).tobytes()
    ffmpeg = _require_binary("ffmpeg")
    with tempfile.TemporaryDirectory() as tmpdir, atomic_path(path, overwrite=overwrite) as tmp:
        cmd = [ffmpeg, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
               "-r", str(fps), "-i", "-"]
        if audio is not None:
            if sample_rate is None:
                raise MediaError(f"{path}: audio given without its sample rate")
            wav = Path(tmpdir) / "audio.wav"
            save_audio(wav, audio, sample_rate, overwrite=True)
            cmd += ["-i", ffmpeg_path(wav), "-c:a", "aac", "-b:a", "96k"]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
                "-movflags", "+faststart", "-f", "mp4", ffmpeg_path(tmp)]
        proc = subprocess.run(cmd, input=raw, capture_output=True)
        if proc.returncode != 0:
            raise MediaError(f"{path}: ffmpeg could not write the video: {proc.stderr.decode(errors='replace').strip()[-300:]}")
    return path

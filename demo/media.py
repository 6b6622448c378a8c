"""Pictures and files the demo shows: a video frame with the click's box, the waveform with span
prompts, spectrograms on one scale, videos with a stem as their soundtrack, the stems' zip."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import numpy as np
import torch

from soundsift.errors import MediaError
from soundsift.io import ffmpeg_path, load_video

COLOURS = ["#e4572e", "#17bebb", "#ffc914", "#76b041", "#8e44ad", "#2e86ab"]


def frame_at(path: str | Path, seconds: float, side: int = 360) -> tuple[np.ndarray, tuple[int, int]]:
    """The video's frame at ``seconds`` (shorter side at most ``side`` px) as RGB [H, W, 3], and the
    video's own (width, height), to map a click on the picture back to the video's pixels."""
    from soundsift.io import probe

    info = probe(path)["video"]
    width, height = int(info["width"]), int(info["height"])
    scale = min(1.0, side / min(width, height))
    size = (max(2, round(height * scale)), max(2, round(width * scale)))
    video = load_video(path, size=size, start=max(0.0, seconds), max_frames=1)
    return video.frames[0].permute(1, 2, 0).numpy().copy(), (width, height)


def draw_boxes(frame: np.ndarray, boxes: list[tuple[float, float, float, float] | None]) -> np.ndarray:
    """The frame with each box (x0, y0, x1, y1 in the frame's pixels) outlined in its stem's colour."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    for i, box in enumerate(boxes):
        if box is None:  # a click whose object is not tracked at this time: its colour stays its own
            continue
        draw.rectangle(box, outline=COLOURS[i % len(COLOURS)], width=3)
        draw.text((box[0] + 4, box[1] + 2), str(i + 1), fill=COLOURS[i % len(COLOURS)])
    return np.asarray(image)


def _figure(rows: int, seconds: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(rows, 1, figsize=(9, 1.6 * rows + 0.4), sharex=True, squeeze=False)


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def waveform_with_spans(mono: torch.Tensor, rate: int, spans, path: Path) -> Path:
    """The input's waveform with + spans shaded green and - spans red."""
    fig, axes = _figure(1, mono.shape[-1] / rate)
    ax = axes[0, 0]
    step = max(1, mono.shape[-1] // 4000)
    t = np.arange(0, mono.shape[-1], step) / rate
    ax.plot(t, mono[::step].numpy(), color="#444", linewidth=0.5)
    for sign, a, b in spans or []:
        ax.axvspan(a, b, color="#76b041" if sign == "+" else "#e4572e", alpha=0.3)
    ax.set_xlim(0, mono.shape[-1] / rate)
    ax.set_yticks([])
    ax.set_xlabel("seconds")
    return _save(fig, path)


def spectrograms(stems: list[tuple[str, torch.Tensor]], rate: int, path: Path) -> Path:
    """Log spectrograms of [(title, mono wave)], one row each, on one time axis and one dB scale
    (the mixture's loudest bin sets the top)."""
    window = torch.hann_window(1024)
    specs = [20 * torch.log10(torch.stft(w, 1024, 256, window=window, return_complex=True).abs() + 1e-6)
             for _, w in stems]
    top = float(specs[0].max())
    seconds = stems[0][1].shape[-1] / rate
    fig, axes = _figure(len(stems), seconds)
    for ax, (title, _), spec in zip(axes[:, 0], stems, specs):
        ax.imshow(spec.numpy(), origin="lower", aspect="auto", cmap="magma", vmin=top - 80, vmax=top,
                  extent=(0, seconds, 0, rate / 2000))
        ax.set_ylabel("kHz")
        ax.set_title(title, fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("seconds")
    return _save(fig, path)


def with_soundtrack(video: str | Path, audio: str | Path, out: Path) -> Path:
    """The video's picture with ``audio`` as its soundtrack (AAC), playable in a browser."""
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", ffmpeg_path(video), "-i", ffmpeg_path(audio),
           "-map", "0:v:0", "-map", "1:a:0", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-b:a", "128k", "-shortest", "-movflags", "+faststart", ffmpeg_path(out)]
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        raise MediaError(f"{video}: could not put the stem on its picture ({proc.stderr.decode(errors='replace')[-200:]})")
    return out


def zip_folder(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in sorted(folder.iterdir()):
            z.write(item, f"{folder.name}/{item.name}")
    return out

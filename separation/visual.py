"""An object's timing from the picture: the clicked object cropped on every frame (its box followed
by :mod:`separation.track`) and run through the encoder's sync tower, which was trained to make a
picture's sequence correlate with its sound's. The separator reads that sequence as a per-frame
track beside the mixture, so a click says *when* its object sounds whatever the object looks like.

The crop keeps one size over the track (the largest box side, plus a margin; over each 30 s chunk of
a long video file) and only moves with the box's centre: an object that swells as it gets louder then
fills more of its crop, the cue the sync tower reads (a crop fitted to each frame's box would
normalise it away)."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F

CROP_MARGIN = 0.3  # the crop's side is (1 + margin) x the largest box side over the track
CROP_BATCH = 100   # frames cropped at a time: in float they take 16x their own memory
READ_BATCH = 9     # descriptions separated at a time when a click is read by its timing


def crop_side(boxes: np.ndarray, margin: float = CROP_MARGIN) -> float:
    """The crop's side in pixels for a track of boxes [T, 4] (x0, y0, x1, y1)."""
    boxes = np.asarray(boxes, np.float32)
    return float(max(np.max(boxes[:, 2] - boxes[:, 0]), np.max(boxes[:, 3] - boxes[:, 1]), 2.0) * (1 + margin))


def object_crops(frames: torch.Tensor, boxes: np.ndarray, out: int = 64, side: float | None = None) -> torch.Tensor:
    """uint8 frames [T, 3, H, W] and the object's boxes [T, 4] -> uint8 crops [T, 3, out, out] centred
    on each box, all ``side`` pixels square (default :func:`crop_side`); outside the frame is black."""
    boxes = np.asarray(boxes, np.float32)
    if len(boxes) != frames.shape[0]:
        raise ValueError(f"{len(boxes)} boxes for {frames.shape[0]} frames")
    side = crop_side(boxes) if side is None else side
    h, w = frames.shape[-2:]
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    # An affine grid per frame: one resampling call for the whole track.
    theta = torch.zeros(len(boxes), 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = side / w, side / h
    theta[:, 0, 2] = torch.from_numpy(2 * cx / w - 1)
    theta[:, 1, 2] = torch.from_numpy(2 * cy / h - 1)
    grid = F.affine_grid(theta, [len(boxes), 3, out, out], align_corners=False)
    x = frames.float()
    if side / out > 2:  # shrinking a lot: smooth first, as an antialiased resize would
        k = int(side / out)
        x = F.avg_pool2d(x, k, stride=1, padding=k // 2)[..., :h, :w]
    crops = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return crops.round().clamp(0, 255).to(torch.uint8)


def object_track(encoder, frames: torch.Tensor, fps: float, boxes: np.ndarray, side: float | None = None) -> torch.Tensor:
    """The object's sync sequence [T', d] at the encoder's video rate (cropped ``CROP_BATCH`` frames at
    a time, embedded in one pass)."""
    side = crop_side(boxes) if side is None else side
    boxes, n = np.asarray(boxes), CROP_BATCH
    crops = [object_crops(frames[a: a + n], boxes[a: a + n], side=side) for a in range(0, frames.shape[0], n)]
    return encoder.sync_video(torch.cat(crops), fps)[0]


def _place(track: torch.Tensor, first: int, frames: int, window: tuple[int, int] | None = None) -> torch.Tensor:
    """[T, d] covering output frames [first, first + T) -> [d, frames]: held at its first or last frame
    where the picture starts later or ends sooner than the sound; outside ``window`` (output frames
    [a, b)), the track's mean: after the net centres each segment (SeparatorNet.visual_frames) a segment
    that lies wholly outside reads no timing at all, as a prompt without a click."""
    idx = torch.arange(frames)
    out = track[(idx - first).clamp(0, len(track) - 1)]
    if window is not None:
        outside = (idx < window[0]) | (idx >= window[1])
        out[outside] = track.mean(0)
    return out.T.contiguous()


def click_timing(encoder, video, click, box_fraction: float, seconds: float, progress: bool = False,
                 around: float | None = None, sized: bool = False):
    """The clicked object's sync sequence over the whole input, [d, seconds x the encoder's video rate],
    and its track (a :class:`separation.click.ClickTrack`, at the frames' own rate and size in memory): the
    object outlined at the click, tracked forwards and backwards through the video
    (:mod:`separation.track`), cropped and run through the sync tower. ``video``: a file (decoded once,
    a chunk at a time; each chunk is cropped at its own size, so an object that comes nearer late in a
    long video does not shrink its early crops) or (frames uint8 [T, 3, H, W], fps).
    ``around``: only this many seconds either side of the click are tracked and read (the rest of the
    sequence carries no timing), so a click's cost does not grow with the video's length. ``sized``: the
    boxes are sized (separation/track.py ``SizeMeter``), as the size reading needs."""
    from separation.click import DECODE_FPS, ClickTrack, frame_window, track_click_file
    from separation.prompts import is_path
    from separation.track import object_box, track_frames

    rate = encoder.backend.video_fps
    frames_out = max(1, int(round(seconds * rate)))
    window = frame_window(int(round(click[0] * rate)), around, rate) if around is not None else None
    if is_path(video):
        parts = {}
        with ThreadPoolExecutor(1) as pool:  # a chunk is cropped and embedded while the next is tracked

            def crop(first: int, frames: torch.Tensor, boxes: np.ndarray) -> None:
                parts[first] = pool.submit(object_track, encoder, frames, DECODE_FPS, boxes)

            track = track_click_file(video, click, box_fraction, around=around, progress=progress, each=crop,
                                     sized=sized)
            sequence = torch.cat([parts[k].result() for k in sorted(parts)])
        return _place(sequence, int(round(track.first_frame / DECODE_FPS * rate)), frames_out, window), track
    frames, fps = torch.as_tensor(video[0]), float(video[1])
    t, x, y = click
    index = min(max(int(round(t * fps)), 0), frames.shape[0] - 1)
    lo, hi = frame_window(index, around, fps) if around is not None else (0, None)
    frames = frames[lo:hi]
    box = object_box(np.asarray(frames[index - lo]).transpose(1, 2, 0), x, y, box_fraction, sized=sized)
    boxes, fit = track_frames(frames, index - lo, box, sized=sized)
    sequence = object_track(encoder, frames, fps, boxes)
    size = tuple(frames.shape[-2:])
    return (_place(sequence, int(round(lo / fps * rate)), frames_out, window),
            ClickTrack(fps, size, size, index - lo, boxes, lo, fit))


def size_levels(track, seconds: float, db_per_size: float, floor_db: float) -> torch.Tensor:
    """The clicked object's expected level [N] in dB below its loudest, one value per video frame of the
    input's ``seconds`` (NaN where it was not tracked or its size not measured): ``db_per_size`` x (its
    box's side / its largest side - 1; the 95th percentile of its sides, as one frame
    sized wrongly would move the largest), between ``floor_db`` and 0 (SeparatorConfig.click_size_db)."""
    from separation.track import SIZE_MIN_MATCH, box_sides

    n = max(1, int(math.ceil(seconds * track.fps)))
    side = box_sides(track.boxes)
    sized = np.zeros(len(side), bool) if track.fit is None else np.nan_to_num(track.fit) >= SIZE_MIN_MATCH
    if not sized.any():
        return torch.full((n,), float("nan"))
    largest = np.percentile(side[sized], 95)  # one frame matched too large would lower every other
    level = np.clip(db_per_size * (side / largest - 1), floor_db, 0.0)
    level[~sized] = np.nan
    out = torch.full((n,), float("nan"))
    a, b = track.first_frame, min(track.first_frame + len(level), n)
    if b > a:
        out[a:b] = torch.from_numpy(level[: b - a]).float()
    return out


def sync_correlation(encoder, timing: torch.Tensor, wave: torch.Tensor, rate: int) -> float:
    """Correlation over time of an object's timing [d, N] with the sync sequence of ``wave`` [C, n]
    (0 for a near-silent wave: it moves with nothing, and the encoder refuses it)."""
    from encoders.towers import sync_similarity

    if float(wave.abs().max()) < 1e-3:
        return 0.0
    audio = encoder.sync_audio(wave, rate)[0]  # the channels' mean
    return float(sync_similarity([timing.T], [audio])[0, 0])


def box_surety(similarities: torch.Tensor, temperature: float) -> float:
    """How surely a clicked box reads as one description: the highest softmax weight of its cosines
    with the vocabulary's descriptions [1, V] (or [V]) at ``temperature``."""
    return float(torch.softmax(torch.as_tensor(similarities).flatten() / temperature, dim=-1).max())


def timing_choice(presence, sync, presence_floor: float, weight: float) -> int:
    """The description a click is read as, from each description's presence [V] and its output's sync
    correlation with the object [V] (None where it was not measured: below the floor): among those present
    (presence > ``presence_floor``; all when none is), the highest correlation + ``weight`` x log(presence)."""
    presence = np.asarray(presence, np.float64)
    present = presence > presence_floor
    if not present.any():
        present[:] = True
    score = [s + weight * np.log(max(p, 1e-6)) if ok and s is not None else -np.inf
             for p, s, ok in zip(presence, sync, present)]
    return int(np.argmax(score))


@torch.no_grad()
def timing_reading(net, encoder, queries: torch.Tensor, excerpt: torch.Tensor, timing: torch.Tensor,
                   presence_floor: float, weight: float) -> tuple[int, list[dict]]:
    """Which of ``queries`` [V, D] (the vocabulary's descriptions) is the sound that moves with a clicked
    object: each is separated from ``excerpt`` [1, n] at the net's rate (without the timing, so an output
    follows the picture only if its sound does) and read by :func:`timing_choice` against the object's
    ``timing`` [d, N] over the excerpt. Returns its index and every query's presence and correlation (only
    the present ones' correlations are measured: the others cannot be chosen)."""
    from separation.apply import SegmentStream

    outputs, presence = [], []
    for a in range(0, len(queries), READ_BATCH):  # a few queries at a time: 27 at once hold 1.4 GB
        stream = SegmentStream(net, queries[a: a + READ_BATCH], excerpt.shape[-1], segment=net.config.segment_seconds,
                               share=False)
        outputs.append(torch.cat(list(stream.run([excerpt])), dim=-1))
        presence.append(stream.presence if stream.presence is not None else torch.ones(len(outputs[-1])))
    outputs, presence = torch.cat(outputs), torch.cat(presence).tolist()
    present = [p > presence_floor for p in presence]
    measured = present if any(present) else [True] * len(presence)
    sync = [sync_correlation(encoder, timing, outputs[v], net.config.sample_rate) if measured[v] else None
            for v in range(len(presence))]
    rows = [{"presence": p, "sync": s} for p, s in zip(presence, sync)]
    return timing_choice(presence, sync, presence_floor, weight), rows

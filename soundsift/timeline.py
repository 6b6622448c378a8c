"""The 40 ms frame grid shared by the corpus' activity spans, the frame-level encoder and span prompts."""

from __future__ import annotations

import numpy as np

FRAME_SECONDS = 0.04
# How the frame-level model's frames are joined into spans, chosen on validation by
# recipes/encoders/span_smoothing.py (docs/ENCODERS.md): the setting whose number of spans per sound
# matches the true activity's, with frame F1 above the raw frames'.
SPAN_MIN_GAP, SPAN_MIN_LENGTH = 0.3, 0.12


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frame indices of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def smooth_frames(mask: np.ndarray, min_gap: float = 0.0, min_length: float = 0.0,
                  frame_seconds: float = FRAME_SECONDS) -> np.ndarray:
    """``mask`` with gaps shorter than ``min_gap`` seconds between runs closed, then runs shorter than
    ``min_length`` seconds dropped (a pause inside a sentence is not two sounds; a 40 ms blip is none)."""
    mask = np.asarray(mask, bool).copy()
    found = runs(mask)
    for (_, end), (start, _) in zip(found, found[1:]):
        if (start - end) * frame_seconds < min_gap - 1e-9:
            mask[end:start] = True
    for a, b in runs(mask):
        if (b - a) * frame_seconds < min_length - 1e-9:
            mask[a:b] = False
    return mask


def spans_from_frames(mask: np.ndarray) -> list[list[float]]:
    return [[round(a * FRAME_SECONDS, 2), round(b * FRAME_SECONDS, 2)] for a, b in runs(np.asarray(mask, bool))]


def frames_from_spans(spans, n_frames: int) -> np.ndarray:
    mask = np.zeros(n_frames, dtype=bool)
    for a, b in spans:
        mask[int(round(a / FRAME_SECONDS)): int(round(b / FRAME_SECONDS))] = True
    return mask

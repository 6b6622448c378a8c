"""The 40 ms frame grid shared by the corpus' activity spans, the frame-level encoder and span prompts."""

from __future__ import annotations

import numpy as np

FRAME_SECONDS = 0.04


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frame indices of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def spans_from_frames(mask: np.ndarray) -> list[list[float]]:
    return [[round(a * FRAME_SECONDS, 2), round(b * FRAME_SECONDS, 2)] for a, b in runs(np.asarray(mask, bool))]


def frames_from_spans(spans, n_frames: int) -> np.ndarray:
    mask = np.zeros(n_frames, dtype=bool)
    for a, b in spans:
        mask[int(round(a / FRAME_SECONDS)): int(round(b / FRAME_SECONDS))] = True
    return mask

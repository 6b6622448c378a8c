"""Activity spans (when a source is sounding) from its waveform, on the 40 ms frame grid."""

from __future__ import annotations

import numpy as np

from soundsift.timeline import FRAME_SECONDS, smooth_frames, spans_from_frames


def frame_activity(wave: np.ndarray, sample_rate: int, rel_db: float = -35.0, abs_db: float = -60.0,
                   max_gap: int = 2, min_len: int = 2) -> np.ndarray:
    """Boolean per 40 ms frame: louder than ``rel_db`` below the clip's loudest frame and ``abs_db`` dBFS.

    Gaps of at most ``max_gap`` frames are closed and runs shorter than ``min_len`` dropped, so a
    span is one sounding event, not every gap between two notes.
    """
    hop = int(round(FRAME_SECONDS * sample_rate))
    n = int(np.ceil(len(wave) / hop))
    padded = np.zeros(n * hop, dtype=np.float64)
    padded[: len(wave)] = wave
    db = 10 * np.log10(np.mean(padded.reshape(n, hop) ** 2, axis=1) + 1e-20)
    active = (db > db.max() + rel_db) & (db > abs_db)
    return smooth_frames(active, min_gap=(max_gap + 1) * FRAME_SECONDS, min_length=min_len * FRAME_SECONDS)


def activity_spans(wave: np.ndarray, sample_rate: int) -> list[list[float]]:
    return spans_from_frames(frame_activity(wave, sample_rate))

"""Joining 40 ms frames into spans: short pauses closed, blips dropped, in that order."""

import numpy as np

from soundsift.timeline import runs, smooth_frames


def frames(text: str) -> np.ndarray:
    return np.array([c == "#" for c in text])


def test_short_gaps_close_before_short_runs_drop():
    mask = frames("###.####...##.......#..")
    assert runs(smooth_frames(mask)) == runs(mask)  # 0 and 0: the raw frames
    # 0.08 s gap closed, 0.12 s gap kept at min_gap 0.1; then the lone 0.04 s frame dropped
    joined = smooth_frames(mask, min_gap=0.1, min_length=0.06)
    assert runs(joined) == [(0, 8), (11, 13)]
    # a blip within min_gap of a run is joined to it, not dropped: gaps close first
    assert runs(smooth_frames(frames("####.#"), min_gap=0.1, min_length=0.1)) == [(0, 6)]
    assert runs(smooth_frames(mask, min_gap=0.2, min_length=0.0)) == [(0, 13), (20, 21)]
    assert runs(smooth_frames(mask, min_gap=0.3, min_length=0.0)) == [(0, 21)]
    assert not smooth_frames(mask, min_length=1.0).any()
    assert mask.sum() == 10  # the input is not changed

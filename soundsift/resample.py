"""Resampling for signals of any length: torchaudio's sinc resampler applied a block at a time.

``StreamResampler`` takes a signal in pieces of any size and gives back ``resample`` of the whole,
bit for bit, while holding only about one block; long inputs go through SoundSift this way.
"""

from __future__ import annotations

import math

import torch

RESAMPLE_BLOCK_SECONDS = 10.0  # output is made in blocks of this length (30 s: 100 MB more at 44.1 kHz stereo)


def _rate_steps(orig_rate: int, new_rate: int) -> tuple[int, int]:
    g = math.gcd(int(orig_rate), int(new_rate))
    return int(orig_rate) // g, int(new_rate) // g


def resampled_length(n: int, orig_rate: int, new_rate: int) -> int:
    """Samples in ``resample`` of ``n`` samples (torchaudio's rule)."""
    step_in, step_out = _rate_steps(orig_rate, new_rate)
    return -(-n * step_out // step_in)


class StreamResampler:
    """``resample`` fed a block at a time: ``push`` returns the output that is final so far, ``flush``
    the rest once the input has ended; joined, they equal ``resample_blocks`` of the whole input.
    Output is made in blocks of ``block_seconds``, each from its own stretch of input plus a margin
    wider than the sinc filter, so the buffer never holds more than about one block."""

    def __init__(self, orig_rate: int, new_rate: int, block_seconds: float | None = None):
        block_seconds = block_seconds or RESAMPLE_BLOCK_SECONDS
        self.orig_rate, self.new_rate = int(orig_rate), int(new_rate)
        self.step_in, self.step_out = _rate_steps(orig_rate, new_rate)  # block edges on these keep the filter phase
        self.block = max(1, int(block_seconds * orig_rate) // self.step_in) * self.step_in
        self.margin = 16 * self.step_in  # the filter reaches about 6 * step_in / min(step_in, step_out) + 1 input samples
        self.buffer = None    # input samples from absolute index self.offset on
        self.offset = 0
        self.next = 0         # absolute input index where the next output block starts
        self.seen = 0         # input samples pushed so far

    def _block(self, end: int) -> torch.Tensor:
        import torchaudio.functional as AF

        a = self.next
        lo, hi = max(0, a - self.margin), min(end, a + self.block + self.margin)
        y = AF.resample(self.buffer[..., lo - self.offset: hi - self.offset], self.orig_rate, self.new_rate)
        start = (a - lo) // self.step_in * self.step_out
        size = min(self.block // self.step_in * self.step_out,
                   resampled_length(end, self.orig_rate, self.new_rate) - a // self.step_in * self.step_out)
        self.next += self.block
        return y[..., start: start + size]

    def _trim(self) -> None:
        drop = max(0, self.next - self.margin - self.offset)
        if drop:
            self.buffer = self.buffer[..., drop:]
            self.offset += drop

    def push(self, wave: torch.Tensor) -> torch.Tensor:
        self.buffer = wave if self.buffer is None else torch.cat([self.buffer, wave], dim=-1)
        self.seen += wave.shape[-1]
        out = []
        while self.next + self.block + self.margin <= self.seen:  # the block's right margin is in
            out.append(self._block(self.seen + 1))  # not the end: never cut the filter short
            self._trim()
        return torch.cat(out, dim=-1) if out else self.buffer[..., :0]

    def flush(self) -> torch.Tensor:
        if self.buffer is None:
            return torch.zeros(0)
        out = [self._block(self.seen) for _ in range(self.next, self.seen, self.block)]
        self.buffer = None
        return torch.cat(out, dim=-1) if out else torch.zeros(0)


def resample_stream(blocks, orig_rate: int, new_rate: int, block_seconds: float | None = None):
    """Blocks of a signal in, blocks of ``resample(signal)`` out (not the same sizes); nothing full-length
    is built (torchaudio's resample makes several full-length temporaries)."""
    if orig_rate == new_rate:
        yield from blocks
        return
    resampler = StreamResampler(orig_rate, new_rate, block_seconds)
    for block in blocks:
        out = resampler.push(block)
        if out.shape[-1]:
            yield out
    out = resampler.flush()
    if out.shape[-1]:
        yield out


def resample_blocks(wave: torch.Tensor, orig_rate: int, new_rate: int, block_seconds: float | None = None):
    """``resample(wave, orig_rate, new_rate)`` as consecutive blocks along time, equal to the
    whole-signal result up to float rounding."""
    block_seconds = block_seconds or RESAMPLE_BLOCK_SECONDS
    size = max(1, int(block_seconds * orig_rate))
    yield from resample_stream((wave[..., a: a + size] for a in range(0, wave.shape[-1], size)),
                               orig_rate, new_rate, block_seconds)


def resample(wave: torch.Tensor, orig_rate: int, new_rate: int) -> torch.Tensor:
    if orig_rate == new_rate:
        return wave
    out = torch.empty(*wave.shape[:-1], resampled_length(wave.shape[-1], orig_rate, new_rate), dtype=wave.dtype)
    pos = 0
    for block in resample_blocks(wave, orig_rate, new_rate):
        out[..., pos: pos + block.shape[-1]] = block
        pos += block.shape[-1]
    return out

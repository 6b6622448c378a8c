"""``soundsift separate``: demucs-like file handling around :class:`separation.Separator`."""

from __future__ import annotations

import contextlib
import math
import os
import sys
from pathlib import Path

from soundsift.errors import SoundSiftError

PROGRESS_SECONDS = 30.0  # show a progress bar for inputs longer than this
ABSENT_PRESENCE = 0.5    # below this presence probability the CLI says the prompted sound was not found


def output_paths(out_dir: Path, model: str, track: str, prompts: list[str]) -> list[Path]:
    from soundsift.io import slug

    names, paths = set(), []
    for prompt in prompts:
        name = slug(prompt)
        while name in names or name == "residual":
            name += "-2"
        names.add(name)
        paths.append(out_dir / model / track / f"{name}.wav")
    return paths + [out_dir / model / track / "residual.wav"]


def click_name(click: tuple[float, float, float]) -> str:
    return "click-{:g}s-{:g}-{:g}".format(*click)


def separate_files(inputs: list[str], text: list[str] | None, audio_query: str | None, spans: list[str] | None,
                   out_dir: str, force: bool = False, model: str | None = None, quiet: bool = False,
                   clicks: list[str] | None = None) -> list[Path]:
    from separation.api import DEFAULT_DIR, Separator, parse_span
    from separation.click import click_window_from_file, parse_click
    from soundsift.io import AudioFile, load_audio

    if not inputs:
        raise SoundSiftError("no input file given")
    span_list = [parse_span(s) for s in spans or []]
    click_list = [parse_click(c) for c in clicks or []]
    if not text and not audio_query and not click_list and not any(s[0] == "+" for s in span_list):
        raise SoundSiftError("no prompt: give --text, --audio-query, --click or a + --span")
    sources = [AudioFile(path) for path in inputs]
    for source in sources:  # fail on any bad input before writing anything: one decoding pass, a block at a time
        source.scan(progress=not quiet and source.seconds > PROGRESS_SECONDS)
        for c in click_list:  # a click needs a video track and must land inside its frames
            click_window_from_file(source.path, c)
    query = load_audio(audio_query) if audio_query else None
    prompts = (list(text or []) + (["audio-query"] if query else []) + [click_name(c) for c in click_list]
               + ([] if text or query or click_list else ["span-query"]))
    name = Path(model).name if model else DEFAULT_DIR.name
    plans = [output_paths(Path(out_dir), name, source.path.stem, prompts) for source in sources]
    if not force:  # before loading the model: refusing should be quick
        for paths in plans:
            for p in paths:
                if p.exists():
                    raise SoundSiftError(f"{p} already exists (use --force to overwrite)")
    sep = Separator.from_pretrained(model)
    written = []
    for source, paths in zip(sources, plans):
        seconds = source.scan().frames / source.sample_rate
        result = sep.separate_stream(source, text=text or None, audio_query=query, spans=span_list or None,
                                     video=source.path if click_list else None, click=click_list or None,
                                     progress=not quiet and seconds > PROGRESS_SECONDS)
        energy, input_energy = write_stems(paths, result)
        written += paths
        if not quiet:
            for p in paths:
                print(os.fspath(p))
            for prompt, p, stem_energy in zip(result.prompts, result.presence or [], energy):
                if p < ABSENT_PRESENCE:
                    level = 10 * math.log10((stem_energy + 1e-20) / (input_energy + 1e-20))
                    print(f"note: {prompt!r} does not seem to be in {source.path.name} (presence {p:.2f}); its stem is "
                          f"{-level:.0f} dB below the input", file=sys.stderr)
    return written


def write_stems(paths: list[Path], result) -> tuple[list[float], float]:
    """Write every target and the residual of a ``StreamedSeparation`` block by block into temp files,
    renamed together at the end (so a failure leaves no stem of the track); returns the targets'
    energies and the input's."""
    from soundsift.io import open_audio_writer

    energy, input_energy = [0.0] * len(result.prompts), 0.0
    with contextlib.ExitStack() as stack:
        writers = [stack.enter_context(open_audio_writer(p, result.sample_rate, result.channels, overwrite=True))
                   for p in paths]
        for targets, residual in result.blocks():
            for k, (write, stem) in enumerate(zip(writers, targets)):
                write(stem)
                energy[k] += float(stem.pow(2).sum())
            writers[-1](residual)
            input_energy += float((residual + targets.sum(0)).pow(2).sum())
    return energy, input_energy

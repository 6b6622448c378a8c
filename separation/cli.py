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
# Output encodings: float wav keeps the stems exact (they add up to the input to float precision);
# the integer ones are smaller but clip at full scale and add quantisation noise.
FORMATS = {"float32": (".wav", "FLOAT"), "int16": (".wav", "PCM_16"), "int24": (".wav", "PCM_24"),
           "flac": (".flac", "PCM_24")}


def output_paths(out_dir: Path, model: str, track: str, prompts: list[str], suffix: str = ".wav") -> list[Path]:
    from soundsift.io import slug

    names, paths = set(), []
    for prompt in prompts:
        name = slug(prompt)
        while name in names or name == "residual":
            name += "-2"
        names.add(name)
        paths.append(out_dir / model / track / f"{name}{suffix}")
    return paths + [out_dir / model / track / f"residual{suffix}"]


def click_name(click: tuple[float, float, float]) -> str:
    return "click-{:g}s-{:g}-{:g}".format(*click)


def separate_files(inputs: list[str], text: list[str] | None, audio_query: str | None, spans: list[str] | None,
                   out_dir: str, force: bool = False, model: str | None = None, quiet: bool = False,
                   clicks: list[str] | None = None, encoding: str = "float32") -> list[Path]:
    from separation.api import DEFAULT_DIR, Separator, check_input, parse_span
    from separation.click import click_window_from_file, parse_click
    from soundsift.io import AudioFile

    if encoding not in FORMATS:
        raise SoundSiftError(f"unknown output format {encoding!r}: one of {', '.join(FORMATS)}")
    suffix, subtype = FORMATS[encoding]
    if not inputs:
        raise SoundSiftError("no input file given")
    span_list = [parse_span(s) for s in spans or []]
    click_list = [parse_click(c) for c in clicks or []]
    if not text and not audio_query and not click_list and not any(s[0] == "+" for s in span_list):
        raise SoundSiftError("no prompt: give --text, --audio-query, --click or a + --span")
    sources = [AudioFile(path) for path in inputs]
    for source in sources:  # fail on any bad input before writing anything: one decoding pass, a block at a time
        source.scan(progress=not quiet and source.seconds > PROGRESS_SECONDS)
        check_input(source, span_list)
        for c in click_list:  # a click needs a video track and must land inside its frames
            click_window_from_file(source.path, c)
    query = AudioFile(audio_query) if audio_query else None
    if query is not None:
        query.scan()
    prompts = (list(text or []) + (["audio-query"] if query else []) + [click_name(c) for c in click_list]
               + ([] if text or query or click_list else ["span-query"]))
    name = Path(model).name if model else DEFAULT_DIR.name
    plans = [output_paths(Path(out_dir), name, source.path.stem, prompts, suffix) for source in sources]
    folders = [paths[0].parent for paths in plans]
    for i, folder in enumerate(folders):
        if folder in folders[:i]:
            raise SoundSiftError(f"{inputs[folders.index(folder)]} and {inputs[i]} would both write to {folder}: "
                                 "rename one, or run them separately with different -o")
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
        energy, clipped = write_stems(paths, result, subtype)
        written += paths
        if not quiet:
            for p in paths:
                print(os.fspath(p))
            for p, n in zip(paths, clipped):
                if n:
                    print(f"note: {n} samples of {p.name} were clipped at full scale ({encoding}); "
                          f"float32 keeps them", file=sys.stderr)
            for prompt, p, stem_energy in zip(result.prompts, result.presence or [], energy):
                if p < ABSENT_PRESENCE:
                    level = 10 * math.log10((stem_energy + 1e-20) / (source.scan().energy + 1e-20))
                    print(f"note: {prompt!r} does not seem to be in {source.path.name} (presence {p:.2f}); its stem is "
                          f"{-level:.0f} dB below the input", file=sys.stderr)
    return written


def write_stems(paths: list[Path], result, subtype: str = "FLOAT") -> tuple[list[float], list[int]]:
    """Write every target and the residual of a ``StreamedSeparation`` block by block into temp files,
    renamed together at the end (so a failure leaves no stem of the track); returns the targets'
    energies and per file how many samples an integer ``subtype`` clipped."""
    from soundsift.io import open_audio_writer

    energy, clipped = [0.0] * len(result.prompts), [0] * len(paths)
    integer = subtype != "FLOAT"
    with contextlib.ExitStack() as stack:
        writers = [stack.enter_context(open_audio_writer(p, result.sample_rate, result.channels, subtype, overwrite=True))
                   for p in paths]
        for targets, residual in result.blocks():
            for k, stem in enumerate([*targets, residual]):
                if integer:  # libsndfile clips an integer encoding at full scale: count what it cuts
                    clipped[k] += int((stem.abs() > 1.0).sum())
                writers[k](stem)
            energy = [e + float(t.pow(2).sum()) for e, t in zip(energy, targets)]
    return energy, clipped

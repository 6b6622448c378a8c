"""``soundsift separate``: demucs-like file handling around :class:`separation.Separator`.

Stems go to ``OUT/<model>/<track>/<stem>.<ext>``, one track folder per input, named and ordered by
:mod:`separation.prompts`; each track folder is locked while written and appears whole
(:mod:`separation.stems`, :mod:`soundsift.outputs`).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from pathlib import Path

from soundsift.errors import SoundSiftError

PROGRESS_SECONDS = 30.0  # show a progress bar for inputs longer than this
ABSENT_PRESENCE = 0.5    # below this presence probability the CLI says the prompted sound was not found


def track_folders(out_dir: str | Path, model: str | None, inputs: list[str]) -> list[Path]:
    """OUT/<model>/<track> per input: names made safe (a file called '...wav' or a model folder 'x/..'
    cannot climb out of OUT), and two inputs that would share a folder refused."""
    from separation.stems import model_folder_name
    from soundsift.names import safe_component

    folders = [Path(out_dir) / model_folder_name(model) / safe_component(Path(p).stem, "track") for p in inputs]
    for i, folder in enumerate(folders):
        if folder in folders[:i]:
            raise SoundSiftError(f"{inputs[folders.index(folder)]} and {inputs[i]} would both write to {folder}: "
                                 "rename one, or run them separately with different -o")
    return folders


def separate_files(inputs: list[str], text: list[str] | None, audio_query: str | None, spans: list[str] | None,
                   out_dir: str, force: bool = False, model: str | None = None, quiet: bool = False,
                   clicks: list[str] | None = None, encoding: str = "float32", device: str = "cpu",
                   candidates: int = 1, score: bool = False, judge_model: str | None = None,
                   save_mask: bool = False, high_band: bool = True) -> list[Path]:
    from separation.api import Separator, check_input
    from separation.click import click_window_from_file
    from separation.prompts import build_prompts, parse_click, parse_span
    from separation.stems import FORMATS, write_stems
    from soundsift.io import AudioFile
    from soundsift.checks import check_device
    from soundsift.outputs import FolderLock, check_replaceable, clean_stale

    device = check_device(device)
    if encoding not in FORMATS:
        raise SoundSiftError(f"unknown output format {encoding!r}: one of {', '.join(FORMATS)}")
    from separation.bestof import MAX_CANDIDATES

    if not 1 <= candidates <= MAX_CANDIDATES:
        raise SoundSiftError(f"--candidates must be 1 to {MAX_CANDIDATES}, got {candidates}")
    if not inputs:
        raise SoundSiftError("no input file given")
    span_list = [parse_span(s) for s in spans or []]
    click_list = [parse_click(c) for c in clicks or []]
    query = AudioFile(audio_query) if audio_query else None
    prompts = build_prompts(text, query, click_list or None, span_list)  # the stems, their order and names
    for p in prompts:
        if p.parts and not quiet:
            listed = ", ".join(map(repr, p.parts[:-1])) + f" and {p.parts[-1]!r}"
            print(f"note: {p.label!r} is one stem holding {listed}", file=sys.stderr)
    sources = [AudioFile(path) for path in inputs]
    for source in sources:  # fail on any bad input before writing anything: one decoding pass, a block at a time
        source.scan(progress=not quiet and source.seconds > PROGRESS_SECONDS)
        check_input(source, span_list)
        for c in click_list:  # a click needs a video track and must land inside its frames
            click_window_from_file(source.path, c, track=False)
    if save_mask and not click_list:
        raise SoundSiftError("--save-mask needs a --click")
    if query is not None:
        query.scan()
    folders = track_folders(out_dir, model, inputs)
    written = []
    with contextlib.ExitStack() as locks:
        for folder in folders:  # before loading the model: refusing should be quick
            locks.enter_context(FolderLock(folder))
            clean_stale(folder)  # what a killed run left beside it
            check_replaceable(folder, force)
        sep = Separator.from_pretrained(model, device=device)
        judge = None
        if candidates > 1 or score:
            from judge import Judge

            judge = Judge.from_pretrained(judge_model, separator=sep, device=device)
        prompts = sep.prepare(prompts)  # texts and an audio example embedded once for every input
        for note in [] if quiet else sep.reading_notes(prompts):
            print(f"note: {note}", file=sys.stderr)
        for source, folder in zip(sources, folders):
            seconds = source.scan().frames / source.sample_rate
            result = sep.separate_stream(source, prompts=prompts, spans=span_list or None,
                                         video=source.path if click_list else None,
                                         progress=not quiet and seconds > PROGRESS_SECONDS,
                                         candidates=candidates, judge=judge, high_band=high_band)
            extra = {"scores.json": scores_record(result, judge, seconds)} if judge is not None else {}
            if save_mask:
                extra.update(click_masks(sep, source.path, prompts, result.names, seconds,
                                         progress=not quiet and seconds > PROGRESS_SECONDS))
            stems = write_stems(folder, result, encoding, force=force, extra=extra)
            written += stems.paths
            if not quiet:
                _report(stems, result, source, encoding)
    return written


def click_masks(sep, video: str, prompts, names: list[str], seconds: float, progress: bool = False) -> dict:
    """``<stem>.track.json`` (the clicked object's box per frame) and ``<stem>.mask.mkv`` (the box as a
    lossless mask video) for each click stem: the track that the separation read (its config's
    ``click_timing_seconds`` either side of the click; tracked again only for a separator that reads no track)."""
    files = {}
    for prompt, name in zip(prompts, names):  # the stems come in the prompts' order
        if prompt.kind == "click":
            track = sep.click_track(video, prompt.value, seconds, progress=progress)
            files[f"{name}.track.json"] = track.record()
            files[f"{name}.mask.mkv"] = track.write_mask
    return files


def scores_record(result, judge, seconds: float) -> dict:
    """What scores.json holds: per prompt, the judge's four scores, whether it calls the separation
    failed, and which best-of-k candidate was kept."""
    from separation.bestof import EXCERPT_SECONDS

    record = {"judge": judge.name, "scored_seconds": round(min(seconds, EXCERPT_SECONDS), 3), "prompts": {}}
    for name, prompt, scores, choice in zip(result.names, result.prompts, result.scores, result.choices):
        record["prompts"][name] = {"prompt": prompt, **scores.as_dict(), "failed": judge.failed(scores),
                                   "kept": choice}
    return record


def _report(stems, result, source, encoding: str) -> None:
    from separation.prompts import names_a_voice_by_sex

    for p in stems.paths:
        print(os.fspath(p))
    for name, prompt, scores, choice in zip(result.names, result.prompts, result.scores or [], result.choices or []):
        d = scores.as_dict()
        print(f"judge: {prompt!r}: overall {d['overall']:.2f}, recall {d['recall']:.2f}, precision {d['precision']:.2f}, "
              f"faithfulness {d['faithfulness']:.2f} (kept: {choice})", file=sys.stderr)
    for prompt, reading in zip(result.prompts, result.readings or []):
        if reading == "silence":
            print(f"note: {prompt!r}: no sound in the input moves with the clicked object (its picture alone does not "
                  f"say surely what it is); its stem is silent", file=sys.stderr)
        elif reading:
            print(f"note: {prompt!r} was read as {reading!r}, the sound that moves with the clicked object (its "
                  f"picture alone does not say surely what it is)", file=sys.stderr)
    for p, n in zip(stems.paths, stems.clipped):
        if n:
            print(f"note: {n} samples of {p.name} were clipped at full scale ({encoding}); float32 keeps them",
                  file=sys.stderr)
    for prompt, p, stem_energy in zip(result.prompts, result.presence or [], stems.energy):
        if p < ABSENT_PRESENCE:
            level = 10 * math.log10((stem_energy + 1e-20) / (source.scan().energy + 1e-20))
            hint = "; for a voice of either sex ask for 'speech'" if names_a_voice_by_sex(prompt) else ""
            # Past 120 dB a figure (173, 229 dB) says no more than "silent" and reads like a glitch.
            how = "silent" if level < -120 else f"{-level:.0f} dB below the input"
            print(f"note: {prompt!r} does not seem to be in {source.path.name} (presence {p:.2f}); its stem is "
                  f"{how}{hint}", file=sys.stderr)


def _run(args: argparse.Namespace) -> None:
    separate_files(args.inputs, args.text, args.audio_query, args.span, args.out, force=args.force, clicks=args.click,
                   model=args.model, quiet=args.quiet, encoding=args.format, device=args.device,
                   candidates=args.candidates, score=args.score, judge_model=args.judge, save_mask=args.save_mask,
                   high_band=not args.no_high_band)


def add_commands(sub) -> None:
    s = sub.add_parser("separate", help="extract the prompted sound from audio or video files")
    s.add_argument("inputs", nargs="+", help="audio or video files")
    s.add_argument("--text", action="append", help="what to extract, e.g. 'a violin' (repeat for more stems; "
                   "'a dog | a cat': both in one stem)")
    s.add_argument("--audio-query", help="an example recording of the sound to extract")
    s.add_argument("--span", action="append", metavar="+START:END", help="+a:b target sounds here, -a:b it does not")
    s.add_argument("--click", action="append", metavar="T:X:Y",
                   help="on a video input: the object at pixel (X, Y) at T seconds (repeat for more stems)")
    s.add_argument("-o", "--out", default="separated", help="output folder (default: separated)")
    s.add_argument("--model", default=None, help="separator folder (default: the shipped one)")
    s.add_argument("--force", action="store_true", help="replace existing track folders")
    s.add_argument("--format", default="float32", choices=["float32", "int16", "int24", "flac"],
                   help="stem encoding: float32 wav (default: exact, stems add up to the input), int16/int24 wav, "
                        "or 24-bit flac (smaller; clipped at full scale)")
    s.add_argument("--candidates", type=int, default=1, metavar="K",
                   help="best of K (2-8): make K candidate separations per prompt and keep the one the judge "
                        "scores best; its scores go to scores.json beside the stems")
    s.add_argument("--score", action="store_true", help="score the separation with the judge (scores.json)")
    s.add_argument("--judge", default=None, help="judge folder (default: the shipped one)")
    s.add_argument("--save-mask", action="store_true",
                   help="for each click, write the clicked object's box per frame (<stem>.track.json) and "
                        "mask video (<stem>.mask.mkv), as far as the separation tracked it (30 s either side of the click)")
    s.add_argument("--no-high-band", action="store_true",
                   help="leave all content above 8 kHz (the model's band) in the residual; by default each stem "
                        "takes a share of it: the share its mask takes of 4-8 kHz, squared")
    s.add_argument("--device", default="cpu", help="where the models run: cpu (default), cuda, cuda:N, mps")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=_run)

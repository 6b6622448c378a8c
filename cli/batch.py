"""``soundsift batch``: separate a folder tree or a manifest of files on Ray (separation/batch.py)."""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> None:
    from separation.batch import separate_batch
    from separation.prompts import parse_span
    from soundsift.checks import check_device

    check_device(args.device)
    if args.workers < 1:
        from soundsift.errors import SoundSiftError

        raise SoundSiftError("--workers must be at least 1")
    counts = separate_batch(args.source, args.out, text=args.text, audio_query=args.audio_query,
                            spans=[parse_span(s) for s in args.span or []], model=args.model, workers=args.workers,
                            address=args.address, force=args.force, encoding=args.format, device=args.device,
                            progress=not args.quiet,
                            note=None if args.quiet else lambda line: print(f"note: {line}", file=sys.stderr))
    print(f"{counts['done']} separated, {counts['failed']} failed, {counts['skipped']} already done; "
          f"results in {args.out}/results.jsonl")


def add_commands(sub) -> None:
    b = sub.add_parser("batch", help="separate many files (a folder tree or a manifest) on Ray, resumably")
    b.add_argument("source", help="a folder (every audio/video file below it) or a manifest (.txt: a path per "
                                  "line; .jsonl: {\"input\": path} per line)")
    b.add_argument("-o", "--out", required=True, help="output folder; OUT/results.jsonl records every file")
    b.add_argument("--text", action="append", help="what to extract (repeat for more stems; 'A | B': both in one stem)")
    b.add_argument("--audio-query", help="an example recording of the sound to extract")
    b.add_argument("--span", action="append", metavar="+START:END", help="+a:b target sounds here, -a:b it does not")
    b.add_argument("--workers", type=int, default=1, help="Ray workers, each with the models loaded once (default 1)")
    b.add_argument("--address", default=None,
                   help="a Ray cluster ('auto', 'ray://host:10001'); default: start Ray on this machine")
    b.add_argument("--model", default=None, help="separator folder (default: the shipped one)")
    b.add_argument("--format", default="float32", choices=["float32", "int16", "int24", "flac"])
    b.add_argument("--device", default="cpu", help="where each worker runs the models: cpu (default), cuda")
    b.add_argument("--force", action="store_true", help="separate again what is already done, replacing it")
    b.add_argument("--quiet", action="store_true")
    b.set_defaults(func=_run)

"""``soundsift judge`` and ``soundsift eval judge``: reference-free scores of a separation."""

from __future__ import annotations

import argparse
import json
import os
import sys


def _judge(args: argparse.Namespace) -> None:
    from judge import Judge
    from separation.prompts import parse_click, parse_span
    from soundsift.io import AudioFile, load_audio
    from soundsift.errors import SoundSiftError

    spans = [parse_span(s) for s in args.span or []]
    click = parse_click(args.click) if args.click else None
    if not (args.text or args.audio_query or click or any(s[0] == "+" for s in spans)):
        raise SoundSiftError("no prompt: give --text, --audio-query, --click or a + --span")
    for path in (args.mixture, args.target):
        AudioFile(path).scan()  # a bad file fails before any model loads
    mixture, rate = load_audio(args.mixture)
    target, target_rate = load_audio(args.target)
    from separation import Separator

    # the judge compares with the separator's output for the prompt, and reads a click through its classes
    separator = Separator.from_pretrained(args.separator, device=args.device)
    j = Judge.from_pretrained(args.model, separator=separator, device=args.device)
    scores = j.score(mixture, rate, target, target_rate, text=args.text, audio_query=args.audio_query,
                     spans=spans or None, video=args.video or (args.mixture if click else None), click=click)
    if args.text:
        from separation.prompts import build_prompts

        for note in separator.reading_notes(build_prompts(args.text, None, None, None)):
            print(f"note: {note}", file=sys.stderr)
    for note in j.notes:
        print(f"note: {note}", file=sys.stderr)
    d = {**scores.as_dict(), "failed": j.failed(scores)}
    if args.json:
        print(json.dumps(d))
    else:
        for key in ("overall", "recall", "precision", "faithfulness"):
            print(f"{key:<13} {d[key]:.3f}")
        verdict = "yes" if d["failed"] else "no"
        print(f"{'failed':<13} {verdict} (a failure is overall below {j.net.config.failed_threshold:.2f})")


def _eval(args: argparse.Namespace) -> None:
    from judge import Judge
    from recipes.judge.evaluate import evaluate, to_markdown, write_report
    from separation import Separator

    sep = Separator.from_pretrained(args.separator)
    j = Judge.from_pretrained(args.model, separator=sep)
    result = evaluate(j, sep, args.data, args.split, limit=args.limit, rerank_limit=args.rerank_limit,
                      progress=not args.quiet)
    out = args.out or os.path.join("runs", "eval", f"judge-{os.path.basename(os.path.normpath(args.data))}-{args.split}")
    if args.record:
        from cli.evaluate import _record
        from judge.api import DEFAULT_DIR

        _record(args, "judge", result, args.model or DEFAULT_DIR)
    title = f"Judge on {args.data} ({args.split})"
    js, md = write_report(result, out, title)
    print(to_markdown(result, title))
    print(f"wrote {js} and {md}")


def add_commands(sub) -> None:
    j = sub.add_parser("judge", help="score a separation without its reference: overall, recall, precision, "
                                     "faithfulness")
    j.add_argument("mixture", help="the recording that was separated")
    j.add_argument("target", help="the separated sound (any tool's); the residual is the mixture minus it")
    j.add_argument("--text", help="what was asked for, e.g. 'a violin'")
    j.add_argument("--audio-query", help="an example recording of what was asked for")
    j.add_argument("--span", action="append", metavar="+START:END")
    j.add_argument("--click", metavar="T:X:Y", help="a click on the mixture's video (or --video's)")
    j.add_argument("--video", default=None, help="the video a --click is on (default: the mixture file)")
    j.add_argument("--json", action="store_true", help="one JSON line")
    j.add_argument("--model", default=None, help="judge folder (default: the shipped one)")
    j.add_argument("--separator", default=None, help="separator the judge compares with and reads a click through (default: the shipped one)")
    j.add_argument("--device", default="cpu")
    j.set_defaults(func=_judge)


def add_eval_command(ev) -> None:
    from cli.evaluate import _common

    e = ev.add_parser("judge", help="judge scores against reference measures, baseline, best-of-k gains")
    _common(e)
    e.add_argument("--model", default=None, help="judge folder (default: the shipped one)")
    e.add_argument("--separator", default=None, help="separator folder (default: the shipped one)")
    e.add_argument("--rerank-limit", type=int, default=100, help="mixtures used for best-of-k (0: skip)")
    e.set_defaults(func=_eval)

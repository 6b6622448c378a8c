"""``soundsift eval ...`` and ``soundsift bench``: the measurements behind the README's tables."""

from __future__ import annotations

import argparse
import os


def _report_dir(args, kind: str) -> str:
    return args.out or os.path.join("runs", "eval", f"{kind}-{os.path.basename(os.path.normpath(args.data))}-{args.split}")


def _record(args, kind: str, result: dict, model_dir) -> None:
    """``--record SET``: keep the result in docs/results.json, where the README's table comes from."""
    if args.record:
        from pathlib import Path

        from recipes.common import weights_digest
        from recipes.results import record

        model = f"{Path(model_dir).name}@{weights_digest(model_dir)}"
        print(f"recorded as {kind} on {args.record} -> {record(kind, args.record, result, model, args.data)}")


def _eval_encoders(args: argparse.Namespace) -> None:
    from encoders import PEAVEncoder
    from encoders.api import DEFAULT_DIR
    from recipes.encoders.evaluate import evaluate, to_markdown, write_report

    result = evaluate(PEAVEncoder.from_pretrained(args.model), args.data, args.split, limit=args.limit,
                      progress=not args.quiet)
    _record(args, "encoders", result, args.model or DEFAULT_DIR)
    title = f"Encoders on {args.data} ({args.split})"
    js, md = write_report(result, _report_dir(args, "encoders"), title)
    print(to_markdown(result, title))
    print(f"wrote {js} and {md}")


def _eval_separation(args: argparse.Namespace) -> None:
    from recipes.separation.evaluate import evaluate, to_markdown, write_report
    from separation import Separator

    out = _report_dir(args, "separation")
    result = evaluate(Separator.from_pretrained(args.model), args.data, args.split, limit=args.limit,
                      audio_queries=not args.no_audio_queries, museval_metrics=not args.no_museval,
                      clicks=not args.no_clicks, progress=not args.quiet, figure=os.path.join(out, "spectrograms.png"))
    from separation.api import DEFAULT_DIR

    _record(args, "separation", result, args.model or DEFAULT_DIR)
    title = f"Separation on {args.data} ({args.split})"
    js, md = write_report(result, out, title)
    print(to_markdown(result, title))
    print(f"wrote {js}, {md} and {os.path.join(out, 'spectrograms.png')}")


def _bench(args: argparse.Namespace) -> None:
    from recipes.separation.bench import bench, to_markdown

    rows = bench(tuple(args.seconds), args.model)
    print(to_markdown(rows))
    if args.record:
        from recipes.results import record

        print(f"recorded -> {record('speed', 'bench', rows, args.model or 'separator-small')}")


def _common(p) -> None:
    p.add_argument("--data", required=True, help="corpus folder (with manifest.jsonl)")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--limit", type=int, default=None, help="only the first N mixtures")
    p.add_argument("--out", default=None, help="report folder (default: runs/eval/...)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--record", choices=["synthetic", "alt", "real"], default=None,
                   help="keep the result in docs/results.json as this test set (the README's table comes from it)")


def add_commands(sub) -> None:
    ev = sub.add_parser("eval", help="evaluate a model on a corpus split").add_subparsers(dest="eval_command", required=True)
    e = ev.add_parser("encoders", help="zero-shot accuracy, retrieval, video->audio, span F1")
    _common(e)
    e.add_argument("--model", default=None, help="encoder folder (default: the shipped one)")
    e.set_defaults(func=_eval_encoders)

    es = ev.add_parser("separation", help="SI-SDR(i), BSSEval v4, oracle-mask bound, absent-target level")
    _common(es)
    es.add_argument("--model", default=None, help="separator folder (default: the shipped one)")
    es.add_argument("--no-audio-queries", action="store_true", help="skip the audio-example prompts")
    es.add_argument("--no-museval", action="store_true", help="skip BSSEval v4 (slow)")
    es.add_argument("--no-clicks", action="store_true", help="skip the click prompts on scene videos")
    es.set_defaults(func=_eval_separation)

    from cli.judge import add_eval_command

    add_eval_command(ev)

    bn = sub.add_parser("bench", help="separation speed and peak memory for 10/60/600 s inputs, "
                                      "16 kHz mono and 44.1 kHz stereo")
    bn.add_argument("--seconds", type=float, nargs="+", default=[10, 60, 600])
    bn.add_argument("--model", default=None)
    bn.add_argument("--record", action="store_true", help="keep the figures in docs/results.json")
    bn.set_defaults(func=_bench)

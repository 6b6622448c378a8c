"""The ``soundsift`` command. Each subcommand imports its part lazily so ``--help`` stays fast."""

from __future__ import annotations

import argparse
import os
import sys

from soundsift.errors import SoundSiftError


def _data_build(args: argparse.Namespace) -> None:
    from recipes.data.build import build

    manifest = build(args.preset, args.out, seed=args.seed, workers=args.workers, variant=args.variant,
                     force=args.force, progress=not args.quiet)
    print(manifest)


def _load_encoder(path):
    from encoders import PEAVEncoder

    return PEAVEncoder.from_pretrained(path)


def _eval_encoders(args: argparse.Namespace) -> None:
    from recipes.encoders.evaluate import to_markdown, write_report, evaluate

    result = evaluate(_load_encoder(args.model), args.data, args.split, limit=args.limit, progress=not args.quiet)
    title = f"Encoders on {args.data} ({args.split})"
    out = args.out or os.path.join("runs", "eval", f"encoders-{os.path.basename(os.path.normpath(args.data))}-{args.split}")
    js, md = write_report(result, out, title)
    print(to_markdown(result, title))
    print(f"wrote {js} and {md}")


def _spans(args: argparse.Namespace) -> None:
    from soundsift.io import load_mono

    encoder = _load_encoder(args.model)
    mono = load_mono(args.file, encoder.sample_rate)  # what the encoder would make of the file, built a block at a time
    for text in args.text:
        found = encoder.spans(mono, encoder.sample_rate, text, threshold=args.threshold)
        shown = ", ".join(f"{a:.2f}-{b:.2f}" for a, b in found) or "none"
        print(f"{text}: {shown}")


def _classify(args: argparse.Namespace) -> None:
    from soundsift.io import AudioFile

    source = AudioFile(args.file)
    source.scan()  # a bad file fails before the model loads
    encoder = _load_encoder(args.model)
    audio = encoder.embed_audio_file(source)
    texts = encoder.embed_text(args.labels)
    scores = (audio @ texts.T)[0]
    for i in scores.argsort(descending=True).tolist():
        print(f"{scores[i].item():+.3f}  {args.labels[i]}")


def _separate(args: argparse.Namespace) -> None:
    from separation.cli import separate_files

    separate_files(args.inputs, args.text, args.audio_query, args.span, args.out, force=args.force, clicks=args.click,
                   model=args.model, quiet=args.quiet, encoding=args.format)


def _eval_separation(args: argparse.Namespace) -> None:
    from recipes.separation.evaluate import evaluate, to_markdown, write_report
    from separation import Separator

    out = args.out or os.path.join("runs", "eval", f"separation-{os.path.basename(os.path.normpath(args.data))}-{args.split}")
    result = evaluate(Separator.from_pretrained(args.model), args.data, args.split, limit=args.limit,
                      audio_queries=not args.no_audio_queries, museval_metrics=not args.no_museval,
                      clicks=not args.no_clicks, progress=not args.quiet, figure=os.path.join(out, "spectrograms.png"))
    title = f"Separation on {args.data} ({args.split})"
    js, md = write_report(result, out, title)
    print(to_markdown(result, title))
    print(f"wrote {js}, {md} and {os.path.join(out, 'spectrograms.png')}")


def _bench(args: argparse.Namespace) -> None:
    from recipes.separation.bench import bench, to_markdown

    print(to_markdown(bench(tuple(args.seconds), args.model)))


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="soundsift", description="Prompt-driven audio source separation.")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="build the training corpus").add_subparsers(dest="data_command", required=True)
    b = data.add_parser("build", help="render sources, mixtures and scenes; write manifest.jsonl")
    b.add_argument("--preset", choices=["tiny", "small", "full", "test", "examples"], default="tiny")
    b.add_argument("--out", required=True, help="output folder (resumes an interrupted build of the same settings)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    b.add_argument("--variant", choices=["default", "alt", "multi"], default="default",
                   help="'multi': each clip from one of three soundfonts (FluidR3, MuseScore General, csound GM); "
                        "'alt': TimGM6mb and held-out voices, to test generalisation")
    b.add_argument("--force", action="store_true", help="rebuild from scratch even if OUT holds a build")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=_data_build)

    s = sub.add_parser("separate", help="extract the prompted sound from audio or video files")
    s.add_argument("inputs", nargs="+", help="audio or video files")
    s.add_argument("--text", action="append", help="what to extract, e.g. 'a violin' (repeat for more stems)")
    s.add_argument("--audio-query", help="an example recording of the sound to extract")
    s.add_argument("--span", action="append", metavar="+START:END", help="+a:b target sounds here, -a:b it does not")
    s.add_argument("--click", action="append", metavar="T:X:Y",
                   help="on a video input: the object at pixel (X, Y) at T seconds (repeat for more stems)")
    s.add_argument("-o", "--out", default="separated", help="output folder (default: separated)")
    s.add_argument("--model", default=None, help="separator folder (default: the shipped one)")
    s.add_argument("--force", action="store_true", help="overwrite existing outputs")
    s.add_argument("--format", default="float32", choices=["float32", "int16", "int24", "flac"],
                   help="stem encoding: float32 wav (default: exact, stems add up to the input), int16/int24 wav, "
                        "or 24-bit flac (smaller; clipped at full scale)")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=_separate)

    ev = sub.add_parser("eval", help="evaluate a model on a corpus split").add_subparsers(dest="eval_command", required=True)
    e = ev.add_parser("encoders", help="zero-shot accuracy, retrieval, video->audio, span F1")
    e.add_argument("--data", required=True, help="corpus folder (with manifest.jsonl)")
    e.add_argument("--split", default="test", choices=["train", "val", "test"])
    e.add_argument("--model", default=None, help="encoder folder (default: the shipped one)")
    e.add_argument("--limit", type=int, default=None, help="only the first N mixtures")
    e.add_argument("--out", default=None, help="report folder (default: runs/eval/...)")
    e.add_argument("--quiet", action="store_true")
    e.set_defaults(func=_eval_encoders)

    es = ev.add_parser("separation", help="SI-SDR(i), BSSEval v4, oracle-mask bound, absent-target level")
    es.add_argument("--data", required=True)
    es.add_argument("--split", default="test", choices=["train", "val", "test"])
    es.add_argument("--model", default=None, help="separator folder (default: the shipped one)")
    es.add_argument("--limit", type=int, default=None)
    es.add_argument("--out", default=None)
    es.add_argument("--no-audio-queries", action="store_true", help="skip the audio-example prompts")
    es.add_argument("--no-museval", action="store_true", help="skip BSSEval v4 (slow)")
    es.add_argument("--no-clicks", action="store_true", help="skip the click prompts on scene videos")
    es.add_argument("--quiet", action="store_true")
    es.set_defaults(func=_eval_separation)

    bn = sub.add_parser("bench", help="separation speed and peak memory for 10/60/600 s inputs, 16 kHz mono and 44.1 kHz stereo")
    bn.add_argument("--seconds", type=float, nargs="+", default=[10, 60, 600])
    bn.add_argument("--model", default=None)
    bn.set_defaults(func=_bench)

    sp = sub.add_parser("spans", help="print when a described sound is active")
    sp.add_argument("file")
    sp.add_argument("--text", action="append", required=True, help="description (repeatable)")
    sp.add_argument("--threshold", type=float, default=None)
    sp.add_argument("--model", default=None)
    sp.set_defaults(func=_spans)

    c = sub.add_parser("classify", help="rank text labels by how well they describe a file")
    c.add_argument("file")
    c.add_argument("--labels", nargs="+", required=True)
    c.add_argument("--model", default=None)
    c.set_defaults(func=_classify)
    return parser


def _join_spans(argv: list[str]) -> list[str]:
    """argparse reads '--span -4:6' as two options; glue the value on so '-' spans work unquoted."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "--span" and i + 1 < len(argv):
            out.append(f"--span={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # errors stay one line: no load-progress noise
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    args = make_parser().parse_args(_join_spans(sys.argv[1:] if argv is None else argv))
    try:
        args.func(args)
    except SoundSiftError as err:
        print(f"soundsift: error: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # the machine's side (disk full, permissions): one line, not a traceback
        print(f"soundsift: error: {err.filename + ': ' if err.filename else ''}{err.strerror or err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("soundsift: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

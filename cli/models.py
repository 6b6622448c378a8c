"""``soundsift spans`` and ``soundsift classify``: the encoder's frame-level and clip-level answers."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from soundsift.timeline import SPAN_MIN_GAP, SPAN_MIN_LENGTH


def _load_encoder(args):
    from encoders import PEAVEncoder

    return PEAVEncoder.from_pretrained(args.model, device=args.device)


def _spans(args: argparse.Namespace) -> None:
    from soundsift.io import load_mono

    if args.min_gap < 0 or args.min_length < 0:
        from soundsift.errors import SoundSiftError

        raise SoundSiftError("--min-gap and --min-length are seconds, at least 0")
    encoder = _load_encoder(args)
    mono = load_mono(args.file, encoder.sample_rate)  # what the encoder would make of the file, built a block at a time
    found = {text: encoder.spans(mono, encoder.sample_rate, text, threshold=args.threshold, min_gap=args.min_gap,
                                 min_length=args.min_length) for text in args.text}
    if args.json:
        print(json.dumps({text: [list(s) for s in spans] for text, spans in found.items()}))
    else:
        for text, spans in found.items():
            print(f"{text}: " + (", ".join(f"{a:.2f}-{b:.2f}" for a, b in spans) or "none"))
    if args.no_presence:
        return
    from cli.separate import ABSENT_PRESENCE

    asked = [text for text, spans in found.items() if spans]
    readings, presence = _presence(args, mono, encoder.sample_rate, asked)
    for note in readings:  # the verdict below is on what the separator reads a wording as
        print(f"note: {note}", file=sys.stderr)
    for text, p in zip(asked, presence):
        if p < ABSENT_PRESENCE:
            print(f"note: {text!r} does not seem to be in {Path(args.file).name} (presence {p:.2f}, the separator's "
                  f"gate); its spans may be false", file=sys.stderr)


def _presence(args, mono, rate: int, texts: list[str]) -> tuple[list[str], list[float]]:
    """What the shipped separator reads each text as (its notes for wordings it does not know, as
    ``soundsift separate`` prints them) and each text's presence over the input by its gate, as
    ``soundsift separate`` reports it. The frame model gives some span to 60-72 % of absent prompts on the
    test sets; the gate flags two in three of those on recordings (docs/ENCODERS.md, "The separator's word
    on spans")."""
    if not texts:
        return [], []
    from separation import Separator
    from separation.prompts import build_prompts
    from soundsift.errors import SoundSiftError

    sep = Separator.from_pretrained(device=args.device)
    prompts = sep.prepare(build_prompts(texts, None, None, None))
    try:
        stream = sep.separate_stream(mono, rate, prompts=prompts)
        for _ in stream.blocks():  # the stems are not kept: only the gate's verdict is wanted
            pass
    except SoundSiftError:  # an input the separator refuses: the spans stand without its verdict
        return [], []
    return sep.reading_notes(prompts), stream.presence or []


def _classify(args: argparse.Namespace) -> None:
    from soundsift.io import AudioFile

    source = AudioFile(args.file)
    source.scan()  # a bad file fails before the model loads
    labels = args.labels or _known_sounds()
    top = args.top if args.top is not None else (len(labels) if args.labels else 5)
    if top < 1:
        from soundsift.errors import SoundSiftError

        raise SoundSiftError("--top must be at least 1")
    encoder = _load_encoder(args)
    audio = encoder.embed_audio_file(source)
    texts = encoder.embed_text(labels)
    scores = (audio @ texts.T)[0]
    best = scores.argsort(descending=True).tolist()[:top]
    if args.json:
        print(json.dumps([{"label": labels[i], "similarity": round(scores[i].item(), 4)} for i in best]))
        return
    for i in best:
        print(f"{scores[i].item():+.3f}  {labels[i]}")


def _known_sounds() -> list[str]:
    """The descriptions of the sounds the shipped separator was trained on (its vocabulary)."""
    from separation.api import DEFAULT_DIR

    return json.loads((DEFAULT_DIR / "config.json").read_text())["click_vocabulary"]


def add_commands(sub) -> None:
    sp = sub.add_parser("spans", help="print when a described sound is active")
    sp.add_argument("file")
    sp.add_argument("--text", action="append", required=True, help="description (repeatable)")
    sp.add_argument("--threshold", type=float, default=None, help="frame score at which a sound is active "
                                                                  "(default: the model's)")
    sp.add_argument("--min-gap", type=float, default=SPAN_MIN_GAP, metavar="SECONDS",
                    help=f"close pauses shorter than this (default {SPAN_MIN_GAP:g}; 0: every pause)")
    sp.add_argument("--min-length", type=float, default=SPAN_MIN_LENGTH, metavar="SECONDS",
                    help=f"drop spans shorter than this (default {SPAN_MIN_LENGTH:g})")
    sp.add_argument("--model", default=None)
    sp.add_argument("--device", default="cpu", help="where the model runs: cpu (default), cuda, cuda:N, mps")
    sp.add_argument("--json", action="store_true", help="one JSON line: {text: [[start, end], ...]}")
    sp.add_argument("--no-presence", action="store_true",
                    help="do not ask the separator whether each sound is there at all (it notes spans of a sound "
                         "that seems absent)")
    sp.set_defaults(func=_spans)

    c = sub.add_parser("classify", help="rank text labels by how well they describe a file")
    c.add_argument("file")
    c.add_argument("--labels", nargs="+", help="descriptions to rank (default: the 27 sounds the separator knows)")
    c.add_argument("--top", type=int, default=None, help="print the best N (default: every label given, "
                                                          "or 5 of the known sounds)")
    c.add_argument("--model", default=None)
    c.add_argument("--device", default="cpu", help="where the model runs: cpu (default), cuda, cuda:N, mps")
    c.add_argument("--json", action="store_true", help="one JSON line: [{label, similarity}, ...], best first")
    c.set_defaults(func=_classify)

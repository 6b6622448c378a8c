"""Entry point: builds the parser from each command module and turns errors into one line."""

from __future__ import annotations

import argparse
import os
import sys

from soundsift.errors import SoundSiftError

from cli import batch, data, demo, evaluate, judge, models, separate

COMMANDS = (data, separate, batch, judge, evaluate, models, demo)  # each adds its subcommands with add_commands(sub)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="soundsift", description="Prompt-driven audio source separation.")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.add_commands(sub)
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

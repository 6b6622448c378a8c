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


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="soundsift", description="Prompt-driven audio source separation.")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="build the training corpus").add_subparsers(dest="data_command", required=True)
    b = data.add_parser("build", help="render sources, mixtures and scenes; write manifest.jsonl")
    b.add_argument("--preset", choices=["tiny", "small", "full", "examples"], default="tiny")
    b.add_argument("--out", required=True, help="output folder (resumes an interrupted build of the same settings)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    b.add_argument("--variant", choices=["default", "alt"], default="default",
                   help="'alt' renders with another soundfont and held-out voices, to test generalisation")
    b.add_argument("--force", action="store_true", help="rebuild from scratch even if OUT holds a build")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=_data_build)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub
    args = make_parser().parse_args(argv)
    try:
        args.func(args)
    except SoundSiftError as err:
        print(f"soundsift: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("soundsift: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

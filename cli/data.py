"""``soundsift data build``: the data engine (recipes/data)."""

from __future__ import annotations

import argparse

from soundsift.errors import SoundSiftError


def _build(args: argparse.Namespace) -> None:
    from recipes.data.build import build

    manifest = build(args.preset, args.out, seed=args.seed, workers=args.workers, variant=args.variant,
                     force=args.force, progress=not args.quiet)
    print(manifest)


def _real(args: argparse.Namespace) -> None:
    from recipes.data.real import build
    from recipes.data.real_sources import CATALOG, PACKAGES

    unknown = sorted(set(args.skip) - set(PACKAGES))
    if unknown:
        raise SoundSiftError(f"--skip {unknown[0]}: not a package of the catalog (recipes/data/real_sources.py)")
    catalog = [e for e in CATALOG if e.package not in args.skip and (args.more or not e.more)]
    print(build(args.out, seed=args.seed, counts={"train": args.train, "val": args.val, "test": args.test},
                progress=not args.quiet, catalog=catalog))


def _scenes(args: argparse.Namespace) -> None:
    from recipes.data.restyle import restyle

    print(restyle(args.source, args.out, args.style, splits=tuple(args.splits.split(",")), seed=args.seed,
                  limit=args.limit, workers=args.workers, force=args.force, progress=not args.quiet))


def add_commands(sub) -> None:
    data = sub.add_parser("data", help="build the training corpus").add_subparsers(dest="data_command", required=True)
    b = data.add_parser("build", help="render sources, mixtures and scenes; write manifest.jsonl")
    b.add_argument("--preset", choices=["tiny", "small", "small-eval", "full", "test", "examples"], default="tiny")
    b.add_argument("--out", required=True, help="output folder (resumes an interrupted build of the same settings)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    b.add_argument("--variant", choices=["default", "alt", "multi", "expressive"], default="default",
                   help="'multi': each clip from one of three soundfonts (FluidR3, MuseScore General, csound GM); "
                        "'expressive': 'multi' played with vibrato, bends, off-grid timing and phrased dynamics; "
                        "'alt': TimGM6mb and held-out voices, to test generalisation")
    b.add_argument("--force", action="store_true", help="rebuild from scratch even if OUT holds a build")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=_build)

    r = data.add_parser("real", help="real recordings from Debian packages (make real-data installs them): "
                                     "clips split by recording, and mixtures of them")
    r.add_argument("--out", required=True)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--train", type=int, default=2000, help="training mixtures")
    r.add_argument("--val", type=int, default=150, help="validation mixtures (real only: guides training choices)")
    r.add_argument("--test", type=int, default=200, help="real-test mixtures (and the test songs' stems)")
    r.add_argument("--skip", action="append", default=[], metavar="PACKAGE",
                   help="leave this package's recordings out (repeatable; the shipped models' corpus data/real "
                        "skips fillets-ng-data-cs and tuxpaint-stamps-default, speakers added later)")
    r.add_argument("--more", action="store_true",
                   help="add the later recordings of the catalog (more birds, a second drum kit, ...: training only)")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=_real)

    s = data.add_parser("scenes", help="draw a corpus' mixtures as scenes in one picture style "
                                       "(emoji, stamps, outline; outline is held out: test only)")
    s.add_argument("source", help="a corpus folder (soundsift data build or data real)")
    s.add_argument("--out", required=True)
    s.add_argument("--style", required=True, choices=["emoji", "stamps", "outline"])
    s.add_argument("--splits", default="train,val,test", help="comma-separated (default: train,val,test)")
    s.add_argument("--limit", type=int, default=None, help="at most this many rows a split")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--workers", type=int, default=None)
    s.add_argument("--force", action="store_true", help="replace OUT's scenes")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=_scenes)

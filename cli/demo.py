"""``soundsift demo``: the Gradio app on the shipped models (demo/app.py)."""

from __future__ import annotations


def _run(args) -> None:
    from demo.app import serve

    serve(args)


def add_commands(sub) -> None:
    from demo.app import add_arguments

    d = sub.add_parser("demo", help="start the Gradio app (offline; this machine only unless told otherwise)")
    add_arguments(d)
    d.set_defaults(func=_run)

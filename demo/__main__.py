"""``python -m demo``: the same as ``soundsift demo``."""

import argparse
import sys

from demo.app import add_arguments, serve
from soundsift.errors import SoundSiftError

parser = argparse.ArgumentParser(prog="python -m demo", description="The SoundSift Gradio app.")
add_arguments(parser)
try:
    serve(parser.parse_args())
except SoundSiftError as err:
    sys.exit(f"demo: error: {err}")
except KeyboardInterrupt:
    sys.exit(130)

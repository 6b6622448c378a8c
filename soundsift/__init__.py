"""SoundSift core: shared media I/O, errors and the command-line entry point."""

from soundsift.errors import SoundSiftError, MediaError

__all__ = ["SoundSiftError", "MediaError"]
__version__ = "0.1.0"

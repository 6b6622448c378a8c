"""SoundSift core: shared media I/O, errors and the command-line entry point."""

from soundsift.cpu_torch import import_torchvision
from soundsift.errors import SoundSiftError, MediaError

# before anything imports transformers or lightning (both import torchvision): see cpu_torch.py
import_torchvision()

__all__ = ["SoundSiftError", "MediaError"]
__version__ = "0.1.0"

"""Running beside a CPU-only torch with PyPI's torchvision and torchaudio, whose C++ ops are built for
the CUDA torch (the set-up installs the CPU torch where one lies on disk: a 2.4 GB venv instead of 8 GB).

PyPI's Linux x86_64 torchvision links the CUDA torch's libraries. Beside a CPU-only torch its ops library
cannot load, which torchvision tolerates, but its import then fails registering a fake kernel for
``torchvision::nms``/``qnms`` ("operator torchvision::nms does not exist"): those two registrations are
not guarded like the others. transformers, lightning, torchmetrics and timm all import torchvision when it
is installed, so nothing would import. Declaring the two ops' schemas first lets torchvision import
without its C++ ops; we use none of them (nms, roi_align, deform_conv2d), only its transforms via timm.
``import_torchvision()`` does that; the packages that import those libraries (encoders, recipes) call it
first, not ``soundsift`` itself: the CLI's start-up and its error paths need no torch.

torchaudio raises at import when its ops libraries are present but cannot load, and imports without them
(its loader allows for libraries that are not there); everything we use of it (resample, MelSpectrogram,
lfilter and create_dct in DAC's audiotools) is Python. ``main()``, run by the set-up, removes those
libraries when they cannot load.
"""

import importlib.util
import sys
from pathlib import Path

_SCHEMAS = ("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
            "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
_libraries = []  # a torch.library.Library lives only as long as a reference to it


def import_torchvision() -> None:
    """Import torchvision now, declaring its unguarded ops first if its ops library cannot load."""
    if "torchvision" in sys.modules or importlib.util.find_spec("torchvision") is None:
        return
    import torch

    if torch.version.cuda is not None:  # the CUDA torch loads torchvision's ops: nothing to do
        return
    try:
        import torchvision  # noqa: F401
        return
    except RuntimeError as err:
        if "torchvision::nms" not in str(err):
            raise
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]  # the failed import left half-initialised modules behind
    lib = torch.library.Library("torchvision", "FRAGMENT")
    for schema in _SCHEMAS:
        lib.define(schema)
    _libraries.append(lib)
    import torchvision  # noqa: F401,F811


def drop_torchaudio_ops() -> list[Path]:
    """Remove torchaudio's ops libraries if they cannot load (built for a CUDA torch); returns them."""
    spec = importlib.util.find_spec("torchaudio")
    if spec is None or spec.origin is None:
        return []
    try:
        import torchaudio  # noqa: F401
        return []
    except OSError:  # "Could not load this library: .../torchaudio/lib/_torchaudio.so"
        pass
    libs = sorted((Path(spec.origin).parent / "lib").glob("*.so"))
    for lib in libs:
        lib.unlink()
    return libs


def main() -> None:
    """The set-up's step: ``python -c "import soundsift.cpu_torch as c; c.main()"``."""
    dropped = drop_torchaudio_ops()
    print(f"removed torchaudio's {len(dropped)} ops libraries: built for a CUDA torch, they cannot load here"
          if dropped else "torchaudio's ops libraries load (or are gone already): nothing removed")

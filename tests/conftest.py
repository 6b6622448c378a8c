import os

import pytest

from soundsift.cpu_torch import import_torchvision

import_torchvision()  # before any test imports lightning or transformers: see soundsift/cpu_torch.py

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Two pytest-xdist workers (`make test`) compiling librosa's numba kernels into one shared cache at once
# crashed a fresh venv (a segfault reading a half-written entry): each worker keeps its own cache.
if os.environ.get("PYTEST_XDIST_WORKER"):
    import tempfile

    worker = os.environ["PYTEST_XDIST_WORKER"]
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), f"soundsift-numba-{worker}"))


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """The real tiny preset, built once per test session (about 10 s on 2 cores)."""
    from recipes.data.build import build

    out = tmp_path_factory.mktemp("tiny")
    build("tiny", out, seed=0, progress=False)
    return out

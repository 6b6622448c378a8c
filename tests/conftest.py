import os

import pytest

from soundsift.cpu_torch import import_torchvision

import_torchvision()  # before any test imports lightning or transformers: see soundsift/cpu_torch.py

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """The real tiny preset, built once per test session (about 10 s on 2 cores)."""
    from recipes.data.build import build

    out = tmp_path_factory.mktemp("tiny")
    build("tiny", out, seed=0, progress=False)
    return out

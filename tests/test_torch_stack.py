import os
import subprocess
import sys

import pytest

# A fresh interpreter: this test session has imported torchvision long ago (in conftest.py).
STACK = """
import encoders
import lightning, timm, torch, torchaudio, torchmetrics, torchvision
from torchvision.transforms import v2
from transformers import PeAudioEncoder

frames = torch.randint(0, 255, (2, 3, 64, 48), dtype=torch.uint8)
print(tuple(v2.Resize((32, 32), antialias=True)(frames).shape))
print(tuple(timm.create_model("test_vit", num_classes=8)(torch.rand(1, 3, 160, 160)).shape))
print(tuple(torchaudio.transforms.MelSpectrogram(16000, n_mels=40)(torch.randn(1, 16000)).shape))
"""


@pytest.mark.slow
def test_torch_stack_imports_and_runs_whichever_torch_is_installed():
    """After `import encoders`, torchvision (for timm), torchaudio, lightning and transformers import and
    run, on the CPU-only torch the set-up installs here (see soundsift/cpu_torch.py) or a CUDA one."""
    out = subprocess.run([sys.executable, "-c", STACK], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines() == ["(2, 3, 32, 32)", "(1, 8)", "(1, 40, 81)"]


def test_torchaudio_ops_that_cannot_load_are_removed_and_loadable_ones_kept(tmp_path):
    """The set-up's torchaudio step, on a stand-in package whose ops library fails to load as PyPI's
    CUDA-built one does beside a CPU-only torch, then on one that imports."""
    pkg = tmp_path / "torchaudio"
    (pkg / "lib").mkdir(parents=True)
    for name in ("_torchaudio.so", "libtorchaudio.so"):
        (pkg / "lib" / name).write_bytes(b"\x7fELF")
    (pkg / "__init__.py").write_text("raise OSError('Could not load this library: lib/_torchaudio.so')\n")
    run = [sys.executable, "-c", "import soundsift.cpu_torch as c; c.main()"]
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run(run, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "removed torchaudio's 2 ops libraries" in out.stdout and not list((pkg / "lib").iterdir())

    (pkg / "lib" / "_torchaudio.so").write_bytes(b"\x7fELF")
    (pkg / "__init__.py").write_text("")
    out = subprocess.run(run, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0 and "nothing removed" in out.stdout
    assert (pkg / "lib" / "_torchaudio.so").exists()

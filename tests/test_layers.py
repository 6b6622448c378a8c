"""Imports go one way: core (soundsift) <- models (encoders, judge, separation) <- command line (cli),
app (demo) and recipes. Checked on the source (every import statement, lazy ones included) and in a
fresh interpreter (what importing a layer really loads)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("soundsift", "encoders", "judge", "separation", "recipes", "cli", "demo")
# What each package may import from the others (itself always).
ALLOWED = {
    "soundsift": set(),
    "encoders": {"soundsift"},
    "judge": {"soundsift", "encoders"},
    "separation": {"soundsift", "encoders", "judge"},
    "recipes": {"soundsift", "encoders", "judge", "separation"},
    "cli": {"soundsift", "encoders", "judge", "separation", "recipes", "demo"},
    "demo": {"soundsift", "encoders", "judge", "separation"},
}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_each_layer_imports_only_the_layers_below_it(package):
    wrong = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_packages(path) - ALLOWED[package] - {package}
        if bad:
            wrong[str(path.relative_to(ROOT))] = sorted(bad)
    assert not wrong, f"{package} imports layers above it: {wrong}"


def test_importing_the_core_loads_nothing_above_it():
    code = ("import sys, soundsift, soundsift.io, soundsift.resample, soundsift.metrics, soundsift.outputs, "
            "soundsift.names, soundsift.checks, soundsift.timeline, soundsift.config, soundsift.errors\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(PACKAGES) - {'soundsift'}!r}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert proc.stdout.strip() == "[]"


def test_the_guard_sees_a_wrong_import(tmp_path):
    """The static check is not vacuous: a lazy import inside a function is found."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from separation.api import Separator\n    import recipes.common\n")
    assert imported_packages(module) == {"separation", "recipes"}

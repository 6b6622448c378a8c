"""The committed pipelines (each model's recipe and the results table's measurements) name stages that
can run: configs that exist, modules that import, and command lines the `soundsift` parser accepts.
A typo there would only show hours into a run."""

import importlib.util
from pathlib import Path

import pytest

from cli.main import make_parser
from recipes.pipeline import load

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = sorted(ROOT.glob("recipes/*/pipeline.yaml")) + [ROOT / "recipes" / "results.yaml"]


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_committed_pipeline_names_stages_that_can_run(path):
    spec = load(path)
    for stage in spec["stages"]:
        what = stage[stage["kind"]]
        if stage["kind"] == "train":
            assert (ROOT / what["config"]).is_file(), f"{stage['name']}: no {what['config']}"
            assert importlib.util.find_spec(what["script"]), stage["name"]
        elif stage["kind"] in ("run", "tool"):
            assert importlib.util.find_spec(what["module"]), f"{stage['name']}: no module {what['module']}"
            if what["module"] == "cli":
                try:
                    make_parser().parse_args([str(a) for a in what.get("args", [])])
                except SystemExit:
                    pytest.fail(f"{stage['name']}: soundsift does not accept {what['args']}")


def test_a_command_line_the_parser_refuses_is_caught():
    with pytest.raises(SystemExit):
        make_parser().parse_args(["eval", "separation", "--data", "d", "--record", "nowhere"])

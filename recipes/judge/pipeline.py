"""The shipped judge's recipe, every stage in order: ``python -m recipes.judge.pipeline [--from STAGE]``
(see recipes/pipeline.py and recipes/judge/pipeline.yaml)."""

from pathlib import Path

from recipes.pipeline import main

if __name__ == "__main__":
    raise SystemExit(main(default=str(Path(__file__).with_name("pipeline.yaml"))))

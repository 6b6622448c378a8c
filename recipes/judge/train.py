"""Train the judge with LightningCLI on judge corpora (recipes/judge/data.py).

    python -m recipes.judge.train fit --config recipes/judge/small.yaml
"""

from recipes.common import train_cli
from recipes.judge.module import JudgeDataModule, JudgeModule


def main(args=None) -> int:
    return train_cli(JudgeModule, JudgeDataModule, args)


if __name__ == "__main__":
    raise SystemExit(main())

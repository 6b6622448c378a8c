"""Train the separator with LightningCLI (the encoder must be trained and exported first).

    python -m recipes.separation.train fit --config recipes/separation/small.yaml
    python -m recipes.separation.train fit --config recipes/separation/small.yaml --ckpt_path last   # resume
    python -m recipes.separation.export runs/separation-small/checkpoints/last.ckpt separation/pretrained/separator-small
"""

from recipes.common import train_cli
from recipes.separation.data import SeparationDataModule
from recipes.separation.module import SeparationModule


def main(args=None) -> int:
    return train_cli(SeparationModule, SeparationDataModule, args)


if __name__ == "__main__":
    raise SystemExit(main())

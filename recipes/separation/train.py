"""Train the separator with LightningCLI (the encoder must be trained and exported first).

    python -m recipes.separation.train fit --config recipes/separation/small.yaml
    python -m recipes.separation.train fit --config recipes/separation/small.yaml --ckpt_path last   # resume
    python -m recipes.separation.export runs/separation-small/checkpoints/last.ckpt separation/pretrained/separator-small
"""

from lightning.pytorch.cli import LightningCLI

from recipes.separation.data import SeparationDataModule
from recipes.separation.module import SeparationModule


def main(args=None):
    LightningCLI(SeparationModule, SeparationDataModule, save_config_kwargs={"overwrite": True}, args=args)


if __name__ == "__main__":
    main()

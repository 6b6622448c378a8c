"""Train the encoder with LightningCLI.

    python -m recipes.encoders.train fit --config recipes/encoders/small.yaml
    python -m recipes.encoders.train fit --config recipes/encoders/small.yaml --ckpt_path last   # resume
    python -m recipes.encoders.export runs/encoders-small/checkpoints/last.ckpt encoders/pretrained/peav-small
"""

from lightning.pytorch.cli import LightningCLI

from recipes.encoders.data import EncoderDataModule
from recipes.encoders.module import EncoderModule


def main(args=None):
    LightningCLI(EncoderModule, EncoderDataModule, save_config_kwargs={"overwrite": True}, args=args)


if __name__ == "__main__":
    main()

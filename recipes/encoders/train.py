"""Train the encoder with LightningCLI.

    python -m recipes.encoders.train fit --config recipes/encoders/small.yaml
    python -m recipes.encoders.train fit --config recipes/encoders/small.yaml --ckpt_path last   # resume
    python -m recipes.encoders.export runs/encoders-small/checkpoints/last.ckpt encoders/pretrained/peav-small
"""

from recipes.common import train_cli
from recipes.encoders.data import EncoderDataModule
from recipes.encoders.module import EncoderModule


def main(args=None) -> int:
    return train_cli(EncoderModule, EncoderDataModule, args)


if __name__ == "__main__":
    raise SystemExit(main())

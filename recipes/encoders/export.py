"""Export a training checkpoint as a ``from_pretrained`` folder (config.json + model.safetensors).

    python -m recipes.encoders.export CHECKPOINT OUT_DIR
"""

import sys

import torch

from recipes.encoders.module import EncoderModule


def export(checkpoint: str, out: str) -> None:
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    hparams = {k: v for k, v in ckpt["hyper_parameters"].items() if not k.startswith("_")}  # LightningCLI adds _instantiator
    module = EncoderModule(**hparams)
    state = {k: v for k, v in ckpt["state_dict"].items()}
    missing, unexpected = module.load_state_dict(state, strict=False)
    if [k for k in missing if ".text." not in k] or unexpected:
        raise SystemExit(f"checkpoint does not match the module: {missing[:3]} {unexpected[:3]}")
    module.model.save_pretrained(out)
    print(out)


if __name__ == "__main__":
    export(*sys.argv[1:3])

"""Export a training checkpoint as a ``from_pretrained`` folder (config.json + model.safetensors).

    python -m recipes.encoders.export CHECKPOINT OUT_DIR
"""

from encoders.configuration import PEAVConfig
from encoders.modeling import PEAVModel
from recipes.common import export_main, lineage, load_checkpoint
from recipes.encoders.module import EncoderModule
from soundsift.errors import SoundSiftError


def export(checkpoint: str, out: str, stage: str | None = None, recipe: str | None = None) -> None:
    ckpt = load_checkpoint(checkpoint)
    if "model_config" in ckpt:
        model = PEAVModel(PEAVConfig(**ckpt["model_config"]))
        state = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()}
    else:  # checkpoints from before the config was stored: rebuild the module from its arguments
        hparams = {k: v for k, v in ckpt["hyper_parameters"].items() if not k.startswith("_")}  # LightningCLI adds _instantiator
        model = EncoderModule(**hparams).model
        state = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if [k for k in missing if not k.startswith("text.")] or unexpected:
        raise SoundSiftError(f"{checkpoint} does not match the module: {missing[:3]} {unexpected[:3]}")
    model.config.lineage = lineage(ckpt, checkpoint, stage, recipe)
    model.save_pretrained(out)
    print(out)


if __name__ == "__main__":
    raise SystemExit(export_main(export, __doc__.splitlines()[0]))

"""Export a separator checkpoint as a ``from_pretrained`` folder (config.json + model.safetensors).

    python -m recipes.separation.export CHECKPOINT OUT_DIR
"""

from recipes.common import export_main, lineage, load_checkpoint
from recipes.data.taxonomy import BY_LABEL, TARGET_LABELS
from recipes.separation.module import SeparationModule
from separation.configuration import SeparatorConfig
from separation.modeling import SeparatorNet


def export(checkpoint: str, out: str, stage: str | None = None, recipe: str | None = None) -> None:
    ckpt = load_checkpoint(checkpoint)
    if "net_config" in ckpt:
        net = SeparatorNet(SeparatorConfig(**ckpt["net_config"]))
        net.load_state_dict({k.removeprefix("net."): v for k, v in ckpt["state_dict"].items()})
    else:  # checkpoints from before the config was stored: rebuild the module from its arguments
        hparams = {k: v for k, v in ckpt["hyper_parameters"].items() if not k.startswith("_")}  # LightningCLI adds _instantiator
        module = SeparationModule(**hparams)
        module.load_state_dict(ckpt["state_dict"])
        net = module.net
    # the classes it was trained on, one plain description each: what click prompts are read through
    net.config.click_vocabulary = [BY_LABEL[label].captions[0] for label in TARGET_LABELS]
    net.config.lineage = lineage(ckpt, checkpoint, stage, recipe)
    net.save_pretrained(out)
    print(out)


if __name__ == "__main__":
    raise SystemExit(export_main(export, __doc__.splitlines()[0]))

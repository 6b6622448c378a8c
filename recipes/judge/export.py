"""Export a judge checkpoint as a ``from_pretrained`` folder (config.json + model.safetensors).

    python -m recipes.judge.export CHECKPOINT OUT_DIR
"""

from judge.configuration import JudgeConfig
from judge.modeling import JudgeNet
from recipes.common import export_main, lineage, load_checkpoint


def export(checkpoint: str, out: str, stage: str | None = None, recipe: str | None = None) -> None:
    ckpt = load_checkpoint(checkpoint)
    net = JudgeNet(JudgeConfig(**ckpt["net_config"]))
    net.load_state_dict({k.removeprefix("net."): v for k, v in ckpt["state_dict"].items()})
    net.config.lineage = lineage(ckpt, checkpoint, stage, recipe)
    net.save_pretrained(out)
    print(out)


if __name__ == "__main__":
    raise SystemExit(export_main(export, __doc__.splitlines()[0]))

"""Dataclass configs saved as ``config.json`` in a ``from_pretrained`` folder."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path


class JsonConfig:
    def save(self, folder: str | Path) -> None:
        from soundsift.io import atomic_path

        with atomic_path(Path(folder, "config.json"), overwrite=True) as tmp:  # save_pretrained into a folder it owns
            tmp.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, folder: str | Path):
        data = json.loads(Path(folder, "config.json").read_text())
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class PretrainedModule:
    """``save_pretrained``/``from_pretrained`` for an ``nn.Module`` built from one config (its class in
    ``config_class``), as a folder of ``config.json`` and ``model.safetensors``."""

    config_class = None
    weights_name = "model.safetensors"

    def save_pretrained(self, folder) -> Path:
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.config.save(folder)
        state = {k: v.detach().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(folder / self.weights_name), metadata={"format": "pt"})
        return folder

    @classmethod
    def from_pretrained(cls, folder):
        from safetensors.torch import load_file

        folder = Path(folder)
        model = cls(cls.config_class.load(folder))
        model.load_state_dict(load_file(str(folder / cls.weights_name)))
        return model.eval()

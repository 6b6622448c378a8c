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

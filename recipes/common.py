"""Pieces shared by the training and evaluation recipes."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
from torch.utils.data import DataLoader


class CorpusDataModule(L.LightningDataModule):
    """Loaders over ``self.train_set`` / ``self.val_set`` (built by a subclass's ``setup``),
    batched by the subclass's ``collate``."""

    collate = None

    def _loader(self, data, shuffle):
        h = self.hparams
        return DataLoader(data, batch_size=h.batch_size, shuffle=shuffle, collate_fn=type(self).collate,
                          drop_last=shuffle, num_workers=h.num_workers, persistent_workers=h.num_workers > 0)

    def train_dataloader(self):
        return self._loader(self.train_set, True)

    def val_dataloader(self):
        return self._loader(self.val_set, False)


def write_report(result: dict, markdown: str, out: str | Path, stem: str) -> tuple[Path, Path]:
    """``out/<stem>.json`` and ``out/<stem>.md``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    js, md = out / f"{stem}.json", out / f"{stem}.md"
    js.write_text(json.dumps(result, indent=1))
    md.write_text(markdown)
    return js, md

"""Pieces shared by the training and evaluation recipes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader

from soundsift.errors import SoundSiftError


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


class SaveLastAtEnd(L.Callback):
    """Writes ``dirpath/last.ckpt`` when fit ends. Lightning's ModelCheckpoint with
    ``every_n_train_steps`` does not save at the end of a run (max_steps or max_time reached between
    two saves), which lost the last steps of earlier runs."""

    def __init__(self, dirpath: str):
        self.dirpath = dirpath

    def on_train_end(self, trainer, pl_module):
        # A ModelCheckpoint(save_last=True) that has not written "last" yet writes it itself at the end
        # (Lightning >= 2.5); had this run first, it would pick the name last-v1.ckpt.
        if trainer.global_step == 0 or any(cb.save_last and not cb.last_model_path for cb in trainer.checkpoint_callbacks):
            return
        trainer.save_checkpoint(str(Path(self.dirpath) / "last.ckpt"))


def adamw_one_cycle(module: L.LightningModule, params) -> tuple[list, list]:
    """AdamW with a one-cycle schedule over the whole run (5 % warm-up), stepped per batch."""
    h = module.hparams
    opt = torch.optim.AdamW(params, lr=h.lr, weight_decay=h.weight_decay)
    total = max(module.trainer.estimated_stepping_batches, 1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=h.lr, total_steps=total, pct_start=0.05)
    return [opt], [{"scheduler": sched, "interval": "step"}]


def write_report(result: dict, markdown: str, out: str | Path, stem: str) -> tuple[Path, Path]:
    """``out/<stem>.json`` and ``out/<stem>.md``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    js, md = out / f"{stem}.json", out / f"{stem}.md"
    js.write_text(json.dumps(result, indent=1))
    md.write_text(markdown)
    return js, md


def update_config(config_cls, model: str | Path, **fields) -> Path:
    """Set ``fields`` in the ``config.json`` of the from_pretrained folder ``model``; returns its path."""
    config = config_cls.load(model)
    for key, value in fields.items():
        setattr(config, key, value)
    config.save(model)
    return Path(model) / "config.json"


def config_tool_args(description: str, argv=None):
    """Arguments of the tools that measure a model folder on a corpus split and update its config."""
    import argparse

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("model", help="a from_pretrained folder of our encoder or separator; its config.json is updated")
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--limit", type=int, default=None)
    return ap.parse_args(argv)


def run_tool(main, argv=None) -> int:
    """Run a recipe tool's ``main`` the way the ``soundsift`` command runs its own: a bad model or
    data folder ends in one error line and exit status 1, not a traceback."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # as the CLI: no load-progress noise around that line
    hf_logging.disable_progress_bar()
    try:
        main(argv)
    except SoundSiftError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def load_checkpoint(path: str | Path) -> dict:
    """A Lightning checkpoint's contents, read with weights_only (no arbitrary unpickling)."""
    if not Path(path).is_file():
        raise SoundSiftError(f"{path}: no such checkpoint")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file fails in many ways inside torch.load
        raise SoundSiftError(f"{path}: not a readable checkpoint ({type(err).__name__})") from None


def export_main(export, description: str, argv=None) -> int:
    """Command line of the export tools: CHECKPOINT OUT_DIR -> ``export(checkpoint, out)``."""
    import argparse

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("checkpoint", help="a training checkpoint (.ckpt)")
    ap.add_argument("out", help="the from_pretrained folder to write")
    args = ap.parse_args(argv)
    return run_tool(lambda _: export(args.checkpoint, args.out))

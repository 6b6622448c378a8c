"""Pieces shared by the training and evaluation recipes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import lightning as L
import numpy as np
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


def example_rng(train: bool, seed: int, index: int) -> np.random.Generator:
    """The random stream of one example. Validation: fixed by (seed, index), the same every epoch.
    Training: drawn from torch's generator, which seed_everything seeds and each DataLoader worker
    re-seeds from it, so a run with the recipe's seed draws the same crops and augmentations again
    (a fresh OS-entropy stream made two runs of one recipe differ by 0.6 dB on real validation)."""
    return torch_seeded_rng() if train else np.random.default_rng([seed, index])


def torch_seeded_rng() -> np.random.Generator:
    """A numpy stream seeded from torch's generator (seeded runs repeat it; see example_rng)."""
    return np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))


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


def warmup_share(total: int) -> float:
    """5 % of the steps, but at least 2 on short runs: torch's OneCycleLR divides by zero when the
    warm-up ends at step 0 (5 % of 20 steps, tiny.yaml's run) and misbehaves when it ends before it."""
    if 0.05 * total >= 2:
        return 0.05
    return 2 / total if total > 3 else 0.3


def adamw_one_cycle(module: L.LightningModule, params) -> tuple[list, list]:
    """AdamW with a one-cycle schedule over the whole run (5 % warm-up), stepped per batch."""
    h = module.hparams
    opt = torch.optim.AdamW(params, lr=h.lr, weight_decay=h.weight_decay)
    total = max(module.trainer.estimated_stepping_batches, 1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=h.lr, total_steps=total, pct_start=warmup_share(total))
    return [opt], [{"scheduler": sched, "interval": "step"}]


def write_report(result: dict, markdown: str, out: str | Path, stem: str) -> tuple[Path, Path]:
    """``out/<stem>.json`` and ``out/<stem>.md``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    js, md = out / f"{stem}.json", out / f"{stem}.md"
    js.write_text(json.dumps(result, indent=1))
    md.write_text(markdown)
    return js, md


def update_config(config_cls, model: str | Path, out: str | Path, force: bool = False, **fields) -> Path:
    """A copy of the from_pretrained folder ``model`` as ``out`` with ``fields`` set in its config (the
    tool that chose them recorded in its lineage); ``model`` itself is never edited. Returns the new
    config's path."""
    import shutil

    from soundsift.outputs import written_folder

    model, out = Path(model), Path(out)
    if model.resolve() == out.resolve():
        raise SoundSiftError(f"{out}: calibration writes a new folder; give another --out than the model")
    config = config_cls.load(model)
    for key, value in fields.items():
        setattr(config, key, value)
    config.lineage = {**config.lineage, "calibrated_from": str(model),
                      "calibrated": sorted(set(config.lineage.get("calibrated", [])) | set(fields) - {"text_anchors"})}
    with written_folder(out, force) as staged:
        for item in model.iterdir():
            if item.is_file() and item.name != "config.json":
                shutil.copy2(item, staged / item.name)
        config.save(staged)
    return out / "config.json"


def config_tool_args(description: str, argv=None):
    """Arguments of the tools that measure a model folder on a corpus split and write a copy of it
    with the chosen values in its config."""
    import argparse

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("model", help="a from_pretrained folder of our encoder or separator (left as it is)")
    ap.add_argument("--out", required=True, help="the new folder: the model with the chosen values in its config")
    ap.add_argument("--force", action="store_true", help="replace --out if it exists")
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


def train_cli(module_cls, data_cls, args=None) -> int:
    """LightningCLI for a recipe, with a bad setting or data folder ending in one error line and exit
    status 1 (as the other tools), not a traceback from inside the training loop."""
    from lightning.pytorch.cli import LightningCLI

    try:
        LightningCLI(module_cls, data_cls, save_config_kwargs={"overwrite": True}, args=args)
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


def git_commit() -> str | None:
    """The working tree's commit ("+dirty" with uncommitted changes), None outside a git checkout."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def weights_digest(folder: str | Path) -> str | None:
    """First 12 hex digits of the sha256 of a from_pretrained folder's weights (None if it has none)."""
    import hashlib

    path = Path(folder) / "model.safetensors"
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def _data_lineage(root) -> dict | None:
    if not root:
        return None
    build = Path(root) / "build.json"
    meta = json.loads(build.read_text()) if build.is_file() else {}
    return {"root": str(root), **{k: meta[k] for k in ("preset", "variant", "seed") if k in meta}}


def _roots_lineage(root):
    """One corpus's lineage, or a list of them for a module that joins several."""
    if isinstance(root, (list, tuple)):
        return [_data_lineage(r) for r in root] or None
    return _data_lineage(root)


def lineage(ckpt: dict, checkpoint: str | Path, stage: str | None = None, recipe: str | None = None) -> dict:
    """Where an export comes from, for its config: the checkpoint and step, the parent model it
    continued from, the corpus (preset, variant and seed from its build.json), the encoder whose
    queries it learnt (with its weights' digest), the recipe stage, and the git commit."""
    model = ckpt.get("hyper_parameters", {})
    data = ckpt.get("datamodule_hyper_parameters", {})
    parent = model.get("init_from")
    encoder = data.get("encoder")
    out = {"stage": stage, "recipe": recipe, "checkpoint": str(checkpoint), "step": ckpt.get("global_step"),
           "parent": str(parent) if parent else None,
           "parent_weights": weights_digest(parent) if parent else None,
           "data": _roots_lineage(data.get("root")) or ({"train": data.get("train"), "val": data.get("val")}
                                                           if data.get("train") else None),
           "encoder": {"path": str(encoder), "weights": weights_digest(encoder)} if encoder else None,
           "git_commit": git_commit()}
    return {k: v for k, v in out.items() if v is not None}


def export_main(export, description: str, argv=None) -> int:
    """Command line of the export tools: CHECKPOINT OUT_DIR [--stage NAME --recipe YAML] ->
    ``export(checkpoint, out, stage, recipe)``."""
    import argparse

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("checkpoint", help="a training checkpoint (.ckpt)")
    ap.add_argument("out", help="the from_pretrained folder to write")
    ap.add_argument("--stage", default=None, help="recipe stage name, recorded in the config's lineage")
    ap.add_argument("--recipe", default=None, help="the training YAML, recorded in the config's lineage")
    args = ap.parse_args(argv)
    return run_tool(lambda _: export(args.checkpoint, args.out, args.stage, args.recipe))

"""LightningModule for the separator: thresholded SNR on present targets, output energy on absent ones."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import lightning as L
from safetensors.torch import load_file
import torch
import torch.nn.functional as F

from recipes.common import adamw_one_cycle
from separation.configuration import SeparatorConfig
from separation.losses import EPS, separation_loss
from separation.modeling import WEIGHTS_NAME, SeparatorNet
from soundsift.errors import SoundSiftError
from soundsift.metrics import si_sdr


class SeparationModule(L.LightningModule):
    def __init__(self, config: dict | None = None, tiny: bool = False, lr: float = 1e-3, weight_decay: float = 0.01,
                 presence_weight: float = 1.0, init_from: str | None = None):
        """``init_from``: a ``from_pretrained`` folder to continue from (``config`` then overrides its
        config; a presence gate, mask refiner or timing input it lacks starts fresh)."""
        super().__init__()
        self.save_hyperparameters()
        cfg = SeparatorConfig.load(init_from) if init_from else SeparatorConfig.tiny() if tiny else SeparatorConfig()
        for key, value in (config or {}).items():
            setattr(cfg, key, value)
        cfg.presence_sharpness = 1.0  # training sees the plain gate; calibrate.py sharpens it afterwards
        self.net = SeparatorNet(cfg)
        if init_from:
            state = load_file(str(Path(init_from) / WEIGHTS_NAME))
            missing, unexpected = self.net.load_state_dict(state, strict=False)
            starts_fresh = ("presence.", "refiner.", "visual", *(f"blocks.{i}." for i in self.grown_blocks(state)))
            if unexpected or [k for k in missing if not k.startswith(starts_fresh)]:
                raise ValueError(f"{init_from} does not match the config: {missing[:3]} {unexpected[:3]}")

    def grown_blocks(self, state: dict) -> list[int]:
        """Blocks the config adds after those in ``state`` (``config.dilations`` longer than the parent's)
        start as the identity, their output convolution zero: the grown net begins where its parent was."""
        have = {int(k.split(".")[1]) for k in state if k.startswith("blocks.")}
        grown = [i for i in range(len(self.net.blocks)) if i not in have]
        if grown and (not have or min(grown) != max(have) + 1):
            raise ValueError("only blocks appended after the parent's can be grown")
        for i in grown:
            torch.nn.init.zeros_(self.net.blocks[i].out.weight)
            torch.nn.init.zeros_(self.net.blocks[i].out.bias)
        return grown

    def setup(self, stage: str) -> None:
        dim = getattr(getattr(self.trainer, "datamodule", None), "query_dim", None)  # set by the data's setup
        visual = getattr(getattr(self.trainer, "datamodule", None), "visual_dim", None)
        if visual is not None and visual != self.net.config.visual_dim:
            raise SoundSiftError(f"the data's click examples carry {visual}-d timing tracks but the separator reads "
                                 f"{self.net.config.visual_dim}: set model.config.visual_dim to {visual}")
        if dim is not None and dim != self.net.config.query_dim:
            raise SoundSiftError(f"the data's encoder gives {dim}-d queries but the separator takes "
                                 f"{self.net.config.query_dim}-d ones: set model.config.query_dim to {dim}, or "
                                 "data.encoder to an encoder of the separator's size")

    def forward(self, batch):
        return self.net(batch["mixture"], batch["query"], batch["spans"], return_presence=True,
                        visual=batch.get("visual"))

    def loss(self, batch, est, presence, stage: str) -> torch.Tensor:
        n = len(est)
        loss = separation_loss(est, batch["target"], batch["mixture"], batch["active"]).mean()
        if presence is not None:
            bce = F.binary_cross_entropy_with_logits(presence, batch["active"].float())
            self.log(f"{stage}/presence_bce", bce, batch_size=n)
            self.log(f"{stage}/presence_acc", ((presence > 0) == batch["active"]).float().mean(), batch_size=n)
            loss = loss + self.hparams.presence_weight * bce
        self.log(f"{stage}/loss", loss, prog_bar=True, batch_size=n)
        return loss

    def training_step(self, batch, batch_idx):
        est, presence = self(batch)
        return self.loss(batch, est, presence, "train")

    def validation_step(self, batch, batch_idx):
        est, presence = self(batch)
        self.loss(batch, est, presence, "val")
        click = torch.tensor([m.startswith("click") for m in batch["mode"]], device=est.device)
        for prefix, rows in (("", ~click), ("click_", click)):  # text/audio prompts, and clicks apart
            act, absent = batch["active"] & rows, ~batch["active"] & rows
            if act.any():
                gain = si_sdr(est[act], batch["target"][act]) - si_sdr(batch["mixture"][act], batch["target"][act])
                self.log(f"val/{prefix}si_sdri", gain.mean(), prog_bar=True, batch_size=int(act.sum()))
            if absent.any():
                level = 10 * torch.log10(est[absent].pow(2).sum(-1) + EPS) - 10 * torch.log10(
                    batch["mixture"][absent].pow(2).sum(-1) + EPS)
                self.log(f"val/{prefix}absent_db", level.mean(), batch_size=int(absent.sum()))

    def on_save_checkpoint(self, checkpoint):
        # The full network config, so that export needs neither ``init_from`` nor this class's defaults.
        checkpoint["net_config"] = asdict(self.net.config)

    def configure_optimizers(self):
        return adamw_one_cycle(self, self.net.parameters())

"""The recipes run with DDP unchanged: the tiny separator config on 2 CPU processes (gloo)."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow  # two training processes start, each loading the shipped encoder

ROOT = Path(__file__).resolve().parents[1]


def train(tmp, corpus, *extra):
    env = {**os.environ, "PYTHONPATH": str(tmp)}
    return subprocess.run([sys.executable, "-m", "recipes.separation.train", "fit", "--config",
                           str(ROOT / "recipes" / "separation" / "tiny.yaml"), "--data.root", str(corpus),
                           "--trainer.max_steps", "4", "--trainer.accelerator", "cpu", "--trainer.devices", "2",
                           "--trainer.strategy", "ddp", "--trainer.limit_val_batches", "1", *extra],
                          capture_output=True, text=True, cwd=tmp, env=env, timeout=600)


def loss_rows(tmp) -> list[dict]:
    rows = []
    for path in sorted((tmp / "runs" / "separation-tiny" / "lightning_logs").glob("version_*/metrics.csv")):
        rows += [r for r in csv.DictReader(path.open()) if r.get("train/loss")]
    return rows


def test_the_tiny_recipe_trains_with_two_ddp_processes_and_resumes(tiny_corpus, tmp_path):
    (tmp_path / "stopper.py").write_text(
        "import lightning as L\n\n"
        "class StopAt(L.Callback):\n"
        "    def on_train_batch_end(self, trainer, *args):\n"
        "        if trainer.global_step >= 2:\n"
        "            trainer.should_stop = True\n")
    first = train(tmp_path, tiny_corpus, "--trainer.callbacks+=stopper.StopAt")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "distributed_backend=gloo" in first.stderr and "All distributed processes registered" in first.stderr
    last = tmp_path / "runs" / "separation-tiny" / "checkpoints" / "last.ckpt"
    assert torch.load(last, map_location="cpu", weights_only=True)["global_step"] == 2
    assert [int(r["step"]) for r in loss_rows(tmp_path)] == [0, 1]  # one loss per step, logged once (rank 0)

    resumed = train(tmp_path, tiny_corpus, "--ckpt_path", str(last))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert torch.load(last, map_location="cpu", weights_only=True)["global_step"] == 4  # continued, not restarted
    assert [int(r["step"]) for r in loss_rows(tmp_path)] == [0, 1, 2, 3]

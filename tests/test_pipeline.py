"""A model's recipe as one resumable pipeline: stages run in order, finished ones are skipped, a
failed one is where the rerun starts, and the published folder records its lineage."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow  # trains two tiny models in subprocesses (about a minute)


def _train_config(tmp, name, model, data, steps):
    ckpt = str(tmp / f"runs/{name}/checkpoints")
    return {"seed_everything": 0,
            "trainer": {"max_steps": steps, "logger": False, "enable_progress_bar": False, "enable_model_summary": False,
                        "limit_val_batches": 1, "num_sanity_val_steps": 0, "default_root_dir": str(tmp / f"runs/{name}"),
                        "callbacks": [{"class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                                       "init_args": {"dirpath": ckpt, "save_last": True, "every_n_train_steps": 1}},
                                      {"class_path": "recipes.common.SaveLastAtEnd", "init_args": {"dirpath": ckpt}}]},
            "model": model, "data": data}


def _pipeline(tmp, corpus, separator_steps=2):
    (tmp / "enc.yaml").write_text(yaml.safe_dump(_train_config(
        tmp, "enc", {"tiny": True}, {"root": str(corpus), "batch_size": 8, "num_workers": 0}, 2)))
    (tmp / "sep.yaml").write_text(yaml.safe_dump(_train_config(
        tmp, "sep", {"tiny": True}, {"root": str(corpus), "encoder": "runs/enc-tuned", "batch_size": 4,
                                     "crop_seconds": 1.0, "num_workers": 0}, separator_steps)))
    spec = {"name": "tiny", "stages": [
        {"name": "data", "data": {"preset": "tiny", "seed": 0, "out": str(corpus)}},
        {"name": "encoder", "train": {"script": "recipes.encoders.train", "config": str(tmp / "enc.yaml"),
                                      "export": "runs/enc"}, "minutes": 1},
        {"name": "threshold", "tool": {"module": "recipes.encoders.calibrate", "model": "runs/enc",
                                       "out": "runs/enc-tuned", "data": str(corpus), "split": "val"}},
        {"name": "separator", "train": {"script": "recipes.separation.train", "config": str(tmp / "sep.yaml"),
                                        "export": "runs/sep"}, "minutes": 2},
        {"name": "publish", "publish": {"from": "runs/sep", "to": "shipped/separator"}},
    ]}
    path = tmp / "pipeline.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def run(path, tmp, *args):
    env = {**os.environ, "PYTHONPATH": str(tmp)}  # the stages can load callbacks written into tmp
    return subprocess.run([sys.executable, "-m", "recipes.pipeline", str(path), "--workdir", str(tmp), *args],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], env=env)


def test_pipeline_runs_resumes_and_records_lineage(tiny_corpus, tmp_path):
    path = _pipeline(tmp_path, tiny_corpus)
    broken = yaml.safe_load((tmp_path / "sep.yaml").read_text())
    broken["model"]["lr"] = "fast"  # the separator stage will fail
    (tmp_path / "sep.yaml").write_text(yaml.safe_dump(broken))
    failed = run(path, tmp_path)
    assert failed.returncode == 1 and "stage 'separator' failed" in failed.stderr.strip().splitlines()[-1]
    state = json.loads((tmp_path / "runs/pipelines/tiny.json").read_text())
    assert list(state) == ["data", "encoder", "threshold"]  # what finished before the failure is kept
    encoder_weights = (tmp_path / "runs/enc/model.safetensors").stat().st_mtime_ns

    _pipeline(tmp_path, tiny_corpus)  # fixed: the rerun starts at the separator
    done = run(path, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "[2/5] encoder: done" in done.stdout and "[4/5] separator: train" in done.stdout
    assert (tmp_path / "runs/enc/model.safetensors").stat().st_mtime_ns == encoder_weights
    config = json.loads((tmp_path / "shipped/separator/config.json").read_text())
    lineage = config["lineage"]
    assert lineage["stage"] == "separator" and lineage["recipe"].endswith("sep.yaml") and lineage["step"] == 2
    assert lineage["encoder"]["path"] == "runs/enc-tuned" and len(lineage["encoder"]["weights"]) == 12
    assert lineage["data"]["preset"] == "tiny" and "git_commit" in lineage
    tuned = json.loads((tmp_path / "runs/enc-tuned/config.json").read_text())
    assert tuned["lineage"]["stage"] == "encoder" and "frame_threshold" in tuned["lineage"]["calibrated"]

    again = run(path, tmp_path, "--list")
    assert again.returncode == 0 and again.stdout.count(" done ") == 5
    shipped = (tmp_path / "shipped/separator/model.safetensors").stat().st_mtime_ns
    redo = run(path, tmp_path, "--from", "separator")  # redoes the separator and what follows, from scratch
    assert redo.returncode == 0, redo.stderr
    assert "resuming" not in redo.stdout and "[3/5] threshold: done" in redo.stdout
    assert (tmp_path / "shipped/separator/model.safetensors").stat().st_mtime_ns != shipped
    assert (tmp_path / "runs/enc/model.safetensors").stat().st_mtime_ns == encoder_weights


def test_a_training_stage_that_stopped_early_resumes_from_its_checkpoint(tiny_corpus, tmp_path):
    """A run cut short (by max_time, or killed) continues from its last checkpoint until its step budget
    is spent: here every run stops after one step, so three runs make the three steps."""
    (tmp_path / "stopper.py").write_text(
        "import lightning as L\n\n"
        "class StopAfterOneStep(L.Callback):\n"
        "    def on_train_batch_end(self, trainer, *args):\n"
        "        trainer.should_stop = True\n")
    path = _pipeline(tmp_path, tiny_corpus, separator_steps=3)
    config = yaml.safe_load((tmp_path / "sep.yaml").read_text())
    config["trainer"]["callbacks"].append({"class_path": "stopper.StopAfterOneStep"})
    (tmp_path / "sep.yaml").write_text(yaml.safe_dump(config))
    done = run(path, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("resuming from") == 2
    assert json.loads((tmp_path / "shipped/separator/config.json").read_text())["lineage"]["step"] == 3

"""Run a model's recipe from scratch to its shipped folder: every stage in order, resumable.

    python -m recipes.encoders.pipeline [--from STAGE] [--list]
    python -m recipes.separation.pipeline [--from STAGE] [--list]
    python -m recipes.pipeline PIPELINE.yaml [--from STAGE] [--list] [--workdir DIR]

A pipeline is data (``recipes/<model>/pipeline.yaml``): a list of stages, each one of
- ``data``: build a corpus with the data engine (resumable itself);
- ``run``: any recipe module with its arguments (``python -m MODULE ARGS``), e.g. a derived corpus;
- ``train``: a LightningCLI fit of a committed config, resumed from its last checkpoint until its
  step or epoch budget is spent, then exported (the export records its lineage: stage, recipe,
  parent, data, encoder, git commit);
- ``tool``: a calibration tool that writes a new folder with the values it chose;
- ``publish``: the final folder copied to where the package ships it.
Finished stages are recorded in ``runs/pipelines/<name>.json``; a rerun starts at the first stage not
finished, a training stage from its last checkpoint. ``--from STAGE`` redoes STAGE and every stage
after it from scratch. Relative paths in the pipeline and in the configs are taken from ``--workdir``
(default: the current folder, the repository root).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from soundsift.errors import SoundSiftError

KINDS = ("data", "run", "train", "tool", "publish")


def load(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise SoundSiftError(f"{path}: no such pipeline")
    spec = yaml.safe_load(path.read_text())
    stages = spec.get("stages") or []
    names = [s.get("name") for s in stages]
    if not spec.get("name") or not stages or len(set(names)) != len(names) or None in names:
        raise SoundSiftError(f"{path}: a pipeline needs a name and stages with distinct names")
    for s in stages:
        kinds = [k for k in KINDS if k in s]
        if len(kinds) != 1:
            raise SoundSiftError(f"{path}: stage {s['name']!r} must have exactly one of {', '.join(KINDS)}")
        s["kind"] = kinds[0]
    return spec


def _checkpoint_dir(config: dict) -> str:
    """Where the config's SaveLastAtEnd (or ModelCheckpoint) writes last.ckpt."""
    for cb in (config.get("trainer") or {}).get("callbacks") or []:
        if cb.get("class_path", "").endswith(("SaveLastAtEnd", "ModelCheckpoint")):
            return cb["init_args"]["dirpath"]
    raise SoundSiftError("a pipeline's training config needs a ModelCheckpoint or SaveLastAtEnd callback")


def _finished(ckpt: dict, trainer: dict) -> bool:
    """Whether a run that saved ``ckpt`` at its end spent its whole budget (not stopped by max_time)."""
    if (trainer.get("max_steps") or -1) > 0:
        return ckpt.get("global_step", 0) >= trainer["max_steps"]
    return ckpt.get("epoch", 0) >= (trainer.get("max_epochs") or 1000)  # epochs completed when it was saved


class Pipeline:
    def __init__(self, path: str | Path, workdir: str | Path = "."):
        self.spec = load(path)
        self.workdir = Path(workdir).resolve()
        self.stages = self.spec["stages"]
        self.state_path = self.workdir / "runs" / "pipelines" / f"{self.spec['name']}.json"
        self.state = json.loads(self.state_path.read_text()) if self.state_path.is_file() else {}

    def _path(self, p: str) -> Path:
        return self.workdir / p

    def _save_state(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".part")
        tmp.write_text(json.dumps(self.state, indent=1))
        tmp.replace(self.state_path)

    def _run(self, cmd: list[str], stage: str) -> None:
        proc = subprocess.run([sys.executable, *cmd], cwd=self.workdir)
        if proc.returncode != 0:
            raise SoundSiftError(f"stage {stage!r} failed (exit {proc.returncode}: {' '.join(cmd)}); rerun the "
                                 "pipeline to resume at this stage")

    # --- stages -------------------------------------------------------------------------------
    def _data(self, stage: dict) -> None:
        from recipes.data.build import build

        d = stage["data"]
        build(d["preset"], self._path(d["out"]), seed=d.get("seed", 0), variant=d.get("variant", "default"))

    def _train(self, stage: dict, fresh: bool) -> None:
        t = stage["train"]
        config_path = Path(t["config"])
        config = yaml.safe_load((config_path if config_path.is_absolute() else self.workdir / config_path).read_text())
        ckpt_dir = self._path(_checkpoint_dir(config))
        if fresh and ckpt_dir.exists():
            shutil.rmtree(ckpt_dir)
        for attempt in range(t.get("max_runs", 20)):  # each run is bounded by the config's max_time
            last = ckpt_dir / "last.ckpt"
            resume = ["--ckpt_path", str(last)] if last.is_file() else []
            if resume:
                print(f"  resuming from {last}", flush=True)
            self._run(["-m", t["script"], "fit", "--config", str(t["config"]), *resume], stage["name"])
            import torch

            saved = torch.load(last, map_location="cpu", weights_only=True)
            if _finished(saved, config.get("trainer") or {}):
                break
        else:
            raise SoundSiftError(f"stage {stage['name']!r} did not finish its schedule in {attempt + 1} runs")
        export = t["script"].rsplit(".", 1)[0] + ".export"
        self._run(["-m", export, str(last), str(self._path(t["export"])), "--stage", stage["name"],
                   "--recipe", str(t["config"])], stage["name"])

    def _module(self, stage: dict) -> None:
        r = stage["run"]
        self._run(["-m", r["module"], *map(str, r.get("args", []))], stage["name"])

    def _tool(self, stage: dict) -> None:
        t = stage["tool"]
        self._run(["-m", t["module"], t["model"], "--out", t["out"], "--force", "--data", t["data"],
                   "--split", t.get("split", "val")], stage["name"])

    def _publish(self, stage: dict) -> None:
        from soundsift.outputs import written_folder

        src, dst = self._path(stage["publish"]["from"]), Path(stage["publish"]["to"])
        dst = dst if dst.is_absolute() else self.workdir / dst
        if not (src / "config.json").is_file():
            raise SoundSiftError(f"{src}: nothing to publish (no config.json)")
        with written_folder(dst, force=True) as staged:
            for item in src.iterdir():
                if item.is_file():
                    shutil.copy2(item, staged / item.name)
        print(f"  published {src} -> {dst}", flush=True)

    # --- driver -------------------------------------------------------------------------------
    def describe(self) -> str:
        lines, total = [], 0.0
        for i, s in enumerate(self.stages, 1):
            minutes = float(s.get("minutes", 0))
            total += minutes
            done = "done" if s["name"] in self.state else "todo"
            what = s[s["kind"]]
            detail = what.get("config") or what.get("module") or what.get("out") or what.get("to") or ""
            if s["kind"] == "run":
                detail = " ".join([what["module"], *map(str, what.get("args", []))])
            lines.append(f"{i:2d}. {s['name']:<22} {s['kind']:<8} {done:<5} ~{minutes:4.0f} min  {detail}")
        lines.append(f"about {total / 60:.1f} h on 2 CPU cores in all")
        return "\n".join(lines)

    def run(self, start: str | None = None) -> None:
        names = [s["name"] for s in self.stages]
        if start is not None:
            if start not in names:
                raise SoundSiftError(f"no stage {start!r}; stages: {', '.join(names)}")
            for name in names[names.index(start):]:
                self.state.pop(name, None)
            self._save_state()
        redo = set(names[names.index(start):]) if start else set()
        for i, stage in enumerate(self.stages, 1):
            name = stage["name"]
            if name in self.state:
                print(f"[{i}/{len(names)}] {name}: done", flush=True)
                continue
            print(f"[{i}/{len(names)}] {name}: {stage['kind']} ...", flush=True)
            began = time.time()
            if stage["kind"] == "data":
                self._data(stage)
            elif stage["kind"] == "train":
                self._train(stage, fresh=name in redo)
            elif stage["kind"] == "tool":
                self._tool(stage)
            elif stage["kind"] == "run":
                self._module(stage)
            else:
                self._publish(stage)
            self.state[name] = {"finished": time.strftime("%Y-%m-%d %H:%M:%S"), "minutes": round((time.time() - began) / 60, 1)}
            self._save_state()


def main(argv=None, default: str | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    if default is None:
        ap.add_argument("pipeline", help="a pipeline YAML (recipes/<model>/pipeline.yaml)")
    ap.add_argument("--from", dest="start", default=None, help="redo this stage and every later one from scratch")
    ap.add_argument("--list", action="store_true", help="list the stages, what is done, and the time each takes")
    ap.add_argument("--workdir", default=".", help="folder that relative paths start from (default: here)")
    args = ap.parse_args(argv)
    try:
        pipeline = Pipeline(default or args.pipeline, args.workdir)
        if args.list:
            print(pipeline.describe())
        else:
            pipeline.run(args.start)
    except SoundSiftError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

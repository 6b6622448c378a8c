"""Separating a collection (a folder tree or a manifest of files) on Ray, resumably.

Each Ray worker (an actor) loads the models once and separates many files, each streamed a block at
a time and written as ``soundsift separate`` writes it (``OUT/<model>/<relative path>/<stem>.wav``,
one locked track folder committed whole). The driver appends one JSON line per finished file to
``OUT/results.jsonl`` (input, stems, presence, seconds, error) as files finish; a rerun skips files
already done and retries failed ones; a bad file is recorded and does not stop the batch.

Without an address Ray starts on this machine; with ``address`` ("auto", "ray://host:10001") the
same code runs on that cluster, each worker on one CPU (or one GPU with ``device="cuda"``).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from soundsift.errors import SoundSiftError
from soundsift.names import safe_component, unique

AUDIO_EXTENSIONS = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".opus", ".mp4", ".mkv", ".webm", ".mov", ".avi"}
RESULTS = "results.jsonl"


@dataclass(frozen=True)
class Item:
    input: str   # the file, as found
    track: str   # its track folder under OUT/<model>/, relative (mirrors the input tree)


def find_inputs(source: str | os.PathLike) -> list[Item]:
    """The files to separate: every media file under a folder (sorted), or the lines of a manifest
    (``.txt``: one path per line, '#' comments; ``.jsonl``: {"input": path} per line), relative paths
    taken from the manifest's folder. Track folders mirror the paths below the folder (or manifest)."""
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS
                       and not any(part.startswith(".") for part in p.relative_to(source).parts))
        base = source
    elif source.is_file():
        base = source.parent
        if source.suffix == ".jsonl":
            try:
                entries = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
                names = [e.get("input") or e["path"] for e in entries]
            except (ValueError, KeyError, AttributeError) as err:
                raise SoundSiftError(f"{source}: each line must be a JSON object with an 'input' path ({err})") from None
        else:
            names = [line.strip() for line in source.read_text().splitlines()
                     if line.strip() and not line.lstrip().startswith("#")]
        files = [Path(n) if Path(n).is_absolute() else base / n for n in names]
    else:
        raise SoundSiftError(f"{source}: no such folder or manifest")
    if not files:
        raise SoundSiftError(f"{source}: no audio or video files found")
    tracks = []
    for f in files:
        try:
            rel = f.resolve().relative_to(base.resolve()).with_suffix("")
        except ValueError:  # outside the manifest's folder: its name alone
            rel = Path(f.stem)
        tracks.append("/".join(safe_component(part, "track") for part in rel.parts))
    return [Item(str(f), t) for f, t in zip(files, unique(tracks))]


def read_results(out: str | os.PathLike) -> dict[str, dict]:
    """The latest record per input in ``OUT/results.jsonl`` (a line cut short by a kill is skipped)."""
    path = Path(out) / RESULTS
    latest = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            latest[rec["input"]] = rec
    return latest


def is_done(record: dict | None, out: Path) -> bool:
    return bool(record) and record.get("error") is None and all((out / s).is_file() for s in record.get("stems", []))


class Worker:
    """One Ray actor: the models loaded once, then one file after another."""

    def __init__(self, model, prompt_args: dict, spans, out: str, force: bool, encoding: str, device: str,
                 threads: int):
        import torch

        from separation.api import Separator
        from separation.prompts import build_prompts

        torch.set_num_threads(threads)  # several workers share the cores: each keeps to its own
        self.sep = Separator.from_pretrained(model, device=device)
        self.prompts = self.sep.prepare(build_prompts(**prompt_args, spans=spans))
        self.spans, self.out, self.force, self.encoding = spans, Path(out), force, encoding
        from separation.stems import model_folder_name

        self.model_name = model_folder_name(model)

    def reading_notes(self) -> list[str]:
        """What the text prompts are read as (Separator.reading_notes), for the driver to print once."""
        return self.sep.reading_notes(self.prompts)

    def separate(self, item: Item) -> dict:
        from separation.api import check_input
        from separation.stems import write_stems
        from soundsift.io import AudioFile
        from soundsift.outputs import FolderLock, check_replaceable, clean_stale

        began = time.time()
        record = {"input": item.input, "track": item.track, "stems": [], "presence": None, "seconds": None,
                  "error": None}
        try:
            source = AudioFile(item.input)
            stats = check_input(source, self.spans)
            record["seconds"] = round(stats.frames / source.sample_rate, 3)
            folder = self.out / self.model_name / item.track
            with FolderLock(folder):
                clean_stale(folder)
                check_replaceable(folder, self.force)
                result = self.sep.separate_stream(source, prompts=self.prompts, spans=self.spans or None)
                stems = write_stems(folder, result, self.encoding, force=self.force)
            record.update(stems=[str(p.relative_to(self.out)) for p in stems.paths], presence=result.presence)
        except SoundSiftError as err:
            record["error"] = str(err)
        except Exception as err:  # one file's surprise must not stop thousands: recorded, the batch goes on
            record["error"] = f"internal error: {type(err).__name__}: {err}"
        record["elapsed"] = round(time.time() - began, 3)
        return record


def _init_ray(address: str | None, workers: int):
    """Ray, connected to ``address`` or started here; returns (ray, whether this call started it)."""
    import logging

    import ray

    if ray.is_initialized():
        return ray, False
    if address:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    else:  # the embedded default: a local Ray on this machine, no dashboard
        ray.init(num_cpus=max(workers, os.cpu_count() or 1), include_dashboard=False,
                 logging_level=logging.ERROR, log_to_driver=False)
    return ray, True


def separate_batch(source, out, text=None, audio_query=None, spans=None, model=None, workers: int = 1,
                   address: str | None = None, force: bool = False, encoding: str = "float32", device: str = "cpu",
                   progress: bool = True, note=None) -> dict:
    """Separate every file of ``source`` into ``out``; returns counts {"done", "failed", "skipped"}.
    ``note``: called with each line that says what a text prompt is read as, once, before the first file."""
    from tqdm import tqdm

    from separation.prompts import build_prompts

    out = Path(out)
    items = find_inputs(source)
    prompt_args = {"text": text, "audio_query": audio_query}
    build_prompts(**prompt_args, spans=spans)  # a bad prompt fails here, before Ray starts
    out.mkdir(parents=True, exist_ok=True)
    previous = read_results(out)
    todo = [it for it in items if force or not is_done(previous.get(it.input), out)]
    counts = {"done": 0, "failed": 0, "skipped": len(items) - len(todo)}
    if not todo:
        return counts
    workers = max(1, min(workers, len(todo)))
    ray, started = _init_ray(address, workers)
    cpus = int(ray.available_resources().get("CPU", workers))
    threads = max(1, cpus // workers) if not address else 1
    gpu = 1 if str(device).startswith("cuda") else 0
    actor = ray.remote(num_cpus=threads, num_gpus=gpu)(Worker)
    args = (model, prompt_args, spans, str(out), force, encoding, device, threads)
    pool = [actor.remote(*args) for _ in range(workers)]
    if note is not None:
        for line in ray.get(pool[0].reading_notes.remote()):
            note(line)
    pending, queue, hours, began, replaced = {}, list(todo), 0.0, time.time(), {}
    with open(out / RESULTS, "a") as log, tqdm(total=len(todo), unit="file", disable=not progress,
                                               desc="separating") as bar:
        def submit(worker):
            if queue:
                item = queue.pop(0)
                pending[worker.separate.remote(item)] = (worker, item)

        for worker in pool:
            for _ in range(2):  # two queued per worker, so that none waits for the driver between files
                submit(worker)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            worker, item = pending.pop(ready[0])
            try:
                record = ray.get(ready[0])
            except ray.exceptions.RayActorError as err:  # the worker died (out of memory, a crash)
                record = {"input": item.input, "track": item.track, "stems": [], "presence": None,
                          "seconds": None, "error": f"worker died: {type(err).__name__}"}
                key = worker._actor_id.hex()
                if key not in replaced:  # its other queued file fails the same way: one replacement
                    replaced[key] = actor.remote(*args)
                    pool.append(replaced[key])
                worker = replaced[key]
            record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
            log.write(json.dumps(record, ensure_ascii=False) + "\n")
            log.flush()
            counts["failed" if record["error"] else "done"] += 1
            hours += (record.get("seconds") or 0) / 3600
            bar.set_postfix(done=counts["done"], failed=counts["failed"],
                            audio_h_per_h=f"{hours / max((time.time() - began) / 3600, 1e-9):.0f}")
            bar.update(1)
            submit(worker)
    for worker in pool:
        ray.kill(worker)
    if started:
        ray.shutdown()
    return counts

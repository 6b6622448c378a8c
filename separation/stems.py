"""Writing a separation's stems to disk as one group (the command line, batch jobs and the bench).

Stems stream block by block into a staging folder and the track folder appears by one rename at the
end (:mod:`soundsift.outputs`): a failure or a kill leaves no partial track, and a track is never
replaced without ``force``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from soundsift.errors import MediaError
from soundsift.outputs import commit_folder, stage_folder

# Output encodings: float wav keeps the stems exact (they add up to the input to float precision);
# the integer ones are smaller but clip at full scale and add quantisation noise.
FORMATS = {"float32": (".wav", "FLOAT"), "int16": (".wav", "PCM_16"), "int24": (".wav", "PCM_24"),
           "flac": (".flac", "PCM_24")}


def model_folder_name(model: str | Path | None) -> str:
    """The output folder named after the separator (``OUT/<model>/<track>``): the folder's own name
    once resolved, so '--model x/..' cannot climb out of OUT."""
    from separation.api import DEFAULT_DIR
    from soundsift.names import safe_component

    return safe_component(Path(model).resolve().name if model else DEFAULT_DIR.name, "model")


@dataclass
class WrittenStems:
    folder: Path
    paths: list                      # one per stem, the residual last
    energy: list                     # per target, sum of squares written (before any clipping)
    clipped: list = field(default_factory=list)  # per stem, samples an integer format cut at full scale


def _writer(path: Path, rate: int, channels: int, subtype: str):
    f = sf.SoundFile(str(path), "w", int(rate), int(channels), subtype=subtype)

    def write(block) -> None:
        data = block.detach().cpu().numpy().astype("float32", copy=False)
        try:
            f.write(np.ascontiguousarray(data.T))
        except sf.LibsndfileError as err:  # libsndfile says only "System error." when the disk is full
            free = shutil.disk_usage(path.parent).free / 2**20
            raise MediaError(f"{path}: writing failed ({err.error_string.rstrip('.')}; {free:.0f} MB free there)") \
                from None

    return f, write


def write_stems(folder: str | Path, result, encoding: str = "float32", force: bool = False,
                extra: dict | None = None) -> WrittenStems:
    """Write every stem of ``result`` (a ``StreamedSeparation``) as ``folder/<name>.<ext>``, under the
    names the result gives, plus ``extra`` {file name: JSON-able object, or a function that writes
    the file at the path it is given}; the folder appears complete
    or not at all. ``force``: replace an existing folder of results."""
    if encoding not in FORMATS:
        raise MediaError(f"unknown output format {encoding!r}: one of {', '.join(FORMATS)}")
    suffix, subtype = FORMATS[encoding]
    folder = Path(folder)
    staged = stage_folder(folder)
    try:
        energy, clipped = [0.0] * len(result.prompts), [0] * len(result.names)
        integer = subtype != "FLOAT"
        with contextlib.ExitStack() as stack:
            writers = []
            for name in result.names:
                f, write = _writer(staged / f"{name}{suffix}", result.sample_rate, result.channels, subtype)
                stack.enter_context(f)
                writers.append(write)
            for targets, residual in result.blocks():
                for k, stem in enumerate([*targets, residual]):
                    if not stem.isfinite().all():
                        raise MediaError(f"{folder / (result.names[k] + suffix)}: refusing to write NaN/Inf samples")
                    if integer:  # libsndfile clips an integer encoding at full scale: count what it cuts
                        clipped[k] += int((stem.abs() > 1.0).sum())
                    writers[k](stem)
                energy = [e + float(t.pow(2).sum()) for e, t in zip(energy, targets)]
        for name, content in (extra or {}).items():
            if callable(content):
                content(staged / name)
            else:
                (staged / name).write_text(json.dumps(content, indent=1) + "\n")
        commit_folder(staged, folder, force)
    finally:
        if staged.exists():
            shutil.rmtree(staged, ignore_errors=True)
    return WrittenStems(folder, [folder / f"{n}{suffix}" for n in result.names], energy, clipped)

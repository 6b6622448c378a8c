"""Pick how much the sync correlation counts next to the pooled embeddings' cosine when a video is
matched to sounds (``sync_weight``), on a validation split, and store it in the model's config.

    python -m recipes.encoders.sync_weight encoders/pretrained/peav-small --data data/small --split val

The objective is the one ``soundsift eval encoders`` reports: each scene video against the audio of
every mixture in the split, a hit when its own mixture ranks first.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tqdm import tqdm

from encoders.configuration import PEAVConfig
from encoders.towers import sync_similarity
from recipes.common import config_tool_args, run_tool, update_config
from recipes.data.build import read_manifest
from soundsift.errors import SoundSiftError
from soundsift.io import load_audio, load_video

WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def choose(encoder, root: str | Path, split: str = "val", limit: int | None = None,
           progress: bool = True) -> tuple[float, dict[float, float]]:
    """(best weight, video->audio R@1 at each candidate weight)."""
    root = Path(root)
    rows = read_manifest(root, split)[:limit]
    mixes, mix_sync, scenes, scene_sync, own = [], [], [], [], []
    for i, row in enumerate(tqdm(rows, desc="matching scenes", disable=not progress)):
        mix, rate = load_audio(root / row["mixture"])
        mixes.append(encoder.embed_audio(mix, rate)[0])
        mix_sync.append(encoder.sync_audio(mix, rate)[0])
        if row["video"]:
            video = load_video(root / row["video"])
            scenes.append(encoder.embed_video(video.frames, video.fps)[0])
            scene_sync.append(encoder.sync_video(video.frames, video.fps)[0])
            own.append(i)
    if not scenes:
        raise SoundSiftError(f"{root}: no scene videos in split {split!r}")
    pooled = torch.stack(scenes) @ torch.stack(mixes).T
    sync = sync_similarity(scene_sync, mix_sync)
    own = torch.tensor(own)
    r_at_1 = {w: float(((pooled + w * sync).argmax(1) == own).float().mean()) for w in WEIGHTS}
    return max(r_at_1, key=r_at_1.get), r_at_1  # ties: the smallest weight (first in WEIGHTS)


def main(argv=None) -> None:
    from encoders import PEAVEncoder

    args = config_tool_args(__doc__.splitlines()[0], argv)
    best, r_at_1 = choose(PEAVEncoder.from_pretrained(args.model), args.data, args.split, args.limit)
    print(" ".join(f"{w:g}:{v:.3f}" for w, v in r_at_1.items()))
    path = update_config(PEAVConfig, args.model, args.out, args.force, sync_weight=best)
    print(f"sync_weight = {best:g} (video->audio R@1 {r_at_1[best]:.3f} on {args.split}) -> {path}")


if __name__ == "__main__":
    raise SystemExit(run_tool(main))

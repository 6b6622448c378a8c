"""``soundsift eval encoders``: zero-shot classification, retrieval, video->audio, span F1.

Definitions (all on one split of a corpus built by the data engine):
- zero-shot accuracy: each target source clip against one prompt per class (``embed_text``, the text
  head that names recordings); ``seen`` prompts are
  the class's first training caption, ``unseen`` are paraphrases the engine never writes.
- audio->text R@k: the true class among the top k of the 27 class prompts.
- text->audio P@k: for each class prompt, the share of the k nearest clips that are of that class.
- video->audio R@1: each scene video (whole frame) against the audio of every mixture in the
  split; a hit when its own mixture ranks first. Ranked by the pooled embeddings' cosine plus, when
  the encoder has a sync tower, its weighted correlation over time (``_pooled`` and ``_sync_only``:
  each part alone). Also per object: the masked object against every
  source clip of the split's scenes; ``object_video_class_acc``: the masked object against the
  class prompts as the separator's queries (``embed_query_text``: what a click prompt asks the
  separator for), and ``object_video_to_audio_class_R@1``:
  the top-ranked clip is of the object's class (a clip-level hit needs audio-visual sync on top).
- ``per_class``: each class's clips and its zero-shot accuracy (seen prompts).
- span F1: the frame-level model on each mixture with each present source's caption, 40 ms frames,
  micro-averaged; ``span_f1_joined``: the same for the spans ``enc.spans`` returns (short pauses closed,
  blips dropped: soundsift/timeline.py:smooth_frames); ``absent_fpr``: frames flagged for a class that is
  not in the mixture.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from recipes import common
from soundsift.timeline import FRAME_SECONDS, SPAN_MIN_GAP, SPAN_MIN_LENGTH, frames_from_spans, smooth_frames
from recipes.data.build import read_manifest
from recipes.data.taxonomy import BY_LABEL, TARGET_LABELS
from soundsift.errors import SoundSiftError
from soundsift.io import load_audio, load_video
from soundsift.metrics import f1, frame_counts, recall_at_k


def span_texts(row: dict, rng) -> list[str]:
    """Each present target's first caption, then one randomly chosen absent class's."""
    present = [s for s in row["sources"] if s["target"]]
    absent = [c for c in TARGET_LABELS if c not in {s["label"] for s in present}]
    return [s["captions"][0] for s in present] + [BY_LABEL[absent[int(rng.integers(len(absent)))]].captions[0]]


def span_scores(encoder, mix: torch.Tensor, rate: int, row: dict, rng,
                texts: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frame scores and true activity [N, F] for each present target's first caption, plus a last row
    for one randomly chosen absent class (true activity: none); ``texts``: those of :func:`span_texts`."""
    present = [s for s in row["sources"] if s["target"]]
    texts = span_texts(row, rng) if texts is None else texts
    scores = encoder.frame_scores(mix, rate, texts).numpy()
    n = min(scores.shape[1], int(round(row["duration"] / FRAME_SECONDS)))
    truth = np.stack([frames_from_spans(s["activity"], n) for s in present] + [np.zeros(n, dtype=bool)])
    return scores[:, :n], truth


def evaluate(encoder, root: str | Path, split: str = "test", limit: int | None = None, progress: bool = True) -> dict:
    root = Path(root)
    rows = read_manifest(root, split)[:limit]
    if not rows:
        raise SoundSiftError(f"{root}: no rows in split {split!r}")
    classes = list(TARGET_LABELS)
    seen = encoder.embed_text([BY_LABEL[c].captions[0] for c in classes])
    unseen_sets = [encoder.embed_text([BY_LABEL[c].unseen[j % len(BY_LABEL[c].unseen)] for c in classes]) for j in range(2)]
    # a clicked object is read against the separator's queries (the text head the video side learnt against)
    query_seen = encoder.embed_query_text([BY_LABEL[c].captions[0] for c in classes])

    src_emb, src_cls, mix_emb, scene_queries, object_queries, object_keys = [], [], [], [], [], []
    mix_sync, scene_sync = [], []  # audio-visual sync sequences, when the encoder has a sync tower
    span_counts = np.zeros(3, dtype=np.int64)  # tp, fp, fn
    joined_counts = np.zeros(3, dtype=np.int64)
    absent_fp = absent_total = 0
    rng = np.random.default_rng(0)
    for row in tqdm(rows, desc="evaluating encoders", disable=not progress):
        mix, rate = load_audio(root / row["mixture"])
        mix_emb.append(encoder.embed_audio(mix, rate)[0])
        if encoder.has_sync:
            mix_sync.append(encoder.sync_audio(mix, rate)[0])
        present = [s for s in row["sources"] if s["target"]]
        scores, truth = span_scores(encoder, mix, rate, row, rng)
        flagged = scores >= encoder.backend.frame_threshold
        span_counts += frame_counts(flagged[:-1], truth[:-1])
        joined = np.stack([smooth_frames(f, SPAN_MIN_GAP, SPAN_MIN_LENGTH) for f in flagged[:-1]])
        joined_counts += frame_counts(joined, truth[:-1])  # the spans `enc.spans` returns
        absent_fp += int(flagged[-1].sum())
        absent_total += flagged.shape[1]
        for s in present:
            wave, rate = load_audio(root / s["path"])
            src_emb.append(encoder.embed_audio(wave, rate)[0])
            src_cls.append(classes.index(s["label"]))
        if row["video"]:
            video = load_video(root / row["video"])
            scene_queries.append((encoder.embed_video(video.frames, video.fps)[0], len(mix_emb) - 1))
            if encoder.has_sync:
                scene_sync.append(encoder.sync_video(video.frames, video.fps)[0])
            first = len(src_emb) - len(present)
            for j, s in enumerate(present):
                if s["boxes"] is None:
                    continue
                h, w = video.frames.shape[-2:]
                masks = torch.zeros(video.frames.shape[0], h, w)
                for f, (x0, y0, x1, y1) in enumerate(s["boxes"][: video.frames.shape[0]]):
                    masks[f, y0:y1, x0:x1] = 1
                object_queries.append(encoder.embed_video(video.frames, video.fps, masks)[0])
                object_keys.append(first + j)

    audio = torch.stack(src_emb)
    labels = torch.tensor(src_cls)
    sims = audio @ seen.T
    ranks = sims.argsort(dim=1, descending=True)
    result = {
        "split": split, "mixtures": len(rows), "clips": len(src_cls),
        "zero_shot_acc_seen": float((ranks[:, 0] == labels).float().mean()),
        "zero_shot_acc_unseen": float(np.mean([((audio @ u.T).argmax(1) == labels).float().mean() for u in unseen_sets])),
        "audio_to_text_R@1": recall_at_k(sims, labels, 1),
        "audio_to_text_R@5": recall_at_k(sims, labels, 5),
    }
    present_cls = sorted(set(src_cls))
    top1 = ranks[:, 0] == labels
    result["per_class"] = {classes[c]: {"clips": int((labels == c).sum()), "zero_shot_acc": float(top1[labels == c].float().mean())}
                           for c in present_cls}
    t2a = (seen @ audio.T).argsort(dim=1, descending=True)
    for k in (1, 5):
        result[f"text_to_audio_P@{k}"] = float(np.mean([(labels[t2a[c, :k]] == c).float().mean() for c in present_cls]))
    if scene_queries:
        mixes = torch.stack(mix_emb)
        queries = torch.stack([q for q, _ in scene_queries])
        own = torch.tensor([o for _, o in scene_queries])
        r_at_1 = lambda scores: recall_at_k(scores, own, 1)  # noqa: E731
        pooled = encoder.video_audio_similarity(queries, mixes)
        result.update({"video_to_audio_R@1": r_at_1(pooled), "video_to_audio_R@1_pooled": r_at_1(pooled),
                       "video_queries": len(own), "video_candidates": len(mixes)})
        if scene_sync:  # the product's match: pooled cosine + weighted correlation over time
            from encoders.towers import sync_similarity

            result["video_to_audio_R@1"] = r_at_1(encoder.video_audio_similarity(queries, mixes, scene_sync, mix_sync))
            result["video_to_audio_R@1_sync_only"] = r_at_1(sync_similarity(scene_sync, mix_sync))
    if object_queries:
        keys = audio[torch.tensor(sorted(set(object_keys)))]
        index = {k: i for i, k in enumerate(sorted(set(object_keys)))}
        key_cls = labels[torch.tensor(sorted(set(object_keys)))]
        queries = torch.stack(object_queries)
        top = (queries @ keys.T).argmax(1)
        own = torch.tensor([index[k] for k in object_keys])
        obj_cls = labels[torch.tensor(object_keys)]
        result.update({"object_video_to_audio_R@1": float((top == own).float().mean()),
                       "object_video_to_audio_class_R@1": float((key_cls[top] == obj_cls).float().mean()),
                       "object_video_class_acc": float(((queries @ query_seen.T).argmax(1) == obj_cls).float().mean()),
                       "object_candidates": len(keys)})
    tp, fp, fn = span_counts.tolist()
    result.update({"span_f1": f1(tp, fp, fn), "span_precision": tp / max(tp + fp, 1),
                   "span_recall": tp / max(tp + fn, 1), "absent_fpr": absent_fp / max(absent_total, 1),
                   "span_f1_joined": f1(*joined_counts.tolist())})
    return result


def to_markdown(result: dict, title: str) -> str:
    lines = [f"### {title}", "", "| metric | value |", "| --- | --- |"]
    for key, value in result.items():
        if key != "per_class":
            lines.append(f"| {key} | {value:.3f} |" if isinstance(value, float) else f"| {key} | {value} |")
    lines += ["", "| class | clips | zero-shot accuracy |", "| --- | --- | --- |"]
    lines += [f"| {c} | {v['clips']} | {v['zero_shot_acc']:.2f} |" for c, v in result.get("per_class", {}).items()]
    return "\n".join(lines) + "\n"


def write_report(result: dict, out: str | Path, title: str) -> tuple[Path, Path]:
    return common.write_report(result, to_markdown(result, title), out, "encoders")

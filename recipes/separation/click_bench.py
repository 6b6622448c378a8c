"""Click prompts under variations of how the click becomes a query, on a corpus split's scenes:
SI-SDRi of the clicked object (a click at its box centre halfway through the clip, as
``soundsift eval separation`` does), the text prompt naming it for comparison, and the level of the
answer to a click on a silent object (its source taken out of the mixture).

    python -m recipes.separation.click_bench --data data/small --split val \\
        [--variant track=false --variant track=true,window=2 ...] [--encoder FOLDER]

Several ``--data`` give one table each (e.g. the same test mixtures drawn in each picture style by
``soundsift data scenes``); their scenes' silent distractors are clicked too.

A variant sets the separator config's ``click_track``, ``click_window_seconds``,
``click_box_fraction``, ``click_query``, ``click_timing_seconds``, ``click_pick_below`` and ``click_pick_min_sync`` (``track``,
``window``, ``box``, ``query``, ``timing``: seconds either side of the click, ``none`` for the whole video;
``pick``, ``pickbar``), and the size reading's ``click_size_db``, ``_quantile``, ``_min_corr``,
``_floor_db``, ``_margin_db`` and ``_quiet_db`` (``size``, ``sizeq``, ``sizecorr``, ``sizefloor``,
``sizemargin``, ``sizequiet``) for that run;
the shipped values are the first row. ``--per-class`` adds the shipped variant's click SI-SDRi per
class (held-out classes among them)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
from tqdm import tqdm

from encoders.api import PEAVEncoder
from recipes.data import taxonomy
from separation.api import Separator
from soundsift.errors import SoundSiftError
from soundsift.io import load_audio, load_video
from soundsift.metrics import level_db, si_sdr
from recipes.data.build import read_manifest

SILENCED_SDRI = -30.0  # a sounding click answered with silence (a failure): below any median it could shift


def timing_seconds(text: str) -> float | None:
    """A ``click_timing_seconds`` as written on a command line: seconds, or ``none`` (the whole video)."""
    return None if text.lower() == "none" else float(text)


KEYS = {"track": ("click_track", lambda v: v.lower() in ("1", "true", "yes")),
        "window": ("click_window_seconds", float), "box": ("click_box_fraction", float),
        "query": ("click_query", str), "timing": ("click_timing_seconds", timing_seconds),
        "pick": ("click_pick_below", float), "pickbar": ("click_pick_min_sync", float),
        "size": ("click_size_db", float), "sizeq": ("click_size_quantile", float),
        "sizecorr": ("click_size_min_corr", float), "sizefloor": ("click_size_floor_db", float),
        "sizemargin": ("click_size_margin_db", float), "sizequiet": ("click_size_quiet_db", float)}


def parse_variant(text: str) -> dict:
    out = {}
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        if key not in KEYS:
            raise SystemExit(f"unknown variant key {key!r}: one of {', '.join(KEYS)}")
        field, cast = KEYS[key]
        out[field] = cast(value)
    return out


def click_at(boxes, n_frames: int, fps: float):
    """A click at the box's centre halfway through the clip."""
    f = min(n_frames, len(boxes)) // 2
    x0, y0, x1, y1 = boxes[f]
    return (f / fps, (x0 + x1) / 2, (y0 + y1) / 2)


def scene_clicks(root: Path, split: str, limit: int | None = None, progress: bool = True, desc: str | None = None):
    """Per scene of a split that has a video: (mixture [C, T], rate, (frames, fps), sounding, distractors):
    ``sounding`` [(source row, its sound [C, T], click)] for every drawn target, ``distractors`` the
    clicks on its silent distractors; every click at the box centre halfway through (:func:`click_at`)."""
    rows = [r for r in read_manifest(root, split) if r.get("video")][:limit]
    for row in tqdm(rows, desc=desc or f"scenes of {root}", disable=not progress):
        mix, rate = load_audio(root / row["mixture"])
        video = load_video(root / row["video"])
        n = video.frames.shape[0]
        sounding = [(s, load_audio(root / s["path"])[0], click_at(s["boxes"], n, video.fps))
                    for s in row["sources"] if s["target"] and s["boxes"] is not None]
        distractors = [click_at(b, n, video.fps) for b in row.get("distractors") or []]
        yield mix, rate, (video.frames, video.fps), sounding, distractors


def click_cases(roots: list[Path], split: str, limit: int | None = None, progress: bool = True):
    """The clicks the silent-click tools measure, per scene of each corpus: every drawn object clicked
    once with its sound in the mixture ("sounding") and once with it taken out ("removed"), and each
    silent distractor once. Yields (corpus name, kind, mixture [C, T], rate, scene, click)."""
    for root in roots:
        scenes = 0
        for mix, rate, scene, sounding, distractors in scene_clicks(root, split, limit, progress, f"clicking {root.name}"):
            scenes += 1
            for _, target, click in sounding:
                yield root.name, "sounding", mix, rate, scene, click
                yield root.name, "removed", mix - target, rate, scene, click
            for click in distractors:
                yield root.name, "distractor", mix, rate, scene, click
        if not scenes:
            raise SoundSiftError(f"{root}: no scenes in split {split!r}")


def bench(sep: Separator, root: Path, split: str, variants: list[dict], limit: int | None = None,
          classes: list[str] | None = None) -> dict:
    """Per variant: click SI-SDRi, whether the click's query is nearest the clicked class's description
    (or, for a click read by its timing, whether it was read as that description),
    the answer's level (dB re its input) to a click on the object with its source taken out, and to a
    click on a silent distractor (scenes of ``soundsift data scenes``). ``classes``: only objects of
    these classes are clicked (no distractors)."""
    shipped = sep.net.config
    vocab = shipped.click_vocabulary
    texts = sep.vocabulary_embeddings() if vocab else None
    labels = taxonomy.TARGET_LABELS if len(vocab) == len(taxonomy.TARGET_LABELS) else None
    out = {i: {"click": [], "silent": [], "class": [], "distractor": [], "label": []} for i in range(len(variants))}
    text_gain, scenes = [], 0
    for mix, rate, scene, sounding, distractors in scene_clicks(root, split, limit):
        scenes += 1
        for s, target, click in sounding:
            if classes and s["label"] not in classes:
                continue
            base = float(si_sdr(mix[0], target[0]))
            est = sep.separate(mix, rate, text=s["captions"][0]).targets[0]
            text_gain.append(float(si_sdr(est[0], target[0])) - base)
            rest = mix - target
            for i, change in enumerate(variants):
                sep.net.config = dataclasses.replace(shipped, **change)
                res = sep.separate(mix, rate, video=scene, click=click)
                est = res.targets[0]
                # SI-SDR of an all-zero answer is 0 dB (torchmetrics), above many real answers' SI-SDR
                silenced = float(est.abs().max()) == 0.0
                out[i]["click"].append(SILENCED_SDRI if silenced else float(si_sdr(est[0], target[0])) - base)
                out[i]["label"].append(s["label"])
                if labels is not None and s["label"] in labels and res.readings and res.readings[0]:
                    out[i]["class"].append(res.readings[0] == vocab[labels.index(s["label"])])  # read by its timing
                elif labels is not None and s["label"] in labels:
                    sep.net.config = dataclasses.replace(shipped, **{**change, "click_query": "vocabulary"})  # what it looks like
                    query = sep.prompt_queries(mix, rate, video=scene, click=click)
                    sep.net.config = dataclasses.replace(shipped, **change)
                    out[i]["class"].append(labels[int((query @ texts.T).argmax())] == s["label"])
                answer = sep.separate(rest, rate, video=scene, click=click).targets[0]
                out[i]["silent"].append(level_db(answer) - level_db(rest))
        for click in distractors if not classes else []:
            for i, change in enumerate(variants):
                sep.net.config = dataclasses.replace(shipped, **change)
                answer = sep.separate(mix, rate, video=scene, click=click).targets[0]
                out[i]["distractor"].append(level_db(answer) - level_db(mix))
        sep.net.config = shipped
    return {"scenes": scenes, "text": text_gain, "variants": out}


def _p90(values) -> str:
    return f"{np.percentile(values, 90):.1f} ({np.mean(np.array(values) > -25):.0%})" if len(values) else "-"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", action="append", default=None, help="corpus folder (several: one table each)")
    p.add_argument("--split", default="val")
    p.add_argument("--model", default=None)
    p.add_argument("--encoder", default=None, help="an encoder folder in place of the separator's own")
    p.add_argument("--limit", type=int, default=None, help="at most this many scenes")
    p.add_argument("--variant", action="append", default=[], help="e.g. track=true,window=2")
    p.add_argument("--per-class", action="store_true", help="the shipped variant's click SI-SDRi per class")
    p.add_argument("--classes", default=None,
                   help="comma-separated: click only objects of these classes (e.g. those a model never clicked in training)")
    p.add_argument("--record", choices=["synthetic", "alt", "real"], default=None,
                   help="keep the shipped variant's figures per picture style in docs/results.json as this test set")
    args = p.parse_args(argv)
    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    if classes and args.record:  # refused before any model loads
        raise SystemExit("error: --record keeps the figures of every click; it cannot take --classes")
    encoder = PEAVEncoder.from_pretrained(args.encoder) if args.encoder else None
    sep = Separator.from_pretrained(args.model, encoder=encoder)
    shipped = sep.net.config
    variants = [{}] + [parse_variant(v) for v in args.variant]
    recorded = {}
    for root in args.data or ["data/small"]:
        r = bench(sep, Path(root), args.split, variants, args.limit, classes)
        recorded[_style(Path(root))] = summary(r)
        text = np.array(r["text"])
        print(f"\n{len(text)} clicked objects in {r['scenes']} scenes of {root} ({args.split}); text prompt "
              f"naming the object: SI-SDRi median {np.median(text):.2f} dB" if len(text) else f"\n{root}: no clicks")
        print(f"{'variant':<40} {'click SI-SDRi median':>21} {'mean':>7} {'class top-1':>12} "
              f"{'source removed p90 (> -25)':>27} {'distractor p90 (> -25)':>23}")
        for i, change in enumerate(variants):
            name = ", ".join(f"{k}={v}" for k, v in change.items()) or (
                f"shipped (track={shipped.click_track}, window={shipped.click_window_seconds})")
            v = r["variants"][i]
            c = np.array(v["click"])
            top1 = f"{np.mean(v['class']):.0%}" if v["class"] else "-"
            print(f"{name:<40} {np.median(c) if len(c) else float('nan'):21.2f} {c.mean() if len(c) else float('nan'):7.2f} "
                  f"{top1:>12} {_p90(v['silent']):>27} {_p90(v['distractor']):>23}")
        if args.per_class:
            v = r["variants"][0]
            for label in sorted(set(v["label"])):
                gains = [g for g, lab in zip(v["click"], v["label"]) if lab == label]
                print(f"  {label:<20} {len(gains):3d} clicks  SI-SDRi median {np.median(gains):6.2f} dB")
    if args.record:
        from encoders.api import DEFAULT_DIR as ENCODER_DIR
        from recipes.common import weights_digest
        from recipes.results import record
        from separation.api import DEFAULT_DIR

        sep_dir = Path(args.model) if args.model else DEFAULT_DIR
        enc_dir = Path(args.encoder) if args.encoder else ENCODER_DIR
        model = f"{sep_dir.name}@{weights_digest(sep_dir)}+{enc_dir.name}@{weights_digest(enc_dir)}"
        print(record("clicks", args.record, recorded, model, _folders(args.data or ["data/small"])))


def _folders(roots: list[str]) -> str:
    """data/scenes/real-test-emoji, ...-stamps -> data/scenes/real-test-{emoji,stamps} (one table line)."""
    heads = {r.rsplit("-", 1)[0] for r in roots}
    if len(roots) > 1 and len(heads) == 1 and all("-" in r for r in roots):
        return f"{heads.pop()}-{{{','.join(r.rsplit('-', 1)[1] for r in roots)}}}"
    return ", ".join(roots)


def _style(root: Path) -> str:
    rows = read_manifest(root)
    return rows[0].get("style", "legacy") if rows else "legacy"


def summary(result: dict) -> dict:
    """The shipped variant's figures, as docs/results.json keeps them."""
    v = result["variants"][0]
    share = lambda xs: float(np.mean(np.array(xs) > -25)) if xs else None  # noqa: E731
    return {"scenes": result["scenes"], "clicks": len(v["click"]),
            "si_sdri_click": float(np.median(v["click"])) if v["click"] else None,
            "si_sdri_text": float(np.median(result["text"])) if result["text"] else None,
            "class_top1": float(np.mean(v["class"])) if v["class"] else None,
            "source_removed_share_above_-25db": share(v["silent"]),
            "distractor_share_above_-25db": share(v["distractor"]), "distractor_clicks": len(v["distractor"])}


if __name__ == "__main__":
    main()

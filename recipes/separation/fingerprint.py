"""Fingerprints of the shipped models' outputs on fixed inputs and prompts, to show that a change
which should not alter any output (a refactor, a new torch on the same machine) alters none.

    python -m recipes.separation.fingerprint --out before.json      # on the old code
    python -m recipes.separation.fingerprint --check before.json    # on the new: lists what differs

Every prompt kind is covered on the shipped examples: one and several texts, an audio example, spans
with and without text, clicks on a scene file and on decoded frames, a 44.1 kHz stereo input and an
absent prompt, plus the encoder's text, audio, frame and video outputs. A fingerprint is the sha256 of
an output's float32 samples, so equal fingerprints mean bit-identical outputs. Run both sides on one
machine with the same torch: other CPUs or kernels change the last bits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "test"


def _digest(t) -> str:
    data = np.ascontiguousarray(torch.as_tensor(t).detach().float().numpy())
    return hashlib.sha256(data.tobytes()).hexdigest()[:16]


def fingerprints(model: str | None = None) -> dict:
    from separation import Separator
    from soundsift.io import load_audio, load_video
    from soundsift.resample import resample

    torch.set_num_threads(2)  # the thread count can change the order of sums, and so the last bits
    sep = Separator.from_pretrained(model)
    mix1, r1 = load_audio(EXAMPLES / "test-000001" / "mixture.flac")
    mix3, r3 = load_audio(EXAMPLES / "test-000003" / "mixture.flac")
    mix0, r0 = load_audio(EXAMPLES / "test-000000" / "mixture.flac")
    example, example_rate = load_audio(EXAMPLES / "test-000002" / "s0-trumpet.flac")
    scene = EXAMPLES / "test-000003" / "scene.mp4"
    video = load_video(scene)
    stereo = torch.cat([resample(mix1, r1, 44100), 0.5 * resample(mix1, r1, 44100)])
    cases = {
        "text1": lambda: sep.separate(mix1, r1, text="a woman speaking"),
        "text_multi": lambda: sep.separate(mix0, r0, text=["a marimba", "applause", "an electric piano"]),
        "audio_query": lambda: sep.separate(mix0, r0, audio_query=(example, example_rate)),
        "spans_text": lambda: sep.separate(mix1, r1, text="a piano", spans=[("+", 0.5, 2.0), ("-", 3.0, 4.0)]),
        "spans_only": lambda: sep.separate(mix1, r1, spans=[("+", 0.5, 2.0)]),
        "click": lambda: sep.separate(mix3, r3, video=scene, click=(2.0, 60, 60)),
        "click_frames": lambda: sep.separate(mix3, r3, video=(video.frames, video.fps),
                                             click=[(1.0, 100, 100), (2.5, 150, 40)]),
        "stereo44": lambda: sep.separate(stereo, 44100, text=["a piano", "a telephone ringing"]),
        "absent": lambda: sep.separate(mix1, r1, text="a helicopter"),
    }
    out = {}
    for name, run in cases.items():
        res = run()
        out[name] = {"targets": [_digest(t) for t in res.targets], "residual": _digest(res.residual),
                     "prompts": list(res.prompts), "presence": res.presence}
    enc = sep.encoder
    out["enc_text"] = _digest(enc.embed_text(["a violin", "a man speaking"]))
    out["enc_query_text"] = _digest(enc.embed_query_text(["a violin", "a man speaking"]))
    out["enc_audio"] = _digest(enc.embed_audio(mix1, r1))
    out["enc_frames"] = _digest(enc.frame_scores(mix1, r1, ["a piano"]))
    out["enc_video"] = _digest(enc.embed_video(video.frames[:10], video.fps))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--out", help="write the fingerprints to this JSON file")
    group.add_argument("--check", help="compare with fingerprints written earlier; exit 1 if any differs")
    ap.add_argument("--model", default=None, help="separator folder (default: the shipped one)")
    args = ap.parse_args(argv)
    found = fingerprints(args.model)
    if args.out:
        Path(args.out).write_text(json.dumps(found, indent=1) + "\n")
        print(f"{len(found)} fingerprints -> {args.out}")
        return 0
    expected = json.loads(Path(args.check).read_text())
    differ = sorted(k for k in expected.keys() | found.keys() if expected.get(k) != found.get(k))
    print(f"{len(found) - len(differ)} of {len(found)} outputs bit-identical" + (f"; differ: {', '.join(differ)}" if differ else ""))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())

"""Expressive playing for rendered clips: what a player adds to the notes a score gives.

A soundfont render plays every note at one pitch, one loudness and on the grid; recordings do not.
``perform`` turns a clip's notes into a performance, drawn from the clip's own generator:
- timing: onsets pushed off the grid by a few milliseconds (drums and tuned instruments);
- dynamics: velocities follow a phrase curve (crescendo, diminuendo, an arch or a dip) instead of a
  flat level with jitter;
- tuning: the whole clip a few cents off A440, as a real instrument tuned by ear is;
- for sustained instruments (bowed strings, winds, brass, voices, accordion): delayed vibrato (4.5-7 Hz,
  8-35 cents), scoops into some notes, and an expression (CC 11) swell inside each note;
- for guitars and bass: some notes bent up into their pitch.
Pitch bends are channel-wide, like a player's one hand: in a chord every note moves together.
Control events come back as ``(seconds, kind, a, b)`` tuples that sort after the note events of the
same instant (``kind`` 2: pitch bend ``a`` in -8192..8191; 3: controller ``a`` set to ``b``).
"""

from __future__ import annotations

import numpy as np

SUSTAINED = {"violin", "cello", "trumpet", "trombone", "french horn", "saxophone", "clarinet", "flute",
             "choir", "accordion"}
BENT = {"electric guitar", "acoustic guitar", "bass guitar"}
STEP = 0.01  # seconds between control updates
BEND_CENTS = 200.0  # GM's default pitch-bend range: +-2 semitones
BEND, CONTROL, EXPRESSION = 2, 3, 11


def _phrase_curve(t: np.ndarray, duration: float, rng) -> tuple[str, np.ndarray]:
    """A dynamics shape over the clip in [-1, 1]."""
    shape = str(rng.choice(["crescendo", "diminuendo", "arch", "dip", "flat"]))
    x = t / max(duration, 1e-6)
    curve = {"crescendo": 2 * x - 1, "diminuendo": 1 - 2 * x, "arch": 1 - 2 * np.abs(2 * x - 1),
             "dip": 2 * np.abs(2 * x - 1) - 1, "flat": 0 * x}[shape]
    return shape, curve


def perform(cls, notes: list, duration: float, rng) -> tuple[list, list, dict]:
    """(notes, control events, attributes) of one performance of ``notes`` by an instrument of ``cls``."""
    from recipes.data.synth import Note

    if not notes:
        return notes, [], {}
    starts = np.array([n.start for n in notes])
    shape, curve = _phrase_curve(starts, duration, rng)
    depth = float(rng.uniform(10, 30))  # velocity swing of the phrase
    jitter = float(rng.uniform(0.003, 0.015))  # onset spread, seconds
    offsets = rng.normal(0, jitter, size=len(notes)).clip(-2.5 * jitter, 2.5 * jitter)
    played = []
    for n, c, dt in zip(notes, curve, offsets):
        start = float(np.clip(n.start + dt, 0.0, max(n.end - 0.02, 0.0)))
        played.append(Note(start, n.end, n.key, int(np.clip(n.velocity + depth * c, 1, 127))))
    attrs = {"phrase": shape}
    if cls.kind == "drums":
        return played, [], attrs

    controls = []
    detune = float(rng.uniform(-12, 12))  # cents
    n_steps = int(np.ceil(duration / STEP))
    t = np.arange(n_steps) * STEP
    cents = np.full(n_steps, detune)
    expression = np.full(n_steps, 127.0)
    sustained, bent = cls.label in SUSTAINED, cls.label in BENT
    onsets = sorted({round(n.start, 4) for n in played})
    if sustained:
        rate, amount = float(rng.uniform(4.5, 7.0)), float(rng.uniform(8, 35))
        delay = float(rng.uniform(0.1, 0.35))
        swell = float(rng.uniform(0.15, 0.45))  # how far below full expression a note starts
        phase = 2 * np.pi * rate * t
        for a, b in zip(onsets, onsets[1:] + [duration]):
            inside = (t >= a) & (t < b)
            since = t[inside] - a
            ramp = np.clip((since - delay) / 0.3, 0, 1)  # vibrato grows in after the attack
            cents[inside] += amount * ramp * np.sin(phase[inside])
            expression[inside] = 127 * (1 - swell * np.exp(-since / rng.uniform(0.08, 0.3)))
            if rng.random() < 0.2:  # a scoop up into the note
                cents[inside] -= rng.uniform(30, 120) * np.exp(-since / rng.uniform(0.02, 0.06))
        attrs.update(vibrato_hz=round(rate, 2), vibrato_cents=round(amount, 1))
    if bent:
        for a, b in zip(onsets, onsets[1:] + [duration]):
            if rng.random() < 0.12:  # bent up from as far as a whole tone below
                inside = (t >= a) & (t < b)
                span = rng.uniform(0.05, 0.2)
                cents[inside] -= rng.uniform(50, 200) * np.clip(1 - (t[inside] - a) / span, 0, 1)
    attrs["detune_cents"] = round(detune, 1)
    bend = np.clip(np.round(cents / BEND_CENTS * 8192), -8192, 8191).astype(int)
    expr = np.clip(np.round(expression), 0, 127).astype(int)
    last_bend = last_expr = None
    for ti, bi, ei in zip(t, bend, expr):
        if bi != last_bend:
            controls.append((float(ti), BEND, int(bi), 0))
            last_bend = bi
        if ei != last_expr:
            controls.append((float(ti), CONTROL, EXPRESSION, int(ei)))
            last_expr = ei
    return played, controls, attrs

"""Instrument, drum and sound-effect clips rendered in-process with FluidSynth.

One ``Renderer`` per worker loads the soundfont once (loading per clip is ~100x slower).
Melodies, chords and rhythms are generated from the clip's own random generator, so a
clip is a pure function of its seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recipes.data.taxonomy import SoundClass

DEFAULT_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
ALT_SOUNDFONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"
MUSESCORE_SOUNDFONT = "/usr/share/sounds/sf3/MuseScore_General.sf3"  # descends from FluidR3: similar samples
CSOUND_SOUNDFONT = "/usr/share/sounds/sf2/sf_GMbank.sf2"  # an unrelated GM sample set
# Soundfonts per corpus variant. "multi" draws one per clip, so models hear each instrument in more
# than one sample set; TimGM6mb stays out of it, for the "alt" generalisation check.
# "expressive" is "multi" played by a performer (recipes/data/expression.py): vibrato, bends, phrasing.
SOUNDFONTS = {"default": [DEFAULT_SOUNDFONT], "alt": [ALT_SOUNDFONT],
              "multi": [DEFAULT_SOUNDFONT, MUSESCORE_SOUNDFONT, CSOUND_SOUNDFONT],
              "expressive": [DEFAULT_SOUNDFONT, MUSESCORE_SOUNDFONT, CSOUND_SOUNDFONT]}
EXPRESSIVE = {"expressive"}

SCALES = {
    "major": [0, 2, 4, 5, 7, 9, 11],
    "minor": [0, 2, 3, 5, 7, 8, 10],
    "dorian": [0, 2, 3, 5, 7, 9, 10],
    "pentatonic": [0, 2, 4, 7, 9],
    "blues": [0, 3, 5, 6, 7, 10],
}
DRUM_KITS = [0, 8, 16, 24, 25, 32, 40]  # GM2 kit presets in bank 128 (standard, room, power, ...)
KICK, SNARE, CLOSED_HAT, OPEN_HAT, RIDE, CRASH, TOMS = 36, 38, 42, 46, 51, 49, (45, 47, 50)


@dataclass
class Note:
    start: float
    end: float
    key: int
    velocity: int


def _tempo_word(bpm: float) -> str:
    return "slow" if bpm < 90 else "fast" if bpm > 135 else "moderate"


def _dynamic(rng: np.random.Generator) -> tuple[str, int]:
    word = rng.choice(["soft", "moderate", "loud"])
    base = {"soft": rng.integers(35, 60), "moderate": rng.integers(60, 95), "loud": rng.integers(95, 121)}[word]
    return str(word), int(base)


def _register(cls: SoundClass, rng: np.random.Generator) -> tuple[str, int, int]:
    lo, hi = cls.pitch_range
    third = max((hi - lo) // 3, 5)
    word = str(rng.choice(["low", "middle", "high"]))
    start = {"low": lo, "middle": lo + third, "high": hi - third - 6}[word]
    return word, max(lo, start), min(hi, start + third + 6)


def compose_music(cls: SoundClass, segments: list[tuple[float, float]], rng: np.random.Generator):
    """Notes for a melodic or chordal instrument inside the active ``segments`` (seconds)."""
    bpm = float(rng.uniform(60, 180))
    beat = 60.0 / bpm
    dyn_word, vel = _dynamic(rng)
    reg_word, lo, hi = _register(cls, rng)
    mode = str(rng.choice(list(SCALES)))
    root = int(rng.integers(0, 12))
    pitches = [p for p in range(lo, hi + 1) if (p - root) % 12 in SCALES[mode]]
    long_notes = cls.label in ("choir", "tubular bells", "church organ")
    durations = [1.0, 2.0, 3.0, 4.0] if long_notes else [0.25, 0.5, 0.5, 1.0, 1.0, 1.5, 2.0]
    legato = float(rng.uniform(0.6, 1.0))
    chord_prob = 0.5 if cls.kind == "chordal" else 0.0
    notes: list[Note] = []
    idx = int(rng.integers(0, len(pitches)))
    for a, b in segments:
        t = a
        while t < b - 0.05:
            dur = float(rng.choice(durations)) * beat
            idx = int(np.clip(idx + rng.integers(-2, 3), 0, len(pitches) - 1))
            keys = [pitches[idx]]
            if rng.random() < chord_prob:
                keys += [pitches[min(idx + 2, len(pitches) - 1)], pitches[min(idx + 4, len(pitches) - 1)]]
            v = int(np.clip(vel + rng.integers(-10, 11), 1, 127))
            end = min(t + dur * legato, b)
            for k in sorted(set(keys)):
                notes.append(Note(t, end, k, v))
            t += dur
    attrs = {"tempo_bpm": round(bpm, 1), "tempo": _tempo_word(bpm), "register": reg_word,
             "loudness": dyn_word, "scale": f"{root}-{mode}"}
    return notes, attrs


def compose_drums(segments: list[tuple[float, float]], rng: np.random.Generator):
    bpm = float(rng.uniform(70, 170))
    step = 60.0 / bpm / 4  # sixteenth notes
    dyn_word, vel = _dynamic(rng)
    hat = CLOSED_HAT if rng.random() < 0.7 else RIDE
    hat_every = int(rng.choice([1, 2, 2]))
    kick_steps = {0, 8} | {int(s) for s in rng.choice(16, size=int(rng.integers(0, 3)), replace=False)}
    snare_steps = {4, 12} | ({int(rng.choice([7, 14, 15]))} if rng.random() < 0.5 else set())
    notes: list[Note] = []
    for a, b in segments:
        n_steps = int((b - a) / step)
        for s in range(n_steps):
            t = a + s * step
            pos = s % 16
            hits = []
            if pos % hat_every == 0:
                hits.append(hat)
            if pos in kick_steps:
                hits.append(KICK)
            if pos in snare_steps:
                hits.append(SNARE)
            if s % 64 == 0 and rng.random() < 0.3:
                hits.append(CRASH)
            if s % 16 == 14 and rng.random() < 0.25:
                hits.append(int(rng.choice(TOMS)))
            for k in hits:
                v = int(np.clip(vel + rng.integers(-15, 10) + (10 if pos % 4 == 0 else 0), 1, 127))
                notes.append(Note(t, min(t + step, b), k, v))
    attrs = {"tempo_bpm": round(bpm, 1), "tempo": _tempo_word(bpm), "loudness": dyn_word,
             "kit": int(rng.choice(DRUM_KITS))}
    return notes, attrs


def compose_effect(cls: SoundClass, segments: list[tuple[float, float]], rng: np.random.Generator):
    """GM sound-effect programs: held or retriggered notes; pitch changes the character."""
    dyn_word, vel = _dynamic(rng)
    lo, hi = cls.pitch_range
    notes: list[Note] = []
    for a, b in segments:
        t = a
        while t < b - 0.05:
            if cls.label == "bird song":
                dur = float(rng.uniform(0.15, 0.6))
                gap = float(rng.uniform(0.05, 0.4))
            else:
                dur = float(rng.uniform(1.5, 4.0))
                gap = 0.0
            notes.append(Note(t, min(t + dur, b), int(rng.integers(lo, hi + 1)),
                              int(np.clip(vel + rng.integers(-8, 9), 1, 127))))
            t += dur + gap
    return notes, {"loudness": dyn_word}


def _bind_write_float():
    import ctypes

    import fluidsynth

    return fluidsynth.cfunc("fluid_synth_write_float", ctypes.c_int, ("synth", ctypes.c_void_p, 1),
                            ("len", ctypes.c_int, 1), ("lout", ctypes.c_void_p, 1), ("loff", ctypes.c_int, 1),
                            ("lincr", ctypes.c_int, 1), ("rout", ctypes.c_void_p, 1), ("roff", ctypes.c_int, 1),
                            ("rincr", ctypes.c_int, 1))


_write_float = None


class Renderer:
    """Renders clips with FluidSynth, a fresh synthesizer per clip.

    Reusing one synthesizer leaks state between clips (voices fading after a reset, block
    phase), so the same notes would not render to the same samples. A second synthesizer
    keeps the soundfont in FluidSynth's sample cache, which makes a fresh one cost ~40 ms.
    """

    SETTINGS = {"synth.reverb.active": 0, "synth.chorus.active": 0}  # dry: crisp activity spans

    def __init__(self, soundfont: str = DEFAULT_SOUNDFONT, sample_rate: int = 16000, expressive: bool = False):
        global _write_float
        _write_float = _write_float or _bind_write_float()
        self.soundfont, self.sample_rate, self.expressive = soundfont, sample_rate, expressive
        self._keeper = self._new_synth()  # holds the soundfont's samples in the cache

    def _new_synth(self):
        import fluidsynth  # pyfluidsynth, over Debian's libfluidsynth

        synth = fluidsynth.Synth(samplerate=float(self.sample_rate), gain=0.4, **self.SETTINGS)
        sfid = synth.sfload(self.soundfont)
        if sfid < 0:
            raise RuntimeError(f"could not load soundfont {self.soundfont}")
        return synth, sfid

    def render(self, notes: list[Note], duration: float, bank: int, preset: int, controls=()) -> np.ndarray:
        """``controls``: (seconds, 2, bend, 0) pitch bends and (seconds, 3, controller, value) changes."""
        synth, sfid = self._new_synth()
        try:
            chan = 9 if bank == 128 else 0
            if synth.program_select(chan, sfid, bank, preset) != 0 and preset != 0:
                synth.program_select(chan, sfid, bank, 0)  # kit missing in this soundfont
            total = int(round(duration * self.sample_rate))
            events = sorted([(n.start, 1, n.key, n.velocity) for n in notes] + [(n.end, 0, n.key, 0) for n in notes]
                            + list(controls))
            chunks, pos = [], 0
            for t, kind, a, b in events:
                at = min(int(round(t * self.sample_rate)), total)
                if at > pos:
                    chunks.append(_samples(synth, at - pos))
                    pos = at
                if kind == 1:
                    synth.noteon(chan, a, b)
                elif kind == 0:
                    synth.noteoff(chan, a)
                elif kind == 2:
                    synth.pitch_bend(chan, a)
                else:
                    synth.cc(chan, a, b)
            if total > pos:
                chunks.append(_samples(synth, total - pos))
        finally:
            synth.delete()
        return np.concatenate(chunks, axis=1).mean(axis=0)[:total]

    def clip(self, cls: SoundClass, segments, duration: float, rng: np.random.Generator):
        if cls.kind == "drums":
            notes, attrs = compose_drums(segments, rng)
            bank, preset = 128, attrs["kit"]
        elif cls.kind == "effect":
            notes, attrs = compose_effect(cls, segments, rng)
            bank, preset = cls.bank, cls.program
        else:
            notes, attrs = compose_music(cls, segments, rng)
            bank, preset = cls.bank, cls.program
        controls = []
        if self.expressive and cls.kind != "effect":  # GM effects are noises, not played
            from recipes.data.expression import perform

            notes, controls, played = perform(cls, notes, duration, rng)
            attrs = {**attrs, **played}
        return self.render(notes, duration, bank, preset, controls), attrs


def _samples(synth, n: int) -> np.ndarray:
    """[2, n] float32. pyfluidsynth's get_samples goes through 16-bit output, which FluidSynth
    dithers with random noise, so renders would differ run to run; we read floats instead."""
    buf = np.zeros((2, n), dtype=np.float32)
    _write_float(synth.synth, n, buf[0].ctypes.data, 0, 1, buf[1].ctypes.data, 0, 1)
    return buf

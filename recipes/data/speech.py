"""Speech clips from espeak-ng: generated sentences, several languages and voice variants.

Sentences come from small per-language grammars; each sentence belongs to exactly one split
(by a stable hash), so train/val/test never share a sentence.
"""

from __future__ import annotations

import io
import itertools
import subprocess
import zlib

import numpy as np
import soundfile as sf

GRAMMARS = {
    "English": (
        ["the old fisherman", "my neighbour", "a young teacher", "the small boy", "our captain", "the baker",
         "her brother", "the doctor", "a tired farmer", "the new student", "his grandmother", "the pilot"],
        ["painted", "found", "carried", "lost", "opened", "cleaned", "bought", "sold", "repaired", "described",
         "borrowed", "watched"],
        ["a red boat", "the wooden door", "three green apples", "an old map", "the broken clock", "a heavy box",
         "the silver key", "two paper kites", "a warm blanket", "the yellow bicycle", "a glass of milk"],
        ["before dawn", "in the morning", "near the river", "last winter", "with great care", "after lunch",
         "on a rainy day", "behind the house", "at the market", "during the storm"],
    ),
    "German": (
        ["der alte Fischer", "mein Nachbar", "die junge Lehrerin", "der kleine Junge", "unser Kapitän", "der Bäcker"],
        ["malte", "fand", "trug", "verlor", "öffnete", "reparierte"],
        ["ein rotes Boot", "die hölzerne Tür", "drei grüne Äpfel", "eine alte Karte", "die kaputte Uhr"],
        ["am Morgen", "am Fluss", "im letzten Winter", "nach dem Essen", "auf dem Markt"],
    ),
    "French": (
        ["le vieux pêcheur", "mon voisin", "la jeune institutrice", "le petit garçon", "notre capitaine", "le boulanger"],
        ["a peint", "a trouvé", "a porté", "a perdu", "a ouvert", "a réparé"],
        ["un bateau rouge", "la porte en bois", "trois pommes vertes", "une vieille carte", "l'horloge cassée"],
        ["le matin", "près de la rivière", "l'hiver dernier", "après le déjeuner", "au marché"],
    ),
    "Spanish": (
        ["el viejo pescador", "mi vecino", "la joven maestra", "el niño pequeño", "nuestro capitán", "el panadero"],
        ["pintó", "encontró", "llevó", "perdió", "abrió", "reparó"],
        ["un barco rojo", "la puerta de madera", "tres manzanas verdes", "un mapa antiguo", "el reloj roto"],
        ["por la mañana", "cerca del río", "el invierno pasado", "después de comer", "en el mercado"],
    ),
    "Italian": (
        ["il vecchio pescatore", "il mio vicino", "la giovane maestra", "il piccolo ragazzo", "il nostro capitano"],
        ["ha dipinto", "ha trovato", "ha portato", "ha perso", "ha aperto", "ha riparato"],
        ["una barca rossa", "la porta di legno", "tre mele verdi", "una vecchia mappa", "l'orologio rotto"],
        ["di mattina", "vicino al fiume", "l'inverno scorso", "dopo pranzo", "al mercato"],
    ),
}
VOICES = {"English": ["en-us", "en-gb"], "German": ["de"], "French": ["fr"], "Spanish": ["es"], "Italian": ["it"]}
LANG_WEIGHTS = {"English": 0.6, "German": 0.1, "French": 0.1, "Spanish": 0.1, "Italian": 0.1}
# Voice variants: the last of each list is held out of the default corpus ("alt" renders use only it).
VARIANTS = {"male": ["m1", "m2", "m3", "m4", "m5", "m6", "m7"], "female": ["f1", "f2", "f3", "f4", "f5"]}
SPLIT_OF_BUCKET = ["train"] * 8 + ["val", "test"]

_SENTENCES: dict[tuple[str, str], list[str]] = {}


def sentence_split(sentence: str) -> str:
    return SPLIT_OF_BUCKET[zlib.crc32(sentence.encode()) % 10]


def sentences(language: str, split: str) -> list[str]:
    """All sentences of ``language`` that belong to ``split`` (disjoint across splits)."""
    key = (language, split)
    if key not in _SENTENCES:
        every = (" ".join(parts) for parts in itertools.product(*GRAMMARS[language]))
        _SENTENCES[key] = [s[0].upper() + s[1:] + "." for s in every if sentence_split(s[0].upper() + s[1:] + ".") == split]
    return _SENTENCES[key]


def speak(text: str, voice: str, speed: int, pitch: int) -> tuple[np.ndarray, int]:
    proc = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
                          capture_output=True, check=True)
    data, rate = sf.read(io.BytesIO(proc.stdout), dtype="float32")
    return data if data.ndim == 1 else data.mean(axis=1), rate


def speech_clip(gender: str, split: str, segments, duration: float, sample_rate: int,
                rng: np.random.Generator, variant: str = "default"):
    """Fill each active segment with utterances of one speaker; returns (wave, attributes)."""
    from soundsift.resample import resample
    import torch

    languages = list(LANG_WEIGHTS)
    language = str(rng.choice(languages, p=list(LANG_WEIGHTS.values())))
    pool = VARIANTS[gender][-1:] if variant == "alt" else VARIANTS[gender][:-1]
    voice = f"{rng.choice(VOICES[language])}+{rng.choice(pool)}"
    speed = int(rng.integers(110, 200))
    pitch = int(rng.integers(20, 50) if gender == "male" else rng.integers(45, 80))
    bank = sentences(language, split)
    out = np.zeros(int(round(duration * sample_rate)), dtype=np.float32)
    said = []
    for a, b in segments:
        pos, end = int(a * sample_rate), int(b * sample_rate)
        while pos < end - sample_rate // 4:
            text = str(bank[int(rng.integers(len(bank)))])
            wave, rate = speak(text, voice, speed, pitch)
            wave = resample(torch.from_numpy(wave)[None], rate, sample_rate)[0].numpy()
            piece = wave[: end - pos].copy()
            fade = min(len(piece), sample_rate // 50)
            piece[len(piece) - fade:] *= np.linspace(1, 0, fade, dtype=np.float32)  # no click at a cut
            out[pos: pos + len(piece)] += piece
            said.append(text)
            pos += len(piece) + int(rng.integers(0, sample_rate // 3))
    attrs = {"language": language, "voice": voice, "speed_wpm": speed,
             "tempo": "slow" if speed < 130 else "fast" if speed > 175 else "moderate",
             "pitch": pitch, "text": " ".join(said)}
    return out, attrs

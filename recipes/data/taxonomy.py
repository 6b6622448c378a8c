"""The sound classes of the corpus: how each is rendered, drawn and described.

``captions`` are the paraphrases the data engine writes into the manifest (and so into training).
``unseen`` paraphrases are never written by the engine: evaluation uses them to test prompts the
models were not trained on.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SoundClass:
    label: str
    kind: str                        # "melodic", "chordal", "drums", "effect", "speech", "noise"
    emoji: str | None                # Noto colour emoji drawn in scenes (None: not drawn)
    captions: tuple[str, ...]        # paraphrases used in training captions
    unseen: tuple[str, ...]          # paraphrases kept out of training, for evaluation
    program: int | None = None       # General MIDI program (0-based), bank 0
    bank: int = 0
    pitch_range: tuple[int, int] = (48, 84)  # playable MIDI notes
    gender: str | None = None        # speech only
    noun: str = ""                   # used in attribute captions ("a fast, loud {noun}")
    target: bool = True              # False: background only, never prompted
    extras: dict = field(default_factory=dict)


def _music(label, program, lo, hi, emoji, captions, unseen, kind="melodic", noun=None):
    return SoundClass(label, kind, emoji, tuple(captions), tuple(unseen), program=program,
                      pitch_range=(lo, hi), noun=noun or label)


CLASSES: tuple[SoundClass, ...] = (
    _music("piano", 0, 36, 96, "🎹", ["a piano", "piano", "acoustic piano", "someone playing the piano", "a grand piano"],
           ["keys of a pianoforte being struck", "a piano recital"], kind="chordal"),
    _music("electric piano", 4, 40, 88, "🎛", ["an electric piano", "electric piano", "a rhodes piano", "an electric keyboard"],
           ["a vintage electric keyboard sound", "a mellow e-piano"], kind="chordal"),
    _music("church organ", 19, 36, 84, "⛪", ["a church organ", "pipe organ", "an organ playing", "church organ music"],
           ["a cathedral pipe organ", "organ pipes sounding"], kind="chordal"),
    _music("accordion", 21, 48, 84, "🪗", ["an accordion", "accordion", "someone playing the accordion", "a squeezebox"],
           ["bellows-driven free reed instrument", "a musette accordion tune"], kind="chordal"),
    _music("acoustic guitar", 25, 40, 81, "🪕", ["an acoustic guitar", "acoustic guitar", "a steel-string guitar", "guitar strumming"],
           ["an unplugged guitar", "strings of an acoustic guitar being plucked"], kind="chordal"),
    _music("electric guitar", 27, 40, 84, "🎸", ["an electric guitar", "electric guitar", "a clean electric guitar", "an amplified guitar"],
           ["a guitar played through an amplifier", "a jazz guitar line"], kind="chordal"),
    _music("bass guitar", 33, 28, 55, "🎚", ["a bass guitar", "bass guitar", "an electric bass", "a bassline"],
           ["low plucked bass strings", "a funky bass part"]),
    _music("violin", 40, 55, 96, "🎻", ["a violin", "violin", "a fiddle", "a bowed violin"],
           ["a solo violin melody", "the sound of a violin being played"]),
    _music("cello", 42, 36, 72, "🐘", ["a cello", "cello", "a bowed cello", "a violoncello"],
           ["a deep bowed string instrument", "a cello solo"]),
    _music("harp", 46, 36, 96, "👼", ["a harp", "harp", "a concert harp", "plucked harp strings"],
           ["glissando on a harp", "an orchestral harp"], kind="chordal"),
    _music("trumpet", 56, 55, 82, "🎺", ["a trumpet", "trumpet", "a brass trumpet", "someone playing the trumpet"],
           ["a bright brass fanfare", "a jazz trumpet"]),
    _music("trombone", 57, 40, 72, "📯", ["a trombone", "trombone", "a slide trombone", "a brass trombone"],
           ["a low sliding brass instrument", "trombone blowing"]),
    _music("french horn", 60, 41, 77, "🐚", ["a french horn", "french horn", "a horn", "an orchestral horn"],
           ["a mellow brass horn", "a hunting horn call"]),
    _music("saxophone", 65, 49, 81, "🎷", ["a saxophone", "saxophone", "an alto sax", "a sax playing"],
           ["a smooth jazz saxophone", "a reed brass instrument"]),
    _music("clarinet", 71, 50, 91, "🎼", ["a clarinet", "clarinet", "a woodwind clarinet", "someone playing the clarinet"],
           ["a single-reed woodwind", "a klezmer clarinet"]),
    _music("flute", 73, 60, 96, "🪈", ["a flute", "flute", "a concert flute", "someone playing the flute"],
           ["a breathy woodwind", "a transverse flute melody"]),
    _music("marimba", 12, 45, 96, "🪵", ["a marimba", "marimba", "a wooden mallet instrument", "marimba notes"],
           ["a xylophone-like wooden percussion", "mallets on wooden bars"], kind="chordal"),
    _music("tubular bells", 14, 60, 77, "🔔", ["tubular bells", "chimes", "orchestral bells", "ringing tubular bells"],
           ["church-like chime tones", "metal tubes struck by a hammer"]),
    _music("choir", 52, 48, 79, "👥", ["a choir", "choir", "a choir singing", "choral voices"],
           ["a group of people singing together", "a chorus of voices"], kind="chordal"),
    SoundClass("drum kit", "drums", "🥁", ("a drum kit", "drums", "a drummer playing", "a drum beat"),
               ("percussion rhythm with kick and snare", "someone drumming"), program=0, bank=128, noun="drum kit"),
    SoundClass("bird song", "effect", "🐦", ("bird song", "birds chirping", "a bird singing", "birdsong"),
               ("tweeting of a small bird", "chirps of songbirds"), program=123, pitch_range=(60, 84), noun="bird"),
    SoundClass("telephone ring", "effect", "☎", ("a telephone ringing", "telephone ring", "a phone ringing", "a ringing phone"),
               ("an old phone's bell", "an incoming call ringtone"), program=124, pitch_range=(60, 72), noun="telephone"),
    SoundClass("helicopter", "effect", "🚁", ("a helicopter", "helicopter", "a helicopter flying", "helicopter rotor noise"),
               ("chopper blades whirring", "an aircraft hovering overhead"), program=125, pitch_range=(48, 72), noun="helicopter"),
    SoundClass("applause", "effect", "👏", ("applause", "people clapping", "an audience applauding", "clapping hands"),
               ("a crowd giving an ovation", "hands clapping in a hall"), program=126, pitch_range=(55, 72), noun="applause"),
    SoundClass("sea waves", "effect", "🌊", ("sea waves", "ocean waves", "waves crashing", "the sea"),
               ("surf on a beach", "water washing onto the shore"), program=122, pitch_range=(48, 72), noun="sea"),
    SoundClass("male speech", "speech", "👨", ("a man speaking", "male speech", "a man talking", "a male voice"),
               ("a gentleman saying something", "a guy's voice"), gender="male", noun="man"),
    SoundClass("female speech", "speech", "👩", ("a woman speaking", "female speech", "a woman talking", "a female voice"),
               ("a lady saying something", "a girl's voice"), gender="female", noun="woman"),
    SoundClass("background noise", "noise", None, ("background noise", "hiss", "static noise"),
               ("broadband hum and hiss",), noun="noise", target=False),
)

BY_LABEL = {c.label: c for c in CLASSES}
TARGET_LABELS = tuple(c.label for c in CLASSES if c.target)


def get(label: str) -> SoundClass:
    return BY_LABEL[label]



"""Prompts: what the user asks for, in the order the stems come out, and the name of each stem.

This module alone decides prompt order and stem names: ``Separator`` embeds the prompts it gets
from :func:`build_prompts` in that order and returns each stem with its name, and the command line
writes the files the result names.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from soundsift.checks import check_texts
from soundsift.errors import SoundSiftError
from soundsift.names import slug, unique

RESIDUAL = "residual"  # the stem that holds everything else; no prompt may take its name


@dataclass(frozen=True)
class Prompt:
    kind: str     # "text", "audio" (an example sound), "click" (on the video) or "span" (+ spans alone)
    label: str    # as shown to the user: the text itself, "audio-query", "click-3s-193-47", "span-query"
    value: object = None  # text: str; audio: a path, an AudioFile or (wave, rate); click: (t, x, y)
    # Its query embeddings [n, D] (one per part) when they do not depend on the input (text, audio
    # example), made once by Separator.prepare for prompts reused over many inputs.
    embedding: object = field(default=None, compare=False, repr=False)
    # A text prompt whose stem is the union of several sounds: the texts queried, each its own mask,
    # summed (at most 1) into one stem. Empty: the prompt alone. See :func:`text_parts`.
    parts: tuple = ()

    @property
    def texts(self) -> list[str]:
        """What a text prompt queries: its parts, or the text itself."""
        return list(self.parts) or [self.value]

    @property
    def name(self) -> str:
        """The stem's base name before duplicates are numbered (see :func:`stem_names`)."""
        return slug(self.label)


UNION = "|"  # "a dog barking | a cat meowing": one stem holding both
# A voice of either sex is one stem made of both speech classes: a wording that names speech but no sex
# sits between them in the encoder's space and half-shuts the gate on voices the corpus has few of
# (docs/SEPARATION.md, "Which speech prompt finds a voice").
SPEECH_PARTS = ("a man speaking", "a woman speaking")
_SPEECH_WORDS = {"speech", "speaking", "speak", "speaks", "spoken", "talking", "talk", "talks", "voice",
                 "voices", "speaker", "speakers", "conversation", "chatting", "chatter", "narration",
                 "narrator", "narrating", "dialogue", "dialog"}
# Words a speech-only wording may also hold; any other word (a sex, another sound, a place) leaves the
# prompt to the encoder as written.
_SPEECH_FILLER = {"a", "an", "the", "some", "someone", "somebody", "person", "persons", "people", "human",
                  "humans", "child", "children", "kid", "kids", "adult", "adults", "and", "of", "in", "is",
                  "are", "who", "with", "loud", "loudly", "quiet", "quietly", "soft", "softly", "clear",
                  "clearly", "aloud", "reading", "saying", "words", "spoken", "two", "several", "many"}
# Words that name a speaker's sex (see names_a_voice_by_sex).
_SEX_WORDS = {"man", "men", "male", "woman", "women", "female", "boy", "boys", "girl", "girls", "lady", "ladies",
              "gentleman", "gentlemen", "guy", "guys"}


def text_parts(text: str) -> tuple[str, ...]:
    """The parts a text prompt's stem is the union of, or () for a text queried as it is: the pieces
    of a text joined by ``|``, and for a wording that names speech and nothing else ("a person
    speaking", "speech", "people talking") the two speech classes :data:`SPEECH_PARTS`."""
    pieces = [piece.strip() for piece in text.split(UNION)]
    if any(not piece for piece in pieces):
        raise SoundSiftError(f"text prompt {text!r} has an empty part: write A | B, each side a sound")
    parts = []
    for piece in pieces:
        words = _words(piece)
        speech_only = words & _SPEECH_WORDS and words <= _SPEECH_WORDS | _SPEECH_FILLER
        parts += SPEECH_PARTS if speech_only else [piece]
    parts = tuple(dict.fromkeys(parts))
    return () if parts == (text,) else parts


def names_a_voice_by_sex(text: str) -> bool:
    """Whether a text asks for speech of one sex ("a man speaking", "a female voice"): the prompts whose
    gate can shut on a voice unlike the few recorded speakers of that sex it learnt from."""
    words = _words(text)
    return bool(words & _SPEECH_WORDS and words & _SEX_WORDS)


def _words(text: str) -> set:
    return set("".join(c if c.isalnum() else " " for c in text.lower()).split())


def parse_span(text: str) -> tuple[str, float, float]:
    """'+1.0:3.5' or '-4:6' -> ('+', 1.0, 3.5)."""
    sign, body = text[:1], text[1:]
    try:
        start, end = (float(x) for x in body.split(":"))
    except ValueError:
        raise SoundSiftError(f"bad span {text!r}: use +START:END or -START:END in seconds") from None
    if sign not in "+-" or not sign:
        raise SoundSiftError(f"bad span {text!r}: it must start with + (target here) or - (target absent)")
    return sign, start, end


def parse_click(text: str) -> tuple[float, float, float]:
    """'2.5:120:80' -> (t seconds, x pixels, y pixels)."""
    try:
        t, x, y = (float(v) for v in text.split(":"))
    except ValueError:
        raise SoundSiftError(f"bad click {text!r}: use TIME:X:Y (seconds, pixels from the top-left)") from None
    if not all(math.isfinite(v) for v in (t, x, y)):
        raise SoundSiftError(f"bad click {text!r}: not a number")
    return t, x, y


def click_label(click) -> str:
    return "click-{:g}s-{:g}-{:g}".format(*click)


def _clicks(click) -> list[tuple[float, float, float]]:
    if click is None or len(click) == 0:
        return []
    clicks = [click] if isinstance(click[0], (int, float)) else list(click)
    for c in clicks:
        if len(c) != 3:
            raise SoundSiftError(f"a click is (seconds, x, y), got {c!r}")
    return [tuple(float(v) for v in c) for c in clicks]


def build_prompts(text=None, audio_query=None, click=None, spans=None) -> list[Prompt]:
    """The prompts of one separation, in stem order: each text, the audio example, each click; with
    none of those, the + spans' own audio (``span``). Spans also steer every other prompt. A text may
    be the union of several sounds (:func:`text_parts`)."""
    prompts = []
    if text is not None:
        prompts += [Prompt("text", t, t, parts=text_parts(t)) for t in check_texts(text)]
    if audio_query is not None:
        prompts.append(Prompt("audio", "audio-query", audio_query))
    prompts += [Prompt("click", click_label(c), c) for c in _clicks(click)]
    if not prompts:
        if not any(sign == "+" for sign, *_ in spans or []):
            raise SoundSiftError("no prompt: give a text, an audio query, a click on the video, or a + span")
        prompts.append(Prompt("span", "span-query"))
    return prompts


def stem_names(prompts: list[Prompt]) -> list[str]:
    """One file-safe name per prompt, bounded in bytes, repeated names numbered once ('a-violin',
    'a-violin-2'), never 'residual'; the residual's name follows them."""
    return unique([p.name for p in prompts], reserved=(RESIDUAL,)) + [RESIDUAL]


def is_path(value) -> bool:
    return isinstance(value, (str, os.PathLike))


# A text prompt whose query is less like every known sound's than this is said to be like none of them
# (cosine of query embeddings): below it fall none of the corpus' caption wordings, 13 % of its unseen
# paraphrases and 24 of 40 everyday sounds outside the vocabulary (docs/SEPARATION.md, "What a text prompt reads as").
UNKNOWN_BELOW = 0.85


def reading_note(text: str, description: str, similarity: float, known: int) -> str | None:
    """One line telling the user what ``text`` is read as (None when it is a known description itself)."""
    if text.strip().lower() == description.lower():
        return None
    if similarity < UNKNOWN_BELOW:
        return (f"{text!r} is like none of the {known} sounds the model knows; it is read as the nearest, "
                f"{description!r} (similarity {similarity:.2f})")
    return f"{text!r} is read as {description!r} (similarity {similarity:.2f})"

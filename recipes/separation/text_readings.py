"""What a text prompt reads as: how near the separator's query for a wording comes to the nearest of its
vocabulary's descriptions (``Separator.text_readings``), for the corpus' caption wordings, its unseen
paraphrases (never trained on) and everyday sounds outside the vocabulary. Prints, per bar, the share of
each that falls below it (those get "like none of the sounds the model knows"), and where each unknown
sound is read.

    python -m recipes.separation.text_readings
"""

from __future__ import annotations

import argparse

import numpy as np

from recipes.data.taxonomy import BY_LABEL, TARGET_LABELS
from separation.api import Separator
from separation.prompts import UNKNOWN_BELOW

# Everyday sounds that none of the 27 classes is (written for this check, not drawn from a list).
OUTSIDE = ["a dog barking", "a cat meowing", "a car horn", "a police siren", "rain falling", "thunder",
           "wind blowing", "a baby crying", "people laughing", "footsteps", "knocking on a door",
           "typing on a keyboard", "water running from a tap", "a car engine", "a train passing", "a whistle",
           "a clock ticking", "glass breaking", "hammering", "a chainsaw", "a vacuum cleaner", "frogs croaking",
           "a cow mooing", "a rooster crowing", "a horse neighing", "crickets chirping", "bees buzzing",
           "fireworks", "a gunshot", "snoring", "coughing", "sneezing", "a motorcycle",
           "an airplane flying overhead", "a doorbell", "an alarm clock", "a microwave beeping", "a fan humming",
           "a crowd cheering at a stadium", "a kettle whistling"]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None)
    args = p.parse_args(argv)
    sep = Separator.from_pretrained(args.model)
    groups = {"captions": [t for c in TARGET_LABELS for t in BY_LABEL[c].captions],
              "unseen paraphrases": [t for c in TARGET_LABELS for t in BY_LABEL[c].unseen],
              "sounds outside the vocabulary": OUTSIDE}
    sims = {name: np.array([s for _, s in sep.text_readings(texts)]) for name, texts in groups.items()}
    bars = sorted({0.8, 0.85, 0.9, 0.95, UNKNOWN_BELOW})
    print("| bar | " + " | ".join(f"{name} ({len(sims[name])}) below" for name in groups) + " |")
    print("| --- " * (len(groups) + 1) + "|")
    for bar in bars:
        mark = " (shipped)" if bar == UNKNOWN_BELOW else ""
        print(f"| {bar:.2f}{mark} | " + " | ".join(f"{np.mean(sims[name] < bar):.0%}" for name in groups) + " |")
    print("\nSounds outside the vocabulary, read as:")
    for text, (description, sim) in sorted(zip(OUTSIDE, sep.text_readings(OUTSIDE)), key=lambda r: -r[1][1]):
        print(f"  {text!r}: {description!r} ({sim:.2f})")


if __name__ == "__main__":
    main()

"""Best-of-k: several candidate separations of each prompt, the judge's favourite kept.

The candidates, in this order (the first k are made):
 1. the prompt as given;
 2. the mask raised to the power 0.7 (keeps more of what the mask half-believes);
 3. the mask to the power 1.5 (keeps less);
 4. a text prompt reworded "the sound of ..." (other prompts: the presence gate at sharpness 1);
 5. a text prompt reworded "... can be heard" (other prompts: mask power 2);
 6. the presence gate at sharpness 1 (the configured one is 3: a softer yes/no on the whole segment);
 7. a text prompt reworded "a recording of ..." (other prompts: gate sharpness 6);
 8. mask power 2.
Rewordings need their own pass of the network; mask powers and gate sharpness reuse a pass. The
choice is made on the first ``EXCERPT_SECONDS`` of the input (all of it when shorter); the whole
input is then separated once with the chosen candidate per prompt.
"""

from __future__ import annotations

from separation.apply import Variant

EXCERPT_SECONDS = 60.0
MAX_CANDIDATES = 8
_TEXT = [("", 1.0, None), ("", 0.7, None), ("", 1.5, None), ("the sound of {}", 1.0, None),
         ("{} can be heard", 1.0, None), ("", 1.0, 1.0), ("a recording of {}", 1.0, None), ("", 2.0, None)]
_OTHER = [("", 1.0, None), ("", 0.7, None), ("", 1.5, None), ("", 1.0, 1.0), ("", 2.0, None), ("", 1.0, 1.0),
          ("", 1.0, 6.0), ("", 2.0, None)]


def candidate_plan(kind: str, k: int) -> list[tuple[str, float, float | None]]:
    """The first k candidates of a prompt of this kind: (rewording template or "", mask power,
    gate sharpness or None for the configured one), duplicates dropped."""
    plan, seen = [], set()
    for item in _TEXT if kind == "text" else _OTHER:
        if item not in seen:
            seen.add(item)
            plan.append(item)
    return plan[:k]


def describe(item: tuple[str, float, float | None]) -> str:
    wording, power, sharpness = item
    parts = [f"reworded '{wording}'" if wording else "as given"]
    if power != 1.0:
        parts.append(f"mask power {power:g}")
    if sharpness is not None:
        parts.append(f"gate sharpness {sharpness:g}")
    return ", ".join(parts)


def variants_for(plan) -> tuple[list[str], list[Variant]]:
    """The distinct rewordings a plan needs (one network pass each) and its variants over them."""
    wordings = list(dict.fromkeys(w for w, _, _ in plan))
    return wordings, [Variant(wordings.index(w), p, s) for w, p, s in plan]

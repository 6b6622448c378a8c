"""Best-of-k: several candidate separations of each prompt, the judge's favourite kept.

The candidates, in this order (the first k are made):
 1. the prompt as given;
 2. the mask raised to the power 0.7 (keeps more of what the mask half-believes);
 3. the mask to the power 1.5 (keeps less);
 4. re-prompted: the query averaged with the audio embedding of candidate 1 (what was found);
 5. mask power 0.5;  6. mask power 2;  7. mask power 3;
 8. re-prompted, mask power 1.5.
Mask powers reuse one pass of the network; the re-prompted query needs one more. An alternative is
kept only when the judge scores it ``rerank_margin`` (the judge's config) above the prompt as given:
among such similar candidates the judge's ranking is weak (docs/JUDGE.md), and the margin keeps
best-of-k from doing worse than the plain separation. The choice is made on the first
``EXCERPT_SECONDS`` of the input (all of it when shorter); the whole input is then separated once
with the chosen candidate per prompt.
"""

from __future__ import annotations

from separation.apply import Variant

EXCERPT_SECONDS = 60.0
MAX_CANDIDATES = 8
PLAN = [("given", 1.0), ("given", 0.7), ("given", 1.5), ("reprompt", 1.0), ("given", 0.5), ("given", 2.0),
        ("given", 3.0), ("reprompt", 1.5)]


def candidate_plan(k: int) -> list[tuple[str, float]]:
    """The first k candidates: (query: "given" or "reprompt", mask power)."""
    return PLAN[:k]


def describe(item: tuple[str, float]) -> str:
    query, power = item
    parts = ["as given" if query == "given" else "re-prompted with what was found"]
    if power != 1.0:
        parts.append(f"mask power {power:g}")
    return ", ".join(parts)


def variants_for(plan, parts: int = 1) -> tuple[list[str], list[Variant]]:
    """The distinct queries a plan needs (one network pass each) and its variants over them. A prompt
    of several ``parts`` (a union) has that many rows per query, and each variant takes all of them."""
    queries = list(dict.fromkeys(q for q, _ in plan))
    rows = [tuple(range(i * parts, (i + 1) * parts)) for i in range(len(queries))]
    return queries, [Variant(rows[queries.index(q)], p) for q, p in plan]

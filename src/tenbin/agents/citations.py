"""Which retrieved passages an answer rests on: a fact that feedback rules and evals can check.

Explicit citations win: `sources` the model declared, or `[n]` markers in its text, matched to the
numbered passages it was shown (or to their ids). A tiny model rarely cites, so an answer that
restates a passage also counts as grounded in it: at least `min_shared` of its content words, and
`min_ratio` (60%) of them, appear in that passage. An answer that shares little with every passage
cites nothing, so a hallucinated price that merely reuses "per seat per month" is not grounded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tenbin.agents.retriever import Passage, tokenize

_MARKER = re.compile(r"\[(\d{1,2})\]")


def resolve_sources(declared: Sequence[str], passages: Sequence[Passage]) -> list[Passage]:
    """Passages named by number (1-based), `[n]`, `pN` or id; unknown names are dropped."""
    by_id = {p.id: p for p in passages}
    picked: list[Passage] = []
    for name in declared:
        key = name.strip().strip("[]").lower().removeprefix("p").removeprefix("#")
        found = passages[int(key) - 1] if key.isdigit() and 0 < int(key) <= len(passages) else by_id.get(name)
        if found is not None and found not in picked:
            picked.append(found)
    return picked


def cited_passages(answer: str, declared: Sequence[str], passages: Sequence[Passage], *,
                   min_shared: int = 4, min_ratio: float = 0.6) -> list[Passage]:
    """Declared or `[n]`-marked passages; failing those, passages the answer restates."""
    explicit = resolve_sources([*declared, *_MARKER.findall(answer)], passages)
    if explicit:
        return explicit
    words = set(tokenize(answer))
    if len(words) < min_shared:
        return []
    grounded = []
    for passage in passages:
        shared = len(words & set(tokenize(f"{passage.heading} {passage.content}")))
        if shared >= min_shared and shared >= min_ratio * len(words):
            grounded.append(passage)
    return grounded

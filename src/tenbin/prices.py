"""Model prices: which price applies to a span, decided in Python (no SQL here).

A price entry names a model `pattern`, USD per 1M prompt tokens and per 1M completion tokens, and an
optional `valid_from` (µs): it applies to spans that *start* at or after that moment, so a new price
never rewrites the cost of older spans (`tenbin.costs.recompute` does that on request).

Patterns match the span's whole model name, case-insensitively:
- `gpt-4o`: an exact name;
- `gpt-4o-mini*`: a glob, `*` any run of characters, `?` one character;
- `re:claude-3-5-(sonnet|haiku).*`: a regular expression (full match).

Patterns come from users and model names from spans, and a match runs in the server's scheduler, so
no pattern may backtrack without bound: globs go through `fnmatch` (whose translation cannot blow up
on many `*`), and regular expressions through the `regex` package with a per-match timeout
(REGEX_TIMEOUT_S; a pattern that times out does not match, and the server logs it).

Which entry wins for a span: of the entries that match its model and are valid at its start,
1. the project's own prices, then global prices, then the built-in defaults;
2. an exact name, then globs, then regular expressions;
3. among globs, more literal (non-wildcard) characters first: `gpt-4o-mini*` beats `gpt-4o*`;
4. the latest valid_from;
5. the entry added first (for built-ins, the data file's order).
Matching runs in Python because regular expressions are not portable SQL; a project sees a few dozen
distinct model names, so `PriceBook` caches each name's ordered candidates.
"""

from __future__ import annotations

import fnmatch
import logging
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import regex
import yaml

from tenbin.errors import InvalidInput

SCOPES = ("project", "global", "builtin")
KINDS = ("exact", "glob", "regex")
REGEX_PREFIX = "re:"
MAX_PATTERN = 200
MAX_PRICE = 1_000_000.0
REGEX_TIMEOUT_S = 0.05
"""Longest a `re:` pattern may spend on one model name before it counts as not matching."""
log = logging.getLogger(__name__)
"""USD per 1M tokens; anything above is a typo (the dearest models cost a few hundred)."""
CURRENCY = "USD"
BUILTIN_FILE = Path(__file__).parent / "data" / "model_prices.yaml"


def pattern_kind(pattern: str) -> str:
    if pattern.startswith(REGEX_PREFIX):
        return "regex"
    return "glob" if any(c in pattern for c in "*?") else "exact"


def check_pattern(pattern: str) -> str:
    """The pattern stripped; InvalidInput naming the problem when it cannot be used."""
    pattern = (pattern or "").strip()
    if not pattern or pattern == REGEX_PREFIX:
        raise InvalidInput("a model pattern is needed: an exact name (gpt-4o), a glob (gpt-4o-mini*) "
                           "or re:<regular expression>")
    if len(pattern) > MAX_PATTERN:
        raise InvalidInput(f"the model pattern is {len(pattern)} characters long; use at most {MAX_PATTERN}")
    if pattern_kind(pattern) == "regex":
        try:
            regex.compile(pattern[len(REGEX_PREFIX):])
        except regex.error as exc:
            raise InvalidInput(f"model pattern {pattern!r} is not a valid regular expression: {exc}") from None
    return pattern


def check_price(value: Any, name: str) -> float:
    """A price per 1M tokens: a finite number from 0 to MAX_PRICE."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{name} must be a number of USD per 1M tokens, e.g. 2.5; got {value!r}")
    if not math.isfinite(value) or not 0 <= value <= MAX_PRICE:
        raise InvalidInput(f"{name} must be from 0 to {MAX_PRICE:,.0f} USD per 1M tokens; got {value!r}")
    return float(value)


@lru_cache(maxsize=4096)
def _compiled(source: str) -> regex.Pattern[str]:
    return regex.compile(source, regex.IGNORECASE | regex.DOTALL)


def _matches(pattern: str, model: str) -> bool:
    if pattern_kind(pattern) != "regex":
        glob = pattern.casefold().replace("[", "[[]")  # only * and ? are wildcards here
        return fnmatch.fnmatchcase(model.casefold(), glob)
    try:
        return _compiled(pattern[len(REGEX_PREFIX):]).fullmatch(model, timeout=REGEX_TIMEOUT_S) is not None
    except TimeoutError:
        log.warning("model price pattern %r timed out on model %r; treated as no match", pattern, model[:200])
        return False


@dataclass(frozen=True)
class Price:
    """One entry of a price table; `order` breaks the last tie (a row id, or the file position)."""

    pattern: str
    prompt_per_1m: float
    completion_per_1m: float
    valid_from_us: int | None = None
    scope: str = "project"
    id: int | None = None
    order: int = 0

    @property
    def kind(self) -> str:
        return pattern_kind(self.pattern)

    def matches(self, model: str) -> bool:
        return _matches(self.pattern, model)

    def rank(self) -> tuple[int, int, int, int, int]:
        """Sort key of the precedence rules in the module docstring (smaller wins)."""
        literal = len(self.pattern) - self.pattern.count("*") - self.pattern.count("?") if self.kind == "glob" else 0
        return (SCOPES.index(self.scope), KINDS.index(self.kind), -literal, -(self.valid_from_us or 0), self.order)

    def cost(self, prompt_tokens: int | None, completion_tokens: int | None) -> float:
        """USD for the tokens; the store's SQL computes the same expression in the same order."""
        return ((prompt_tokens or 0) * self.prompt_per_1m + (completion_tokens or 0) * self.completion_per_1m) / 1_000_000


@dataclass
class PriceBook:
    """The entries one project sees (its own, global, built-in), resolving model names with a cache."""

    entries: list[Price]
    _candidates: dict[str, list[Price]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.entries = sorted(self.entries, key=Price.rank)

    def price_for(self, model: str | None, start_us: int) -> Price | None:
        """The winning entry for a span of `model` starting at `start_us`, or None."""
        if not model:
            return None
        if model not in self._candidates:
            self._candidates[model] = [p for p in self.entries if p.matches(model)]
        return next((p for p in self._candidates[model] if p.valid_from_us is None or p.valid_from_us <= start_us), None)


@lru_cache(maxsize=1)
def _builtin_file() -> dict[str, Any]:
    return yaml.safe_load(BUILTIN_FILE.read_text(encoding="utf-8"))


def builtin_prices() -> tuple[Price, ...]:
    """The package's default table (data/model_prices.yaml), checked like user input."""
    return tuple(
        Price(check_pattern(e["pattern"]), check_price(e["prompt"], "prompt"), check_price(e["completion"], "completion"),
              scope="builtin", order=i)
        for i, e in enumerate(_builtin_file()["prices"])
    )


def builtin_as_of() -> str:
    """The date the built-in list prices were read from the providers' pages."""
    return str(_builtin_file()["as_of"])

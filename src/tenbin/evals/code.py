"""Code evaluators: cheap, deterministic checks, plus user functions registered by name.

A check is a plain function `(example, **params) -> outcome`; an outcome may be a bool (pass/fail),
a number (score), a label string, a `(outcome, explanation)` pair or a full `EvalResult`. Parameters
are bound (and checked) once, when the evaluator is built, so a bad regex or JSON schema is an error
before any span is touched.
"""

from __future__ import annotations

import inspect
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonschema

from tenbin.errors import InvalidInput
from tenbin.evals.base import EvalInput, EvalResult

Check = Callable[..., Any]
PASS, FAIL = "pass", "fail"


@dataclass
class CodeEvaluator:
    """A check function with its parameters bound; `requires` names the input fields it reads."""

    name: str
    fn: Check
    version: str = "1"
    requires: tuple[str, ...] = ("output",)
    params: dict[str, Any] = field(default_factory=dict)
    source: Literal["code", "llm"] = "code"

    def evaluate(self, example: EvalInput) -> EvalResult:
        example.require(self.name, self.requires)
        started = time.perf_counter()
        outcome = self.fn(example, **self.params)
        result = outcome_to_result(outcome, self.name, self.version)
        result.latency_ms = (time.perf_counter() - started) * 1000
        result.span_id = example.span_id
        return result

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "source": "code", "requires": list(self.requires),
                "params": self.params, "doc": inspect.getdoc(self.fn) or ""}


def outcome_to_result(outcome: Any, name: str, version: str) -> EvalResult:
    """Whatever a check returned → an EvalResult (bool → pass/fail with score 1/0)."""
    if isinstance(outcome, EvalResult):
        return outcome
    explanation = None
    if isinstance(outcome, tuple) and len(outcome) == 2:
        outcome, explanation = outcome
    result = EvalResult(name, version, "code", explanation=explanation)
    if isinstance(outcome, bool):
        result.label, result.score = (PASS, 1.0) if outcome else (FAIL, 0.0)
    elif isinstance(outcome, (int, float)):
        result.score = float(outcome)
    elif isinstance(outcome, str) and outcome:
        result.label = outcome
    else:
        raise InvalidInput(f"evaluator {name!r} returned {outcome!r}; return a bool, a number, a label string, "
                           "a (value, explanation) pair or an EvalResult")
    return result


def exact_match(example: EvalInput, *, case_sensitive: bool = True, strip: bool = True) -> tuple[bool, str]:
    """The output equals the reference answer."""
    out, ref = example.output or "", example.reference or ""
    if strip:
        out, ref = out.strip(), ref.strip()
    if not case_sensitive:
        out, ref = out.lower(), ref.lower()
    return out == ref, "output equals the reference" if out == ref else "output differs from the reference"


def contains(example: EvalInput, *, text: str | list[str], all: bool = True, case_sensitive: bool = False) -> tuple[bool, str]:
    """The output contains `text` (a string, or a list: all of them, or any with all=False)."""
    needles = [text] if isinstance(text, str) else list(text)
    haystack = example.output or ""
    if not case_sensitive:
        haystack, needles = haystack.lower(), [n.lower() for n in needles]
    missing = [n for n in needles if n not in haystack]
    ok = not missing if all else len(missing) < len(needles)
    return ok, "contains the text" if ok else f"missing: {', '.join(repr(m) for m in missing)}"


def regex(example: EvalInput, *, pattern: str, flags: str = "") -> tuple[bool, str]:
    """The output matches the regular expression `pattern` somewhere (flags: any of 'imsx')."""
    found = _compile(pattern, flags).search(example.output or "")
    return found is not None, f"matched {found.group(0)[:80]!r}" if found else f"no match for {pattern!r}"


def json_valid(example: EvalInput) -> tuple[bool, str]:
    """The output is valid JSON."""
    try:
        json.loads(example.output or "")
    except ValueError as exc:
        return False, f"not JSON: {exc}"
    return True, "valid JSON"


def json_schema(example: EvalInput, *, schema: dict[str, Any]) -> tuple[bool, str]:
    """The output is JSON that conforms to the JSON Schema `schema`."""
    try:
        value = json.loads(example.output or "")
    except ValueError as exc:
        return False, f"not JSON: {exc}"
    errors = sorted(jsonschema.validators.validator_for(schema)(schema).iter_errors(value), key=str)
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
        return False, f"{len(errors)} schema error(s); first at {where}: {errors[0].message}"
    return True, "conforms to the schema"


def length(example: EvalInput, *, min_chars: int = 0, max_chars: int | None = None) -> tuple[bool, str]:
    """The output's length in characters is within [min_chars, max_chars]."""
    n = len(example.output or "")
    ok = n >= min_chars and (max_chars is None or n <= max_chars)
    return ok, f"{n} characters (bounds {min_chars}..{max_chars if max_chars is not None else '∞'})"


def latency(example: EvalInput, *, max_ms: float) -> tuple[bool, str]:
    """The span took at most `max_ms` milliseconds."""
    ms = float(example.latency_ms or 0.0)
    return ms <= max_ms, f"{ms:.0f} ms (limit {max_ms:g} ms)"


def tokens(example: EvalInput, *, max_tokens: int, field: str = "total") -> tuple[bool, str]:
    """The span used at most `max_tokens` tokens (field: total, prompt or completion)."""
    if field not in ("total", "prompt", "completion"):
        raise InvalidInput(f"tokens: field must be total, prompt or completion; got {field!r}")
    used = getattr(example, f"{field}_tokens") or 0
    return used <= max_tokens, f"{used} {field} tokens (limit {max_tokens})"


def _compile(pattern: str, flags: str) -> re.Pattern[str]:
    bits = 0
    for f in flags:
        if f not in "imsx":
            raise InvalidInput(f"regex: unknown flag {f!r}; use any of i, m, s, x")
        bits |= getattr(re, f.upper())
    try:
        return re.compile(pattern, bits)
    except re.error as exc:
        raise InvalidInput(f"regex: invalid pattern {pattern!r}: {exc}") from exc


def parameters(fn: Check) -> list[dict[str, Any]]:
    """The check's parameters (after the example) and whether each is required: what a caller may pass."""
    after_example = list(inspect.signature(fn).parameters.values())[1:]
    return [{"name": p.name, "required": p.default is p.empty} for p in after_example]


def _check_params(name: str, fn: Check, params: dict[str, Any]) -> None:
    """Bind `params` against the check's keyword-only parameters and validate what can be validated."""
    sig = inspect.signature(fn)
    accepted = [p["name"] for p in parameters(fn)]
    try:
        sig.bind(EvalInput(), **params)
    except TypeError as exc:
        raise InvalidInput(f"evaluator {name!r}: {exc}; its parameters are: {', '.join(accepted) or 'none'}") from exc
    if fn is regex:
        _compile(params["pattern"], params.get("flags", ""))
    if fn is json_schema:
        try:
            jsonschema.validators.validator_for(params["schema"]).check_schema(params["schema"])
        except jsonschema.SchemaError as exc:
            raise InvalidInput(f"json_schema: the schema is not a valid JSON Schema: {exc.message}") from exc


BUILTIN: dict[str, tuple[Check, tuple[str, ...]]] = {
    "exact_match": (exact_match, ("output", "reference")),
    "contains": (contains, ("output",)),
    "regex": (regex, ("output",)),
    "json_valid": (json_valid, ("output",)),
    "json_schema": (json_schema, ("output",)),
    "length": (length, ()),
    "latency": (latency, ("latency_ms",)),
    "tokens": (tokens, ()),
}
USER: dict[str, tuple[Check, str, tuple[str, ...]]] = {}


def register(name: str, *, version: str = "1", requires: tuple[str, ...] = ()) -> Callable[[Check], Check]:
    """Decorator: make `fn(example, **params)` available as evaluator `name` in this process."""
    if not re.fullmatch(r"[A-Za-z_][\w.-]{0,99}", name):
        raise InvalidInput(f"evaluator name {name!r}: use letters, digits, '_', '.', '-' (up to 100)")

    def decorate(fn: Check) -> Check:
        USER[name] = (fn, version, tuple(requires))
        return fn

    return decorate


def build(name: str, params: dict[str, Any] | None = None) -> CodeEvaluator | None:
    """The named code evaluator with `params` bound, or None if no code evaluator has that name."""
    params = dict(params or {})
    if name in USER:
        fn, version, requires = USER[name]
        _check_params(name, fn, params)
        return CodeEvaluator(name, fn, version, requires, params)
    if name in BUILTIN:
        fn, requires = BUILTIN[name]
        _check_params(name, fn, params)
        return CodeEvaluator(name, fn, "1", requires, params)
    return None

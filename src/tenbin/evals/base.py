"""The one evaluator interface: an `EvalInput` in, an `EvalResult` out.

A span, a dataset example or a hand-built case all become an `EvalInput`, so code checks and LLM
judges never care where their input came from. A result carries what the feedback table needs
(label, score, explanation, source, author) plus what a run reports (the evaluator's own latency,
tokens, the raw model text when it could not be parsed, per-item details).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from tenbin.errors import InvalidInput

UNPARSEABLE = "unparseable"
FIELDS = ("input", "output", "reference", "context", "conversation")
_FIELD_HINTS = {
    "input": "the span has no input value",
    "output": "the span has no output value",
    "reference": "set metadata['reference'] on the span (or pass `reference=` for an example)",
    "context": "the trace needs a RETRIEVER span with documents (retrieval.documents)",
    "conversation": "the span needs a session id (tenbin.session) so its conversation can be read",
}


class MissingField(InvalidInput):
    """An evaluator needs a field the input does not have; `.field` names it."""

    def __init__(self, evaluator: str, field_name: str, where: str = "") -> None:
        hint = _FIELD_HINTS.get(field_name, "")
        super().__init__(f"evaluator {evaluator!r} needs the field {field_name!r}{where}, which is empty: {hint}")
        self.field = field_name


@dataclass
class EvalInput:
    """What an evaluator looks at. Every field is optional; evaluators declare what they need."""

    input: str | None = None
    output: str | None = None
    reference: str | None = None
    context: list[str] = field(default_factory=list)
    """Retrieved documents' text, in rank order."""
    conversation: list[dict[str, str]] = field(default_factory=list)
    """Turns as {"role": "user"|"assistant", "content": ...}, oldest first."""
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    span_id: str | None = None
    trace_id: str | None = None
    project: str | None = None
    """The span's project: whose registry holds the judge templates (see `judge_prompts`)."""

    def require(self, evaluator: str, names: tuple[str, ...]) -> None:
        """Raise MissingField for the first needed field that is empty."""
        where = f" on span {self.span_id}" if self.span_id else ""
        for name in names:
            value = getattr(self, name)
            if value is None or value == "" or value == []:
                raise MissingField(evaluator, name, where)


@dataclass
class EvalResult:
    """One evaluator's judgement of one input. `score` 1.0 always means "good" (factual, correct…)."""

    evaluator: str
    version: str
    source: Literal["code", "llm"]
    label: str | None = None
    score: float | None = None
    explanation: str | None = None
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 0
    raw: str | None = None
    """The model's last reply text (kept so an `unparseable` verdict can be inspected)."""
    details: dict[str, Any] = field(default_factory=dict)
    span_id: str | None = None

    @property
    def author(self) -> str:
        return f"{self.evaluator}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "author": self.author}

    def feedback(self) -> dict[str, Any]:
        """Keyword arguments for `store.feedback.add_feedback`: a label (with its score) or a score."""
        comment = self.explanation
        if self.label == UNPARSEABLE:
            comment = f"unparseable model output: {self.raw or ''}"
        return {"kind": "label" if self.label else "score", "name": self.evaluator, "value": self.score,
                "label": self.label, "comment": comment or None, "source": self.source, "author": self.author}


@runtime_checkable
class Evaluator(Protocol):
    """Anything with a name, a version, a source and `evaluate(EvalInput) -> EvalResult`."""

    name: str
    version: str
    source: Literal["code", "llm"]
    requires: tuple[str, ...]

    def evaluate(self, example: EvalInput) -> EvalResult: ...

    def describe(self) -> dict[str, Any]: ...

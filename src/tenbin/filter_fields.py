"""What a filter can name, and the SQL each kind of field compiles to.

`tenbin.filters` parses the expression; this module owns the meaning of its names. Each name
resolves to a *target* that knows how to compare itself with constants. Comparisons on a missing
value (NULL column, missing JSON key) are NULL in SQL, which a WHERE treats as false; the parser
negates with `not coalesce(x, false)` so `!=`, `not in` and `not` are exact complements.

Two things differ between SQLite and PostgreSQL and are chosen when the statement is compiled
(`PerDialect`), never by building SQL text:
- a JSON value's type (`json_type` vs `jsonb_typeof`): typed access keeps `metadata["n"] == "3"`
  from matching the number 3 and keeps PostgreSQL from failing a cast of "abc" to a number;
- tag membership: exact element match, `EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?)` on
  SQLite and JSONB containment `tags @> '["urgent"]'` on PostgreSQL.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, ColumnElement, Float, bindparam, case, exists, false, func, literal, or_, select
from sqlalchemy.types import String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from tenbin.semconv import SPAN_KINDS
from tenbin.store.models import Feedback, Span

Value = str | int | float | bool
Op = Callable[[Any, Any], ColumnElement[bool]]
Expr = ColumnElement[Any]
STATUSES: tuple[str, ...] = ("OK", "ERROR", "UNSET")
_MAX_INT = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Mismatch(Exception):
    """A target refusing a comparison; the parser adds where in the filter it happened."""

    def __init__(self, problem: str, hint: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint


class PerDialect(ColumnElement[Any]):
    """One expression per dialect, picked at compile time, so the filter stays dialect-free."""

    inherit_cache = True
    _traverse_internals = [
        ("sqlite", InternalTraversal.dp_clauseelement),
        ("postgresql", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, sqlite: Expr, postgresql: Expr) -> None:
        self.sqlite = sqlite
        self.postgresql = postgresql
        self.type = sqlite.type


@compiles(PerDialect)
def _compile_per_dialect(element: PerDialect, compiler: SQLCompiler, **kw: Any) -> str:
    chosen = element.postgresql if compiler.dialect.name == "postgresql" else element.sqlite
    return compiler.process(chosen, **kw)


def kind_name(value: object) -> str:
    """How error messages name the type of a constant."""
    if value is None:
        return "None"
    return {bool: "a boolean", str: "a string"}.get(type(value), "a number")


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def number_param(value: int | float) -> Expr:
    """Whole numbers bind as BIGINT: PostgreSQL casts an int parameter to INTEGER, which overflows."""
    if isinstance(value, int):
        if abs(value) > _MAX_INT:
            raise Mismatch("number out of range", f"numbers must lie within ±{_MAX_INT}")
        return literal(value, BigInteger())
    return literal(value, Float())


class Target:
    """Something a filter compares with constants; subclasses refuse what they cannot mean."""

    label = ""

    def compare(self, op: Op, value: Value) -> ColumnElement[bool]:
        raise Mismatch(f"{self.label} cannot be compared with {kind_name(value)}", self.usage())

    def one_of(self, values: Sequence[Value]) -> ColumnElement[bool]:
        return or_(*(self.compare(operator.eq, v) for v in values)) if values else false()

    def is_none(self) -> ColumnElement[bool]:
        raise Mismatch(f"{self.label} is never None", self.usage())

    def contains_text(self, text: str) -> ColumnElement[bool]:
        raise Mismatch(f"{self.label} cannot be searched for text", self.usage())

    def usage(self) -> str:
        return f"e.g. {self.label} == ..."


@dataclass(frozen=True)
class Field:
    """A plain span column; `type` is one of text, number, time, enum."""

    column: Any
    type: str
    doc: str
    values: tuple[str, ...] = ()


_EXAMPLES = {"text": ("text", '"abc"'), "number": ("numbers", "2000"), "time": ("times", '"2026-11-25T10:00:00Z"')}


class ColumnTarget(Target):
    def __init__(self, name: str, field: Field) -> None:
        self.label = name
        self.field = field

    def usage(self) -> str:
        if self.field.type == "enum":
            return f"e.g. {self.label} == {self.field.values[0]!r}; values are: {', '.join(self.field.values)}"
        takes, example = _EXAMPLES[self.field.type]
        return f"{self.label} takes {takes}, e.g. {self.label} == {example}"

    def compare(self, op: Op, value: Value) -> ColumnElement[bool]:
        if self.field.type == "enum" and op not in (operator.eq, operator.ne):
            raise Mismatch(f"{self.label} can only be tested with ==, !=, in", self.usage())
        return op(self.field.column, self._param(value))

    def one_of(self, values: Sequence[Value]) -> ColumnElement[bool]:
        return self.field.column.in_([self._param(v) for v in values])

    def is_none(self) -> ColumnElement[bool]:
        return self.field.column.is_(None)

    def contains_text(self, text: str) -> ColumnElement[bool]:
        if self.field.type != "text":
            return super().contains_text(text)
        return self.field.column.icontains(text, autoescape=True)

    def _param(self, value: Value) -> Any:
        kind = self.field.type
        if kind == "number" and is_number(value):
            return number_param(value)  # type: ignore[arg-type]
        if kind == "time" and (is_number(value) or isinstance(value, str)):
            return number_param(to_micros(value))  # type: ignore[arg-type]
        if kind == "enum" and isinstance(value, str):
            if value.upper() not in self.field.values:
                raise Mismatch(f"unknown {self.label} {value!r}", f"values are: {', '.join(self.field.values)}")
            return value.upper()
        if kind == "text" and isinstance(value, str):
            return value
        raise Mismatch(f"{self.label} cannot be compared with {kind_name(value)}", self.usage())


def to_micros(value: str | int | float) -> int:
    """ISO-8601 text (naive means UTC) or epoch seconds → the store's integer microseconds."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise Mismatch(f"{value!r} is not a time", 'write ISO-8601 like "2026-11-25T10:00:00Z" or epoch seconds')
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return (moment - _EPOCH) // timedelta(microseconds=1)
    return round(value * 1_000_000)


_JSON_TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # value type: (SQLite json_type names, PostgreSQL jsonb_typeof names)
    "number": (("integer", "real"), ("number",)),
    "string": (("text",), ("string",)),
    "boolean": (("true", "false"), ("boolean",)),
    "object": (("object",), ("object",)),
    "array": (("array",), ("array",)),
}


def _json_type_in(column: Any, path: tuple[str | int, ...], types: Sequence[str]) -> ColumnElement[bool]:
    lite = [name for t in types for name in _JSON_TYPES[t][0]]
    pg = [name for t in types for name in _JSON_TYPES[t][1]]
    sqlite_path = bindparam(None, path, type_=JSON.JSONPathType())
    return PerDialect(
        sqlite=func.json_type(column, sqlite_path, type_=String).in_(lite),
        postgresql=func.jsonb_typeof(column[path], type_=String).in_(pg),
    )


class JsonTarget(Target):
    """A value inside the metadata or attributes JSON; compared only with constants of its type."""

    def __init__(self, label: str, column: Any, path: tuple[str | int, ...]) -> None:
        self.label = label
        self.column = column
        self.path = path

    def usage(self) -> str:
        return f'e.g. {self.label} == "abc" or {self.label} > 3'

    def typed(self, value: Value) -> Expr:
        """The value at the path if its JSON type matches the constant's, else NULL."""
        element = self.column[self.path]
        if isinstance(value, bool):
            kind, sql = "boolean", element.as_boolean()
        elif isinstance(value, str):
            kind, sql = "string", element.as_string()
        else:
            kind, sql = "number", element.as_float()
        return case((_json_type_in(self.column, self.path, [kind]), sql))

    def compare(self, op: Op, value: Value) -> ColumnElement[bool]:
        if isinstance(value, bool) and op not in (operator.eq, operator.ne):
            raise Mismatch(f"{self.label} cannot be ordered against a boolean", self.usage())
        return op(self.typed(value), number_param(value) if is_number(value) else value)

    def is_none(self) -> ColumnElement[bool]:
        present = _json_type_in(self.column, self.path, list(_JSON_TYPES))
        return ~func.coalesce(present, false())

    def contains_text(self, text: str) -> ColumnElement[bool]:
        return self.typed(text).icontains(text, autoescape=True)


class TagsTarget(Target):
    label = "tags"

    def usage(self) -> str:
        return 'test membership: "urgent" in tags or "urgent" not in tags'

    def contains_text(self, text: str) -> ColumnElement[bool]:
        elements = func.json_each(Span.tags).table_valued("value")
        return PerDialect(
            sqlite=exists(select(literal(1)).select_from(elements).where(elements.c.value == text)),
            postgresql=Span.tags.cast(JSONB).contains([text]),
        )


class FeedbackTarget(Target):
    """Feedback on the span itself (not trace-level feedback): numbers match `value`, text `label`."""

    def __init__(self, name: str) -> None:
        self.label = f"feedback[{name!r}]"
        self.name = name

    def usage(self) -> str:
        return f"e.g. {self.label} == 1, {self.label} < 0.5, {self.label} == \"good\" or {self.label} is None"

    def _exists(self, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
        query = select(literal(1)).where(Feedback.span_id == Span.span_id, Feedback.name == self.name, *conditions)
        return exists(query.correlate_except(Feedback))

    def compare(self, op: Op, value: Value) -> ColumnElement[bool]:
        if is_number(value):
            return self._exists(op(Feedback.value, number_param(value)))  # type: ignore[arg-type]
        if isinstance(value, str):
            return self._exists(op(Feedback.label, value))
        return super().compare(op, value)

    def is_none(self) -> ColumnElement[bool]:
        return ~self._exists()


PLAIN_FIELDS: dict[str, Field] = {
    "span_id": Field(Span.span_id, "text", "the span's id (16 hex digits)"),
    "trace_id": Field(Span.trace_id, "text", "id of the span's trace (32 hex digits)"),
    "parent_id": Field(Span.parent_id, "text", "id of the parent span; None for a root span"),
    "name": Field(Span.name, "text", "span name"),
    "kind": Field(Span.kind, "enum", "OpenInference span kind, any case: LLM, CHAIN, TOOL, ...", SPAN_KINDS),
    "status": Field(Span.status, "enum", "OK, ERROR or UNSET, any case", STATUSES),
    "status_message": Field(Span.status_message, "text", "error message of a failed span"),
    "latency_ms": Field(Span.latency_ms, "number", "duration in milliseconds"),
    "model": Field(Span.model, "text", "LLM model name"),
    "prompt_tokens": Field(Span.prompt_tokens, "number", "tokens in the prompt"),
    "completion_tokens": Field(Span.completion_tokens, "number", "tokens in the completion"),
    "total_tokens": Field(Span.total_tokens, "number", "prompt + completion tokens"),
    "cost": Field(Span.cost, "number", "cost of the call in USD: the app's own, or computed from model prices"),
    "session_id": Field(Span.session_id, "text", "conversation/session id"),
    "session_step": Field(Span.session_step, "number", "step number within the session"),
    "user_id": Field(Span.user_id, "text", "end user id"),
    "prompt_name": Field(Span.prompt_name, "text", "name of the prompt template used"),
    "prompt_version": Field(Span.prompt_version, "text", "version of the prompt template used"),
    "input": Field(Span.input_value, "text", 'input text; "refund" in input searches it, any case'),
    "output": Field(Span.output_value, "text", 'output text; "sorry" in output searches it, any case'),
    "start_time": Field(Span.start_us, "time", 'start, as ISO-8601 ("2026-11-25T10:00:00Z") or epoch seconds'),
    "end_time": Field(Span.end_us, "time", "end, as ISO-8601 or epoch seconds"),
}

JSON_COLUMNS: dict[str, Any] = {"metadata": Span.meta, "attributes": Span.attributes}
KEYED = ("metadata", "attributes", "feedback")

FIELDS: dict[str, str] = {name: f.doc for name, f in PLAIN_FIELDS.items()} | {
    "metadata": 'app metadata by key: metadata["task"] == "billing", metadata["a"]["b"] > 3',
    "attributes": 'other span attributes by key: attributes["llm.provider"] == "openai"',
    "tags": 'tag membership: "urgent" in tags (exact match)',
    "feedback": 'span feedback by name: feedback["thumbs"] == 0, feedback["helpfulness"] is None',
}
"""Every name a filter may use, with a one-line description (for docs and autocomplete)."""

"""Session, user, metadata and tags that every span started inside a `with` block carries.

The values live in one contextvar (so they follow threads' and asyncio tasks' own contexts) and a
`ScopeProcessor.on_start` stamps them on each span as it starts: user code never passes them down.
A span whose parent is not in the same session starts a new conversation turn and gets the next
`session.step`; the counters are per session id and outlive one `with` block, because a web app
typically enters `session(...)` once per request, i.e. once per turn.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from tenbin import semconv as sc
from tenbin.sdk.prompts import stamp_prompt
from tenbin.sdk.values import to_json

log = logging.getLogger("tenbin.sdk")


@dataclass(frozen=True)
class Scope:
    """What the enclosing `with` blocks ask spans to carry; `attributes` is precomputed once."""

    session_id: str | None = None
    user_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)

    def with_changes(self, **changes: Any) -> "Scope":
        values = {**self.__dict__, **changes}
        values.pop("attributes")
        return Scope(**values, attributes=_attributes(values))


def _attributes(values: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if values["session_id"]:
        attrs[sc.SESSION_ID] = values["session_id"]
    if values["user_id"]:
        attrs[sc.USER_ID] = values["user_id"]
    if values["metadata"]:
        attrs[sc.METADATA] = to_json(values["metadata"])
    if values["tags"]:
        attrs[sc.TAG_TAGS] = list(values["tags"])
    return attrs


_SCOPE: ContextVar[Scope | None] = ContextVar("tenbin_scope", default=None)


def current_scope() -> Scope | None:
    return _SCOPE.get()


@contextmanager
def _enter(**changes: Any) -> Iterator[None]:
    token = _SCOPE.set((_SCOPE.get() or Scope()).with_changes(**changes))
    try:
        yield
    finally:
        _SCOPE.reset(token)


def session(session_id: str, user_id: str | None = None) -> Any:
    """Spans started inside carry `session.id` (and `user.id`); each new trace gets the next step."""
    if not isinstance(session_id, str) or not session_id:
        raise ValueError(f"tenbin.session needs a non-empty string id, got {session_id!r}")
    outer = _SCOPE.get()
    user = user_id if user_id is not None else (outer.user_id if outer else None)
    return _enter(session_id=session_id, user_id=None if user is None else str(user))


def metadata(**values: Any) -> Any:
    """Spans started inside carry these key/values (merged over any outer `metadata`)."""
    outer = _SCOPE.get()
    return _enter(metadata={**(outer.metadata if outer else {}), **values})


def tags(*names: str) -> Any:
    """Spans started inside carry these tags, after any outer ones."""
    outer = _SCOPE.get()
    merged = merge_tags(outer.tags if outer else (), names)
    return _enter(tags=merged)


def merge_tags(first: tuple[str, ...], more: Any) -> tuple[str, ...]:
    """Outer tags first, then new ones, each once."""
    return tuple(dict.fromkeys([*first, *(str(t) for t in more)]))


class StepCounter:
    """Per-session turn numbers; bounded so a long-running server does not grow without end."""

    def __init__(self, max_sessions: int = 10_000) -> None:
        self._steps: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_sessions

    def next(self, session_id: str) -> int:
        with self._lock:
            step = self._steps.pop(session_id, 0) + 1
            self._steps[session_id] = step
            if len(self._steps) > self._max:
                self._steps.popitem(last=False)
            return step


class ScopeProcessor(SpanProcessor):
    """Stamps the current `Scope` (and a just-rendered registry prompt) on each starting span.
    Not an exporter: it only sets attributes."""

    def __init__(self) -> None:
        self.steps = StepCounter()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        stamp_prompt(span)
        scope = _SCOPE.get()
        if scope is None:
            return
        try:
            attrs = scope.attributes
            if scope.session_id and self._starts_turn(scope.session_id, parent_context):
                attrs = {**attrs, sc.SESSION_STEP: self.steps.next(scope.session_id)}
            span.set_attributes(attrs)
        except Exception:  # noqa: BLE001 - tracing must never break the app
            log.debug("tenbin: could not stamp scope on span", exc_info=True)

    @staticmethod
    def _starts_turn(session_id: str, parent_context: Context | None) -> bool:
        parent = trace_api.get_current_span(parent_context)
        if not isinstance(parent, ReadableSpan) or parent.attributes is None:
            return True
        return parent.attributes.get(sc.SESSION_ID) != session_id

    def on_end(self, span: ReadableSpan) -> None:
        return None

"""The life of one traced call: start a span with its inputs, end it with its output or error.

Every step is guarded: a failure on tenbin's side is logged at debug level and the app's call goes
on untraced. The hot path is kept short (see benchmarks/bench_sdk.py): parameter names are read
once per decorated function, never by `inspect.Signature.bind` per call, and the start attributes
go in one dict to `start_span` rather than one locked `set_attribute` each.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.trace import Span, Tracer
from opentelemetry.trace import Status, StatusCode

from tenbin import semconv as sc
from tenbin.sdk.context import current_scope, merge_tags
from tenbin.sdk.llm import document_attributes
from tenbin.sdk.values import text_and_mime, to_json

log = logging.getLogger("tenbin.sdk")

KINDS = {k.lower(): k for k in sc.SPAN_KINDS}


def span_kind(kind: str) -> str:
    """'chain' → 'CHAIN'; an unknown kind is a ValueError that lists the known ones."""
    found = KINDS.get(str(kind).lower())
    if found is None:
        raise ValueError(f"unknown span kind {kind!r}; use one of: {', '.join(sorted(KINDS))}")
    return found


class CallSpec:
    """What is fixed per decorated function: span name, kind and how to name its arguments."""

    __slots__ = ("name", "kind", "static", "metadata", "tags", "_names", "_star", "_skip_first")

    def __init__(
        self,
        fn: Callable[..., Any],
        kind: str,
        name: str | None,
        metadata: dict[str, Any] | None = None,
        tags: tuple[str, ...] = (),
    ) -> None:
        self.name = name or getattr(fn, "__name__", "call")
        self.kind = span_kind(kind)
        self.static: dict[str, Any] = {sc.SPAN_KIND: self.kind}
        if self.kind == "TOOL":
            self.static[sc.TOOL_NAME] = self.name
        self.metadata, self.tags = metadata or {}, tags
        self._names, self._star = _parameters(fn)
        self._skip_first = bool(self._names) and self._names[0] in ("self", "cls")

    def inputs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's arguments by name, without self/cls."""
        bound = dict(zip(self._names, args))
        if len(args) > len(self._names):
            bound[self._star or "args"] = list(args[len(self._names) :])
        if kwargs:
            bound.update(kwargs)
        if self._skip_first and args:
            bound.pop(self._names[0], None)
        return bound

    def start_attributes(self, args: tuple[Any, ...], kwargs: dict[str, Any], max_chars: int) -> dict[str, Any]:
        bound = self.inputs(args, kwargs)
        if not bound:
            return self.static
        value: Any = bound
        if len(bound) == 1:
            (only,) = bound.values()
            if isinstance(only, str):
                value = only
        text, mime = text_and_mime(value, max_chars)
        return {**self.static, sc.INPUT_VALUE: text, sc.INPUT_MIME_TYPE: mime}


def _parameters(fn: Callable[..., Any]) -> tuple[tuple[str, ...], str | None]:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return (), None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = tuple(p.name for p in params if p.kind in positional)
    star = next((p.name for p in params if p.kind is inspect.Parameter.VAR_POSITIONAL), None)
    return names, star


def own_attributes(metadata: dict[str, Any], tags: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """A span's own metadata/tags merged over the enclosing scope's (set after on_start stamped it)."""
    scope = current_scope()
    attrs: dict[str, Any] = {}
    if metadata:
        attrs[sc.METADATA] = to_json({**(scope.metadata if scope else {}), **metadata})
    if tags:
        attrs[sc.TAG_TAGS] = list(merge_tags(scope.tags if scope else (), tags))
    return attrs


def start(tracer: Tracer, spec: CallSpec, args: tuple[Any, ...], kwargs: dict[str, Any], max_chars: int) -> Span | None:
    """A started span for this call, or None when tenbin failed (the call then runs untraced)."""
    try:
        span = tracer.start_span(spec.name, attributes=spec.start_attributes(args, kwargs, max_chars))
        if spec.metadata or spec.tags:
            span.set_attributes(own_attributes(spec.metadata, spec.tags))
        return span  # type: ignore[return-value]
    except Exception:  # noqa: BLE001 - tracing must never break the app
        log.debug("tenbin: could not start span %r", spec.name, exc_info=True)
        return None


def output_attributes(kind: str, result: Any, max_chars: int) -> dict[str, Any]:
    text, mime = text_and_mime(result, max_chars)
    attrs = {sc.OUTPUT_VALUE: text, sc.OUTPUT_MIME_TYPE: mime}
    if kind == "RETRIEVER":
        attrs.update(document_attributes(result, max_chars))
    return attrs


def finish(span: Span, kind: str, result: Any, max_chars: int) -> None:
    """Record the output (unless None) and end the span."""
    try:
        if result is not None:
            span.set_attributes(output_attributes(kind, result, max_chars))
    except Exception:  # noqa: BLE001
        log.debug("tenbin: could not record output", exc_info=True)
    end(span)


def fail(span: Span, exc: BaseException) -> None:
    """Record the exception as an event and ERROR status, then end the span; the caller re-raises."""
    try:
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
    except Exception:  # noqa: BLE001
        log.debug("tenbin: could not record exception", exc_info=True)
    end(span)


def end(span: Span) -> None:
    try:
        span.end()
    except Exception:  # noqa: BLE001
        log.debug("tenbin: could not end span", exc_info=True)

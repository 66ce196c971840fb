"""`with tenbin.span(...) as s:` for code that is not one function, and the current span's ids.

The handle hides OpenTelemetry's Span so users only meet tenbin's vocabulary (output, LLM call,
ids as hex). When tenbin is off the handle is inert and its ids are None.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api

from tenbin import semconv as sc
from tenbin.sdk import calls
from tenbin.sdk.llm import record_llm
from tenbin.sdk.routing import active_tracer
from tenbin.sdk.state import STATE
from tenbin.sdk.values import text_and_mime

log = logging.getLogger("tenbin.sdk")


class SpanHandle:
    """A started span: set its output and attributes, record an LLM call, read its ids."""

    def __init__(self, span: trace_api.Span | None, kind: str = "CHAIN") -> None:
        self._span = span
        self._kind = kind
        self.output: Any = None

    @property
    def span_id(self) -> str | None:
        return _hex_ids(self._span)[0] if self._span is not None else None

    @property
    def trace_id(self) -> str | None:
        return _hex_ids(self._span)[1] if self._span is not None else None

    def set_output(self, value: Any) -> None:
        """The span's output (`output.value`), recorded when the block ends."""
        self.output = value

    def set_attributes(self, attributes: Mapping[str, Any] | None = None, **more: Any) -> None:
        """Set raw attributes; values OTel cannot hold (dicts, objects) are stored as JSON text."""
        if self._span is None:
            return
        try:
            merged = {**(attributes or {}), **more}
            self._span.set_attributes({k: _attribute_value(v) for k, v in merged.items()})
        except Exception:  # noqa: BLE001 - tracing must never break the app
            log.debug("tenbin: set_attributes failed", exc_info=True)

    def record_llm(self, **fields: Any) -> None:
        """Put an LLM call on this span; same fields as `tenbin.record_llm`."""
        if self._span is not None:
            record_llm(self._span, **fields)


def _attribute_value(value: Any) -> Any:
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, bool, int, float)) for v in value):
        return list(value)
    return text_and_mime(value, STATE.max_chars)[0]


def _hex_ids(span: trace_api.Span | None) -> tuple[str | None, str | None]:
    ctx = (span or trace_api.get_current_span()).get_span_context()
    if not ctx.is_valid:
        return None, None
    return trace_api.format_span_id(ctx.span_id), trace_api.format_trace_id(ctx.trace_id)


def current_span_id() -> str | None:
    """Hex id of the span running now (e.g. to hand to the front end for feedback), else None."""
    return _hex_ids(None)[0]


def current_trace_id() -> str | None:
    """Hex id of the trace running now, else None."""
    return _hex_ids(None)[1]


@contextmanager
def span(
    name: str,
    kind: str = "chain",
    input: Any = None,
    metadata: dict[str, Any] | None = None,
    tags: Sequence[str] = (),
) -> Iterator[SpanHandle]:
    """A span around a block; an exception leaving the block is recorded and re-raised."""
    kind_name = calls.span_kind(kind)
    tracer = active_tracer()
    started = None if tracer is None else _start(tracer, name, kind_name, input, metadata, tags)
    handle = SpanHandle(started, kind_name)
    if started is None:
        yield handle
        return
    token = context_api.attach(trace_api.set_span_in_context(started))
    try:
        yield handle
    except BaseException as exc:
        calls.fail(started, exc)  # type: ignore[arg-type]
        raise
    finally:
        context_api.detach(token)
    calls.finish(started, kind_name, handle.output, STATE.max_chars)  # type: ignore[arg-type]


def _start(
    tracer: Any, name: str, kind: str, value: Any, metadata: dict[str, Any] | None, tags: Sequence[str]
) -> trace_api.Span | None:
    try:
        attrs: dict[str, Any] = {sc.SPAN_KIND: kind}
        if kind == "TOOL":
            attrs[sc.TOOL_NAME] = name
        if value is not None:
            attrs[sc.INPUT_VALUE], attrs[sc.INPUT_MIME_TYPE] = text_and_mime(value, STATE.max_chars)
        started = tracer.start_span(str(name), attributes=attrs)
        if metadata or tags:
            started.set_attributes(calls.own_attributes(metadata or {}, tuple(tags)))
        return started
    except Exception:  # noqa: BLE001
        log.debug("tenbin: could not start span %r", name, exc_info=True)
        return None

"""tenbin.feedback(): a thumbs, score, label or comment on a span or trace, sent over REST.

The server stores feedback against a span it already has, so the span's batch is flushed first.
Feedback on a span that is still running (the default target inside a traced function) cannot be
sent yet: it waits until that span ends and is then flushed and posted from a background thread,
so the app never waits for it. `tenbin.flush()` waits for such pending posts too.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

import httpx
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from tenbin.sdk.handle import current_span_id, current_trace_id
from tenbin.sdk.state import STATE

log = logging.getLogger("tenbin.sdk")
SOURCES = ("human", "llm", "code")


def feedback_body(
    thumbs: bool | None,
    score: float | None,
    label: str | None,
    comment: str | None,
    name: str | None,
    source: str,
    author: str | None,
) -> dict[str, Any]:
    """The REST body; the kind is the first of thumbs, score, label, comment that was given."""
    if source not in SOURCES:
        raise ValueError(f"feedback source must be one of {', '.join(SOURCES)}, got {source!r}")
    value: float | None = None
    if thumbs is not None:
        kind, value = "thumbs", 1.0 if thumbs else 0.0
    elif score is not None:
        kind, value = "score", float(score)
    elif label is not None:
        kind = "label"
    elif comment is not None:
        kind = "comment"
    else:
        raise ValueError("tenbin.feedback needs one of thumbs=, score=, label= or comment=")
    return {"name": name or kind, "kind": kind, "value": value, "label": label, "comment": comment,
            "source": source, "author": author}


def feedback(
    span_id: str | None = None,
    trace_id: str | None = None,
    *,
    thumbs: bool | None = None,
    score: float | None = None,
    label: str | None = None,
    comment: str | None = None,
    name: str | None = None,
    source: str = "human",
    author: str | None = None,
) -> dict[str, Any] | None:
    """Judge a span (default: the current one) or a whole trace; returns the stored feedback.

    Returns None when tenbin is off, the server could not store it (logged as a warning), or the
    target span is still running (then it is sent once the span ends).
    """
    body = feedback_body(thumbs, score, label, comment, name, source, author)
    if STATE.provider is None:
        return None
    if span_id is None and trace_id is None:
        span_id, trace_id = current_span_id(), current_trace_id()
        live = trace_api.get_current_span()
        if span_id and live.is_recording() and STATE.pending is not None:
            STATE.pending.defer(span_id, body)
            return None
    if span_id is None and trace_id is None:
        raise ValueError("tenbin.feedback needs span_id= or trace_id= when no span is running")
    path = f"spans/{span_id}" if span_id else f"traces/{trace_id}"
    flush_spans()
    return post(path, body)


def flush_spans() -> None:
    """Export finished spans (only the batch processor: feedback's own flush would wait on itself)."""
    batch = STATE.batch
    if batch is not None:
        try:
            batch.force_flush(int(STATE.timeout * 3000))
        except Exception:  # noqa: BLE001 - feedback must never break the app
            log.debug("tenbin: flush before feedback failed", exc_info=True)


def post(path: str, body: dict[str, Any]) -> dict[str, Any] | None:
    headers = {"Authorization": f"Bearer {STATE.api_key}"} if STATE.api_key else {}
    try:
        resp = httpx.post(f"{STATE.endpoint}/api/v1/{path}/feedback", json=body, headers=headers,
                          timeout=STATE.timeout)
    except httpx.HTTPError as exc:
        log.warning("tenbin: could not send feedback to %s: %s", STATE.endpoint, exc)
        return None
    if resp.status_code >= 400:
        log.warning("tenbin: server refused feedback (%s): %s", resp.status_code, resp.text[:500])
        return None
    try:
        return resp.json()
    except ValueError:
        return None


class PendingFeedback(SpanProcessor):
    """Holds feedback for running spans; posts it in the background when the span ends."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._futures: set[Future[Any]] = set()
        self._pool: ThreadPoolExecutor | None = None

    def defer(self, span_id: str, body: dict[str, Any]) -> None:
        with self._lock:
            self._waiting.setdefault(span_id, []).append(body)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if not self._waiting or span.context is None:
            return
        with self._lock:
            bodies = self._waiting.pop(trace_api.format_span_id(span.context.span_id), None)
            if not bodies:
                return
            self._pool = self._pool or ThreadPoolExecutor(1, thread_name_prefix="tenbin-feedback")
            future = self._pool.submit(self._send, trace_api.format_span_id(span.context.span_id), bodies)
            self._futures.add(future)
            future.add_done_callback(self._futures.discard)

    @staticmethod
    def _send(span_id: str, bodies: list[dict[str, Any]]) -> None:
        flush_spans()
        for body in bodies:
            post(f"spans/{span_id}", body)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        done, not_done = wait(list(self._futures), timeout=timeout_millis / 1000)
        return not not_done

    def shutdown(self) -> None:
        self.force_flush()
        with self._lock:
            self._waiting.clear()
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None


"""Recording feedback. Feedback on a trace is stored against its root span, so every view that
joins feedback to spans (metrics, lists, clusters) sees trace-level judgements too."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from tenbin.errors import InvalidInput, NotFound
from tenbin.store.engine import write_transaction
from tenbin.store.lookup import now_us
from tenbin.store.models import Feedback, Project, Span, Trace

KINDS = ("thumbs", "score", "label", "comment")
SOURCES = ("human", "llm", "code")


def _check(kind: str, value: float | None, label: str | None, comment: str | None, source: str) -> None:
    if kind not in KINDS:
        raise InvalidInput(f"feedback kind must be one of {', '.join(KINDS)}; got {kind!r}")
    if source not in SOURCES:
        raise InvalidInput(f"feedback source must be one of {', '.join(SOURCES)}; got {source!r}")
    if kind == "thumbs" and value not in (0, 1):
        raise InvalidInput("thumbs feedback needs value 1 (up) or 0 (down)")
    if kind == "score" and value is None:
        raise InvalidInput("score feedback needs a numeric value")
    if kind == "label" and not label:
        raise InvalidInput("label feedback needs a label")
    if kind == "comment" and not comment:
        raise InvalidInput("comment feedback needs a comment")


def add_feedback(engine: Engine, *, span_id: str | None = None, trace_id: str | None = None,
                 kind: str, name: str | None = None, value: float | None = None, label: str | None = None,
                 comment: str | None = None, source: str = "human", author: str | None = None,
                 project: str | None = None, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Store one piece of feedback; `project` (from an API key) limits which spans may be targeted.
    `details` keeps an evaluator's extras (tokens, latency, version, raw text) beside the verdict."""
    _check(kind, value, label, comment, source)
    with write_transaction(engine) as conn:
        target = _target(conn, span_id, trace_id, project)
        row = {
            **target, "name": name or kind, "kind": kind, "value": value, "label": label,
            "comment": comment, "source": source, "author": author, "created_us": now_us(),
            "details": details or None,
        }
        row["id"] = conn.execute(Feedback.__table__.insert().returning(Feedback.id), row).scalar_one()
    return row


def _target(conn: Any, span_id: str | None, trace_id: str | None, project: str | None) -> dict[str, Any]:
    if span_id:
        found = conn.execute(
            select(Span.trace_id, Span.project_id, Project.name).join(Project, Project.id == Span.project_id)
            .where(Span.span_id == span_id)
        ).first()
        if found is None or (project is not None and found.name != project):
            raise NotFound(f"no span with id {span_id!r}; feedback needs a span that has been ingested")
        return {"span_id": span_id, "trace_id": found.trace_id, "project_id": found.project_id}
    if trace_id:
        found = conn.execute(
            select(Trace.root_span_id, Trace.project_id, Project.name).join(Project, Project.id == Trace.project_id)
            .where(Trace.trace_id == trace_id)
        ).first()
        if found is None or (project is not None and found.name != project):
            raise NotFound(f"no trace with id {trace_id!r}; feedback needs a trace that has been ingested")
        return {"span_id": found.root_span_id, "trace_id": trace_id, "project_id": found.project_id}
    raise InvalidInput("feedback needs a span_id or a trace_id")

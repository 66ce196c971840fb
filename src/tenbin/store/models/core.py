"""Projects, API keys, traces, spans and feedback: the observability core."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenbin.store.models.base import Base, Json, utcnow


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKey(Base):
    """Only the SHA-256 of a key is stored; `prefix` lets a user recognise it in a listing."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Trace(Base):
    """One row per trace, kept up to date by ingest so trace lists never group a million spans."""

    __tablename__ = "traces"
    trace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    start_us: Mapped[int] = mapped_column(BigInteger)
    end_us: Mapped[int] = mapped_column(BigInteger)
    root_span_id: Mapped[str | None] = mapped_column(String(16))
    session_id: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[str | None] = mapped_column(String(200))
    latency_us: Mapped[int] = mapped_column(BigInteger, Computed("end_us - start_us", persisted=True))
    """Computed by the database, so "slowest traces" is an index read; ingest never writes it."""
    __table_args__ = (
        Index("ix_traces_project_start", "project_id", "start_us", "trace_id"),
        Index("ix_traces_project_latency", "project_id", "latency_us", "trace_id"),
        Index("ix_traces_project_session", "project_id", "session_id"),
    )


SAMPLED_IDS_BELOW = "4000"
"""`ix_spans_project_sample` holds only spans whose id sorts below this (a quarter of random ids):
a sampled summary reads at most that quarter (see `tenbin.store.metrics`), so the other three
quarters would be index entries every insert pays for and no query reads."""


COST_PENDING = "model IS NOT NULL AND cost IS NULL AND cost_computed IS NULL"
"""Spans whose cost tenbin has yet to compute (`tenbin.costs`): `ix_spans_cost_pending` holds only
these, so finding new work reads no span twice, and the job's update takes each span out of it."""


def _partial(name: str, columns: tuple[str, ...], where: str) -> Index:
    """An index over only the rows matching `where`, on both dialects (same SQL text on each)."""
    return Index(name, *columns, sqlite_where=text(where), postgresql_where=text(where))


def _span_indexes() -> tuple[Index, ...]:
    """The spans indexes, each kept because a query reads it (see migration 0014 for which).

    Every secondary index is paid for by every ingested span, so an index on a rare value
    (errors, spans that carry a model, prompt or token counts) is partial: the rows without
    the value cost nothing, and a filter on the value (`model == "x"` implies `model IS NOT
    NULL`) still reads it. `parent_id` has no index: no query looks spans up by parent.
    The two cost indexes are filled by tenbin's cost job rather than by ingest: an ingested span
    enters `ix_spans_cost_pending` only when it has a model and no cost of its own, and
    `ix_spans_project_cost` (read index-only by cost summaries) only once it has a cost.
    """
    return (
        Index("ix_spans_project_start", "project_id", "start_us"),
        Index("ix_spans_project_kind_start", "project_id", "kind", "start_us"),
        Index("ix_spans_project_latency", "project_id", "latency_ms"),
        _partial("ix_spans_project_errors", ("project_id", "start_us"), "status = 'ERROR'"),
        _partial("ix_spans_project_model", ("project_id", "model", "start_us"), "model IS NOT NULL"),
        _partial("ix_spans_session_step", ("session_id", "session_step"), "session_id IS NOT NULL"),
        _partial("ix_spans_project_user", ("project_id", "user_id"), "user_id IS NOT NULL"),
        _partial("ix_spans_prompt", ("project_id", "prompt_name", "prompt_version", "start_us"),
                 "prompt_name IS NOT NULL"),
        _partial("ix_spans_project_prompt_tokens", ("project_id", "prompt_tokens"), "prompt_tokens IS NOT NULL"),
        _partial("ix_spans_project_completion_tokens", ("project_id", "completion_tokens"),
                 "completion_tokens IS NOT NULL"),
        _partial("ix_spans_project_sample", ("project_id", "span_id", "start_us", "status", "latency_ms",
                                             "prompt_tokens", "completion_tokens", "total_tokens"),
                 f"span_id < '{SAMPLED_IDS_BELOW}'"),
        _partial("ix_spans_cost_pending", ("project_id", "start_us"), COST_PENDING),
        _partial("ix_spans_project_cost", ("project_id", "span_id", "start_us", "model", "cost", "cost_computed"),
                 "cost IS NOT NULL"),
    )


class Span(Base):
    __tablename__ = "spans"
    span_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    trace_id: Mapped[str] = mapped_column(String(32), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(16))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8))
    status_message: Mapped[str | None] = mapped_column(Text)
    start_us: Mapped[int] = mapped_column(BigInteger)
    end_us: Mapped[int] = mapped_column(BigInteger)
    latency_ms: Mapped[float] = mapped_column(Float)
    input_value: Mapped[str | None] = mapped_column(Text)
    input_mime: Mapped[str | None] = mapped_column(String(100))
    output_value: Mapped[str | None] = mapped_column(Text)
    output_mime: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    total_tokens: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[float | None] = mapped_column(Float)
    cost_computed: Mapped[bool | None] = mapped_column(Boolean)
    """NULL: `cost` is the app's own (or not looked at yet); true: tenbin computed `cost` from model
    prices; false: tenbin found no price or no token counts. Ingest never writes it (`tenbin.costs`)."""
    session_id: Mapped[str | None] = mapped_column(String(200))
    session_step: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[str | None] = mapped_column(String(200))
    prompt_name: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str | None] = mapped_column(String(100))
    prompt_template: Mapped[str | None] = mapped_column(Text)
    prompt_variables: Mapped[Any] = mapped_column(Json, nullable=True)
    tags: Mapped[Any] = mapped_column(Json, nullable=True)
    meta: Mapped[Any] = mapped_column("metadata", Json, nullable=True)
    attributes: Mapped[Any] = mapped_column(Json, nullable=True)
    events: Mapped[Any] = mapped_column(Json, nullable=True)
    __table_args__ = _span_indexes()


class Feedback(Base):
    """Human, LLM or code judgement of a span (or of a whole trace when `span_id` is null)."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    trace_id: Mapped[str] = mapped_column(String(32), index=True)
    span_id: Mapped[str | None] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    author: Mapped[str | None] = mapped_column(String(200))
    created_us: Mapped[int] = mapped_column(BigInteger)
    details: Mapped[Any] = mapped_column(Json, nullable=True)
    """An evaluator's extras: tokens, latency, its version, raw model text, per-document labels."""
    __table_args__ = (
        Index("ix_feedback_project_name", "project_id", "name", "created_us"),
        Index("ix_feedback_project_kind", "project_id", "kind", "trace_id", "value"),
    )


SPAN_COLUMNS: tuple[str, ...] = tuple(c.key for c in Span.__table__.columns)

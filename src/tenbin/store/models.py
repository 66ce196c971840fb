"""The tables, as SQLAlchemy 2 models. The migrations in `migrations/versions` create exactly these.

Times are integer microseconds since the Unix epoch (`*_us`): the one representation that buckets
(`start_us / width`), sorts and paginates the same way on SQLite and PostgreSQL. Hot filter fields
of a span are real, indexed columns; everything else an app sends stays in `attributes` (JSON).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from pgvector.sqlalchemy import VECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Json = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


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


class Span(Base):
    __tablename__ = "spans"
    span_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    trace_id: Mapped[str] = mapped_column(String(32), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(16), index=True)
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
    __table_args__ = (
        Index("ix_spans_project_start", "project_id", "start_us"),
        Index("ix_spans_project_kind_start", "project_id", "kind", "start_us"),
        Index("ix_spans_project_status", "project_id", "status"),
        Index("ix_spans_project_latency", "project_id", "latency_ms"),
        Index("ix_spans_project_model", "project_id", "model"),
        Index("ix_spans_session_step", "session_id", "session_step"),
        Index("ix_spans_project_user", "project_id", "user_id"),
        Index("ix_spans_prompt", "project_id", "prompt_name", "prompt_version"),
        Index("ix_spans_project_prompt_tokens", "project_id", "prompt_tokens"),
        Index("ix_spans_project_completion_tokens", "project_id", "completion_tokens"),
        Index("ix_spans_project_sample", "project_id", "span_id", "start_us", "status", "latency_ms",
              "prompt_tokens", "completion_tokens", "total_tokens"),
    )


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


# --- Prompt registry: prompts, immutable versions, movable labels and the log of every label move.


class Prompt(Base):
    __tablename__ = "prompts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    created_us: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_prompts_project_name", "project_id", "name", unique=True),)


class PromptVersion(Base):
    """Never updated once written: a span's prompt version must always mean the same text."""

    __tablename__ = "prompt_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))
    template: Mapped[str | None] = mapped_column(Text)
    messages: Mapped[Any] = mapped_column(Json, nullable=True)
    variables: Mapped[Any] = mapped_column(Json, nullable=True)
    model: Mapped[str | None] = mapped_column(String(200))
    params: Mapped[Any] = mapped_column(Json, nullable=True)
    examples: Mapped[Any] = mapped_column(Json, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(200))
    created_us: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_prompt_versions_prompt_version", "prompt_id", "version", unique=True),)


class PromptLabel(Base):
    """A movable pointer (`production`, `staging`, …) to one version of a prompt."""

    __tablename__ = "prompt_labels"
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_us: Mapped[int] = mapped_column(BigInteger)


class PromptLabelMove(Base):
    """The audit log: one row per label move, written in the move's own transaction."""

    __tablename__ = "prompt_label_moves"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(100))
    from_version: Mapped[int | None] = mapped_column(Integer)
    to_version: Mapped[int] = mapped_column(Integer)
    author: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    moved_us: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_prompt_label_moves_prompt", "prompt_id", "id"),)


# --- Background jobs and span embeddings (see store/embeddings.py for why one table holds every model).


class Job(Base):
    """A resumable background job's checkpoint, advanced in the same transaction as each batch."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    cursor: Mapped[Any] = mapped_column(Json, nullable=True)
    processed: Mapped[int] = mapped_column(BigInteger, default=0)
    backlog: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(Text)
    started_us: Mapped[int] = mapped_column(BigInteger)
    updated_us: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_jobs_project_name", "project_id", "name", unique=True),)


class SpanEmbedding(Base):
    """One vector per span, field ("input"/"output") and embedding model; float32 blob on SQLite,
    an unsized pgvector `vector` on PostgreSQL (HNSW indexes are per model, see store/embeddings.py)."""

    __tablename__ = "span_embeddings"
    span_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    field: Mapped[str] = mapped_column(String(8), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[Any] = mapped_column(LargeBinary().with_variant(VECTOR(), "postgresql"))
    created_us: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_span_embeddings_project_model", "project_id", "model", "field"),)


# --- Datasets and experiments: versioned example sets, and the runs of a task over one version.


class Dataset(Base):
    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_us: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_datasets_project_name", "project_id", "name", unique=True),)


class DatasetExample(Base):
    """Never updated: a version lists the examples it holds, so an edit is a new example row."""

    __tablename__ = "dataset_examples"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    input: Mapped[Any] = mapped_column(Json, nullable=True)
    expected: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[Any] = mapped_column("metadata", Json, nullable=True)
    source_span_id: Mapped[str | None] = mapped_column(String(16))
    created_us: Mapped[int] = mapped_column(BigInteger)


class DatasetVersion(Base):
    __tablename__ = "dataset_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text, default="")
    example_count: Mapped[int] = mapped_column(Integer)
    created_us: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_dataset_versions_dataset_version", "dataset_id", "version", unique=True),)


class DatasetVersionExample(Base):
    """Which examples a dataset version holds."""

    __tablename__ = "dataset_version_examples"
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), primary_key=True)
    example_id: Mapped[int] = mapped_column(ForeignKey("dataset_examples.id", ondelete="CASCADE"), primary_key=True)


class Experiment(Base):
    __tablename__ = "experiments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    dataset_version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    task: Mapped[Any] = mapped_column(Json, nullable=True)
    evaluators: Mapped[Any] = mapped_column(Json, nullable=True)
    summary: Mapped[Any] = mapped_column(Json, nullable=True)
    created_us: Mapped[int] = mapped_column(BigInteger)


class ExperimentResult(Base):
    """One example's run: the task's output (or error), its cost, and every evaluator's result."""

    __tablename__ = "experiment_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    example_id: Mapped[int] = mapped_column(Integer)
    output: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    scores: Mapped[Any] = mapped_column(Json, nullable=True)


# --- Prompt A/B experiments: arms over versions of one prompt, and the first exposure of each unit.


class PromptExperiment(Base):
    """Arms are `[{"version": 2, "weight": 0.5}, …]`; the first arm is the control."""

    __tablename__ = "prompt_experiments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    arms: Mapped[Any] = mapped_column(Json)
    metric: Mapped[Any] = mapped_column(Json)
    guardrails: Mapped[Any] = mapped_column(Json, nullable=True)
    author: Mapped[str | None] = mapped_column(String(200))
    started_us: Mapped[int] = mapped_column(BigInteger)
    ended_us: Mapped[int | None] = mapped_column(BigInteger)
    promoted_version: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (Index("ix_prompt_experiments_prompt_status", "prompt_id", "status"),)


class PromptExposure(Base):
    """A unit's first assignment in an experiment; later fetches by the same unit add nothing."""

    __tablename__ = "prompt_experiment_exposures"
    experiment_id: Mapped[int] = mapped_column(ForeignKey("prompt_experiments.id", ondelete="CASCADE"),
                                               primary_key=True)
    unit: Mapped[str] = mapped_column(String(200), primary_key=True)
    arm: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    exposed_us: Mapped[int] = mapped_column(BigInteger)

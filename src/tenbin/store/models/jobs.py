"""Background jobs and span embeddings (see store/embeddings.py for why one table holds every model)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from pgvector.sqlalchemy import VECTOR
from sqlalchemy.orm import Mapped, mapped_column

from tenbin.store.models.base import Base, Json


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

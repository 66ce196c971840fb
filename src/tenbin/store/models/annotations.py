"""Human annotation: score configs, queues of spans to review, and each item's review state.

A reviewer's answers are not stored here: they are feedback rows (see `tenbin.scores`). An item
keeps only who finished it and when, and the lease that keeps two reviewers off the same item.
Items point at spans by id without a foreign key, as feedback does: spans may one day live in
another store.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenbin.store.models.base import Base, Json


class ScoreConfig(Base):
    """One annotation dimension of a project: categorical (labels), numeric (min/max) or boolean."""

    __tablename__ = "score_configs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    labels: Mapped[Any] = mapped_column(Json, nullable=True)
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text, default="")
    created_us: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_score_configs_project_name", "project_id", "name", unique=True),)


class AnnotationQueue(Base):
    __tablename__ = "annotation_queues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_us: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_annotation_queues_project_name", "project_id", "name", unique=True),)


class AnnotationQueueConfig(Base):
    """The score configs a queue asks for, in the order its review form shows them."""

    __tablename__ = "annotation_queue_configs"
    queue_id: Mapped[int] = mapped_column(ForeignKey("annotation_queues.id", ondelete="CASCADE"), primary_key=True)
    config_id: Mapped[int] = mapped_column(ForeignKey("score_configs.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class AnnotationItem(Base):
    """A span in a queue: `pending` until a reviewer marks it `done` or `skipped`.

    `lease_owner`/`lease_until_us` say who is reviewing it right now; "next item" passes over an
    item whose lease has not run out, so two reviewers are never handed the same one."""

    __tablename__ = "annotation_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("annotation_queues.id", ondelete="CASCADE"))
    span_id: Mapped[str] = mapped_column(String(16))
    trace_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_us: Mapped[int] = mapped_column(BigInteger)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until_us: Mapped[int | None] = mapped_column(BigInteger)
    completed_by: Mapped[str | None] = mapped_column(String(200))
    completed_us: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (
        Index("ix_annotation_items_queue_span", "queue_id", "span_id", unique=True),
        Index("ix_annotation_items_queue_status", "queue_id", "status", "id"),
    )

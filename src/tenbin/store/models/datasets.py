"""Datasets and experiments: versioned example sets, and the runs of a task over one version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenbin.store.models.base import Base, Json


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
    status: Mapped[str] = mapped_column(String(16), default="done", server_default="done")
    """running → done | failed; `interrupted` when a server start finds it left running by a dead process."""
    error: Mapped[str | None] = mapped_column(Text)
    done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Progress: examples answered and scored, out of the dataset version's examples."""
    updated_us: Mapped[int | None] = mapped_column(BigInteger)


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

"""Embedding analysis runs: the run, its clusters (metrics, problem score, LLM report) and its points.

See store/analyses.py for how they are written and read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenbin.store.models.base import Base, Json


class Analysis(Base):
    """One UMAP + HDBSCAN run over a production window against a baseline."""

    __tablename__ = "analyses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    params: Mapped[Any] = mapped_column(Json)
    """Window, baseline, field, embedding model, filter, and the UMAP/HDBSCAN settings used."""
    status: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str | None] = mapped_column(String(40))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    n_production: Mapped[int | None] = mapped_column(Integer)
    n_baseline: Mapped[int | None] = mapped_column(Integer)
    drift: Mapped[Any] = mapped_column(Json, nullable=True)
    """Global drift: method, statistic, p-value, centroid distance."""
    summary: Mapped[Any] = mapped_column(Json, nullable=True)
    """Whole-selection metrics the cluster lifts are measured against, and the noise share."""
    created_us: Mapped[int] = mapped_column(BigInteger)
    finished_us: Mapped[int | None] = mapped_column(BigInteger)
    updated_us: Mapped[int | None] = mapped_column(BigInteger)
    """Last progress write: a server start marks runs idle since before it `interrupted`."""
    __table_args__ = (Index("ix_analyses_project_created", "project_id", "created_us"),)


class AnalysisCluster(Base):
    """One HDBSCAN cluster of a run; cluster -1 holds the noise points and is never ranked."""

    __tablename__ = "analysis_clusters"
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"), primary_key=True)
    cluster: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(String(200))
    metrics: Mapped[Any] = mapped_column(Json)
    problem_score: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)
    report: Mapped[str | None] = mapped_column(Text)
    """The LLM-written cluster report (written later, by the report job)."""
    report_details: Mapped[Any] = mapped_column(Json, nullable=True)
    """Who wrote the report: model, prompt name/version, time."""


class AnalysisPoint(Base):
    """One span of a run: its side (production/baseline), cluster and 2D + 3D display coordinates."""

    __tablename__ = "analysis_points"
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"), primary_key=True)
    side: Mapped[str] = mapped_column(String(10), primary_key=True)
    span_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    cluster: Mapped[int] = mapped_column(Integer)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    x3: Mapped[float] = mapped_column(Float)
    y3: Mapped[float] = mapped_column(Float)
    z3: Mapped[float] = mapped_column(Float)
    __table_args__ = (Index("ix_analysis_points_cluster", "analysis_id", "cluster"),)

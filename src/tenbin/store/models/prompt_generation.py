"""Automatic prompt generation: a run (task, dataset, evaluator), its candidate templates, and
each candidate's per-example results."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenbin.store.models.base import Base, Json


class PromptGeneration(Base):
    """One generation run; `done`/`total` count scored (candidate, example) pairs for progress."""

    __tablename__ = "prompt_generations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    dataset_version: Mapped[int] = mapped_column(Integer)
    task: Mapped[str] = mapped_column(Text)
    spec: Mapped[Any] = mapped_column(Json, nullable=True)
    model: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[Any] = mapped_column(Json, nullable=True)
    created_us: Mapped[int] = mapped_column(BigInteger)
    updated_us: Mapped[int] = mapped_column(BigInteger)
    finished_us: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_prompt_generations_project", "project_id", "id"),)


class PromptCandidate(Base):
    """A proposed template: `valid` ones are scored, `invalid` ones keep the reason (never dropped)."""

    __tablename__ = "prompt_generation_candidates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation_id: Mapped[int] = mapped_column(ForeignKey("prompt_generations.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    template: Mapped[Any] = mapped_column(Json, nullable=True)
    origin: Mapped[Any] = mapped_column(Json, nullable=True)
    summary: Mapped[Any] = mapped_column(Json, nullable=True)
    rank: Mapped[int | None] = mapped_column(Integer)
    saved: Mapped[Any] = mapped_column(Json, nullable=True)
    __table_args__ = (Index("ix_prompt_generation_candidates_run", "generation_id", "position", unique=True),)


class PromptCandidateResult(Base):
    """One example's answer under one candidate, with the evaluator's verdict (`score` for ranking)."""

    __tablename__ = "prompt_generation_results"
    candidate_id: Mapped[int] = mapped_column(ForeignKey("prompt_generation_candidates.id", ondelete="CASCADE"),
                                              primary_key=True)
    example_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    output: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    scores: Mapped[Any] = mapped_column(Json, nullable=True)

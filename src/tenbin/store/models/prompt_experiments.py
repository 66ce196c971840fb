"""Prompt A/B experiments: arms over versions of one prompt, and the first exposure of each unit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenbin.store.models.base import Base, Json


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

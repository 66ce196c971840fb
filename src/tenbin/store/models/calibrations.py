"""The last calibration of each judge per project (see `tenbin.evals.calibration`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenbin.store.models.base import Base, Json


class JudgeCalibration(Base):
    """One row per project and judge, replaced by each calibration: a judge's agreement is only
    meaningful for the template and model it was measured on, so older reports are not kept.
    The headline numbers are columns (the evaluator list shows them); `report` is the whole report."""

    __tablename__ = "judge_calibrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    judge: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    """The template version calibrated: `v3` for the registry's version 3, `2` for a built-in."""
    model: Mapped[str] = mapped_column(String(200))
    n: Mapped[int] = mapped_column(Integer)
    accuracy: Mapped[float] = mapped_column(Float)
    kappa: Mapped[float | None] = mapped_column(Float)
    unparseable: Mapped[int] = mapped_column(Integer)
    report: Mapped[Any] = mapped_column(Json)
    created_us: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_judge_calibrations_project_judge", "project_id", "judge", unique=True),)

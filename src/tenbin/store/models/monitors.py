"""Monitors (periodic checks), their evaluations (the history of every check), alerts, and the
project-level alert settings (a default webhook for monitors without their own).

A monitor's `state` is what its last decisive check found (`ok` or `firing`); an alert is written
only when it goes from not firing to firing, so a monitor that stays in alarm alerts once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenbin.store.models.base import Base, Json


class Monitor(Base):
    """What to check (kind, scope), against what (comparison, threshold) and how often."""

    __tablename__ = "monitors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    comparison: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[float] = mapped_column(Float)
    window_s: Mapped[int] = mapped_column(Integer)
    min_samples: Mapped[int] = mapped_column(Integer)
    filter: Mapped[str] = mapped_column(Text, default="")
    prompt_name: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[int | None] = mapped_column(Integer)
    analysis_id: Mapped[int | None] = mapped_column(Integer)
    cluster: Mapped[str | None] = mapped_column(String(32))
    group_by: Mapped[str | None] = mapped_column(String(200))
    evaluator: Mapped[str | None] = mapped_column(String(200))
    """`eval_rate` only: the evaluator (feedback name) whose results are counted."""
    label: Mapped[str | None] = mapped_column(String(200))
    """`eval_rate` only: the label whose share of those results is checked."""
    webhook_url: Mapped[str | None] = mapped_column(Text)
    interval_s: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(16), default="ok")
    created_us: Mapped[int] = mapped_column(BigInteger)
    last_checked_us: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_monitors_project_name"),)


class MonitorEvaluation(Base):
    """One check: the number, what it was compared with, over which window and how many samples."""

    __tablename__ = "monitor_evaluations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    checked_us: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(24))
    value: Mapped[float | None] = mapped_column(Float)
    reference: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)
    reference_n: Mapped[int | None] = mapped_column(Integer)
    window_start_us: Mapped[int | None] = mapped_column(BigInteger)
    window_end_us: Mapped[int | None] = mapped_column(BigInteger)
    analysis_id: Mapped[int | None] = mapped_column(Integer)
    cluster: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[Any] = mapped_column(Json, nullable=True)
    __table_args__ = (Index("ix_monitor_evaluations_monitor_checked", "monitor_id", "checked_us"),)


class Alert(Base):
    """A monitor that started firing: its numbers, the cluster and report, and the webhook delivery."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("monitor_evaluations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    reference: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)
    analysis_id: Mapped[int | None] = mapped_column(Integer)
    cluster: Mapped[int | None] = mapped_column(Integer)
    report: Mapped[str | None] = mapped_column(Text)
    created_us: Mapped[int] = mapped_column(BigInteger)
    resolved_us: Mapped[int | None] = mapped_column(BigInteger)
    acknowledged_us: Mapped[int | None] = mapped_column(BigInteger)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    webhook_url: Mapped[str | None] = mapped_column(Text)
    delivery_status: Mapped[str] = mapped_column(String(16))
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivery_error: Mapped[str | None] = mapped_column(Text)
    delivered_us: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_alerts_project_created", "project_id", "created_us"),
                      Index("ix_alerts_monitor", "monitor_id"))


class AlertSettings(Base):
    """Per project: where alerts of monitors without their own webhook_url are POSTed."""

    __tablename__ = "alert_settings"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    updated_us: Mapped[int] = mapped_column(BigInteger)

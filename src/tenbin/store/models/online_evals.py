"""Online evaluation rules and the spans each rule has looked at (see `tenbin.evals.online`)."""

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
)
from sqlalchemy.orm import Mapped, mapped_column

from tenbin.store.models.base import Base, Json


class OnlineEvalRule(Base):
    """A project's rule: which spans (filter), how many (sampling rate, rate limit), scored by what.

    The last four columns are the rule's health: consecutive failures, the last error and when the
    scheduler may try again (exponential back-off while the LLM endpoint is down)."""

    __tablename__ = "online_eval_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    filter: Mapped[str] = mapped_column(Text, default="")
    sampling_rate: Mapped[float] = mapped_column(Float)
    evaluators: Mapped[Any] = mapped_column(Json)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    max_per_minute: Mapped[int | None] = mapped_column(Integer)
    since_us: Mapped[int] = mapped_column(BigInteger)
    """Spans that started earlier are not the rule's business (0 when created with backfill)."""
    created_us: Mapped[int] = mapped_column(BigInteger)
    updated_us: Mapped[int] = mapped_column(BigInteger)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_us: Mapped[int | None] = mapped_column(BigInteger)
    next_attempt_us: Mapped[int | None] = mapped_column(BigInteger)
    last_success_us: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_online_eval_rules_project_name", "project_id", "name", unique=True),)


class OnlineEvalSpan(Base):
    """One row per matching span a rule has decided on: `outcome` is evaluated, unsampled, skipped
    (a needed field is empty) or error. Its primary key is what makes a rerun never evaluate twice."""

    __tablename__ = "online_eval_spans"
    rule_id: Mapped[int] = mapped_column(ForeignKey("online_eval_rules.id", ondelete="CASCADE"), primary_key=True)
    span_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    done_us: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_online_eval_spans_rule_outcome", "rule_id", "outcome", "done_us"),)

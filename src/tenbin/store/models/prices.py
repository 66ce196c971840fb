"""Model prices per project, or global (`project_id` NULL); see `tenbin.prices` for how one is picked."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenbin.store.models.base import Base


class ModelPrice(Base):
    """USD per 1M prompt and completion tokens for the models `pattern` matches, from `valid_from_us`
    (NULL: always). A few rows per project: every query reads the whole table of one project."""

    __tablename__ = "model_prices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    pattern: Mapped[str] = mapped_column(String(200))
    prompt_per_1m: Mapped[float] = mapped_column(Float)
    completion_per_1m: Mapped[float] = mapped_column(Float)
    valid_from_us: Mapped[int | None] = mapped_column(BigInteger)
    created_us: Mapped[int] = mapped_column(BigInteger)
    updated_us: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_model_prices_project", "project_id"),)

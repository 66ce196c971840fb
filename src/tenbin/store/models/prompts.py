"""Prompt registry: prompts, immutable versions, movable labels and the log of every label move."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenbin.store.models.base import Base, Json


class Prompt(Base):
    __tablename__ = "prompts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    created_us: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_prompts_project_name", "project_id", "name", unique=True),)


class PromptVersion(Base):
    """Never updated once written: a span's prompt version must always mean the same text."""

    __tablename__ = "prompt_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))
    template: Mapped[str | None] = mapped_column(Text)
    messages: Mapped[Any] = mapped_column(Json, nullable=True)
    variables: Mapped[Any] = mapped_column(Json, nullable=True)
    model: Mapped[str | None] = mapped_column(String(200))
    params: Mapped[Any] = mapped_column(Json, nullable=True)
    examples: Mapped[Any] = mapped_column(Json, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(200))
    created_us: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_prompt_versions_prompt_version", "prompt_id", "version", unique=True),)


class PromptLabel(Base):
    """A movable pointer (`production`, `staging`, …) to one version of a prompt."""

    __tablename__ = "prompt_labels"
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_us: Mapped[int] = mapped_column(BigInteger)


class PromptLabelMove(Base):
    """The audit log: one row per label move, written in the move's own transaction."""

    __tablename__ = "prompt_label_moves"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(100))
    from_version: Mapped[int | None] = mapped_column(Integer)
    to_version: Mapped[int] = mapped_column(Integer)
    author: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    moved_us: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_prompt_label_moves_prompt", "prompt_id", "id"),)

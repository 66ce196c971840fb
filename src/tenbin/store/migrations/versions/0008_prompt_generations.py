"""Automatic prompt generation: prompt_generations, prompt_generation_candidates,
prompt_generation_results.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"

Json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "prompt_generations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, _fk("projects"), nullable=False),
        sa.Column("dataset_id", sa.Integer, _fk("datasets"), nullable=False),
        sa.Column("dataset_version", sa.Integer, nullable=False),
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("spec", Json),
        sa.Column("model", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("done", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("notes", Json),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.Column("finished_us", sa.BigInteger),
    )
    op.create_index("ix_prompt_generations_project", "prompt_generations", ["project_id", "id"])
    op.create_table(
        "prompt_generation_candidates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("generation_id", sa.Integer, _fk("prompt_generations"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("template", Json),
        sa.Column("origin", Json),
        sa.Column("summary", Json),
        sa.Column("rank", sa.Integer),
        sa.Column("saved", Json),
    )
    op.create_index("ix_prompt_generation_candidates_run", "prompt_generation_candidates",
                    ["generation_id", "position"], unique=True)
    op.create_table(
        "prompt_generation_results",
        sa.Column("candidate_id", sa.Integer, _fk("prompt_generation_candidates"), primary_key=True),
        sa.Column("example_id", sa.Integer, primary_key=True),
        sa.Column("output", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("latency_ms", sa.Float),
        sa.Column("prompt_tokens", sa.Integer),
        sa.Column("completion_tokens", sa.Integer),
        sa.Column("score", sa.Float),
        sa.Column("scores", Json),
    )


def downgrade() -> None:
    op.drop_table("prompt_generation_results")
    op.drop_index("ix_prompt_generation_candidates_run", "prompt_generation_candidates")
    op.drop_table("prompt_generation_candidates")
    op.drop_index("ix_prompt_generations_project", "prompt_generations")
    op.drop_table("prompt_generations")

"""Prompt A/B experiments: prompt_experiments and prompt_experiment_exposures.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"

Json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "prompt_experiments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("prompt_id", sa.Integer, sa.ForeignKey("prompts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("arms", Json, nullable=False),
        sa.Column("metric", Json, nullable=False),
        sa.Column("guardrails", Json),
        sa.Column("author", sa.String(200)),
        sa.Column("started_us", sa.BigInteger, nullable=False),
        sa.Column("ended_us", sa.BigInteger),
        sa.Column("promoted_version", sa.Integer),
    )
    op.create_index("ix_prompt_experiments_prompt_status", "prompt_experiments", ["prompt_id", "status"])
    op.create_table(
        "prompt_experiment_exposures",
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("prompt_experiments.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("unit", sa.String(200), primary_key=True),
        sa.Column("arm", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("exposed_us", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("prompt_experiment_exposures")
    op.drop_index("ix_prompt_experiments_prompt_status", "prompt_experiments")
    op.drop_table("prompt_experiments")

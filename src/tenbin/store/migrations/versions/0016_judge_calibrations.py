"""judge_calibrations: the last calibration report of each judge per project.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0016"
down_revision = "0015"

Json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "judge_calibrations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("judge", sa.String(100), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("accuracy", sa.Float, nullable=False),
        sa.Column("kappa", sa.Float),
        sa.Column("unparseable", sa.Integer, nullable=False),
        sa.Column("report", Json, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_judge_calibrations_project_judge", "judge_calibrations", ["project_id", "judge"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_judge_calibrations_project_judge", "judge_calibrations")
    op.drop_table("judge_calibrations")

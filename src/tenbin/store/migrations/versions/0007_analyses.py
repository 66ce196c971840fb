"""Embedding analysis runs: analyses, analysis_clusters (metrics, problem score, report) and
analysis_points (side, cluster, 2D and 3D coordinates per span).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"

Json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _analysis_fk() -> sa.ForeignKey:
    return sa.ForeignKey("analyses.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "analyses",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("params", Json, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(40)),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("n_production", sa.Integer),
        sa.Column("n_baseline", sa.Integer),
        sa.Column("drift", Json),
        sa.Column("summary", Json),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("finished_us", sa.BigInteger),
    )
    op.create_index("ix_analyses_project_created", "analyses", ["project_id", "created_us"])
    op.create_table(
        "analysis_clusters",
        sa.Column("analysis_id", sa.Integer, _analysis_fk(), primary_key=True),
        sa.Column("cluster", sa.Integer, primary_key=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("label", sa.String(200)),
        sa.Column("metrics", Json, nullable=False),
        sa.Column("problem_score", sa.Float),
        sa.Column("rank", sa.Integer),
        sa.Column("report", sa.Text),
        sa.Column("report_details", Json),
    )
    op.create_table(
        "analysis_points",
        sa.Column("analysis_id", sa.Integer, _analysis_fk(), primary_key=True),
        sa.Column("side", sa.String(10), primary_key=True),
        sa.Column("span_id", sa.String(16), primary_key=True),
        sa.Column("cluster", sa.Integer, nullable=False),
        sa.Column("x", sa.Float, nullable=False),
        sa.Column("y", sa.Float, nullable=False),
        sa.Column("x3", sa.Float, nullable=False),
        sa.Column("y3", sa.Float, nullable=False),
        sa.Column("z3", sa.Float, nullable=False),
    )
    op.create_index("ix_analysis_points_cluster", "analysis_points", ["analysis_id", "cluster"])


def downgrade() -> None:
    op.drop_index("ix_analysis_points_cluster", "analysis_points")
    op.drop_table("analysis_points")
    op.drop_table("analysis_clusters")
    op.drop_index("ix_analyses_project_created", "analyses")
    op.drop_table("analyses")

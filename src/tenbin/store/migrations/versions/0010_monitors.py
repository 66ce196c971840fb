"""Monitors, their evaluations (the history of every check) and alerts with webhook delivery.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"

Json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _numbers() -> list[sa.Column]:
    """The numbers an evaluation and its alert share."""
    return [sa.Column("value", sa.Float), sa.Column("reference", sa.Float),
            sa.Column("threshold", sa.Float, nullable=False), sa.Column("n", sa.Integer, nullable=False),
            sa.Column("analysis_id", sa.Integer), sa.Column("cluster", sa.Integer),
            sa.Column("message", sa.Text, nullable=False)]


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("comparison", sa.String(16), nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("window_s", sa.Integer, nullable=False),
        sa.Column("min_samples", sa.Integer, nullable=False),
        sa.Column("filter", sa.Text, nullable=False),
        sa.Column("prompt_name", sa.String(200)),
        sa.Column("prompt_version", sa.Integer),
        sa.Column("analysis_id", sa.Integer),
        sa.Column("cluster", sa.String(32)),
        sa.Column("webhook_url", sa.Text),
        sa.Column("interval_s", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("last_checked_us", sa.BigInteger),
        sa.UniqueConstraint("project_id", "name", name="uq_monitors_project_name"),
    )
    op.create_table(
        "monitor_evaluations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("monitor_id", sa.Integer, sa.ForeignKey("monitors.id", ondelete="CASCADE"), nullable=False),
        sa.Column("checked_us", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        *_numbers(),
        sa.Column("reference_n", sa.Integer),
        sa.Column("window_start_us", sa.BigInteger),
        sa.Column("window_end_us", sa.BigInteger),
        sa.Column("details", Json),
    )
    op.create_index("ix_monitor_evaluations_monitor_checked", "monitor_evaluations", ["monitor_id", "checked_us"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("monitor_id", sa.Integer, sa.ForeignKey("monitors.id", ondelete="CASCADE"), nullable=False),
        sa.Column("evaluation_id", sa.Integer, sa.ForeignKey("monitor_evaluations.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        *_numbers(),
        sa.Column("report", sa.Text),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("resolved_us", sa.BigInteger),
        sa.Column("acknowledged_us", sa.BigInteger),
        sa.Column("acknowledged_by", sa.String(200)),
        sa.Column("webhook_url", sa.Text),
        sa.Column("delivery_status", sa.String(16), nullable=False),
        sa.Column("delivery_attempts", sa.Integer, nullable=False),
        sa.Column("delivery_error", sa.Text),
        sa.Column("delivered_us", sa.BigInteger),
    )
    op.create_index("ix_alerts_project_created", "alerts", ["project_id", "created_us"])
    op.create_index("ix_alerts_monitor", "alerts", ["monitor_id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_monitor", "alerts")
    op.drop_index("ix_alerts_project_created", "alerts")
    op.drop_table("alerts")
    op.drop_index("ix_monitor_evaluations_monitor_checked", "monitor_evaluations")
    op.drop_table("monitor_evaluations")
    op.drop_table("monitors")

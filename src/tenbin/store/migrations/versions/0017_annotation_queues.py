"""score_configs, annotation_queues, annotation_queue_configs, annotation_items: human annotation queues.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0017"
down_revision = "0016"

Json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _project() -> sa.Column:
    return sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)


def _queue(primary: bool = False) -> sa.Column:
    return sa.Column("queue_id", sa.Integer, sa.ForeignKey("annotation_queues.id", ondelete="CASCADE"),
                     nullable=False, primary_key=primary)


def upgrade() -> None:
    op.create_table(
        "score_configs",
        sa.Column("id", sa.Integer, primary_key=True),
        _project(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("labels", Json),
        sa.Column("min_value", sa.Float),
        sa.Column("max_value", sa.Float),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_score_configs_project_name", "score_configs", ["project_id", "name"], unique=True)
    op.create_table(
        "annotation_queues",
        sa.Column("id", sa.Integer, primary_key=True),
        _project(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_annotation_queues_project_name", "annotation_queues", ["project_id", "name"], unique=True)
    op.create_table(
        "annotation_queue_configs",
        _queue(primary=True),
        sa.Column("config_id", sa.Integer, sa.ForeignKey("score_configs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_table(
        "annotation_items",
        sa.Column("id", sa.Integer, primary_key=True),
        _queue(),
        sa.Column("span_id", sa.String(16), nullable=False),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_until_us", sa.BigInteger),
        sa.Column("completed_by", sa.String(200)),
        sa.Column("completed_us", sa.BigInteger),
    )
    op.create_index("ix_annotation_items_queue_span", "annotation_items", ["queue_id", "span_id"], unique=True)
    op.create_index("ix_annotation_items_queue_status", "annotation_items", ["queue_id", "status", "id"])


def downgrade() -> None:
    op.drop_index("ix_annotation_items_queue_status", "annotation_items")
    op.drop_index("ix_annotation_items_queue_span", "annotation_items")
    op.drop_table("annotation_items")
    op.drop_table("annotation_queue_configs")
    op.drop_index("ix_annotation_queues_project_name", "annotation_queues")
    op.drop_table("annotation_queues")
    op.drop_index("ix_score_configs_project_name", "score_configs")
    op.drop_table("score_configs")

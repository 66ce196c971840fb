"""Online evaluation rules: online_eval_rules and online_eval_spans.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"

Json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "online_eval_rules",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("filter", sa.Text, nullable=False),
        sa.Column("sampling_rate", sa.Float, nullable=False),
        sa.Column("evaluators", Json, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("max_per_minute", sa.Integer),
        sa.Column("since_us", sa.BigInteger, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("last_attempt_us", sa.BigInteger),
        sa.Column("next_attempt_us", sa.BigInteger),
        sa.Column("last_success_us", sa.BigInteger),
    )
    op.create_index("ix_online_eval_rules_project_name", "online_eval_rules", ["project_id", "name"], unique=True)
    op.create_table(
        "online_eval_spans",
        sa.Column("rule_id", sa.Integer, sa.ForeignKey("online_eval_rules.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("span_id", sa.String(16), primary_key=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("done_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_online_eval_spans_rule_outcome", "online_eval_spans", ["rule_id", "outcome", "done_us"])


def downgrade() -> None:
    op.drop_index("ix_online_eval_spans_rule_outcome", "online_eval_spans")
    op.drop_table("online_eval_spans")
    op.drop_index("ix_online_eval_rules_project_name", "online_eval_rules")
    op.drop_table("online_eval_rules")

"""Observability core: projects, api_keys, traces, spans, feedback.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_api_keys_project_id", "api_keys", ["project_id"])
    op.create_table(
        "traces",
        sa.Column("trace_id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("start_us", sa.BigInteger, nullable=False),
        sa.Column("end_us", sa.BigInteger, nullable=False),
        sa.Column("root_span_id", sa.String(16)),
        sa.Column("session_id", sa.String(200)),
        sa.Column("user_id", sa.String(200)),
    )
    op.create_index("ix_traces_project_start", "traces", ["project_id", "start_us"])
    op.create_index("ix_traces_project_session", "traces", ["project_id", "session_id"])
    _create_spans()
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("span_id", sa.String(16)),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("label", sa.String(200)),
        sa.Column("comment", sa.Text),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("author", sa.String(200)),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_feedback_trace_id", "feedback", ["trace_id"])
    op.create_index("ix_feedback_span_id", "feedback", ["span_id"])
    op.create_index("ix_feedback_project_name", "feedback", ["project_id", "name", "created_us"])


def _create_spans() -> None:
    op.create_table(
        "spans",
        sa.Column("span_id", sa.String(16), primary_key=True),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("parent_id", sa.String(16)),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("status_message", sa.Text),
        sa.Column("start_us", sa.BigInteger, nullable=False),
        sa.Column("end_us", sa.BigInteger, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("input_value", sa.Text),
        sa.Column("input_mime", sa.String(100)),
        sa.Column("output_value", sa.Text),
        sa.Column("output_mime", sa.String(100)),
        sa.Column("model", sa.String(200)),
        sa.Column("prompt_tokens", sa.Integer),
        sa.Column("completion_tokens", sa.Integer),
        sa.Column("total_tokens", sa.Integer),
        sa.Column("cost", sa.Float),
        sa.Column("session_id", sa.String(200)),
        sa.Column("session_step", sa.Integer),
        sa.Column("user_id", sa.String(200)),
        sa.Column("prompt_name", sa.String(200)),
        sa.Column("prompt_version", sa.String(100)),
        sa.Column("prompt_template", sa.Text),
        sa.Column("prompt_variables", Json),
        sa.Column("tags", Json),
        sa.Column("metadata", Json),
        sa.Column("attributes", Json),
        sa.Column("events", Json),
    )
    for name, cols in {
        "ix_spans_trace_id": ["trace_id"],
        "ix_spans_parent_id": ["parent_id"],
        "ix_spans_project_start": ["project_id", "start_us"],
        "ix_spans_project_kind_start": ["project_id", "kind", "start_us"],
        "ix_spans_project_status": ["project_id", "status"],
        "ix_spans_project_latency": ["project_id", "latency_ms"],
        "ix_spans_project_model": ["project_id", "model"],
        "ix_spans_session_step": ["session_id", "session_step"],
        "ix_spans_project_user": ["project_id", "user_id"],
        "ix_spans_prompt": ["project_id", "prompt_name", "prompt_version"],
        "ix_spans_project_prompt_tokens": ["project_id", "prompt_tokens"],
        "ix_spans_project_completion_tokens": ["project_id", "completion_tokens"],
    }.items():
        op.create_index(name, "spans", cols)


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("spans")
    op.drop_table("traces")
    op.drop_table("api_keys")
    op.drop_table("projects")

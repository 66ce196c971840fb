"""Indexes for the UI's lists and overview at a million spans.

- `traces.latency_us`, generated from `end_us - start_us` by the database (so ingest need not
  write it), indexed with the project, so "slowest traces" reads 10 index entries instead of
  sorting every trace. SQLite can only add a VIRTUAL generated column to an existing table (the
  index stores the value); PostgreSQL can only index a STORED one.
- `trace_id` as the last column of the trace-start index: the list orders by (start, trace_id),
  so the index alone yields the page in order.
- `ix_spans_project_sample`: project, span id, then what a summary reads (time, status, latency,
  tokens), so a summary of a large selection reads a slice of random span ids from the index
  alone (see `tenbin.store.metrics`).
- `ix_feedback_project_kind`: the overview's worst-rated traces read a project's thumbs and scores
  from this index alone.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

SAMPLE_COLUMNS = ["project_id", "span_id", "start_us", "status", "latency_ms", "prompt_tokens",
                  "completion_tokens", "total_tokens"]


def upgrade() -> None:
    stored = op.get_bind().dialect.name == "postgresql"
    op.add_column(
        "traces",
        sa.Column("latency_us", sa.BigInteger, sa.Computed("end_us - start_us", persisted=stored)),
    )
    op.create_index("ix_traces_project_latency", "traces", ["project_id", "latency_us", "trace_id"])
    op.drop_index("ix_traces_project_start", "traces")
    op.create_index("ix_traces_project_start", "traces", ["project_id", "start_us", "trace_id"])
    op.create_index("ix_spans_project_sample", "spans", SAMPLE_COLUMNS)
    op.create_index("ix_feedback_project_kind", "feedback", ["project_id", "kind", "trace_id", "value"])


def downgrade() -> None:
    op.drop_index("ix_feedback_project_kind", "feedback")
    op.drop_index("ix_spans_project_sample", "spans")
    op.drop_index("ix_traces_project_start", "traces")
    op.create_index("ix_traces_project_start", "traces", ["project_id", "start_us"])
    op.drop_index("ix_traces_project_latency", "traces")
    op.drop_column("traces", "latency_us")

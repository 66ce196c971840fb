"""Cheaper spans indexes: every ingested span paid for 13 secondary indexes; now for 12, 8 of them partial.

Which query reads each index that stays (plans checked with EXPLAIN on SQLite 3.40 and PostgreSQL
18 at a million spans, see benchmarks/RESULTS.md "Ingest"):
- `ix_spans_trace_id`: a trace's spans (trace view, trace list totals and root spans, the EXISTS
  of a filtered trace list, feedback and analysis joins).
- `ix_spans_project_start`: span lists newest first, every project + time range (metrics,
  segments, prompt experiments, online-eval rule scans).
- `ix_spans_project_kind_start`: embedding backfills (one kind, in time order) and kind filters.
- `ix_spans_project_latency`: span lists sorted by latency; latency filters.
- `ix_spans_project_errors` (was `ix_spans_project_status` over every span): `status == "ERROR"`
  in time order; errors are rare, OK/UNSET are most spans and a filter on them scans by time anyway.
- `ix_spans_project_model`, `ix_spans_project_user`, `ix_spans_session_step`, both token-count
  indexes: filters on those columns, now only over spans that carry the value (a comparison
  implies IS NOT NULL, so both planners still use them).
- `ix_spans_prompt`: prompt-version metrics and A/B stats; now also ordered by start time, so the
  experiment's time window is a range of the index, and only over spans that name a prompt.
- `ix_spans_project_sample`: sampled summaries, now only over span ids below '4000': a sample
  never reads more than a quarter of the ids (`tenbin.store.metrics` adds the bound to its query).

Dropped: `ix_spans_parent_id` (no query looks spans up by parent; the trace view reads by trace,
and `traces.root_span_id` names the root).

Revision ID: 0014
Revises: 0013
"""

from alembic import op
from sqlalchemy import text

revision = "0014"
down_revision = "0013"

SAMPLE_COLUMNS = ["project_id", "span_id", "start_us", "status", "latency_ms", "prompt_tokens",
                  "completion_tokens", "total_tokens"]
PARTIAL = {
    "ix_spans_project_errors": (["project_id", "start_us"], "status = 'ERROR'"),
    "ix_spans_project_model": (["project_id", "model", "start_us"], "model IS NOT NULL"),
    "ix_spans_session_step": (["session_id", "session_step"], "session_id IS NOT NULL"),
    "ix_spans_project_user": (["project_id", "user_id"], "user_id IS NOT NULL"),
    "ix_spans_prompt": (["project_id", "prompt_name", "prompt_version", "start_us"], "prompt_name IS NOT NULL"),
    "ix_spans_project_prompt_tokens": (["project_id", "prompt_tokens"], "prompt_tokens IS NOT NULL"),
    "ix_spans_project_completion_tokens": (["project_id", "completion_tokens"], "completion_tokens IS NOT NULL"),
    "ix_spans_project_sample": (SAMPLE_COLUMNS, "span_id < '4000'"),
}
OLD = {
    "ix_spans_parent_id": ["parent_id"],
    "ix_spans_project_status": ["project_id", "status"],
    "ix_spans_project_model": ["project_id", "model"],
    "ix_spans_session_step": ["session_id", "session_step"],
    "ix_spans_project_user": ["project_id", "user_id"],
    "ix_spans_prompt": ["project_id", "prompt_name", "prompt_version"],
    "ix_spans_project_prompt_tokens": ["project_id", "prompt_tokens"],
    "ix_spans_project_completion_tokens": ["project_id", "completion_tokens"],
    "ix_spans_project_sample": SAMPLE_COLUMNS,
}


def upgrade() -> None:
    for name in OLD:
        op.drop_index(name, "spans")
    for name, (columns, where) in PARTIAL.items():
        op.create_index(name, "spans", columns, sqlite_where=text(where), postgresql_where=text(where))


def downgrade() -> None:
    for name in PARTIAL:
        op.drop_index(name, "spans")
    for name, columns in OLD.items():
        op.create_index(name, "spans", columns)

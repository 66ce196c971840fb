"""model_prices, `spans.cost_computed` and the two cost indexes: cost computed from token counts.

- `model_prices`: USD per 1M prompt/completion tokens for a model pattern, per project or global
  (`project_id` NULL), from `valid_from_us`.
- `spans.cost_computed`: NULL (the app's own cost, or not looked at yet), true (tenbin computed
  `cost`), false (no price or no token counts).
- `ix_spans_cost_pending`: spans with a model and no cost of their own yet, which the cost job
  reads and takes out; built here over existing spans, so an upgrade prices the past as well.
- `ix_spans_project_cost`: spans with a cost, covering what cost summaries read (project, span id
  for sampled slices, start, model, cost, computed).

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = "0018"
down_revision = "0017"

PARTIAL = {
    "ix_spans_cost_pending": (["project_id", "start_us"],
                              "model IS NOT NULL AND cost IS NULL AND cost_computed IS NULL"),
    "ix_spans_project_cost": (["project_id", "span_id", "start_us", "model", "cost", "cost_computed"],
                              "cost IS NOT NULL"),
}


def upgrade() -> None:
    op.create_table(
        "model_prices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=True),
        sa.Column("pattern", sa.String(200), nullable=False),
        sa.Column("prompt_per_1m", sa.Float, nullable=False),
        sa.Column("completion_per_1m", sa.Float, nullable=False),
        sa.Column("valid_from_us", sa.BigInteger, nullable=True),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_model_prices_project", "model_prices", ["project_id"])
    op.add_column("spans", sa.Column("cost_computed", sa.Boolean, nullable=True))
    for name, (columns, where) in PARTIAL.items():
        op.create_index(name, "spans", columns, sqlite_where=text(where), postgresql_where=text(where))


def downgrade() -> None:
    for name in PARTIAL:
        op.drop_index(name, "spans")
    op.drop_column("spans", "cost_computed")
    op.drop_index("ix_model_prices_project", "model_prices")
    op.drop_table("model_prices")

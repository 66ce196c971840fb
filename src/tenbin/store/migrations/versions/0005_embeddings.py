"""Background jobs and span embeddings: jobs (one checkpoint per job and project), span_embeddings
(one vector per span, field and model). On PostgreSQL this enables pgvector; the HNSW indexes are
per model and created when a model's first vector is stored (see tenbin/store/embeddings.py).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import VECTOR
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"

Json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _project_fk() -> sa.ForeignKey:
    return sa.ForeignKey("projects.id", ondelete="CASCADE")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, _project_fk(), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("cursor", Json),
        sa.Column("processed", sa.BigInteger, nullable=False),
        sa.Column("backlog", sa.BigInteger),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("started_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_jobs_project_name", "jobs", ["project_id", "name"], unique=True)
    op.create_table(
        "span_embeddings",
        sa.Column("span_id", sa.String(16), primary_key=True),
        sa.Column("field", sa.String(8), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("project_id", sa.Integer, _project_fk(), nullable=False),
        sa.Column("dim", sa.Integer, nullable=False),
        sa.Column("vector", sa.LargeBinary().with_variant(VECTOR(), "postgresql"), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_span_embeddings_project_model", "span_embeddings", ["project_id", "model", "field"])


def downgrade() -> None:
    op.drop_index("ix_span_embeddings_project_model", "span_embeddings")
    op.drop_table("span_embeddings")
    op.drop_index("ix_jobs_project_name", "jobs")
    op.drop_table("jobs")

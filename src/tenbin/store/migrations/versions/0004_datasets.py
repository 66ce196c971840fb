"""Datasets and experiments: datasets, dataset_examples, dataset_versions, dataset_version_examples,
experiments, experiment_results; and feedback.details (an evaluator's extras as JSON).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"

Json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id", ondelete="CASCADE")


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True)


def upgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("details", Json))
    op.create_table("datasets", _id(), sa.Column("project_id", sa.Integer, _fk("projects"), nullable=False),
                    sa.Column("name", sa.String(200), nullable=False), sa.Column("description", sa.Text, nullable=False),
                    sa.Column("created_us", sa.BigInteger, nullable=False))
    op.create_index("ix_datasets_project_name", "datasets", ["project_id", "name"], unique=True)
    op.create_table("dataset_examples", _id(), sa.Column("dataset_id", sa.Integer, _fk("datasets"), nullable=False),
                    sa.Column("input", Json), sa.Column("expected", sa.Text), sa.Column("metadata", Json),
                    sa.Column("source_span_id", sa.String(16)), sa.Column("created_us", sa.BigInteger, nullable=False))
    op.create_index("ix_dataset_examples_dataset_id", "dataset_examples", ["dataset_id"])
    op.create_table("dataset_versions", _id(), sa.Column("dataset_id", sa.Integer, _fk("datasets"), nullable=False),
                    sa.Column("version", sa.Integer, nullable=False), sa.Column("message", sa.Text, nullable=False),
                    sa.Column("example_count", sa.Integer, nullable=False),
                    sa.Column("created_us", sa.BigInteger, nullable=False))
    op.create_index("ix_dataset_versions_dataset_version", "dataset_versions", ["dataset_id", "version"], unique=True)
    op.create_table("dataset_version_examples",
                    sa.Column("version_id", sa.Integer, _fk("dataset_versions"), primary_key=True),
                    sa.Column("example_id", sa.Integer, _fk("dataset_examples"), primary_key=True))
    op.create_table("experiments", _id(), sa.Column("dataset_id", sa.Integer, _fk("datasets"), nullable=False),
                    sa.Column("dataset_version", sa.Integer, nullable=False), sa.Column("name", sa.String(200), nullable=False),
                    sa.Column("task", Json), sa.Column("evaluators", Json), sa.Column("summary", Json),
                    sa.Column("created_us", sa.BigInteger, nullable=False))
    op.create_index("ix_experiments_dataset_id", "experiments", ["dataset_id"])
    op.create_table("experiment_results", _id(),
                    sa.Column("experiment_id", sa.Integer, _fk("experiments"), nullable=False),
                    sa.Column("example_id", sa.Integer, nullable=False), sa.Column("output", sa.Text),
                    sa.Column("error", sa.Text), sa.Column("latency_ms", sa.Float), sa.Column("prompt_tokens", sa.Integer),
                    sa.Column("completion_tokens", sa.Integer), sa.Column("scores", Json))
    op.create_index("ix_experiment_results_experiment_id", "experiment_results", ["experiment_id"])


def downgrade() -> None:
    op.drop_index("ix_experiment_results_experiment_id", "experiment_results")
    op.drop_table("experiment_results")
    op.drop_index("ix_experiments_dataset_id", "experiments")
    op.drop_table("experiments")
    op.drop_table("dataset_version_examples")
    op.drop_index("ix_dataset_versions_dataset_version", "dataset_versions")
    op.drop_table("dataset_versions")
    op.drop_index("ix_dataset_examples_dataset_id", "dataset_examples")
    op.drop_table("dataset_examples")
    op.drop_index("ix_datasets_project_name", "datasets")
    op.drop_table("datasets")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("details")

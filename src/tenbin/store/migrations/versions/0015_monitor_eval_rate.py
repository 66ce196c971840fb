"""Monitors: `evaluator` and `label`, the parameters of an `eval_rate` monitor (the share of an
evaluator's results with that label).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("evaluator", sa.String(200), nullable=True))
        batch.add_column(sa.Column("label", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("label")
        batch.drop_column("evaluator")

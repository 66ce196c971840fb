"""Background experiment runs: status, progress and error on `experiments`; a progress time on
`analyses`, so a server start can tell a run its previous process left behind (see store/interrupted.py).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    with op.batch_alter_table("experiments") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="done"))
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("done", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("total", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("updated_us", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("analyses") as batch:
        batch.add_column(sa.Column("updated_us", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.drop_column("updated_us")
    with op.batch_alter_table("experiments") as batch:
        for name in ("updated_us", "total", "done", "error", "status"):
            batch.drop_column(name)

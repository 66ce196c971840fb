"""Prompt registry: prompts, immutable prompt_versions, movable prompt_labels, prompt_label_moves (audit).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"

Json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _prompt_fk() -> sa.ForeignKey:
    return sa.ForeignKey("prompts.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "prompts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_prompts_project_name", "prompts", ["project_id", "name"], unique=True)
    op.create_table(
        "prompt_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("prompt_id", sa.Integer, _prompt_fk(), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("template", sa.Text),
        sa.Column("messages", Json),
        sa.Column("variables", Json),
        sa.Column("model", sa.String(200)),
        sa.Column("params", Json),
        sa.Column("examples", Json),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("author", sa.String(200)),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_prompt_versions_prompt_version", "prompt_versions", ["prompt_id", "version"], unique=True)
    op.create_table(
        "prompt_labels",
        sa.Column("prompt_id", sa.Integer, _prompt_fk(), primary_key=True),
        sa.Column("label", sa.String(100), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "prompt_label_moves",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("prompt_id", sa.Integer, _prompt_fk(), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("from_version", sa.Integer),
        sa.Column("to_version", sa.Integer, nullable=False),
        sa.Column("author", sa.String(200)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("moved_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_prompt_label_moves_prompt", "prompt_label_moves", ["prompt_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_prompt_label_moves_prompt", "prompt_label_moves")
    op.drop_table("prompt_label_moves")
    op.drop_table("prompt_labels")
    op.drop_index("ix_prompt_versions_prompt_version", "prompt_versions")
    op.drop_table("prompt_versions")
    op.drop_index("ix_prompts_project_name", "prompts")
    op.drop_table("prompts")

"""import plans: the checked rows of an uploaded registry, kept between the dry run and the commit

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 06:00:00+00:00

A spreadsheet import (issue 18) is checked first and its plan stored; the commit applies exactly that
plan or nothing (backend/people/import_service.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("encoding", sa.String(length=32), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("committed_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_import_plan_programme_id_programme"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_import_plan_created_by_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_plan")),
    )
    with op.batch_alter_table("import_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_plan_programme_id"), ["programme_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("import_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_plan_programme_id"))
    op.drop_table("import_plan")

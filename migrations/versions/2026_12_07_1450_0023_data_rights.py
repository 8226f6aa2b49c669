"""data rights: erasure markers on people and users, and tombstones of erased references

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 14:50:00+00:00

An erased person or user keeps her row as a pseudonym (`erased_at` set) so the ledger, statements and
the audit chain still name an id. `erased_reference` keeps the SHA-256 of each erased 编号 per
programme, never the number itself, so an import cannot create her again (people/erasure.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types.datetime import DateTimeUTC
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("erased_at", DateTimeUTC(timezone=True), nullable=True))
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("erased_at", DateTimeUTC(timezone=True), nullable=True))
    op.create_table(
        "erased_reference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("reference_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_erased_reference_programme_id_programme"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erased_reference")),
        sa.UniqueConstraint(
            "programme_id", "reference_sha256", name=op.f("uq_erased_reference_programme_id_reference_sha256")
        ),
    )


def downgrade() -> None:
    op.drop_table("erased_reference")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("erased_at")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("erased_at")

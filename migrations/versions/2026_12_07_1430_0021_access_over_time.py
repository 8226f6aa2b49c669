"""access over time: a pairing records the guardian's consent for a child under 14

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 14:30:00+00:00

`child_under_14` is set by the service from the child's birth year and the clock; the CHECK refuses a
pairing of a child under 14 without `guardian_consent_at`, whatever path writes it. Pairings made
before this revision were not checked at the time: they get `child_under_14 = false` (the column's
server default), so the constraint can be added over them.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = sa.text("status = 'active'")


def _recreate_active_index() -> None:
    # SQLite's batch copy may not carry the partial index's WHERE clause over: drop and recreate it.
    op.drop_index("uq_pairing_active_child", table_name="pairing", if_exists=True)
    op.create_index(
        "uq_pairing_active_child",
        "pairing",
        ["child_id"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )


def upgrade() -> None:
    with op.batch_alter_table("pairing", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("child_under_14", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "guardian_consent_at",
                advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("guardian_consent_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_pairing_guardian_consent_by_id_user_account"),
            "user_account",
            ["guardian_consent_by_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_pairing_guardian_consent"), "NOT child_under_14 OR guardian_consent_at IS NOT NULL"
        )
    if op.get_bind().dialect.name == "sqlite":
        _recreate_active_index()


def downgrade() -> None:
    with op.batch_alter_table("pairing", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_pairing_guardian_consent"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_pairing_guardian_consent_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("guardian_consent_by_id")
        batch_op.drop_column("guardian_consent_at")
        batch_op.drop_column("child_under_14")
    if op.get_bind().dialect.name == "sqlite":
        _recreate_active_index()

"""review columns: who decided a check-in or a visit and when, and the bulk approval's sample mark

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 21:00:00+00:00

On SQLite a batch copy of meal_checkin drops its closed-month triggers: they are read from
sqlite_master before the copy and created again, word for word, after it.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op


revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("meal_checkin", "visit")


@contextmanager
def _keeping_sqlite_triggers(table: str) -> Iterator[None]:
    bind = op.get_bind()
    saved: list[str] = []
    if bind.dialect.name == "sqlite":
        saved = [
            row[0]
            for row in bind.execute(
                sa.text(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t ORDER BY name"
                ),
                {"t": table},
            )
        ]
    yield
    for sql in saved:
        op.execute(sql)


def upgrade() -> None:
    for table in TABLES:
        with _keeping_sqlite_triggers(table), op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("reviewed_by_id", sa.Integer(), nullable=True))
            batch_op.add_column(
                sa.Column(
                    "reviewed_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
                )
            )
            batch_op.add_column(
                sa.Column(
                    "sampled_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
                )
            )
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_reviewed_by_id_user_account"),
                "user_account",
                ["reviewed_by_id"],
                ["id"],
                ondelete="RESTRICT",
            )


def downgrade() -> None:
    for table in reversed(TABLES):
        with _keeping_sqlite_triggers(table), op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_reviewed_by_id_user_account"), type_="foreignkey"
            )
            batch_op.drop_column("sampled_at")
            batch_op.drop_column("reviewed_at")
            batch_op.drop_column("reviewed_by_id")

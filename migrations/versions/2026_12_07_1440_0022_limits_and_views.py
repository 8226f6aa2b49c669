"""limits and views: audit scope by programme, photo views audited once a day, the checked part of the chain

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 14:40:00+00:00

`audit_event.programme_id` scopes the audit page to staff's own programmes. It is added with a plain
ALTER TABLE (no batch copy): recreating the table on SQLite would drop its append-only triggers.
Events written before this revision have no programme (the triggers refuse an update): they are shown
to administrators only. `audit_daily_view` keeps one row per viewer, action, subject and day so that a
view is audited once a day; `audit_checkpoint` remembers how far the audit page has checked the chain.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_event", sa.Column("programme_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_audit_event_programme_id"), "audit_event", ["programme_id"], unique=False)
    op.create_table(
        "audit_daily_view",
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user_account.id"],
            name=op.f("fk_audit_daily_view_actor_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "actor_id", "action", "subject_type", "subject_id", "day", name=op.f("pk_audit_daily_view")
        ),
    )
    with op.batch_alter_table("audit_daily_view", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_daily_view_day"), ["day"], unique=False)
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("checked_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoint")),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoint")
    with op.batch_alter_table("audit_daily_view", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_daily_view_day"))
    op.drop_table("audit_daily_view")
    op.drop_index(op.f("ix_audit_event_programme_id"), table_name="audit_event")
    op.drop_column("audit_event", "programme_id")

"""notices: photos removed by retention or erasure, and the first sign-in notice

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 15:00:00+00:00

A removed photo keeps its row and every hash (statements and the audit chain still name them); only its
files go. `removed_reason` is a short code ("retention", "erasure"). `notice_seen_at` is when a user
pressed "I have read it" on the privacy notice shown at first sign-in.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("photo") as batch:
        batch.add_column(sa.Column("removed_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True))
        batch.add_column(sa.Column("removed_reason", sa.String(length=16), nullable=True))
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("notice_seen_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("notice_seen_at")
    with op.batch_alter_table("photo") as batch:
        batch.drop_column("removed_reason")
        batch.drop_column("removed_at")

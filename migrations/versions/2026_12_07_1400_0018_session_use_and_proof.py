"""session use and proof: when a session was last used and last re-proved

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 14:00:00+00:00

`last_seen_at` lets workers' and staff's sessions end after a time without use; `verified_at` is the
time of the last sign-in ceremony on the session, which money actions require to be recent.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_session") as batch:
        batch.add_column(sa.Column("last_seen_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True))
        batch.add_column(sa.Column("verified_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auth_session") as batch:
        batch.drop_column("verified_at")
        batch.drop_column("last_seen_at")

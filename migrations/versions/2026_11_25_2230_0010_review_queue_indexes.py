"""review queue indexes: pending current check-ins by resident, pending current visits by child

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 22:30:00+00:00

Measured with bench/scale.py (2,000 agreements, 200,000 check-ins, SQLite): a street social worker's
queue count scanned every check-in of her residents through ix_meal_checkin_resident_id_day (28 ms);
these partial indexes hold only what waits for review.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "status = 'pending' AND superseded_at IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_meal_checkin_pending_resident",
        "meal_checkin",
        ["resident_id", "submitted_at"],
        unique=False,
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )
    op.create_index(
        "ix_visit_pending_child",
        "visit",
        ["child_id", "submitted_at"],
        unique=False,
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_visit_pending_child", table_name="visit")
    op.drop_index("ix_meal_checkin_pending_resident", table_name="meal_checkin")

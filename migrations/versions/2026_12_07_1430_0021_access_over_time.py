"""access over time: reserved for C: access follows today's relationships (consent to pair a child under 14)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 14:30:00+00:00
"""

from collections.abc import Sequence

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

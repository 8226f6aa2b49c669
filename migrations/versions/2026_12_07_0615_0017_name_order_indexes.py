"""name order indexes: the people and user lists read their pages along (display_name, id)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 06:15:00+00:00

The lists of people served and of users (backend/people/lists.py) are paged by key in name order:
`(display_name, id) > (:after_name, :after_id) ORDER BY display_name, id LIMIT n`. Without an index in
that order every page sorts the whole scope; with one, a page reads its rows and stops.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_person_name_order", "person", ["display_name", "id"])
    op.create_index("ix_user_account_name_order", "user_account", ["display_name", "id"])


def downgrade() -> None:
    op.drop_index("ix_user_account_name_order", table_name="user_account")
    op.drop_index("ix_person_name_order", table_name="person")

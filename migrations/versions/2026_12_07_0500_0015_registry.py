"""registry: areas of any depth that can close, programme rules, people with references and an end

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 05:00:00+00:00

Enrolment without the demo (issue 18): the area tree takes the five Chinese administrative levels
(province, city, district/county, street/township, community/village) and an area can be closed; a
programme carries its rules (a meal programme's rate and monthly cap, a caring-mother programme's
default visit interval), filled here from the defaults the agreements and pairings already used; a
person served carries the scheme's own reference (编号, unique within the programme), a note, and the
day and reason her participation ended; users and people keep their names' pinyin initials for search
(filled here for existing rows, see backend/people/names.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_LEVELS = ("district", "street", "community")
NEW_LEVELS = ("province", "city", "district", "street", "community")
END_REASONS = ("moved_away", "aged_out", "died", "left_scheme")
PROGRAMME_CHECKS = {
    "rate_positive": "rate_fen IS NULL OR rate_fen > 0",
    "cap_at_least_rate": "monthly_cap_fen IS NULL OR (rate_fen IS NOT NULL AND monthly_cap_fen >= rate_fen)",
    "visit_interval_range": "visit_interval_days IS NULL OR (visit_interval_days >= 1 AND visit_interval_days <= 365)",
}


def _level_check(levels: Sequence[str]) -> str:
    return "level IN (" + ", ".join(f"'{v}'" for v in levels) + ")"


def upgrade() -> None:
    with op.batch_alter_table("area", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_area_area_level"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_area_area_level"), _level_check(NEW_LEVELS))
        batch_op.add_column(sa.Column("closed_at", DateTimeUTC(timezone=True), nullable=True))

    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rate_fen", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("monthly_cap_fen", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("visit_interval_days", sa.Integer(), nullable=True))
        for name, condition in PROGRAMME_CHECKS.items():
            batch_op.create_check_constraint(batch_op.f(f"ck_programme_{name}"), condition)
    op.execute("UPDATE programme SET rate_fen = 1500, monthly_cap_fen = 45000 WHERE kind = 'neighbour_meals'")
    op.execute("UPDATE programme SET visit_interval_days = 30 WHERE kind = 'caring_mothers'")

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_initials", sa.String(length=100), server_default="", nullable=False))

    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("name_initials", sa.String(length=100), server_default="", nullable=False))
        batch_op.add_column(sa.Column("note", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("ended_at", DateTimeUTC(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "end_reason",
                sa.Enum(*END_REASONS, name="person_end_reason", native_enum=False, create_constraint=True, length=32),
                nullable=True,
            )
        )
        batch_op.create_unique_constraint(batch_op.f("uq_person_programme_id_reference"), ["programme_id", "reference"])
        batch_op.create_check_constraint(batch_op.f("ck_person_ended_with_reason"), "(ended_at IS NULL) = (end_reason IS NULL)")


    op.create_table(
        "user_reference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"], name=op.f("fk_user_reference_programme_id_programme"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_user_reference_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_reference")),
        sa.UniqueConstraint("programme_id", "reference", name=op.f("uq_user_reference_programme_id_reference")),
        sa.UniqueConstraint("programme_id", "user_id", name=op.f("uq_user_reference_programme_id_user_id")),
    )
    with op.batch_alter_table("user_reference", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_reference_user_id"), ["user_id"], unique=False)

    # Pinyin initials of the names already there, by the same function as every later write.
    from backend.people.names import name_initials

    bind = op.get_bind()
    for table in ("user_account", "person"):
        rows = bind.execute(sa.text(f"SELECT id, display_name FROM {table}")).all()
        for row_id, name in rows:
            bind.execute(
                sa.text(f"UPDATE {table} SET name_initials = :initials WHERE id = :id"),
                {"initials": name_initials(name), "id": row_id},
            )


def downgrade() -> None:
    with op.batch_alter_table("user_reference", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_reference_user_id"))
    op.drop_table("user_reference")

    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_person_ended_with_reason"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_person_programme_id_reference"), type_="unique")
        batch_op.drop_constraint(batch_op.f("ck_person_person_end_reason"), type_="check")
        for column in ("end_reason", "ended_at", "note", "name_initials", "reference"):
            batch_op.drop_column(column)

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("name_initials")

    with op.batch_alter_table("programme", schema=None) as batch_op:
        for name in PROGRAMME_CHECKS:
            batch_op.drop_constraint(batch_op.f(f"ck_programme_{name}"), type_="check")
        for column in ("visit_interval_days", "monthly_cap_fen", "rate_fen"):
            batch_op.drop_column(column)

    op.execute("DELETE FROM area WHERE level IN ('province', 'city')")  # only possible on an unused tree
    with op.batch_alter_table("area", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
        batch_op.drop_constraint(batch_op.f("ck_area_area_level"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_area_area_level"), _level_check(OLD_LEVELS))

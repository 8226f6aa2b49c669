"""coordinates and meetings: optional coarse coordinates on child and mother profiles (to rank
mothers by distance when matching), and the caring mothers' street and district meetings

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 22:00:00+00:00

child_profile and mother_profile carry no triggers, so their SQLite batch copies lose nothing.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op


revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROFILES = ("child_profile", "mother_profile")
COORDINATE_CHECKS = {
    "coordinates_complete": "(latitude IS NULL) = (longitude IS NULL)",
    "latitude_range": "latitude IS NULL OR (latitude >= -90 AND latitude <= 90)",
    "longitude_range": "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)",
}


def upgrade() -> None:
    op.create_table(
        "mothers_meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "street_monthly",
                "district_quarterly",
                name="meeting_level",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("others_count", sa.Integer(), nullable=False),
        sa.Column("results", sa.String(length=2000), nullable=False),
        sa.Column("problems", sa.String(length=2000), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "others_count >= 0 AND others_count <= 1000", name=op.f("ck_mothers_meeting_others_count_range")
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_mothers_meeting_area_id_area"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_mothers_meeting_programme_id_programme"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_mothers_meeting_recorded_by_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mothers_meeting")),
        sa.UniqueConstraint(
            "programme_id", "area_id", "held_on", name=op.f("uq_mothers_meeting_programme_id_area_id_held_on")
        ),
    )
    with op.batch_alter_table("mothers_meeting", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mothers_meeting_area_id"), ["area_id"], unique=False)

    op.create_table(
        "mothers_meeting_attendee",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["mothers_meeting.id"],
            name=op.f("fk_mothers_meeting_attendee_meeting_id_mothers_meeting"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_mothers_meeting_attendee_user_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "user_id", name=op.f("pk_mothers_meeting_attendee")),
    )
    with op.batch_alter_table("mothers_meeting_attendee", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mothers_meeting_attendee_user_id"), ["user_id"], unique=False)

    for table in PROFILES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
            batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))
            for name, condition in COORDINATE_CHECKS.items():
                batch_op.create_check_constraint(batch_op.f(f"ck_{table}_{name}"), condition)


def downgrade() -> None:
    for table in reversed(PROFILES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in COORDINATE_CHECKS:
                batch_op.drop_constraint(batch_op.f(f"ck_{table}_{name}"), type_="check")
            batch_op.drop_column("longitude")
            batch_op.drop_column("latitude")

    with op.batch_alter_table("mothers_meeting_attendee", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mothers_meeting_attendee_user_id"))
    op.drop_table("mothers_meeting_attendee")
    with op.batch_alter_table("mothers_meeting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mothers_meeting_area_id"))
    op.drop_table("mothers_meeting")

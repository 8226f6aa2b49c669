"""visits: visit logs with photo links, the checklist, visit intervals; child and mother profiles; exits

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 20:30:00+00:00

Existing pairings get the default interval of 30 days (monthly visits).
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mother_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("offers", sa.JSON(), nullable=False),
        sa.Column("skills", sa.String(length=200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("capacity >= 1 AND capacity <= 10", name=op.f("ck_mother_profile_capacity_range")),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_mother_profile_programme_id_programme"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_mother_profile_user_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mother_profile")),
        sa.UniqueConstraint("user_id", "programme_id", name=op.f("uq_mother_profile_user_id_programme_id")),
    )
    with op.batch_alter_table("mother_profile", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mother_profile_user_id"), ["user_id"], unique=False)

    op.create_table(
        "child_profile",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "referral_source",
            sa.Enum(
                "petition",
                "street_office",
                "school",
                "survey",
                "self_request",
                "scout_report",
                name="referral_source",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("consent_by_id", sa.Integer(), nullable=True),
        sa.Column("consent_on", sa.Date(), nullable=True),
        sa.Column(
            "consent_method",
            sa.Enum(
                "signed_form",
                "in_person",
                "phone",
                name="consent_method",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(consent_on IS NULL) = (consent_method IS NULL) AND (consent_on IS NULL) = (consent_by_id IS NULL)",
            name=op.f("ck_child_profile_consent_complete"),
        ),
        sa.ForeignKeyConstraint(
            ["consent_by_id"],
            ["person.id"],
            name=op.f("fk_child_profile_consent_by_id_person"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_child_profile_person_id_person"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_child_profile_recorded_by_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_child_profile")),
    )

    op.create_table(
        "visit_checklist_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column(
            "need_area",
            sa.Enum(
                "daily_life",
                "mind_character",
                "social_integration",
                "family_education",
                name="need_area",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("retired_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_visit_checklist_item_programme_id_programme"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_checklist_item")),
        sa.UniqueConstraint("programme_id", "label", name=op.f("uq_visit_checklist_item_programme_id_label")),
    )
    with op.batch_alter_table("visit_checklist_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_visit_checklist_item_programme_id"), ["programme_id"], unique=False
        )

    op.create_table(
        "visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_uuid", sa.Uuid(), nullable=False),
        sa.Column("pairing_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("mother_id", sa.Integer(), nullable=False),
        sa.Column("visited_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("need_areas", sa.JSON(), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("corrected_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "needs_fix",
                "rejected",
                name="visit_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("review_note", sa.String(length=500), nullable=True),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("superseded_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "duration_minutes >= 5 AND duration_minutes <= 720", name=op.f("ck_visit_duration_range")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_visit_version_positive")),
        sa.ForeignKeyConstraint(
            ["child_id"], ["person.id"], name=op.f("fk_visit_child_id_person"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["mother_id"],
            ["user_account.id"],
            name=op.f("fk_visit_mother_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["pairing_id"], ["pairing.id"], name=op.f("fk_visit_pairing_id_pairing"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_visit_programme_id_programme"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["replaces_id"], ["visit.id"], name=op.f("fk_visit_replaces_id_visit"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit")),
        sa.UniqueConstraint("client_uuid", name=op.f("uq_visit_client_uuid")),
        sa.UniqueConstraint("replaces_id", name=op.f("uq_visit_replaces_id")),
    )
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_visit_child_id_visited_at"), ["child_id", "visited_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_visit_mother_id"), ["mother_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_visit_pairing_id_visited_at"), ["pairing_id", "visited_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_visit_programme_id_status"), ["programme_id", "status"], unique=False
        )

    op.create_table(
        "visit_photo",
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["photo_id"], ["photo.id"], name=op.f("fk_visit_photo_photo_id_photo"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visit.id"], name=op.f("fk_visit_photo_visit_id_visit"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("visit_id", "photo_id", name=op.f("pk_visit_photo")),
        sa.UniqueConstraint("visit_id", "position", name=op.f("uq_visit_photo_visit_id_position")),
    )
    with op.batch_alter_table("visit_photo", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_photo_photo_id"), ["photo_id"], unique=False)

    with op.batch_alter_table("pairing", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("visit_interval_days", sa.Integer(), server_default=sa.text("30"), nullable=False)
        )

    op.create_table(
        "pairing_exit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pairing_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "requested",
                "investigated",
                "approved",
                "rejected",
                name="exit_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("request_note", sa.String(length=500), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("investigation_note", sa.String(length=1000), nullable=True),
        sa.Column("investigated_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "investigated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column("decision_note", sa.String(length=1000), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_pairing_exit_decided_by_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["investigated_by_id"],
            ["user_account.id"],
            name=op.f("fk_pairing_exit_investigated_by_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["pairing_id"],
            ["pairing.id"],
            name=op.f("fk_pairing_exit_pairing_id_pairing"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["user_account.id"],
            name=op.f("fk_pairing_exit_requested_by_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairing_exit")),
    )
    with op.batch_alter_table("pairing_exit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pairing_exit_pairing_id"), ["pairing_id"], unique=False)
        batch_op.create_index(
            "uq_pairing_exit_open",
            ["pairing_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('requested', 'investigated')"),
            postgresql_where=sa.text("status IN ('requested', 'investigated')"),
        )


def downgrade() -> None:
    with op.batch_alter_table("pairing_exit", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_pairing_exit_open",
            sqlite_where=sa.text("status IN ('requested', 'investigated')"),
            postgresql_where=sa.text("status IN ('requested', 'investigated')"),
        )
        batch_op.drop_index(batch_op.f("ix_pairing_exit_pairing_id"))

    op.drop_table("pairing_exit")

    with op.batch_alter_table("pairing", schema=None) as batch_op:
        batch_op.drop_column("visit_interval_days")

    with op.batch_alter_table("visit_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_photo_photo_id"))

    op.drop_table("visit_photo")
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_programme_id_status"))
        batch_op.drop_index(batch_op.f("ix_visit_pairing_id_visited_at"))
        batch_op.drop_index(batch_op.f("ix_visit_mother_id"))
        batch_op.drop_index(batch_op.f("ix_visit_child_id_visited_at"))

    op.drop_table("visit")
    with op.batch_alter_table("visit_checklist_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_checklist_item_programme_id"))

    op.drop_table("visit_checklist_item")

    op.drop_table("child_profile")
    with op.batch_alter_table("mother_profile", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mother_profile_user_id"))

    op.drop_table("mother_profile")

"""Programmes, the area tree, users with their memberships, and the people served."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, CreatedAt


def str_enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: portable between SQLite and PostgreSQL,
    # and a new value is one migration that widens the constraint.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class ProgrammeKind(enum.StrEnum):
    CARING_MOTHERS = "caring_mothers"
    NEIGHBOUR_MEALS = "neighbour_meals"
    PILLAR_MOTHERS = "pillar_mothers"
    SOCIAL_WORK_STATION = "social_work_station"


class AreaLevel(enum.StrEnum):
    """The Chinese administrative levels, highest first: 省, 市, 区/县, 街道/乡镇, 社区/村."""

    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"

    @property
    def depth(self) -> int:
        return list(AreaLevel).index(self)

    def below(self) -> list[AreaLevel]:
        """The levels an area under this one may have (a municipality's districts sit right under it)."""
        return list(AreaLevel)[self.depth + 1 :]


class Role(enum.StrEnum):
    STAFF = "staff"
    SOCIAL_WORKER = "social_worker"
    CARING_MOTHER = "caring_mother"
    NEIGHBOUR = "neighbour"
    # A volunteer of a social-work station who reports needs from the phone (排困员) and sees only the
    # status of her own reports (cases/).
    HARDSHIP_SCOUT = "hardship_scout"
    # The pillar-mother scheme's "1 + 3 + 1" (pillar/): a federation cadre who leads a mother's group,
    # a volunteer of a group, and the mother herself (she sees her own plan and contacts, answers the
    # survey). A mother who was helped may later serve as a volunteer: a second membership.
    CADRE = "cadre"
    VOLUNTEER = "volunteer"
    PILLAR_MOTHER = "pillar_mother"


class PersonKind(enum.StrEnum):
    CHILD = "child"
    RESIDENT = "resident"
    GUARDIAN = "guardian"


class EndReason(enum.StrEnum):
    MOVED_AWAY = "moved_away"
    AGED_OUT = "aged_out"
    DIED = "died"
    LEFT_SCHEME = "left_scheme"


class Area(CreatedAt, Base):
    """A node of the district → street → community tree.

    `path` is the chain of ids from the root, like "/1/4/9/", so "this area and everything under it"
    is one indexed prefix match in SQL.
    """

    __tablename__ = "area"
    __table_args__ = (UniqueConstraint("parent_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"), index=True)
    level: Mapped[AreaLevel] = mapped_column(str_enum(AreaLevel, "area_level"))
    name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(255), unique=True, default="")
    # Closed areas take no new people or members; everything recorded under them stays.
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

    parent: Mapped[Area | None] = relationship(remote_side=[id])


class Programme(CreatedAt, Base):
    __tablename__ = "programme"
    __table_args__ = (
        CheckConstraint("rate_fen IS NULL OR rate_fen > 0", name="rate_positive"),
        CheckConstraint(
            "monthly_cap_fen IS NULL OR (rate_fen IS NOT NULL AND monthly_cap_fen >= rate_fen)",
            name="cap_at_least_rate",
        ),
        CheckConstraint(
            "visit_interval_days IS NULL OR (visit_interval_days >= 1 AND visit_interval_days <= 365)",
            name="visit_interval_range",
        ),
        CheckConstraint(
            "order_due_hours IS NULL OR (order_due_hours >= 1 AND order_due_hours <= 720)",
            name="order_due_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ProgrammeKind] = mapped_column(str_enum(ProgrammeKind, "programme_kind"))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The programme's own area (usually a district): its staff oversee everything under it.
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"), index=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # The programme's rules (set by staff, audited): a meal programme pays rate_fen a meal up to
    # monthly_cap_fen a month, and no agreement may carry more; a caring-mother programme expects a
    # visit every visit_interval_days unless a pairing says otherwise.
    rate_fen: Mapped[int | None] = mapped_column(Integer, default=None)
    monthly_cap_fen: Mapped[int | None] = mapped_column(Integer, default=None)
    visit_interval_days: Mapped[int | None] = mapped_column(Integer, default=None)
    # A social-work station programme shows an order untaken for this many hours as overdue (cases/).
    order_due_hours: Mapped[int | None] = mapped_column(Integer, default=None)

    area: Mapped[Area] = relationship()


class User(CreatedAt, Base):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("handle = lower(handle)", name="handle_lowercase"),
        # The users list's pages in name order (people/lists.py, migration 0017).
        Index("ix_user_account_name_order", "display_name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # A short login name used by staff on the command line and in card lists; never shown in URLs.
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    # Pinyin initials of the name (赵桂兰 -> "zgl"), kept with it for search (people/names.py).
    name_initials: Mapped[str] = mapped_column(String(100), default="", server_default="")
    locale: Mapped[str | None] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A system administrator acts as staff of every programme.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # The WebAuthn user handle: random, stable, never the database id; set at the first passkey.
    webauthn_handle: Mapped[bytes | None] = mapped_column(LargeBinary(64), unique=True, default=None)
    # Erased at staff's request (people/erasure.py): the row stays as a pseudonym for the ledger and audit.
    erased_at: Mapped[datetime | None] = mapped_column(default=None)
    # When she pressed "I have read it" on the privacy notice (auth/notice_routes.py, migration 0024).
    notice_seen_at: Mapped[datetime | None] = mapped_column(default=None)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")


class Membership(CreatedAt, Base):
    """A user's role in one programme, anchored at one area (their patch of the tree)."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "programme_id", "area_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "membership_role"))
    ended_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(back_populates="memberships")
    programme: Mapped[Programme] = relationship()
    area: Mapped[Area] = relationship()


class UserReference(CreatedAt, Base):
    """The scheme's own number (编号) for someone who uses Carelog (a caring mother, a neighbour, a
    social worker), unique within the programme, by which a spreadsheet import finds her again. People
    served carry theirs on Person.reference."""

    __tablename__ = "user_reference"
    __table_args__ = (
        UniqueConstraint("programme_id", "reference"),
        UniqueConstraint("programme_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str] = mapped_column(String(64))


class Person(CreatedAt, Base):
    """Someone a programme serves: a child, a housebound resident, or a guardian.

    Only what the work needs: a name to recognise them by, where they live (as an area, not an
    address), the birth year (consent rules differ under 14) and who their guardian is.
    """

    __tablename__ = "person"
    __table_args__ = (
        CheckConstraint(
            "birth_year IS NULL OR (birth_year >= 1900 AND birth_year <= 2100)", name="birth_year"
        ),
        Index(None, "programme_id", "area_id"),
        # The people list's pages in name order (people/lists.py, migration 0017).
        Index("ix_person_name_order", "display_name", "id"),
        # 编号: the scheme's own stable reference, unique within the programme (the import matches on it).
        UniqueConstraint("programme_id", "reference"),
        CheckConstraint("(ended_at IS NULL) = (end_reason IS NULL)", name="ended_with_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[PersonKind] = mapped_column(str_enum(PersonKind, "person_kind"))
    display_name: Mapped[str] = mapped_column(String(100))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    reference: Mapped[str | None] = mapped_column(String(64), default=None)
    name_initials: Mapped[str] = mapped_column(String(100), default="", server_default="")
    note: Mapped[str | None] = mapped_column(String(500), default=None)
    # Participation ended (moved away, aged out, died, left the scheme): kept in history, statements
    # and reports, but no longer offered for new work.
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    end_reason: Mapped[EndReason | None] = mapped_column(
        str_enum(EndReason, "person_end_reason"), default=None
    )
    # Erased at staff's request (people/erasure.py): name, birth year and free text are gone; the row
    # stays as a pseudonym so the ledger, statements and audit chain still add up.
    erased_at: Mapped[datetime | None] = mapped_column(default=None)

    programme: Mapped[Programme] = relationship()
    area: Mapped[Area] = relationship()
    guardian: Mapped[Person | None] = relationship(remote_side=[id])


class ErasedReference(CreatedAt, Base):
    """A tombstone: the SHA-256 of an erased person's or user's 编号 in a programme, so a later import
    cannot bring her back under it (PEERS design point 9). The number itself is not kept."""

    __tablename__ = "erased_reference"
    __table_args__ = (UniqueConstraint("programme_id", "reference_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    reference_sha256: Mapped[str] = mapped_column(String(64))

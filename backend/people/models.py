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
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"


class Role(enum.StrEnum):
    STAFF = "staff"
    SOCIAL_WORKER = "social_worker"
    CARING_MOTHER = "caring_mother"
    NEIGHBOUR = "neighbour"


class PersonKind(enum.StrEnum):
    CHILD = "child"
    RESIDENT = "resident"
    GUARDIAN = "guardian"


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

    parent: Mapped[Area | None] = relationship(remote_side=[id])


class Programme(CreatedAt, Base):
    __tablename__ = "programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ProgrammeKind] = mapped_column(str_enum(ProgrammeKind, "programme_kind"))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The programme's own area (usually a district): its staff oversee everything under it.
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"), index=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")

    area: Mapped[Area] = relationship()


class User(CreatedAt, Base):
    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint("handle = lower(handle)", name="handle_lowercase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # A short login name used by staff on the command line and in card lists; never shown in URLs.
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str | None] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A system administrator acts as staff of every programme.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # The WebAuthn user handle: random, stable, never the database id; set at the first passkey.
    webauthn_handle: Mapped[bytes | None] = mapped_column(LargeBinary(64), unique=True, default=None)

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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[PersonKind] = mapped_column(str_enum(PersonKind, "person_kind"))
    display_name: Mapped[str] = mapped_column(String(100))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    programme: Mapped[Programme] = relationship()
    area: Mapped[Area] = relationship()
    guardian: Mapped[Person | None] = relationship(remote_side=[id])

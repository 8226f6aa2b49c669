"""Neighbour meal plan: three-party agreements, monthly menus and daily check-ins with photos.

An agreement binds a resident, a neighbour who cooks and the project (represented by the responsible
social worker). It takes effect when the neighbour has confirmed it in the app and the social worker
has recorded the resident's (or guardian's) confirmation; ending it keeps every row.

A check-in is one meal (agreement, slot, day) with its photos and dishes. It is never edited: a review
(issue 6) sets its status, reason and note, and a resubmission after "needs fix" will be a new row that
`replaces_id` the old one, whose `superseded_at` is then set. Only current versions (superseded_at IS
NULL) are unique per agreement, slot and day. Flags are computed once, at submission, and stored.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, CreatedAt, ReviewMarks
from backend.evidence.models import Photo
from backend.people.models import Person, Programme, User, str_enum

DEFAULT_RATE_FEN = 1500  # 15 yuan a meal
DEFAULT_MONTHLY_CAP_FEN = 45000  # 450 yuan a month


class AgreementStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class Signatory(enum.StrEnum):
    """Who signed for the resident's side."""

    RESIDENT = "resident"
    GUARDIAN = "guardian"


class MealSlot(enum.StrEnum):
    LUNCH = "lunch"
    DINNER = "dinner"


# Programme-local times the photo's capture time is compared with.
SLOT_TIMES = {MealSlot.LUNCH: time(12, 0), MealSlot.DINNER: time(18, 0)}


def slot_moment(programme: Programme, day: date, slot: MealSlot) -> datetime:
    """When the meal is due, as a UTC time (lunch 12:00, dinner 18:00, programme-local)."""
    return datetime.combine(day, SLOT_TIMES[slot], tzinfo=ZoneInfo(programme.time_zone)).astimezone(UTC)


class CheckInStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    NEEDS_FIX = "needs_fix"
    REJECTED = "rejected"


class FlagCode(enum.StrEnum):
    LATE = "late"
    PHOTO_REUSED = "photo_reused"
    CAPTURE_TIME_MISSING = "capture_time_missing"
    CAPTURE_TIME_FAR = "capture_time_far"
    DISHES_OFF_PLAN = "dishes_off_plan"
    OVER_CAP = "over_cap"
    PHOTO_ON_OTHER_AGREEMENT = "photo_on_other_agreement"
    SAME_HOUSEHOLD_DAY = "same_household_day"


class Agreement(CreatedAt, Base):
    __tablename__ = "meal_agreement"
    __table_args__ = (
        CheckConstraint("rate_fen > 0", name="rate_positive"),
        CheckConstraint("monthly_cap_fen >= rate_fen", name="cap_at_least_rate"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates_ordered"),
        CheckConstraint("serves_lunch OR serves_dinner", name="serves_a_meal"),
        CheckConstraint(
            "(resident_confirmed_at IS NULL) = (resident_signatory IS NULL)",
            name="signatory_with_confirmation",
        ),
        CheckConstraint("status = 'active' OR ended_at IS NOT NULL", name="ended_has_time"),
        # One current agreement per resident: the same household's meal is never claimed twice.
        Index(
            "uq_meal_agreement_active_resident",
            "resident_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), index=True)
    neighbour_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    social_worker_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), index=True
    )
    # Money is integer fen: 1500 fen = 15 yuan a meal, 45000 fen = 450 yuan a month.
    rate_fen: Mapped[int] = mapped_column(Integer, default=DEFAULT_RATE_FEN)
    monthly_cap_fen: Mapped[int] = mapped_column(Integer, default=DEFAULT_MONTHLY_CAP_FEN)
    serves_lunch: Mapped[bool] = mapped_column(Boolean, default=True)
    serves_dinner: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    status: Mapped[AgreementStatus] = mapped_column(str_enum(AgreementStatus, "agreement_status"))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )

    # The three parties: the project by creating it, the neighbour in the app, the resident on paper.
    neighbour_confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    resident_confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    resident_signatory: Mapped[Signatory | None] = mapped_column(
        str_enum(Signatory, "agreement_signatory"), default=None
    )
    resident_confirmed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )
    resident_confirmation_photo_id: Mapped[int | None] = mapped_column(
        ForeignKey("photo.id", ondelete="RESTRICT"), default=None
    )

    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )

    programme: Mapped[Programme] = relationship()
    resident: Mapped[Person] = relationship()
    neighbour: Mapped[User] = relationship(foreign_keys=[neighbour_id])
    social_worker: Mapped[User] = relationship(foreign_keys=[social_worker_id])

    @property
    def slots(self) -> list[MealSlot]:
        return [
            s for s, on in ((MealSlot.LUNCH, self.serves_lunch), (MealSlot.DINNER, self.serves_dinner)) if on
        ]

    @property
    def in_force(self) -> bool:
        """Active and confirmed by all three parties: only then may meals be checked in."""
        return (
            self.status is AgreementStatus.ACTIVE
            and self.neighbour_confirmed_at is not None
            and self.resident_confirmed_at is not None
        )

    def covers(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


class MenuEntry(CreatedAt, Base):
    """One line of a neighbour's monthly menu: the dishes for a weekday, or for one date (an override)."""

    __tablename__ = "meal_menu_entry"
    __table_args__ = (
        CheckConstraint("(weekday IS NULL) <> (day IS NULL)", name="weekday_or_day"),
        CheckConstraint("weekday IS NULL OR (weekday >= 0 AND weekday <= 6)", name="weekday_range"),
        Index(
            "uq_meal_menu_entry_weekday",
            "agreement_id",
            "month",
            "slot",
            "weekday",
            unique=True,
            sqlite_where=text("weekday IS NOT NULL"),
            postgresql_where=text("weekday IS NOT NULL"),
        ),
        Index(
            "uq_meal_menu_entry_day",
            "agreement_id",
            "slot",
            "day",
            unique=True,
            sqlite_where=text("day IS NOT NULL"),
            postgresql_where=text("day IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("meal_agreement.id", ondelete="RESTRICT"))
    month: Mapped[date]  # first day of the month
    slot: Mapped[MealSlot] = mapped_column(str_enum(MealSlot, "meal_slot"))
    weekday: Mapped[int | None] = mapped_column(Integer, default=None)  # 0 = Monday
    day: Mapped[date | None] = mapped_column(default=None)
    dishes: Mapped[list[str]] = mapped_column(JSON)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))


class CheckIn(ReviewMarks, CreatedAt, Base):
    __tablename__ = "meal_checkin"
    __table_args__ = (
        # One current check-in per agreement, slot and day, on both engines.
        Index(
            "uq_meal_checkin_current_slot",
            "agreement_id",
            "slot",
            "day",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
        Index(None, "neighbour_id", "day"),
        Index(None, "resident_id", "day"),
        Index(None, "programme_id", "day"),
        # The review queue reads only pending current versions, a few among a million rows.
        # Covering what the queue filters and orders on (migration 0012).
        Index(
            "ix_meal_checkin_pending_resident",
            "resident_id",
            "programme_id",
            "neighbour_id",
            "submitted_at",
            "sampled_at",
            sqlite_where=text("status = 'pending' AND superseded_at IS NULL"),
            postgresql_where=text("status = 'pending' AND superseded_at IS NULL"),
        ),
        # The queue's order (flagged first, then oldest) read straight from the index, so a page of
        # twenty stops after twenty rows in the reviewer's scope (migration 0014).
        Index(
            "ix_meal_checkin_pending_order",
            "flagged",
            "submitted_at",
            "id",
            "resident_id",
            "programme_id",
            "neighbour_id",
            sqlite_where=text("status = 'pending' AND superseded_at IS NULL"),
            postgresql_where=text("status = 'pending' AND superseded_at IS NULL"),
        ),
        # Closing a month refuses while any of its check-ins is pending (migration 0011).
        Index(
            "ix_meal_checkin_pending_programme_day",
            "programme_id",
            "day",
            sqlite_where=text("status = 'pending' AND superseded_at IS NULL"),
            postgresql_where=text("status = 'pending' AND superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Named by the phone; the same UUID is the same check-in, whoever sends it (house rule 6).
    client_uuid: Mapped[uuid.UUID] = mapped_column(Uuid(), unique=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("meal_agreement.id", ondelete="RESTRICT"))
    # Copied from the agreement: scoping, the closed-month trigger and the household flag need no join.
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    neighbour_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    day: Mapped[date]
    slot: Mapped[MealSlot] = mapped_column(str_enum(MealSlot, "meal_slot"))
    dishes: Mapped[list[str]] = mapped_column(JSON)
    # What the menu said for this meal when it was sent (empty when there was no menu).
    planned_dishes: Mapped[list[str]] = mapped_column(JSON)
    # SHA-256 of what the phone sent (agreement, slot, day, dishes, photo UUIDs): a retry is compared by it.
    content_sha256: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime]
    status: Mapped[CheckInStatus] = mapped_column(
        str_enum(CheckInStatus, "checkin_status"), default=CheckInStatus.PENDING
    )
    # Set by a review (issue 6): a reason code and the reviewer's words.
    reason: Mapped[str | None] = mapped_column(String(32), default=None)
    note: Mapped[str | None] = mapped_column(String(500), default=None)
    replaces_id: Mapped[int | None] = mapped_column(
        ForeignKey("meal_checkin.id", ondelete="RESTRICT"), unique=True, default=None
    )
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)

    agreement: Mapped[Agreement] = relationship()
    resident: Mapped[Person] = relationship()
    photo_links: Mapped[list[CheckInPhoto]] = relationship(
        order_by="CheckInPhoto.position", back_populates="checkin"
    )
    flags: Mapped[list[CheckInFlag]] = relationship(order_by="CheckInFlag.code", back_populates="checkin")

    @property
    def photos(self) -> list[Photo]:
        return [link.photo for link in self.photo_links]

    @property
    def sent_by_id(self) -> int:  # idempotency.SentEntry
        return self.neighbour_id

    @property
    def sent_sha256(self) -> str:
        return self.content_sha256

    @property
    def flag_codes(self) -> list[str]:
        return [f.code.value for f in self.flags]

    def has_flag(self, code: FlagCode) -> bool:
        return any(f.code is code for f in self.flags)


class CheckInPhoto(Base):
    __tablename__ = "meal_checkin_photo"
    __table_args__ = (UniqueConstraint("checkin_id", "position"),)

    checkin_id: Mapped[int] = mapped_column(
        ForeignKey("meal_checkin.id", ondelete="RESTRICT"), primary_key=True
    )
    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photo.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)

    checkin: Mapped[CheckIn] = relationship(back_populates="photo_links")
    photo: Mapped[Photo] = relationship()


class CheckInFlag(Base):
    """A reason for the reviewer to look closer, found when the check-in arrived."""

    __tablename__ = "meal_checkin_flag"
    __table_args__ = (UniqueConstraint("checkin_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("meal_checkin.id", ondelete="RESTRICT"))
    code: Mapped[FlagCode] = mapped_column(str_enum(FlagCode, "checkin_flag_code"), index=True)
    # Ids and numbers that explain the flag (the earlier photo, the hours off, the month's total).
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)

    checkin: Mapped[CheckIn] = relationship(back_populates="flags")

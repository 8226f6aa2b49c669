"""Caring-mother pairings: one child, one mother at a time; history is kept.

A visit is one home visit a mother logged for a child she is paired with. Within 24 hours of sending
it (and while nobody has reviewed it) she may correct it in place, each correction an audit event
with the old and new content hash; after that a correction is a new row that `replaces_id` the old
one, whose `superseded_at` is then set. The review queue (issue 6) sets `status`, `reason` and
`review_note`, as for meal check-ins.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, CreatedAt, ReviewMarks, utcnow
from backend.evidence.models import Photo
from backend.people.models import Area, Person, User, str_enum

DEFAULT_VISIT_INTERVAL_DAYS = 30  # monthly

# Where a child or a mother lives, optional and coarse: rounded to COORDINATE_DECIMALS places (about
# 100 m), only to rank mothers by distance when matching. Home locations must not leak: coordinates are
# entered and read only by the area's social workers and staff, never shown to a mother, never written
# to an audit event or an export; what matching shows is a rounded distance ("about 1.2 km").
COORDINATE_DECIMALS = 3


def coordinate_checks() -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="coordinates_complete"),
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="latitude_range"),
        CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="longitude_range"
        ),
    )


class PairingStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class NeedArea(enum.StrEnum):
    """The four areas a caring mother helps in."""

    DAILY_LIFE = "daily_life"
    MIND_CHARACTER = "mind_character"
    SOCIAL_INTEGRATION = "social_integration"
    FAMILY_EDUCATION = "family_education"


class ReferralSource(enum.StrEnum):
    """How the child came to the programme."""

    PETITION = "petition"
    STREET_OFFICE = "street_office"
    SCHOOL = "school"
    SURVEY = "survey"
    SELF_REQUEST = "self_request"
    SCOUT_REPORT = "scout_report"


class ConsentMethod(enum.StrEnum):
    """How the guardian's consent was recorded."""

    SIGNED_FORM = "signed_form"
    IN_PERSON = "in_person"
    PHONE = "phone"


class VisitStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    NEEDS_FIX = "needs_fix"
    REJECTED = "rejected"


class Pairing(CreatedAt, Base):
    __tablename__ = "pairing"
    __table_args__ = (
        # One active mother per child, enforced by the database on both engines.
        Index(
            "uq_pairing_active_child",
            "child_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        # A child under 14 is paired only once the guardian's consent is recorded; the service sets
        # child_under_14 from the birth year and the clock, and the database refuses any path past it.
        CheckConstraint("NOT child_under_14 OR guardian_consent_at IS NOT NULL", name="guardian_consent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    mother_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    status: Mapped[PairingStatus] = mapped_column(str_enum(PairingStatus, "pairing_status"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    # How often the mother is expected to visit (days); monthly unless the social worker says otherwise.
    visit_interval_days: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_VISIT_INTERVAL_DAYS, server_default=text(str(DEFAULT_VISIT_INTERVAL_DAYS))
    )
    # Set by the service from the birth year and the clock (unknown counts as under 14). Pairings made
    # before the rule (migration 0021) carry false. The consent is recorded by a worker (a user id).
    child_under_14: Mapped[bool] = mapped_column(default=False, server_default=false())
    guardian_consent_at: Mapped[datetime | None] = mapped_column(default=None)
    guardian_consent_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )

    child: Mapped[Person] = relationship()
    mother: Mapped[User] = relationship(foreign_keys=[mother_id])


class ChildProfile(CreatedAt, Base):
    """What the work needs to know about a child beyond the person row: how the child was referred, the
    needs across the four areas, and (for a child under 14) who consented, when and how. Nothing else."""

    __tablename__ = "child_profile"
    __table_args__ = (
        CheckConstraint(
            "(consent_on IS NULL) = (consent_method IS NULL)"
            " AND (consent_on IS NULL) = (consent_by_id IS NULL)",
            name="consent_complete",
        ),
        *coordinate_checks(),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), primary_key=True)
    referral_source: Mapped[ReferralSource] = mapped_column(str_enum(ReferralSource, "referral_source"))
    needs: Mapped[list[str]] = mapped_column(JSON)
    consent_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="RESTRICT"), default=None
    )
    consent_on: Mapped[date | None] = mapped_column(default=None)
    consent_method: Mapped[ConsentMethod | None] = mapped_column(
        str_enum(ConsentMethod, "consent_method"), default=None
    )
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)


class MotherProfile(CreatedAt, Base):
    """What a caring mother offers in one programme, and how many children she can take."""

    __tablename__ = "mother_profile"
    __table_args__ = (
        UniqueConstraint("user_id", "programme_id"),
        CheckConstraint("capacity >= 1 AND capacity <= 10", name="capacity_range"),
        *coordinate_checks(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    offers: Mapped[list[str]] = mapped_column(JSON)
    # Free words for what she brings: "围棋社", "心理咨询师" (shown to the social worker matching).
    skills: Mapped[str] = mapped_column(String(200), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)


class ChecklistItem(CreatedAt, Base):
    """One of the programme's suggestions for what a mother does on a visit (staff keep the list)."""

    __tablename__ = "visit_checklist_item"
    __table_args__ = (UniqueConstraint("programme_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"), index=True)
    need_area: Mapped[NeedArea] = mapped_column(str_enum(NeedArea, "need_area"))
    label: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


class Visit(ReviewMarks, CreatedAt, Base):
    __tablename__ = "visit"
    __table_args__ = (
        CheckConstraint("duration_minutes >= 5 AND duration_minutes <= 720", name="duration_range"),
        CheckConstraint("version >= 1", name="version_positive"),
        Index(None, "pairing_id", "visited_at"),
        Index(None, "child_id", "visited_at"),
        Index(None, "programme_id", "status"),
        # Covering what the queue filters and orders on (migration 0012).
        Index(
            "ix_visit_pending_child",
            "child_id",
            "programme_id",
            "mother_id",
            "submitted_at",
            "sampled_at",
            sqlite_where=text("status = 'pending' AND superseded_at IS NULL"),
            postgresql_where=text("status = 'pending' AND superseded_at IS NULL"),
        ),
        # The queue's order read straight from the index (migration 0014).
        Index(
            "ix_visit_pending_order",
            "flagged",
            "submitted_at",
            "id",
            "child_id",
            "programme_id",
            "mother_id",
            sqlite_where=text("status = 'pending' AND superseded_at IS NULL"),
            postgresql_where=text("status = 'pending' AND superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Named by the phone; the same UUID is the same visit, whoever sends it (house rule 6).
    client_uuid: Mapped[uuid.UUID] = mapped_column(Uuid(), unique=True)
    pairing_id: Mapped[int] = mapped_column(ForeignKey("pairing.id", ondelete="RESTRICT"))
    # Copied from the pairing so scoping needs no join.
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    child_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    mother_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    visited_at: Mapped[datetime]
    duration_minutes: Mapped[int] = mapped_column(Integer)
    need_areas: Mapped[list[str]] = mapped_column(JSON)
    # The checklist items' words as they were when sent (staff may reword the list later).
    checklist: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(500), default="")
    # SHA-256 of what the phone sent: a retry is compared by it.
    content_sha256: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime]
    corrected_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[VisitStatus] = mapped_column(
        str_enum(VisitStatus, "visit_status"), default=VisitStatus.PENDING
    )
    # Set by a review (issue 6): a reason code and the reviewer's words.
    reason: Mapped[str | None] = mapped_column(String(32), default=None)
    review_note: Mapped[str | None] = mapped_column(String(500), default=None)
    replaces_id: Mapped[int | None] = mapped_column(
        ForeignKey("visit.id", ondelete="RESTRICT"), unique=True, default=None
    )
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)

    pairing: Mapped[Pairing] = relationship()
    child: Mapped[Person] = relationship()
    mother: Mapped[User] = relationship(foreign_keys=[mother_id])
    photo_links: Mapped[list[VisitPhoto]] = relationship(
        order_by="VisitPhoto.position", back_populates="visit"
    )

    @property
    def photos(self) -> list[Photo]:
        return [link.photo for link in self.photo_links]

    @property
    def sent_by_id(self) -> int:  # idempotency.SentEntry
        return self.mother_id

    @property
    def sent_sha256(self) -> str:
        return self.content_sha256


class VisitPhoto(Base):
    __tablename__ = "visit_photo"
    __table_args__ = (UniqueConstraint("visit_id", "position"),)

    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="RESTRICT"), primary_key=True)
    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photo.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)

    visit: Mapped[Visit] = relationship(back_populates="photo_links")
    photo: Mapped[Photo] = relationship()


class ExitStatus(enum.StrEnum):
    REQUESTED = "requested"  # the guardian asked; the social worker recorded it
    INVESTIGATED = "investigated"  # the street office looked into it
    APPROVED = "approved"  # the district reviewed it: the pairing has ended
    REJECTED = "rejected"  # the district reviewed it: the pairing goes on


class ExitRequest(CreatedAt, Base):
    """Ending a pairing: request, investigation, review, each step by its own role and never skipped.

    One open request per pairing (the database holds that on both engines). A rejected request stays
    as it was; a new one may follow. Approval ends the pairing, whose row (and every visit) is kept.
    """

    __tablename__ = "pairing_exit"
    __table_args__ = (
        Index(
            "uq_pairing_exit_open",
            "pairing_id",
            unique=True,
            sqlite_where=text("status IN ('requested', 'investigated')"),
            postgresql_where=text("status IN ('requested', 'investigated')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pairing_id: Mapped[int] = mapped_column(ForeignKey("pairing.id", ondelete="RESTRICT"), index=True)
    status: Mapped[ExitStatus] = mapped_column(str_enum(ExitStatus, "exit_status"))
    request_note: Mapped[str] = mapped_column(String(500))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    requested_at: Mapped[datetime]
    investigation_note: Mapped[str | None] = mapped_column(String(1000), default=None)
    investigated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )
    investigated_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_note: Mapped[str | None] = mapped_column(String(1000), default=None)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )
    decided_at: Mapped[datetime | None] = mapped_column(default=None)


class MeetingLevel(enum.StrEnum):
    """Street federations meet their mothers monthly; the district meets all of them quarterly."""

    STREET_MONTHLY = "street_monthly"
    DISTRICT_QUARTERLY = "district_quarterly"


class Meeting(CreatedAt, Base):
    """A meeting of caring mothers held for one area: who came, results shared, problems raised."""

    __tablename__ = "mothers_meeting"
    __table_args__ = (
        CheckConstraint("others_count >= 0 AND others_count <= 1000", name="others_count_range"),
        # One meeting of an area a day: a form sent twice records it once.
        UniqueConstraint("programme_id", "area_id", "held_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"), index=True)
    level: Mapped[MeetingLevel] = mapped_column(str_enum(MeetingLevel, "meeting_level"))
    held_on: Mapped[date]
    # People who came besides the area's caring mothers (social workers, venue partners, guests).
    others_count: Mapped[int] = mapped_column(Integer, default=0)
    results: Mapped[str] = mapped_column(String(2000), default="")
    problems: Mapped[str] = mapped_column(String(2000), default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))

    area: Mapped[Area] = relationship()
    attendees: Mapped[list[MeetingAttendee]] = relationship(back_populates="meeting")


class MeetingAttendee(Base):
    """A caring mother of the meeting's area who came."""

    __tablename__ = "mothers_meeting_attendee"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("mothers_meeting.id", ondelete="RESTRICT"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), primary_key=True, index=True
    )

    meeting: Mapped[Meeting] = relationship(back_populates="attendees")
    user: Mapped[User] = relationship()

"""Case work: a household or person a programme serves over time, from a need to a closed case.

The core is shared by the social-work-station scheme (orders, home assessment, service packages) and,
later, the pillar-mother scheme: a programme defines its assessment dimensions and its service
packages; a case is assessed at home (re-assessments keep the earlier ones), gets a plan (goals per
dimension, service items with who delivers them and how often), logs service deliveries from the phone
(reviewed in the shared review queue, like visits and meals) and is closed with an outcome per goal.

A station is an area of a social-work-station programme with its social workers: an order lands in
the queue of the station (area) it was made to; the workers of that area (or above it) take it.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
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
from backend.people.models import Area, Person, User, str_enum

MAX_PHOTOS = 6
# An untaken order shows as overdue to the station's staff after this many hours, unless the programme
# sets its own (Programme.order_due_hours).
DEFAULT_ORDER_DUE_HOURS = 48


class CaseStatus(enum.StrEnum):
    """A case's stage. `requested` is a case opened without a lead (staff, or an import) that a worker
    accepts; a taken order or a worker's own case starts at `accepted`."""

    REQUESTED = "requested"
    ACCEPTED = "accepted"
    ASSESSED = "assessed"
    PLANNED = "planned"
    IN_SERVICE = "in_service"
    CLOSED = "closed"


class CloseReason(enum.StrEnum):
    GOALS_MET = "goals_met"
    MOVED_AWAY = "moved_away"
    DECLINED = "declined"  # the household no longer wants the service
    REFERRED = "referred"  # handed to another service or department
    DIED = "died"
    NOT_ELIGIBLE = "not_eligible"
    OTHER = "other"


class GoalOutcome(enum.StrEnum):
    MET = "met"
    PARTLY = "partly"
    NOT_MET = "not_met"


class DelivererKind(enum.StrEnum):
    WORKER = "worker"
    VOLUNTEER = "volunteer"
    PARTNER = "partner"  # a partner organisation, by name


class Frequency(enum.StrEnum):
    ONCE = "once"
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    NEEDS_FIX = "needs_fix"
    REJECTED = "rejected"


class OrderSource(enum.StrEnum):
    """Who "ordered" the need: a resident on the public page, a hardship scout, or a worker on behalf of
    a referrer (a school, a hospital, a community committee, another department)."""

    RESIDENT = "resident"
    SCOUT = "scout"
    REFERRER = "referrer"


class ReferrerKind(enum.StrEnum):
    SCHOOL = "school"
    HOSPITAL = "hospital"
    COMMUNITY_COMMITTEE = "community_committee"
    DEPARTMENT = "department"
    OTHER = "other"


class OrderCategory(enum.StrEnum):
    MINORS = "minors"
    ELDERLY = "elderly"
    DISABILITY = "disability"
    LIVING = "living"  # living hardship: food, housing, bills
    HEALTH = "health"
    OTHER = "other"


class OrderStatus(enum.StrEnum):
    OPEN = "open"  # in a station's queue, untaken
    TAKEN = "taken"  # a worker took it: it became a case
    CLOSED = "closed"  # closed without a case (a duplicate, not a need the station serves), with a note


class CaseDimension(CreatedAt, Base):
    """One of the programme's assessment dimensions (stations: physical health, psychological, social
    relations, living conditions, employment and income, education). Staff keep the list; a retired
    dimension stays on the assessments and goals that used it."""

    __tablename__ = "case_dimension"
    __table_args__ = (UniqueConstraint("programme_id", "code"), UniqueConstraint("programme_id", "label"))

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


class ServicePackage(CreatedAt, Base):
    """A package of services the programme offers (stations: minors' growth, elderly care, disability
    support, resource linking). Staff edit packages and their items as they edit the visit checklist."""

    __tablename__ = "service_package"
    __table_args__ = (UniqueConstraint("programme_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)

    items: Mapped[list[ServiceItem]] = relationship(back_populates="package", order_by="ServiceItem.position")


class ServiceItem(CreatedAt, Base):
    __tablename__ = "service_item"
    __table_args__ = (UniqueConstraint("package_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("service_package.id", ondelete="RESTRICT"), index=True)
    # Copied from the package so scoping needs no join.
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    label: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)
    # What a delivery of this item counts as in the figures (pillar mothers: a training, a job found, a
    # counselling session ...; see pillar/defaults.py), whatever staff call it; None counts as a service.
    measure: Mapped[str | None] = mapped_column(String(32), default=None)

    package: Mapped[ServicePackage] = relationship(back_populates="items")


class CaseOrder(CreatedAt, Base):
    """A need "ordered" to a station. `contact` and `description` are the requester's words: only the
    station's workers (and the programme's staff) read them; a scout sees the status of her own reports
    only. A public request has no reporter; its client UUID (from the form) makes a re-send one row."""

    __tablename__ = "case_order"
    __table_args__ = (
        CheckConstraint(
            "(source = 'referrer') = (referrer_kind IS NOT NULL)", name="referrer_kind_iff_referrer"
        ),
        CheckConstraint("(status = 'taken') = (taken_by_id IS NOT NULL)", name="taken_iff_taker"),
        CheckConstraint("(status = 'taken') = (taken_at IS NOT NULL)", name="taken_iff_time"),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_iff_time"),
        # A station's queue: its open orders, oldest first.
        Index("ix_case_order_queue", "station_area_id", "status", "created_at", "id"),
        Index(None, "reported_by_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[uuid.UUID | None] = mapped_column(Uuid(), unique=True, default=None)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"), index=True)
    # The station (an area of the programme) whose queue the order is in; a pass-on moves it.
    station_area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"))
    # Where the household lives (the station's area or one beneath it), when known.
    household_area_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="RESTRICT"), default=None
    )
    source: Mapped[OrderSource] = mapped_column(str_enum(OrderSource, "order_source"))
    referrer_kind: Mapped[ReferrerKind | None] = mapped_column(
        str_enum(ReferrerKind, "referrer_kind"), default=None
    )
    referrer_name: Mapped[str | None] = mapped_column(String(100), default=None)
    category: Mapped[OrderCategory] = mapped_column(str_enum(OrderCategory, "order_category"))
    description: Mapped[str] = mapped_column(String(500))
    # A way to reach the household or the requester (a phone number, "ask at the committee").
    contact: Mapped[str] = mapped_column(String(100), default="")
    # The scout or worker who made it; NULL for a resident's public request.
    reported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photo.id", ondelete="RESTRICT"), default=None)
    status: Mapped[OrderStatus] = mapped_column(
        str_enum(OrderStatus, "order_status"), default=OrderStatus.OPEN
    )
    taken_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )
    taken_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )
    close_note: Mapped[str | None] = mapped_column(String(500), default=None)

    station: Mapped[Area] = relationship(foreign_keys=[station_area_id])
    household_area: Mapped[Area | None] = relationship(foreign_keys=[household_area_id])
    photo: Mapped[Photo | None] = relationship()


class OrderPass(CreatedAt, Base):
    """An order passed on from one station to another, with the reason (its history stays)."""

    __tablename__ = "case_order_pass"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("case_order.id", ondelete="RESTRICT"), index=True)
    from_area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"))
    to_area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"))
    passed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(String(300))


class Case(CreatedAt, Base):
    """One household or person served by a programme, with a lead social worker and a stage."""

    __tablename__ = "case_file"
    __table_args__ = (
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_iff_time"),
        CheckConstraint("(status = 'closed') = (close_reason IS NOT NULL)", name="closed_iff_reason"),
        CheckConstraint("status = 'requested' OR lead_worker_id IS NOT NULL", name="lead_unless_requested"),
        # A worker's case list and a station's: by area or lead, newest activity first.
        Index("ix_case_file_area", "area_id", "status", "opened_at", "id"),
        Index("ix_case_file_lead", "lead_worker_id", "status", "opened_at", "id"),
        Index(None, "programme_id", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    # The station (area) the case belongs to; scoping for workers is by this area and below.
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), index=True)
    # The order the case came from, if any: one case per order.
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_order.id", ondelete="RESTRICT"), unique=True, default=None
    )
    lead_worker_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus, "case_status"))
    opened_at: Mapped[datetime]
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    close_reason: Mapped[CloseReason | None] = mapped_column(
        str_enum(CloseReason, "case_close_reason"), default=None
    )
    close_note: Mapped[str | None] = mapped_column(String(500), default=None)

    person: Mapped[Person] = relationship()
    area: Mapped[Area] = relationship()
    lead_worker: Mapped[User | None] = relationship(foreign_keys=[lead_worker_id])
    order: Mapped[CaseOrder | None] = relationship()


class CaseStatusChange(Base):
    """A case's history: every change of stage, by whom, when and why (the audit chain has it too)."""

    __tablename__ = "case_status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id", ondelete="RESTRICT"), index=True)
    from_status: Mapped[CaseStatus | None] = mapped_column(
        str_enum(CaseStatus, "case_status_from"), default=None
    )
    to_status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus, "case_status_to"))
    at: Mapped[datetime]
    by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    reason: Mapped[str | None] = mapped_column(String(32), default=None)
    note: Mapped[str | None] = mapped_column(String(500), default=None)


class Assessment(CreatedAt, Base):
    """A home assessment of a case on a day: a rating and note per dimension, up to six photos. A
    re-assessment is a new row; earlier ones stay."""

    __tablename__ = "case_assessment"
    __table_args__ = (Index(None, "case_id", "assessed_on"), Index(None, "programme_id", "assessed_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[uuid.UUID | None] = mapped_column(Uuid(), unique=True, default=None)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id", ondelete="RESTRICT"))
    # Copied from the case so scoping and figures need no join.
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    assessed_on: Mapped[date]
    assessed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    note: Mapped[str] = mapped_column(String(1000), default="")
    # SHA-256 of what the form said (day, ratings, notes): a re-sent form with other words is a 409.
    content_sha256: Mapped[str | None] = mapped_column(String(64), default=None)

    ratings: Mapped[list[AssessmentRating]] = relationship(back_populates="assessment")
    photo_links: Mapped[list[AssessmentPhoto]] = relationship(order_by="AssessmentPhoto.position")

    @property
    def photos(self) -> list[Photo]:
        return [link.photo for link in self.photo_links]


class AssessmentRating(Base):
    """1 (serious need) to 5 (no need) on one dimension, with a note."""

    __tablename__ = "case_assessment_rating"
    __table_args__ = (CheckConstraint("rating >= 1 AND rating <= 5", name="rating_range"),)

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("case_assessment.id", ondelete="RESTRICT"), primary_key=True
    )
    dimension_id: Mapped[int] = mapped_column(
        ForeignKey("case_dimension.id", ondelete="RESTRICT"), primary_key=True
    )
    rating: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(500), default="")

    assessment: Mapped[Assessment] = relationship(back_populates="ratings")
    dimension: Mapped[CaseDimension] = relationship()


class AssessmentPhoto(Base):
    __tablename__ = "case_assessment_photo"
    __table_args__ = (UniqueConstraint("assessment_id", "position"),)

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("case_assessment.id", ondelete="RESTRICT"), primary_key=True
    )
    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photo.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)

    photo: Mapped[Photo] = relationship()


class Goal(CreatedAt, Base):
    """A goal of the case's plan on one dimension; its outcome is recorded when the case closes."""

    __tablename__ = "case_goal"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id", ondelete="RESTRICT"), index=True)
    dimension_id: Mapped[int] = mapped_column(ForeignKey("case_dimension.id", ondelete="RESTRICT"))
    text: Mapped[str] = mapped_column(String(300))
    set_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    outcome: Mapped[GoalOutcome | None] = mapped_column(str_enum(GoalOutcome, "goal_outcome"), default=None)
    outcome_note: Mapped[str | None] = mapped_column(String(300), default=None)
    outcome_at: Mapped[datetime | None] = mapped_column(default=None)
    # A goal dropped from the plan before the case closed (kept, not counted).
    retired_at: Mapped[datetime | None] = mapped_column(default=None)

    dimension: Mapped[CaseDimension] = relationship()


class PlanItem(CreatedAt, Base):
    """A service item of the plan: from one of the programme's packages, who delivers it (the worker, a
    volunteer, a partner organisation by name) and how often."""

    __tablename__ = "case_plan_item"
    __table_args__ = (
        CheckConstraint(
            "deliverer_kind = 'partner' OR deliverer_name IS NOT NULL OR deliverer_user_id IS NOT NULL",
            name="deliverer_named",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id", ondelete="RESTRICT"), index=True)
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_item.id", ondelete="RESTRICT"))
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("case_goal.id", ondelete="RESTRICT"), default=None)
    deliverer_kind: Mapped[DelivererKind] = mapped_column(str_enum(DelivererKind, "deliverer_kind"))
    deliverer_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )
    # A volunteer's or partner organisation's name (a partner always has one).
    deliverer_name: Mapped[str | None] = mapped_column(String(100), default=None)
    frequency: Mapped[Frequency] = mapped_column(str_enum(Frequency, "plan_frequency"))
    added_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    ended_at: Mapped[datetime | None] = mapped_column(default=None)

    service_item: Mapped[ServiceItem] = relationship()
    goal: Mapped[Goal | None] = relationship()


class Delivery(ReviewMarks, CreatedAt, Base):
    """One service delivered under a plan item: sent from the phone (idempotent PUT and the offline
    outbox, like visits), reviewed in the shared queue with the same send-back loop. A fix after "needs
    fix" is a new row that `replaces_id` the old one, whose `superseded_at` is then set."""

    __tablename__ = "service_delivery"
    __table_args__ = (
        CheckConstraint("minutes >= 5 AND minutes <= 720", name="minutes_range"),
        CheckConstraint("people_count >= 1 AND people_count <= 500", name="people_count_range"),
        CheckConstraint("version >= 1", name="version_positive"),
        Index(None, "case_id", "delivered_on"),
        # Covering what the period figures read of a delivery (cases/figures.py), so counting a
        # province's quarter reads the index alone (bench/cases.py, SQLite: 2.5 -> 0.76 s); it serves
        # every look-up by programme and day as well.
        Index(
            "ix_service_delivery_figures",
            "programme_id",
            "delivered_on",
            "status",
            "area_id",
            "plan_item_id",
            "people_count",
            "at_home",
            "superseded_at",
        ),
        # The queue's order read straight from the index, as for visits (migration 0014).
        Index(
            "ix_service_delivery_pending_order",
            "flagged",
            "submitted_at",
            "id",
            "area_id",
            "programme_id",
            "submitted_by_id",
            sqlite_where=text("status = 'pending' AND superseded_at IS NULL"),
            postgresql_where=text("status = 'pending' AND superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[uuid.UUID] = mapped_column(Uuid(), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id", ondelete="RESTRICT"))
    plan_item_id: Mapped[int] = mapped_column(
        ForeignKey("case_plan_item.id", ondelete="RESTRICT"), index=True
    )
    # Copied from the case so scoping needs no join.
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    submitted_by_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), index=True
    )
    delivered_on: Mapped[date]
    minutes: Mapped[int] = mapped_column(Integer)
    # Who delivered it, in words, when not the sender (a volunteer, a partner organisation).
    delivered_by: Mapped[str] = mapped_column(String(100), default="")
    # Person-times: how many people of the household this delivery served.
    people_count: Mapped[int] = mapped_column(Integer, default=1)
    at_home: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(String(500), default="")
    content_sha256: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    reason: Mapped[str | None] = mapped_column(String(32), default=None)
    review_note: Mapped[str | None] = mapped_column(String(500), default=None)
    replaces_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_delivery.id", ondelete="RESTRICT"), unique=True, default=None
    )
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)

    case: Mapped[Case] = relationship()
    plan_item: Mapped[PlanItem] = relationship()
    person: Mapped[Person] = relationship()
    submitter: Mapped[User] = relationship(foreign_keys=[submitted_by_id])
    photo_links: Mapped[list[DeliveryPhoto]] = relationship(
        order_by="DeliveryPhoto.position", back_populates="delivery"
    )

    @property
    def photos(self) -> list[Photo]:
        return [link.photo for link in self.photo_links]

    @property
    def sent_by_id(self) -> int:  # idempotency.SentEntry
        return self.submitted_by_id

    @property
    def sent_sha256(self) -> str:
        return self.content_sha256


class DeliveryPhoto(Base):
    __tablename__ = "service_delivery_photo"
    __table_args__ = (UniqueConstraint("delivery_id", "position"),)

    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("service_delivery.id", ondelete="RESTRICT"), primary_key=True
    )
    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photo.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)

    delivery: Mapped[Delivery] = relationship(back_populates="photo_links")
    photo: Mapped[Photo] = relationship()

"""Pillar mothers (顶梁柱母亲), "1 + 3 + 1": a mother who carries a household alone, her file, her
support group, the agencies paid to serve her and the staged money they are paid.

Built on the case-work core (cases/): a mother's file is a case of a `pillar_mothers` programme, so her
plan (goals per dimension, services from packages), the services delivered to her (reviewed in the
shared queue) and the figures share the core's tables. What is the scheme's own lives here:
- `PillarFile`: the case's pillar part: the mother as a user (she signs in), the delivering agency, the
  group's contact interval. Why she qualifies is kept as numbered versions (`ProfileVersion`): the file
  is kept up to date and every change keeps its history; so are her needs per dimension (`Need`, one
  dated row per change, the latest is the current one).
- `GroupMember`: the "1 + 3 + 1" group: one federation cadre, three volunteers and the mother herself,
  each a user with a membership in the programme; a member who leaves keeps her row with `ended_at`.
- `Contact`: a group member's contact with the mother (at home, by phone, online), from the phone and
  its outbox (idempotent by client UUID, like visits).
- `Agency`, `AgencyWorker`, `Contract`, `ContractStage`: who delivers, supervises and evaluates, and each
  delivering agency's budget in fen split into stages; `Supervision` sessions; `Evaluation` at mid-term
  and at the end against the programme's `Criterion` list, with a financial audit. A stage's money is
  released in settlement/ (`ContractRelease`) only when its evaluation passed, by another staff member.
- `SurveyResponse`: the mother's satisfaction at mid-term and at the end (her phone, or her paper
  answers recorded by a worker), one per round.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
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

from backend.cases.models import Case, CaseDimension
from backend.db import Base, CreatedAt
from backend.evidence.models import Photo
from backend.people.models import Area, User, str_enum

# How often the group should be in touch with the mother unless the file says otherwise.
DEFAULT_CONTACT_INTERVAL_DAYS = 14
GROUP_VOLUNTEERS = 3


class Qualification(enum.StrEnum):
    """Why she qualifies as a pillar mother (she carries the household alone)."""

    DIVORCED = "divorced"
    WIDOWED = "widowed"
    HUSBAND_UNABLE = "husband_unable"  # her husband cannot work (illness, disability, prison)
    OTHER = "other"  # with a note


class GroupRole(enum.StrEnum):
    CADRE = "cadre"  # the federation cadre (妇联干部) who leads the group
    VOLUNTEER = "volunteer"
    MOTHER = "mother"


class ContactChannel(enum.StrEnum):
    HOME = "home"
    PHONE = "phone"
    ONLINE = "online"


class AgencyRole(enum.StrEnum):
    DELIVERING = "delivering"  # the social-work agency that serves the mothers
    SUPERVISING = "supervising"
    EVALUATING = "evaluating"


class Round(enum.StrEnum):
    """The two points at which an agency's work is judged, and the mothers asked."""

    MID_TERM = "mid_term"
    FINAL = "final"


class SupervisionFormat(enum.StrEnum):
    GROUP = "group"
    ONE_TO_ONE = "one_to_one"


class SupervisionMode(enum.StrEnum):
    ONLINE = "online"
    IN_PERSON = "in_person"


class CriterionSource(enum.StrEnum):
    MANUAL = "manual"  # the evaluator's score
    SATISFACTION = "satisfaction"  # computed from the round's survey answers


class PillarFile(CreatedAt, Base):
    """The pillar part of a mother's case ("one person, one file"): one per case."""

    __tablename__ = "pillar_file"
    __table_args__ = (
        CheckConstraint(
            "contact_interval_days >= 1 AND contact_interval_days <= 180", name="contact_interval_range"
        ),
        Index(None, "programme_id", "area_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id", ondelete="RESTRICT"), unique=True)
    # Copied from the case so scoping needs no join.
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"))
    # The mother as a user, once she has an account (she answers the survey and sees her plan).
    mother_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None, index=True
    )
    # The delivering agency serving her; its workers on the programme see her file.
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("pillar_agency.id", ondelete="RESTRICT"), default=None, index=True
    )
    contact_interval_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_CONTACT_INTERVAL_DAYS)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )

    case: Mapped[Case] = relationship()
    area: Mapped[Area] = relationship()
    mother_user: Mapped[User | None] = relationship(foreign_keys=[mother_user_id])
    agency: Mapped[Agency | None] = relationship()
    members: Mapped[list[GroupMember]] = relationship(back_populates="file", order_by="GroupMember.id")


class ProfileVersion(Base):
    """Why she qualifies and what the household is, as it stood from `recorded_at` on: version 1 at
    screening, one more at every change (the newest is the file's current state)."""

    __tablename__ = "pillar_profile_version"
    __table_args__ = (
        UniqueConstraint("file_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("qualification <> 'other' OR qualification_note IS NOT NULL", name="other_has_note"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("pillar_file.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column(Integer)
    qualification: Mapped[Qualification] = mapped_column(str_enum(Qualification, "pillar_qualification"))
    qualification_note: Mapped[str | None] = mapped_column(String(300), default=None)
    # The household in words beyond the children's rows (income, housing, who else lives there).
    household_note: Mapped[str] = mapped_column(String(500), default="")
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )

    recorded_by: Mapped[User | None] = relationship()


class Need(Base):
    """Her need on one of the five dimensions as noted on a day: a level from 1 (serious need) to 5 (no
    need) and the words. A change is a new row; the latest per dimension is the current need."""

    __tablename__ = "pillar_need"
    __table_args__ = (
        CheckConstraint("level >= 1 AND level <= 5", name="level_range"),
        Index(None, "file_id", "dimension_id", "noted_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("pillar_file.id", ondelete="RESTRICT"))
    dimension_id: Mapped[int] = mapped_column(ForeignKey("case_dimension.id", ondelete="RESTRICT"))
    noted_on: Mapped[date]
    level: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(500), default="")
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )

    dimension: Mapped[CaseDimension] = relationship()
    recorded_by: Mapped[User | None] = relationship()


class GroupMember(Base):
    """A member of a mother's "1 + 3 + 1" group. At most one active cadre, three active volunteers and
    the mother (the service checks; the partial unique index keeps one active row per person)."""

    __tablename__ = "pillar_group_member"
    __table_args__ = (
        Index(
            "uq_pillar_group_member_active",
            "file_id",
            "user_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index(None, "user_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("pillar_file.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    role: Mapped[GroupRole] = mapped_column(str_enum(GroupRole, "pillar_group_role"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    added_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )

    file: Mapped[PillarFile] = relationship(back_populates="members")
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class Contact(CreatedAt, Base):
    """One contact of a group member with the mother, sent from the phone (idempotent by client UUID:
    the same content again is the same row; other content under the same UUID is a 409)."""

    __tablename__ = "pillar_contact"
    __table_args__ = (
        CheckConstraint("minutes >= 1 AND minutes <= 600", name="minutes_range"),
        Index(None, "file_id", "contacted_on"),
        Index(None, "programme_id", "contacted_on", "area_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[uuid.UUID] = mapped_column(Uuid(), unique=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("pillar_file.id", ondelete="RESTRICT"))
    # Copied from the file so scoping and figures need no join.
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"))
    by_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    contacted_on: Mapped[date]
    channel: Mapped[ContactChannel] = mapped_column(str_enum(ContactChannel, "pillar_contact_channel"))
    minutes: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(500), default="")
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photo.id", ondelete="RESTRICT"), default=None)
    content_sha256: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime]

    file: Mapped[PillarFile] = relationship()
    by_user: Mapped[User] = relationship()
    photo: Mapped[Photo | None] = relationship()

    @property
    def sent_by_id(self) -> int:  # idempotency.SentEntry
        return self.by_user_id

    @property
    def sent_sha256(self) -> str:
        return self.content_sha256


class Agency(CreatedAt, Base):
    """A social-work agency the programme works with, in one role."""

    __tablename__ = "pillar_agency"
    __table_args__ = (UniqueConstraint("programme_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[AgencyRole] = mapped_column(str_enum(AgencyRole, "pillar_agency_role"))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


class AgencyWorker(Base):
    """A social worker of the programme working for a delivering agency: she sees and serves the files
    of that agency's mothers. Ending it ends that access."""

    __tablename__ = "pillar_agency_worker"
    __table_args__ = (
        Index(
            "uq_pillar_agency_worker_active",
            "agency_id",
            "user_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index(None, "user_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("pillar_agency.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)

    agency: Mapped[Agency] = relationship()
    user: Mapped[User] = relationship()


class Contract(CreatedAt, Base):
    """A delivering agency's contract: a budget in fen, split into stages whose sum is the budget; an
    evaluation passes at `pass_mark_pct` of the criteria's points with a passed financial audit."""

    __tablename__ = "pillar_contract"
    __table_args__ = (
        CheckConstraint("budget_fen > 0", name="budget_positive"),
        CheckConstraint("pass_mark_pct >= 1 AND pass_mark_pct <= 100", name="pass_mark_range"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        UniqueConstraint("programme_id", "title"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("pillar_agency.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(150))
    budget_fen: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    pass_mark_pct: Mapped[int] = mapped_column(Integer, default=60)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )

    agency: Mapped[Agency] = relationship()
    stages: Mapped[list[ContractStage]] = relationship(
        back_populates="contract", order_by="ContractStage.position"
    )


class ContractStage(Base):
    """A stage of a contract's money. A stage with an evaluation round is released only when that
    round's latest evaluation passed; one without (an advance on signing) by a second staff member."""

    __tablename__ = "pillar_contract_stage"
    __table_args__ = (
        UniqueConstraint("contract_id", "position"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("pillar_contract.id", ondelete="RESTRICT"))
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(60))
    amount_fen: Mapped[int] = mapped_column(Integer)
    round: Mapped[Round | None] = mapped_column(str_enum(Round, "pillar_stage_round"), default=None)

    contract: Mapped[Contract] = relationship(back_populates="stages")


class Supervision(CreatedAt, Base):
    """A supervision session of a contract's workers by the supervising agency."""

    __tablename__ = "pillar_supervision"
    __table_args__ = (
        CheckConstraint("minutes >= 10 AND minutes <= 600", name="minutes_range"),
        CheckConstraint("attendees >= 1 AND attendees <= 500", name="attendees_range"),
        Index(None, "contract_id", "held_on"),
        Index(None, "programme_id", "held_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("pillar_contract.id", ondelete="RESTRICT"))
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    supervisor_agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("pillar_agency.id", ondelete="RESTRICT"), default=None
    )
    held_on: Mapped[date]
    format: Mapped[SupervisionFormat] = mapped_column(
        str_enum(SupervisionFormat, "pillar_supervision_format")
    )
    mode: Mapped[SupervisionMode] = mapped_column(str_enum(SupervisionMode, "pillar_supervision_mode"))
    minutes: Mapped[int] = mapped_column(Integer)
    attendees: Mapped[int] = mapped_column(Integer, default=1)
    note: Mapped[str] = mapped_column(String(500), default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))


class Criterion(CreatedAt, Base):
    """A criterion the programme scores its agencies on, out of `max_score` points. A `satisfaction`
    criterion is scored from the round's survey answers, not by hand."""

    __tablename__ = "pillar_criterion"
    __table_args__ = (
        UniqueConstraint("programme_id", "label"),
        CheckConstraint("max_score >= 1 AND max_score <= 100", name="max_score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"), index=True)
    label: Mapped[str] = mapped_column(String(80))
    max_score: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    source: Mapped[CriterionSource] = mapped_column(
        str_enum(CriterionSource, "pillar_criterion_source"), default=CriterionSource.MANUAL
    )
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


class Evaluation(CreatedAt, Base):
    """A mid-term or final evaluation of a contract: scores per criterion, a financial audit result and
    whether it passed (at the contract's pass mark and with the audit passed), as recorded; a later
    evaluation of the same round replaces it for releasing money, both stay."""

    __tablename__ = "pillar_evaluation"
    __table_args__ = (
        CheckConstraint("total_score >= 0 AND total_score <= max_total", name="total_range"),
        Index(None, "contract_id", "round", "id"),
        Index(None, "programme_id", "evaluated_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("pillar_contract.id", ondelete="RESTRICT"))
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    round: Mapped[Round] = mapped_column(str_enum(Round, "pillar_evaluation_round"))
    evaluated_on: Mapped[date]
    evaluator_agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("pillar_agency.id", ondelete="RESTRICT"), default=None
    )
    total_score: Mapped[int] = mapped_column(Integer)
    max_total: Mapped[int] = mapped_column(Integer)
    audit_passed: Mapped[bool] = mapped_column(Boolean)
    audit_note: Mapped[str] = mapped_column(String(500), default="")
    passed: Mapped[bool] = mapped_column(Boolean)
    # The survey as it stood when the evaluation was recorded: answers counted and their mean (x100).
    survey_count: Mapped[int] = mapped_column(Integer, default=0)
    satisfaction_x100: Mapped[int | None] = mapped_column(Integer, default=None)
    note: Mapped[str] = mapped_column(String(1000), default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))

    scores: Mapped[list[EvaluationScore]] = relationship(back_populates="evaluation")
    recorded_by: Mapped[User] = relationship()


class EvaluationScore(Base):
    __tablename__ = "pillar_evaluation_score"
    __table_args__ = (CheckConstraint("score >= 0", name="score_non_negative"),)

    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("pillar_evaluation.id", ondelete="RESTRICT"), primary_key=True
    )
    criterion_id: Mapped[int] = mapped_column(
        ForeignKey("pillar_criterion.id", ondelete="RESTRICT"), primary_key=True
    )
    score: Mapped[int] = mapped_column(Integer)

    evaluation: Mapped[Evaluation] = relationship(back_populates="scores")
    criterion: Mapped[Criterion] = relationship()


class SurveyResponse(CreatedAt, Base):
    """A mother's answers to the satisfaction survey of a round, each 1 (very unsatisfied) to 5 (very
    satisfied): on her phone, or her paper answers recorded by a worker (`on_paper`). One per round."""

    __tablename__ = "pillar_survey_response"
    __table_args__ = (
        UniqueConstraint("file_id", "round"),
        CheckConstraint(
            "q_overall BETWEEN 1 AND 5 AND q_group BETWEEN 1 AND 5 AND q_services BETWEEN 1 AND 5"
            " AND q_life BETWEEN 1 AND 5",
            name="answers_range",
        ),
        Index(None, "programme_id", "answered_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[uuid.UUID] = mapped_column(Uuid(), unique=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("pillar_file.id", ondelete="RESTRICT"))
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"))
    round: Mapped[Round] = mapped_column(str_enum(Round, "pillar_survey_round"))
    answered_on: Mapped[date]
    q_overall: Mapped[int] = mapped_column(Integer)  # the service as a whole
    q_group: Mapped[int] = mapped_column(Integer)  # her group's contact and support
    q_services: Mapped[int] = mapped_column(Integer)  # the trainings, counselling and help she received
    q_life: Mapped[int] = mapped_column(Integer)  # her household's life is better than before
    comment: Mapped[str] = mapped_column(String(500), default="")
    on_paper: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    content_sha256: Mapped[str] = mapped_column(String(64))

    @property
    def mean_x100(self) -> int:
        return round((self.q_overall + self.q_group + self.q_services + self.q_life) * 100 / 4)

    @property
    def sent_by_id(self) -> int:  # idempotency.SentEntry
        return self.recorded_by_id

    @property
    def sent_sha256(self) -> str:
        return self.content_sha256

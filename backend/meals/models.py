"""Neighbour meal agreements: the three-party agreement under which a neighbour is paid per meal."""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, CreatedAt
from backend.people.models import Person, User, str_enum


class AgreementStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class Agreement(CreatedAt, Base):
    __tablename__ = "meal_agreement"
    __table_args__ = (
        CheckConstraint("rate_fen > 0", name="rate_positive"),
        CheckConstraint("monthly_cap_fen >= rate_fen", name="cap_at_least_rate"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), index=True)
    neighbour_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    social_worker_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    # Money is integer fen: 1500 fen = 15 yuan a meal, 45000 fen = 450 yuan a month.
    rate_fen: Mapped[int] = mapped_column(Integer, default=1500)
    monthly_cap_fen: Mapped[int] = mapped_column(Integer, default=45000)
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    status: Mapped[AgreementStatus] = mapped_column(str_enum(AgreementStatus, "agreement_status"))

    resident: Mapped[Person] = relationship()
    neighbour: Mapped[User] = relationship(foreign_keys=[neighbour_id])

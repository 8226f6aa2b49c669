"""Caring-mother pairings: one child, one mother at a time; history is kept."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, CreatedAt, utcnow
from backend.people.models import Person, User, str_enum


class PairingStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    mother_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    status: Mapped[PairingStatus] = mapped_column(str_enum(PairingStatus, "pairing_status"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)

    child: Mapped[Person] = relationship()
    mother: Mapped[User] = relationship()

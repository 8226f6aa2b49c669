"""Photos kept as evidence: who sent which bytes, when, about whom, and what was stored for them.

A photo belongs to its uploader and, optionally, to a subject person (a child, a resident). Entries
that carry photos (visits, meal check-ins) will point at photo rows later, by id or by the client
UUID the phone gave them; the photo itself never points at an entry, so one photo table serves all.
Nothing here is ever rewritten after the upload: hashes, sizes and dimensions are facts of that moment;
only `removed_at`/`removed_reason` are set once, when retention or an erasure deletes the files.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, CreatedAt
from backend.people.models import Person, str_enum


class CaptureSource(enum.StrEnum):
    EXIF = "exif"  # DateTimeOriginal in the received file
    CLIENT = "client"  # read by the phone before it downscaled the photo (the canvas drops EXIF)
    NONE = "none"


class Photo(CreatedAt, Base):
    __tablename__ = "photo"
    __table_args__ = (
        # House rule 6: one client UUID per uploader is one photo, whatever the retries.
        UniqueConstraint("uploaded_by_id", "client_uuid"),
        # Reuse detection looks back 90 days within an area or an uploader.
        Index(None, "area_id", "created_at"),
        Index(None, "uploaded_by_id", "created_at"),
        CheckConstraint("received_bytes > 0", name="received_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[uuid.UUID] = mapped_column(Uuid(), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    subject_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="RESTRICT"), index=True
    )
    # Copied from the subject at upload, so scoping and reuse queries need no join.
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"))

    # What arrived: the evidence hash an auditor can compare with the sender's copy.
    received_sha256: Mapped[str] = mapped_column(String(64), index=True)
    received_bytes: Mapped[int] = mapped_column(Integer)
    received_format: Mapped[str] = mapped_column(String(8))
    received_width: Mapped[int] = mapped_column(Integer)
    received_height: Mapped[int] = mapped_column(Integer)
    original_kept: Mapped[bool] = mapped_column(default=False)

    # What is stored and served (re-encoded JPEG, no metadata); the keys derive from these hashes.
    display_sha256: Mapped[str] = mapped_column(String(64))
    display_bytes: Mapped[int] = mapped_column(Integer)
    display_width: Mapped[int] = mapped_column(Integer)
    display_height: Mapped[int] = mapped_column(Integer)
    thumb_sha256: Mapped[str] = mapped_column(String(64))
    thumb_bytes: Mapped[int] = mapped_column(Integer)
    thumb_width: Mapped[int] = mapped_column(Integer)
    thumb_height: Mapped[int] = mapped_column(Integer)

    # 64-bit difference hash of the display copy, stored signed to fit a BIGINT on both engines.
    phash: Mapped[int] = mapped_column(BigInteger)
    captured_at: Mapped[datetime | None] = mapped_column(default=None)
    capture_source: Mapped[CaptureSource] = mapped_column(str_enum(CaptureSource, "capture_source"))

    # Set when an earlier photo (same uploader or same area, last 90 days) looks the same.
    reuse_of_id: Mapped[int | None] = mapped_column(ForeignKey("photo.id", ondelete="SET NULL"), default=None)
    reuse_distance: Mapped[int | None] = mapped_column(Integer, default=None)

    # Set when retention or an erasure removed the files (evidence/removal.py, migration 0024). The row
    # and every hash stay: statements and the audit chain still name them.
    removed_at: Mapped[datetime | None] = mapped_column(default=None)
    removed_reason: Mapped[str | None] = mapped_column(String(16), default=None)

    subject: Mapped[Person | None] = relationship(foreign_keys=[subject_person_id])
    reuse_of: Mapped[Photo | None] = relationship(remote_side=[id])

    @property
    def sent_by_id(self) -> int:  # idempotency.SentEntry: a retry must bring the same bytes
        return self.uploaded_by_id

    @property
    def sent_sha256(self) -> str:
        return self.received_sha256

    @property
    def flags(self) -> list[str]:
        return ["possible_reuse"] if self.reuse_of_id is not None else []

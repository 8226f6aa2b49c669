"""A registry import's plan, kept between the dry run and the commit (import_service.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, CreatedAt


class ImportPlan(CreatedAt, Base):
    """The checked rows of one uploaded file and what the check decided for each. The commit checks the
    same rows again and applies them only if every decision is still the same. The rows hold names, so
    they are cleared at the commit and a plan left uncommitted is deleted after a day."""

    __tablename__ = "import_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    encoding: Mapped[str] = mapped_column(String(32))
    file_sha256: Mapped[str] = mapped_column(String(64))
    # [[line, {column: text}], ...] as read from the file, and [[line, action, [changed fields]], ...].
    rows: Mapped[list[Any]] = mapped_column(JSON)
    outcome: Mapped[list[Any]] = mapped_column(JSON)
    committed_at: Mapped[datetime | None] = mapped_column(default=None)

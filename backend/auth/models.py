"""Server-side sessions and one-time sign-in codes. Only hashes of secrets are stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, CreatedAt
from backend.people.models import User


class SignInCode(CreatedAt, Base):
    __tablename__ = "signin_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class Session(CreatedAt, Base):
    __tablename__ = "auth_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # When a request last used it (written at most every few minutes): workers' and staff's sessions
    # end after CARELOG_WORKER_IDLE_HOURS without one.
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the person last proved herself on this session (a passkey with user verification or a
    # fresh code): closing a month and approving an adjustment need it within 15 minutes.
    verified_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()


class Passkey(CreatedAt, Base):
    """A WebAuthn credential. A user may have several; revoked ones are kept for the record."""

    __tablename__ = "passkey"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    # base64url of the raw credential id, as browsers send it.
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    name: Mapped[str] = mapped_column(String(100))
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when the authenticator's counter went backwards (a cloned key?): a social worker looks at it.
    flagged_at: Mapped[datetime | None] = mapped_column(default=None)


class Ceremony(CreatedAt, Base):
    """A WebAuthn challenge, kept outside the session: single use, expiring within minutes."""

    __tablename__ = "webauthn_ceremony"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The browser holds this handle (not the challenge) between the two halves of the ceremony.
    handle_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    challenge: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class RateBucket(Base):
    """Counts failures per key and time window; shared by every app instance through the database."""

    __tablename__ = "rate_bucket"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)

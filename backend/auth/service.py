"""Sign-in codes and server-side sessions: every write is a do_* function with its audit event.

Secrets (codes and session tokens) are only ever stored as keyed hashes; the plain value exists in
the link or cookie the person holds and nowhere else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.auth import lifetime
from backend.auth.models import Session, SignInCode
from backend.auth.principal import Grant, Principal
from backend.db import read_columns, utcnow
from backend.i18n import lazy_gettext
from backend.people.models import Area, Membership, Programme, User

# Crockford's base32 without I, L, O, U: easy to read aloud and to type on a phone.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 60 bits


class SignInError(Exception):
    """The code cannot be used. One message for every reason, so a guesser learns nothing."""

    message = lazy_gettext("This sign-in code is not valid. It may have been used already or have expired.")


def keyed_hash(secret_key: str, value: str) -> str:
    return hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()


def normalise_code(raw: str) -> str:
    # NFKC folds the full-width letters and digits a Chinese keyboard may type (ＡＢ１) into ASCII.
    folded = unicodedata.normalize("NFKC", raw).upper()
    cleaned = "".join(ch for ch in folded if ch.isascii() and ch.isalnum())
    return cleaned.translate(str.maketrans("OIL", "011"))


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str
    record: SignInCode

    @property
    def display(self) -> str:
        return format_code(self.code)


async def _void_unused_codes(db: AsyncSession, user_id: int) -> int:
    """Expire the person's codes that are neither used nor expired yet; returns how many."""
    now = utcnow()
    voided = await db.execute(
        update(SignInCode)
        .where(SignInCode.user_id == user_id, SignInCode.used_at.is_(None), SignInCode.expires_at > now)
        .values(expires_at=now)
        .returning(SignInCode.id)
    )
    return len(voided.all())


async def do_void_unused_codes(db: AsyncSession, user: User, *, actor: Actor | None, reason: str) -> int:
    """A recovered account's cards not yet used stop working: whoever holds the lost phone or an old
    card cannot sign in with one. Returns how many were voided."""
    voided = await _void_unused_codes(db, user.id)
    await audit.record(
        db,
        actor=actor,
        action="signin_code.voided",
        subject=user,
        change={"reason": reason, "codes_voided": voided},
    )
    return voided


async def do_issue_code(
    db: AsyncSession, user: User, *, actor: Actor | None, secret_key: str, valid_for: timedelta
) -> IssuedCode:
    """A new card voids the person's older cards not yet used: only the latest one handed over works."""
    older = await _void_unused_codes(db, user.id)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    record = SignInCode(
        user_id=user.id,
        code_hash=keyed_hash(secret_key, code),
        issued_by_id=actor.id if actor else None,
        expires_at=utcnow() + valid_for,
    )
    db.add(record)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="signin_code.issued",
        subject=record,
        change={"user_id": user.id, "expires_at": record.expires_at.isoformat(), "codes_voided": older},
    )
    return IssuedCode(code=code, record=record)


@dataclass(frozen=True, slots=True)
class StartedSession:
    token: str
    session: Session
    user: User


async def do_redeem_code(
    db: AsyncSession, raw_code: str, *, secret_key: str, session_lifetime: timedelta
) -> StartedSession:
    code = normalise_code(raw_code)
    if len(code) != CODE_LENGTH:
        raise SignInError()
    now = utcnow()
    # The conditional UPDATE is the claim: of two concurrent redemptions only one changes a row.
    claimed = await db.execute(
        update(SignInCode)
        .where(
            SignInCode.code_hash == keyed_hash(secret_key, code),
            SignInCode.used_at.is_(None),
            SignInCode.expires_at > now,
        )
        .values(used_at=now)
        .returning(SignInCode.id, SignInCode.user_id)
    )
    row = claimed.first()
    if row is None:
        raise SignInError()
    user = await db.get(User, row.user_id)
    if user is None or not user.is_active:
        raise SignInError()
    code_record = await db.get(SignInCode, row.id)
    assert code_record is not None
    await audit.record(db, actor=user, action="signin_code.used", subject=code_record)
    return await start_session(
        db, user, method="code", lifetime=session_lifetime, secret_key=secret_key, verified=True
    )


async def start_session(
    db: AsyncSession, user: User, *, method: str, lifetime: timedelta, secret_key: str, verified: bool
) -> StartedSession:
    """`verified`: the ceremony proved the person (a one-time code, or a passkey with user
    verification), so the session starts with a fresh proof for money steps (auth/stepup.py)."""
    # A fresh token at every sign-in: an id planted before sign-in is never promoted.
    token = secrets.token_urlsafe(32)
    session = Session(
        token_hash=keyed_hash(secret_key, token),
        user_id=user.id,
        method=method,
        expires_at=utcnow() + lifetime,
        verified_at=utcnow() if verified else None,
    )
    db.add(session)
    await db.flush()
    await audit.record(db, actor=user, action="session.started", subject=session, change={"method": method})
    return StartedSession(token=token, session=session, user=user)


async def do_sign_out(db: AsyncSession, session_id: int, *, actor: Principal) -> None:
    session = await db.get(Session, session_id)
    if session is None or session.revoked_at is not None:
        return
    session.revoked_at = utcnow()
    await audit.record(db, actor=actor, action="session.ended", subject=session)


async def do_mark_verified(db: AsyncSession, *, actor: Principal, method: str) -> None:
    """She proved herself again (step-up, auth/stepup.py): the CURRENT session's proof is renewed, no
    new session starts."""
    session = await db.get(Session, actor.session_id)
    if session is None or session.user_id != actor.id or session.revoked_at is not None:
        raise SignInError()
    session.verified_at = utcnow()
    await audit.record(db, actor=actor, action="session.verified", subject=session, change={"method": method})


async def do_confirm_with_code(db: AsyncSession, raw_code: str, *, actor: Principal, secret_key: str) -> None:
    """Step-up with a fresh one-time code issued to HER: the code is used up like at sign-in, and the
    current session's proof is renewed. A code of anyone else is refused like an unknown one."""
    code = normalise_code(raw_code)
    if len(code) != CODE_LENGTH:
        raise SignInError()
    now = utcnow()
    claimed = await db.execute(
        update(SignInCode)
        .where(
            SignInCode.code_hash == keyed_hash(secret_key, code),
            SignInCode.user_id == actor.id,
            SignInCode.used_at.is_(None),
            SignInCode.expires_at > now,
        )
        .values(used_at=now)
        .returning(SignInCode.id)
    )
    code_id = claimed.scalar()
    if code_id is None:
        raise SignInError()
    code_record = await db.get(SignInCode, code_id)
    assert code_record is not None
    await audit.record(db, actor=actor, action="signin_code.used", subject=code_record)
    await do_mark_verified(db, actor=actor, method="code")


async def do_set_locale(db: AsyncSession, *, actor: Principal, locale: str) -> None:
    user = await db.get(User, actor.id)
    if user is None or user.locale == locale:
        return
    old = user.locale
    user.locale = locale
    await audit.record(
        db, actor=actor, action="user.locale_changed", subject=user, change={"locale": [old, locale]}
    )


# One query on every request: the session, its user and her current memberships (one row each, or
# one row of NULLs for a user with none). Built once at import: building it per request cost about as
# much as running it.
_PRINCIPAL = (
    select(
        Session.id,
        User.id,
        User.display_name,
        User.locale,
        User.is_admin,
        Session.verified_at,
        func.coalesce(Session.last_seen_at, Session.created_at),
        Membership.programme_id,
        Programme.name,
        Programme.kind,
        Membership.role,
        Membership.area_id,
        Area.path,
        Area.name,
    )
    .select_from(Session)
    .join(User, User.id == Session.user_id)
    .outerjoin(Membership, and_(Membership.user_id == User.id, Membership.ended_at.is_(None)))
    .outerjoin(Programme, Programme.id == Membership.programme_id)
    .outerjoin(Area, Area.id == Membership.area_id)
    .where(
        Session.token_hash == bindparam("token_hash", type_=Session.token_hash.type),
        Session.revoked_at.is_(None),
        Session.expires_at > bindparam("now", type_=Session.expires_at.type),
        User.is_active.is_(True),
    )
    .order_by(Membership.id)
)


async def load_principal(
    db: AsyncSession, token: str, *, secret_key: str, idle_after: timedelta | None = None
) -> Principal | None:
    """The user behind a session cookie, or None when the session is unknown, ended, expired or disabled,
    when she has no membership left (administrators aside), or when a worker's session has not been
    used for `idle_after` (auth/lifetime.py)."""
    if not token or len(token) > 200:
        return None
    now = utcnow()
    rows = (
        await read_columns(db, _PRINCIPAL, {"token_hash": keyed_hash(secret_key, token), "now": now})
    ).all()
    if not rows:
        return None
    session_id, user_id, display_name, locale, is_admin, verified_at, last_seen_at = rows[0][:7]
    grants = tuple(
        Grant(
            programme_id=programme_id,
            programme_name=programme_name,
            programme_kind=programme_kind,
            role=role,
            area_id=area_id,
            area_path=area_path,
            area_name=area_name,
        )
        for *_, programme_id, programme_name, programme_kind, role, area_id, area_path, area_name in rows
        if programme_id is not None
    )
    principal = Principal(
        id=user_id,
        session_id=session_id,
        display_name=display_name,
        locale=locale,
        is_admin=is_admin,
        grants=grants,
        verified_at=verified_at,
        last_seen_at=last_seen_at,
    )
    return principal if lifetime.still_valid(principal, now=now, idle_after=idle_after) else None


async def do_end_access(db: AsyncSession, user: User, *, actor: Actor | None, reason: str) -> tuple[int, int]:
    """End every session of the user and void her unused sign-in codes, at once: her account was
    deactivated or her last membership ended. Returns (sessions ended, codes voided)."""
    now = utcnow()
    sessions = await db.execute(
        update(Session)
        .where(Session.user_id == user.id, Session.revoked_at.is_(None), Session.expires_at > now)
        .values(revoked_at=now)
        .returning(Session.id)
    )
    codes = await db.execute(
        update(SignInCode)
        .where(SignInCode.user_id == user.id, SignInCode.used_at.is_(None), SignInCode.expires_at > now)
        .values(expires_at=now)
        .returning(SignInCode.id)
    )
    ended, voided = len(sessions.all()), len(codes.all())
    await audit.record(
        db,
        actor=actor,
        action="user.access_ended",
        subject=user,
        change={"reason": reason, "sessions_ended": ended, "codes_voided": voided},
    )
    return ended, voided

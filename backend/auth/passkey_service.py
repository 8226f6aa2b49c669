"""Passkey ceremonies, sessions ended on request, and account recovery. Writes are do_* functions.

Ceremony rows and rate buckets are protocol state, not records of what people did, so they carry no
audit event; everything a person does with a passkey or a session does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.auth import passkeys
from backend.auth.models import Ceremony, Passkey, Session
from backend.auth.passkeys import PasskeyError, RelyingParty
from backend.auth.principal import Principal
from backend.auth.service import StartedSession, do_mark_verified, keyed_hash, start_session
from backend.db import utcnow
from backend.people.models import User

CEREMONY_LIFETIME = timedelta(minutes=5)
REGISTER = "register"
AUTHENTICATE = "authenticate"
CONFIRM = "confirm"


@dataclass(frozen=True, slots=True)
class CeremonyStart:
    handle: str
    options_json: str


async def _new_ceremony(
    db: AsyncSession, *, purpose: str, challenge: bytes, user_id: int | None, secret_key: str
) -> str:
    handle = secrets.token_urlsafe(24)
    db.add(
        Ceremony(
            handle_hash=keyed_hash(secret_key, handle),
            purpose=purpose,
            user_id=user_id,
            challenge=challenge,
            expires_at=utcnow() + CEREMONY_LIFETIME,
        )
    )
    await db.flush()
    return handle


async def _claim_ceremony(
    db: AsyncSession, *, handle: str, purpose: str, user_id: int | None, secret_key: str
) -> bytes:
    """Single use: the conditional UPDATE marks it used; a second claim (a replay) finds nothing."""
    if not handle or len(handle) > 100:
        raise PasskeyError("missing ceremony")
    conditions = [
        Ceremony.handle_hash == keyed_hash(secret_key, handle),
        Ceremony.purpose == purpose,
        Ceremony.used_at.is_(None),
        Ceremony.expires_at > utcnow(),
    ]
    if user_id is not None:
        conditions.append(Ceremony.user_id == user_id)
    claimed = await db.execute(
        update(Ceremony).where(*conditions).values(used_at=utcnow()).returning(Ceremony.challenge)
    )
    challenge = claimed.scalar()
    if challenge is None:
        raise PasskeyError("unknown, used or expired ceremony")
    return bytes(challenge)


async def do_begin_registration(
    db: AsyncSession, *, actor: Principal, rp: RelyingParty, secret_key: str
) -> CeremonyStart:
    user = await db.get(User, actor.id)
    assert user is not None
    if user.webauthn_handle is None:
        user.webauthn_handle = secrets.token_bytes(32)
    existing = (
        await db.scalars(
            select(Passkey.credential_id).where(Passkey.user_id == user.id, Passkey.revoked_at.is_(None))
        )
    ).all()
    options, challenge = passkeys.registration_options(
        rp,
        user_handle=user.webauthn_handle,
        user_name=user.handle,
        display_name=user.display_name,
        existing=list(existing),
    )
    handle = await _new_ceremony(
        db, purpose=REGISTER, challenge=challenge, user_id=user.id, secret_key=secret_key
    )
    return CeremonyStart(handle=handle, options_json=options)


async def do_finish_registration(
    db: AsyncSession,
    *,
    actor: Principal,
    rp: RelyingParty,
    secret_key: str,
    handle: str,
    response: dict[str, Any],
    name: str,
) -> Passkey:
    challenge = await _claim_ceremony(
        db, handle=handle, purpose=REGISTER, user_id=actor.id, secret_key=secret_key
    )
    new = passkeys.verify_registration(rp, response, challenge=challenge)
    if await db.scalar(select(Passkey.id).where(Passkey.credential_id == new.credential_id)) is not None:
        raise PasskeyError("credential already registered")
    passkey = Passkey(
        user_id=actor.id,
        credential_id=new.credential_id,
        public_key=new.public_key,
        sign_count=new.sign_count,
        backed_up=new.backed_up,
        name=(name.strip() or "Passkey")[:100],
    )
    db.add(passkey)
    await db.flush()
    await audit.record(
        db, actor=actor, action="passkey.added", subject=passkey, change={"synced": new.backed_up}
    )
    return passkey


async def do_begin_authentication(db: AsyncSession, *, rp: RelyingParty, secret_key: str) -> CeremonyStart:
    options, challenge = passkeys.authentication_options(rp)
    handle = await _new_ceremony(
        db, purpose=AUTHENTICATE, challenge=challenge, user_id=None, secret_key=secret_key
    )
    return CeremonyStart(handle=handle, options_json=options)


async def _verified_passkey(
    db: AsyncSession,
    *,
    rp: RelyingParty,
    response: dict[str, Any],
    challenge: bytes,
    user_id: int | None,
) -> tuple[Passkey, User, passkeys.VerifiedAssertion]:
    """The passkey an assertion proves (of `user_id` only, when given), its counter updated.
    A counter regression is flagged before raising, so the caller must commit even on failure."""
    claim = passkeys.read_assertion(response)
    conditions = [Passkey.credential_id == claim.credential_id, Passkey.revoked_at.is_(None)]
    if user_id is not None:
        conditions.append(Passkey.user_id == user_id)
    row = (
        await db.execute(select(Passkey, User).join(User, User.id == Passkey.user_id).where(*conditions))
    ).first()
    if row is None:
        raise PasskeyError("unknown or revoked credential")
    passkey, user = row
    if not user.is_active:
        raise PasskeyError("account disabled")
    if claim.user_handle is not None and claim.user_handle != user.webauthn_handle:
        raise PasskeyError("user handle does not match the credential")
    try:
        verified = passkeys.verify_assertion(
            rp,
            response,
            challenge=challenge,
            public_key=passkey.public_key,
            stored_sign_count=passkey.sign_count,
        )
    except passkeys.CounterWentBackwards as exc:
        passkey.flagged_at = utcnow()
        await audit.record(
            db, actor=None, action="passkey.counter_regressed", subject=passkey, change={"user_id": user.id}
        )
        raise PasskeyError(exc.reason) from None
    passkey.sign_count = verified.sign_count
    passkey.last_used_at = utcnow()
    await audit.record(db, actor=user, action="passkey.used", subject=passkey)
    return passkey, user, verified


async def do_finish_authentication(
    db: AsyncSession,
    *,
    rp: RelyingParty,
    secret_key: str,
    handle: str,
    response: dict[str, Any],
    session_lifetime: timedelta,
) -> StartedSession:
    """Sign in with a passkey. Raises PasskeyError; a counter regression is flagged before raising,
    so the caller must commit even on failure (the routes return a 400 rather than raise)."""
    challenge = await _claim_ceremony(
        db, handle=handle, purpose=AUTHENTICATE, user_id=None, secret_key=secret_key
    )
    _, user, verified = await _verified_passkey(
        db, rp=rp, response=response, challenge=challenge, user_id=None
    )
    # Only a passkey with user verification proves the person (a fresh proof for money steps).
    return await start_session(
        db,
        user,
        method="passkey",
        lifetime=session_lifetime,
        secret_key=secret_key,
        verified=verified.user_verified,
    )


async def do_begin_confirmation(
    db: AsyncSession, *, actor: Principal, rp: RelyingParty, secret_key: str
) -> CeremonyStart:
    """Confirming it's her on the current session (auth/stepup.py): her own passkeys only, with user
    verification required."""
    existing = (
        await db.scalars(
            select(Passkey.credential_id).where(Passkey.user_id == actor.id, Passkey.revoked_at.is_(None))
        )
    ).all()
    if not existing:
        raise PasskeyError("no passkey to confirm with")
    options, challenge = passkeys.authentication_options(rp, require_verification=True, allow=list(existing))
    handle = await _new_ceremony(
        db, purpose=CONFIRM, challenge=challenge, user_id=actor.id, secret_key=secret_key
    )
    return CeremonyStart(handle=handle, options_json=options)


async def do_finish_confirmation(
    db: AsyncSession,
    *,
    actor: Principal,
    rp: RelyingParty,
    secret_key: str,
    handle: str,
    response: dict[str, Any],
) -> None:
    """Her passkey, with user verification, proves her again on the CURRENT session. Raises
    PasskeyError (commit even then: a counter regression is flagged)."""
    challenge = await _claim_ceremony(
        db, handle=handle, purpose=CONFIRM, user_id=actor.id, secret_key=secret_key
    )
    _, _, verified = await _verified_passkey(
        db, rp=rp, response=response, challenge=challenge, user_id=actor.id
    )
    if not verified.user_verified:
        raise PasskeyError("passkey without user verification")
    await do_mark_verified(db, actor=actor, method="passkey")


async def do_revoke_passkey(db: AsyncSession, passkey: Passkey, *, actor: Actor) -> None:
    if passkey.revoked_at is not None:
        return
    passkey.revoked_at = utcnow()
    await audit.record(
        db, actor=actor, action="passkey.revoked", subject=passkey, change={"user_id": passkey.user_id}
    )


async def do_end_sessions(db: AsyncSession, user: User, *, actor: Actor) -> int:
    """End every session of `user` (all phones), e.g. "sign out everywhere" or after a lost phone."""
    result = await db.execute(
        update(Session)
        .where(Session.user_id == user.id, Session.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(Session.id)
    )
    ended = len(result.all())
    await audit.record(db, actor=actor, action="sessions.ended_all", subject=user, change={"sessions": ended})
    return ended


async def do_recover_account(db: AsyncSession, user: User, *, actor: Actor) -> tuple[int, int]:
    """A lost phone: end all of the person's sessions and revoke all of their passkeys."""
    sessions = await do_end_sessions(db, user, actor=actor)
    keys = (
        await db.scalars(select(Passkey).where(Passkey.user_id == user.id, Passkey.revoked_at.is_(None)))
    ).all()
    for key in keys:
        await do_revoke_passkey(db, key, actor=actor)
    await audit.record(
        db,
        actor=actor,
        action="account.recovered",
        subject=user,
        change={"sessions": sessions, "passkeys": len(keys)},
    )
    return sessions, len(keys)


async def passkeys_of(db: AsyncSession, user_id: int) -> list[Passkey]:
    rows = await db.scalars(
        select(Passkey).where(Passkey.user_id == user_id, Passkey.revoked_at.is_(None)).order_by(Passkey.id)
    )
    return list(rows)


async def get_own_passkey(db: AsyncSession, user: Principal, passkey_id: int) -> Passkey | None:
    return await db.scalar(
        select(Passkey).where(
            Passkey.id == passkey_id, Passkey.user_id == user.id, Passkey.revoked_at.is_(None)
        )
    )

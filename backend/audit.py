"""Append-only, hash-chained audit events.

`record()` is called inside every write, in the same transaction, so an event exists exactly when
its change does. Each event's hash covers its content and the previous event's hash; the single
row of `audit_head` is locked while appending, which serialises appends on PostgreSQL (SQLite
writers are already serialised by BEGIN IMMEDIATE). The app never updates or deletes an event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import JSON, ForeignKey, Integer, String, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, Database, utcnow

GENESIS = "0" * 64


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), index=True
    )
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(64))
    change: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The programme the subject belongs to, for scoping the audit page to staff's own programmes.
    # Outside the hash (events written before it have none and cannot be updated); NULL: admins only.
    programme_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)


class AuditHead(Base):
    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class AuditDailyView(Base):
    """One row per viewer, action, subject and (local) day: a view is audited once a day, not per request."""

    __tablename__ = "audit_daily_view"

    actor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    action: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True, index=True)


class AuditCheckpoint(Base):
    """How far the chain has been checked (seq and its hash): the audit page checks only what came after.
    Not append-only: it is a cache of a check, and `carelog verify-audit` always checks everything."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime]


class Actor(Protocol):
    @property
    def id(self) -> int: ...


class Subject(Protocol):
    __tablename__: str

    @property
    def id(self) -> Any: ...


def event_hash(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: str,
    change: dict[str, Any],
    prev_hash: str,
) -> str:
    payload = json.dumps(
        [
            seq,
            at.isoformat(timespec="microseconds"),
            actor_id,
            action,
            subject_type,
            subject_id,
            change,
            prev_hash,
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def programme_of(subject: Subject) -> int | None:
    """The programme an event's subject belongs to: the programme itself, or its `programme_id`."""
    if subject.__tablename__ == "programme":
        return int(subject.id)
    value = getattr(subject, "programme_id", None)
    return value if isinstance(value, int) else None


async def record(
    db: AsyncSession,
    *,
    actor: Actor | None,
    action: str,
    subject: Subject,
    change: dict[str, Any] | None = None,
    programme_id: int | None = None,
) -> AuditEvent:
    """Append one event. The subject must already have its id (the caller flushes first if needed).
    `programme_id` scopes the event for the audit page; by default it comes from the subject."""
    if subject.id is None:
        await db.flush()
    head = await db.scalar(select(AuditHead).where(AuditHead.id == 1).with_for_update())
    if head is None:
        raise RuntimeError("audit_head row is missing: run `carelog migrate`")
    # The stored change is what the hash covers: normalise it through JSON once.
    clean_change = json.loads(json.dumps(change or {}, ensure_ascii=False, default=str))
    at = utcnow()
    seq = head.seq + 1
    event = AuditEvent(
        id=seq,
        at=at,
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type=subject.__tablename__,
        subject_id=str(subject.id),
        change=clean_change,
        prev_hash=head.hash,
        programme_id=programme_id if programme_id is not None else programme_of(subject),
    )
    event.hash = event_hash(
        seq=seq,
        at=at,
        actor_id=event.actor_id,
        action=action,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        change=clean_change,
        prev_hash=head.hash,
    )
    head.seq = seq
    head.hash = event.hash
    db.add(event)
    await db.flush()
    return event


async def record_many(
    db: AsyncSession,
    events: Sequence[tuple[Actor | None, str, Subject, dict[str, Any] | None]],
) -> list[str]:
    """Append (actor, action, subject, change) events in order, as many record() calls would: the same
    hash inputs, one utcnow() per event, but the head is locked and updated once and the events are
    inserted with one executemany. Every subject must already have its id. Returns the events' hashes."""
    if not events:
        return []
    if any(subject.id is None for _, _, subject, _ in events):
        await db.flush()
    head = await db.scalar(select(AuditHead).where(AuditHead.id == 1).with_for_update())
    if head is None:
        raise RuntimeError("audit_head row is missing: run `carelog migrate`")
    seq, prev_hash = head.seq, head.hash
    rows: list[dict[str, Any]] = []
    for actor, action, subject, change in events:
        clean_change = json.loads(json.dumps(change or {}, ensure_ascii=False, default=str))
        at = utcnow()
        seq += 1
        row: dict[str, Any] = {
            "id": seq,
            "at": at,
            "actor_id": actor.id if actor is not None else None,
            "action": action,
            "subject_type": subject.__tablename__,
            "subject_id": str(subject.id),
            "change": clean_change,
            "prev_hash": prev_hash,
            "programme_id": programme_of(subject),
        }
        row["hash"] = prev_hash = event_hash(
            seq=seq,
            at=at,
            actor_id=row["actor_id"],
            action=action,
            subject_type=row["subject_type"],
            subject_id=row["subject_id"],
            change=clean_change,
            prev_hash=row["prev_hash"],
        )
        rows.append(row)
    await db.execute(insert(Base.metadata.tables["audit_event"]), rows)
    # The head through the ORM, as record() does, so that a later record() in this session sees it.
    head.seq, head.hash = seq, prev_hash
    await db.flush()
    return [row["hash"] for row in rows]


@dataclass(frozen=True, slots=True)
class ChainReport:
    checked: int
    first_bad_id: int | None
    reason: str | None
    head_hash: str


async def verify_chain(
    db: AsyncSession, *, batch: int = 2000, after: tuple[int, str] | None = None
) -> ChainReport:
    """Recompute every event's hash in order; name the first event that does not match.

    `after=(seq, hash)` starts from an earlier check that ended at event `seq` with `hash` (that event's
    stored hash must still be `hash`); `checked` then counts only the events after it."""
    prev = GENESIS
    expected_id = 1
    checked = 0
    last_id = 0
    if after is not None and after[0] > 0:
        start_seq, start_hash = after
        stored = await db.scalar(select(AuditEvent.hash).where(AuditEvent.id == start_seq))
        if stored != start_hash:
            return ChainReport(0, start_seq, "an event already checked has changed", start_hash)
        prev, expected_id, last_id = start_hash, start_seq + 1, start_seq
    base = last_id
    while True:
        rows = (
            await db.scalars(
                select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
            )
        ).all()
        if not rows:
            break
        for ev in rows:
            if ev.id != expected_id:
                return ChainReport(checked, expected_id, "missing event", prev)
            if ev.prev_hash != prev:
                return ChainReport(checked, ev.id, "previous hash does not match", prev)
            computed = event_hash(
                seq=ev.id,
                at=ev.at,
                actor_id=ev.actor_id,
                action=ev.action,
                subject_type=ev.subject_type,
                subject_id=ev.subject_id,
                change=ev.change,
                prev_hash=ev.prev_hash,
            )
            if computed != ev.hash:
                return ChainReport(checked, ev.id, "content does not match its hash", prev)
            prev = ev.hash
            expected_id += 1
            checked += 1
            last_id = ev.id
    head = await db.scalar(select(AuditHead).where(AuditHead.id == 1))
    if head is not None and (head.seq != base + checked or head.hash != prev):
        return ChainReport(checked, base + checked + 1, "events after the last one are missing", prev)
    return ChainReport(checked, None, None, prev)


async def verify_since_checkpoint(database: Database) -> ChainReport:
    """Check only the events after the last good check, then move the checkpoint forward (in a short
    write transaction of its own). A full check is `verify_chain` (`carelog verify-audit`)."""
    async with database.transaction(read_only=True, long_reads=True) as db:
        mark = await db.scalar(select(AuditCheckpoint).where(AuditCheckpoint.id == 1))
        after = (mark.seq, mark.hash) if mark is not None else None
        report = await verify_chain(db, after=after)
    seq = (after[0] if after else 0) + report.checked
    if report.first_bad_id is None and report.checked:
        async with database.transaction() as db:
            moved = await db.execute(
                update(AuditCheckpoint)
                .where(AuditCheckpoint.id == 1, AuditCheckpoint.seq < seq)
                .values(seq=seq, hash=report.head_hash, checked_at=utcnow())
            )
            if after is None and not getattr(moved, "rowcount", 0):
                insert_ = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
                await db.execute(
                    insert_(AuditCheckpoint)
                    .values(id=1, seq=seq, hash=report.head_hash, checked_at=utcnow())
                    .on_conflict_do_nothing(index_elements=[AuditCheckpoint.id])
                )
    return report


async def recorded_today(db: AsyncSession, *, actor: Actor, action: str, subject: Subject, day: date) -> bool:
    """Whether `record_once_a_day` already recorded this one: a read, so that a repeated view costs no
    write transaction (and on SQLite, no write lock)."""
    found = await db.scalar(
        select(AuditDailyView.day).where(
            AuditDailyView.actor_id == actor.id,
            AuditDailyView.action == action,
            AuditDailyView.subject_type == subject.__tablename__,
            AuditDailyView.subject_id == str(subject.id),
            AuditDailyView.day == day,
        )
    )
    return found is not None


async def record_once_a_day(
    db: AsyncSession,
    *,
    actor: Actor,
    action: str,
    subject: Subject,
    day: date,
    change: dict[str, Any] | None = None,
) -> AuditEvent | None:
    """Record the event unless this actor already has one for this action, subject and day (a page of
    thumbnails, reloaded, costs one event per photo and day, not one per request)."""
    insert_ = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = await db.execute(
        insert_(AuditDailyView)
        .values(
            actor_id=actor.id,
            action=action,
            subject_type=subject.__tablename__,
            subject_id=str(subject.id),
            day=day,
        )
        .on_conflict_do_nothing()
    )
    if not getattr(result, "rowcount", 0):
        return None
    return await record(db, actor=actor, action=action, subject=subject, change=change)

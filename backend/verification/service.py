"""The one write path for review decisions (house rule 3): one entry at a time, or in bulk.

Rules: only a pending, current entry is decided, once; never by the person who submitted it; never in
a closed month (the database refuses it too, for check-ins); "needs fix" and "reject" need a reason,
and "other" needs words. Bulk approval takes only unflagged entries and holds back a random sample,
which must then be opened and decided one by one.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from litestar.exceptions import ClientException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.cases.models import Delivery, DeliveryStatus
from backend.db import utcnow
from backend.errors import Conflict, Forbidden
from backend.i18n import gettext as _
from backend.meals.models import CheckIn, CheckInStatus
from backend.people.models import Programme
from backend.settlement.models import is_month_closed, lock_period
from backend.verification.models import Decision, Entry, Reason, kind_of, submitter_id
from backend.verification.views import EntryView, MealView
from backend.visits.models import VisitStatus

MAX_NOTE = 500

_CHECKIN_STATUS = {
    Decision.APPROVE: CheckInStatus.APPROVED,
    Decision.NEEDS_FIX: CheckInStatus.NEEDS_FIX,
    Decision.REJECT: CheckInStatus.REJECTED,
}
_DELIVERY_STATUS = {
    Decision.APPROVE: DeliveryStatus.APPROVED,
    Decision.NEEDS_FIX: DeliveryStatus.NEEDS_FIX,
    Decision.REJECT: DeliveryStatus.REJECTED,
}
_VISIT_STATUS = {
    Decision.APPROVE: VisitStatus.APPROVED,
    Decision.NEEDS_FIX: VisitStatus.NEEDS_FIX,
    Decision.REJECT: VisitStatus.REJECTED,
}


class ReviewRefused(ClientException):
    """A decision the rules refuse; `field` names the form field the message belongs to."""

    def __init__(self, detail: str, *, field: str = "decision", status_code: int = 422) -> None:
        super().__init__(detail=detail, status_code=status_code)
        self.field = field


async def entry_day(db: AsyncSession, entry: Entry) -> date:
    """The day an entry counts in: a meal's day, a delivery's day, or the day of a visit in its
    programme's time zone."""
    if isinstance(entry, CheckIn):
        return entry.day
    if isinstance(entry, Delivery):
        return entry.delivered_on
    zone = await db.scalar(select(Programme.time_zone).where(Programme.id == entry.programme_id))
    return entry.visited_at.astimezone(ZoneInfo(zone or "Asia/Shanghai")).date()


def is_flagged(entry: Entry | EntryView) -> bool:
    """Flagged entries are never bulk-approved: stored flags, a reused photo, or a sample mark."""
    if entry.sampled_at is not None:
        return True
    if isinstance(entry, CheckIn | MealView):
        return bool(entry.flags)
    return any(p.reuse_of_id is not None for p in entry.photos)


def check_decision(decision: Decision, reason: Reason | None, note: str | None) -> None:
    if decision is not Decision.APPROVE and reason is None:
        raise ReviewRefused(_("Choose a reason, so the sender knows what to do."), field="reason")
    if reason is Reason.OTHER and not (note or "").strip():
        raise ReviewRefused(_("Say in a few words what is wrong."), field="note")
    if note is not None and len(note) > MAX_NOTE:
        raise ReviewRefused(_("The note is too long (at most 500 characters)."), field="note")


async def _refuse_if_undecidable(db: AsyncSession, entry: Entry, *, actor: Actor) -> None:
    if submitter_id(entry) == actor.id:
        raise Forbidden(_("You cannot review an entry you submitted."))
    if entry.superseded_at is not None:
        raise Conflict(_("This entry has been replaced by a newer version."))
    if entry.status not in (CheckInStatus.PENDING, VisitStatus.PENDING, DeliveryStatus.PENDING):
        raise Conflict(_("This entry has already been reviewed."))
    day = await entry_day(db, entry)
    # A meal's month is locked (FOR SHARE) as the database trigger does, so a review and the closing of
    # its month cannot pass each other on PostgreSQL: whichever comes second sees what the other did.
    closed = (
        (await lock_period(db, entry.programme_id, day)).closed_at is not None
        if isinstance(entry, CheckIn)
        else await is_month_closed(db, entry.programme_id, day)
    )
    if closed:
        raise Conflict(_("This month is closed; nothing in it can change."))


async def do_review(
    db: AsyncSession,
    entry: Entry,
    *,
    decision: Decision,
    reason: Reason | None,
    note: str | None,
    actor: Actor,
    now: datetime | None = None,
) -> Entry:
    """Decide one entry; `now` is for the demo and tests."""
    now = now or utcnow()
    note = (note or "").strip() or None
    check_decision(decision, reason, note)
    await _refuse_if_undecidable(db, entry, actor=actor)
    before = entry.status.value
    if isinstance(entry, CheckIn):
        entry.status = _CHECKIN_STATUS[decision]
        entry.note = note
    elif isinstance(entry, Delivery):
        entry.status = _DELIVERY_STATUS[decision]
        entry.review_note = note
    else:
        entry.status = _VISIT_STATUS[decision]
        entry.review_note = note
    entry.reason = reason.value if reason is not None else None
    entry.reviewed_by_id = actor.id
    entry.reviewed_at = now
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action=f"{entry.__tablename__}.reviewed",
        subject=entry,
        change={
            "status": [before, entry.status.value],
            "reason": entry.reason,
            # Whether a note was written, never its words (free text stays on the entry).
            "note": bool(note),
            "sampled": entry.sampled_at is not None,
        },
    )
    return entry


@dataclass
class BulkResult:
    approved: list[Entry] = field(default_factory=list)
    sampled: list[Entry] = field(default_factory=list)
    skipped: list[Entry] = field(default_factory=list)


def sample_size(count: int, percent: int) -> int:
    """How many of `count` entries a bulk approval holds back: at least one when any are asked for."""
    if count == 0 or percent == 0:
        return 0
    return min(count, max(1, math.ceil(count * percent / 100)))


async def do_bulk_approve(
    db: AsyncSession,
    entries: Sequence[Entry],
    *,
    actor: Actor,
    sample_percent: int,
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> BulkResult:
    """Approve unflagged pending entries, holding back a random sample for a one-by-one look.

    Flagged, sampled or already decided entries are skipped (reported, not refused): bulk approval
    never decides anything a person should look at.
    """
    now = now or utcnow()
    rng = rng or random.SystemRandom()
    result = BulkResult()
    eligible = [entry for entry in entries if not is_flagged(entry) and entry.is_awaiting_review]
    result.skipped = [entry for entry in entries if entry not in eligible]
    held = set(map(id, rng.sample(eligible, sample_size(len(eligible), sample_percent))))
    for entry in eligible:
        if id(entry) in held:
            # do_review checks the others; a held entry is only marked, but under the same rules.
            await _refuse_if_undecidable(db, entry, actor=actor)
            entry.sampled_at = now
            entry.flagged = True
            await db.flush()
            await audit.record(
                db,
                actor=actor,
                action=f"{entry.__tablename__}.sampled",
                subject=entry,
                change={"kind": kind_of(entry).value},
            )
            result.sampled.append(entry)
        else:
            await do_review(
                db, entry, decision=Decision.APPROVE, reason=None, note=None, actor=actor, now=now
            )
            result.approved.append(entry)
    return result

"""Caring mothers' meetings: the street federation's monthly meeting and the district's quarterly one.

A meeting is held for one area, at that area's level (a street meeting for a street, a district meeting
for the district), on a day that is not in the future. Who came: caring mothers of that area (chosen
from a list) and a count of others. Recorded by the programme's staff or by a social worker whose area
holds the meeting's area; they see the meetings of their areas. A caring mother sees the meetings she
attended, but only the day, the level, the area and the results shared: the problems raised often
concern particular children and households, and who else came is not hers to know.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend import audit
from backend.audit import Actor
from backend.auth.principal import Principal
from backend.errors import Conflict, NotFound
from backend.i18n import gettext as _
from backend.people.models import Area, AreaLevel, Membership, Programme, Role, User
from backend.people.policy import area_and_below
from backend.visits.models import Meeting, MeetingAttendee, MeetingLevel
from backend.visits.service import VisitRefused

MAX_TEXT_CHARS = 2000
MAX_OTHERS = 1000
OLDEST = timedelta(days=5 * 366)  # a sanity floor for a mistyped year, not a rule of the work

LEVEL_OF_AREA = {
    AreaLevel.STREET: MeetingLevel.STREET_MONTHLY,
    AreaLevel.DISTRICT: MeetingLevel.DISTRICT_QUARTERLY,
}


@dataclass(frozen=True, slots=True)
class MeetingDraft:
    level: MeetingLevel | None
    held_on: date | None
    attendee_ids: tuple[int, ...]
    others_count: int | None
    results: str
    problems: str


def clean_text(raw: str) -> str:
    return unicodedata.normalize("NFC", raw).strip()


def visible_meetings(user: Principal) -> ColumnElement[bool]:
    """Staff of the programme, social workers whose area holds the meeting's, and the mothers who came."""
    if user.is_admin:
        return true()
    attended = select(MeetingAttendee.meeting_id).where(MeetingAttendee.user_id == user.id)
    conditions: list[ColumnElement[bool]] = [Meeting.id.in_(attended)]
    if user.staff_programme_ids:
        conditions.append(Meeting.programme_id.in_(user.staff_programme_ids))
    for grant in user.grants_for(Role.SOCIAL_WORKER):
        conditions.append(
            and_(
                Meeting.programme_id == grant.programme_id,
                Meeting.area_id.in_(select(Area.id).where(area_and_below(grant.area_path))),
            )
        )
    return or_(*conditions) if conditions else false()


async def get_meeting_for(db: AsyncSession, user: Principal, meeting_id: int) -> Meeting:
    meeting = await db.scalar(
        select(Meeting)
        .where(Meeting.id == meeting_id, visible_meetings(user))
        .options(
            selectinload(Meeting.area), selectinload(Meeting.attendees).selectinload(MeetingAttendee.user)
        )
    )
    if meeting is None:
        raise NotFound()
    return meeting


async def area_mothers(db: AsyncSession, programme_id: int, area: Area) -> list[User]:
    """The programme's current caring mothers living in the area or below it, by name."""
    rows = await db.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.programme_id == programme_id,
            Membership.role == Role.CARING_MOTHER,
            Membership.ended_at.is_(None),
            Membership.area_id.in_(select(Area.id).where(area_and_below(area.path))),
            User.is_active.is_(True),
        )
        .distinct()
        .order_by(User.display_name, User.id)
    )
    return list(rows)


async def meetings_of(db: AsyncSession, programme_id: int, area: Area, *, limit: int = 100) -> list[Meeting]:
    rows = await db.scalars(
        select(Meeting)
        .where(Meeting.programme_id == programme_id, Meeting.area_id == area.id)
        .options(selectinload(Meeting.attendees))
        .order_by(Meeting.held_on.desc(), Meeting.id.desc())
        .limit(limit)
    )
    return list(rows)


async def meetings_attended(db: AsyncSession, user: Principal, *, limit: int = 3) -> list[Meeting]:
    rows = await db.scalars(
        select(Meeting)
        .join(MeetingAttendee, MeetingAttendee.meeting_id == Meeting.id)
        .where(MeetingAttendee.user_id == user.id)
        .options(selectinload(Meeting.area))
        .order_by(Meeting.held_on.desc(), Meeting.id.desc())
        .limit(limit)
    )
    return list(rows)


def _check(draft: MeetingDraft, area: Area, *, today: date) -> tuple[MeetingLevel, date, int]:
    """The first rule the draft breaks, as a VisitRefused naming its field; nothing is written yet."""
    expected = LEVEL_OF_AREA.get(area.level)
    if expected is None:
        raise VisitRefused(_("Meetings are held for a street or for the district."), field="level")
    if draft.level is not expected:
        raise VisitRefused(
            _("A street holds monthly street meetings; the district holds quarterly district meetings."),
            field="level",
        )
    if draft.held_on is None:
        raise VisitRefused(_("Enter the day of the meeting."), field="held_on")
    if draft.held_on > today:
        raise VisitRefused(_("A meeting cannot be recorded before it is held."), field="held_on")
    if draft.held_on < today - OLDEST:
        raise VisitRefused(_("Check the year: this day is too long ago."), field="held_on")
    if draft.others_count is None or not 0 <= draft.others_count <= MAX_OTHERS:
        raise VisitRefused(
            _("Enter how many others came, from 0 to %(high)s.") % {"high": MAX_OTHERS}, field="others_count"
        )
    if not draft.attendee_ids and draft.others_count == 0:
        raise VisitRefused(_("Choose who came, or count the others who came."), field="attendees")
    for name, text in (("results", draft.results), ("problems", draft.problems)):
        if len(text) > MAX_TEXT_CHARS:
            raise VisitRefused(
                _("Write at most %(count)s characters here.") % {"count": MAX_TEXT_CHARS}, field=name
            )
    return expected, draft.held_on, draft.others_count


async def do_record_meeting(
    db: AsyncSession, programme: Programme, area: Area, draft: MeetingDraft, *, actor: Actor, today: date
) -> Meeting:
    """The caller has checked that the actor records meetings for this area of this programme."""
    level, held_on, others = _check(draft, area, today=today)
    mothers = {m.id for m in await area_mothers(db, programme.id, area)}
    if not set(draft.attendee_ids) <= mothers:
        raise VisitRefused(_("Choose only caring mothers of this area."), field="attendees")
    taken = await db.scalar(
        select(Meeting.id).where(
            Meeting.programme_id == programme.id, Meeting.area_id == area.id, Meeting.held_on == held_on
        )
    )
    if taken is not None:
        raise Conflict(_("A meeting of this area on this day is already recorded."))
    meeting = Meeting(
        programme_id=programme.id,
        area_id=area.id,
        level=level,
        held_on=held_on,
        others_count=others,
        results=draft.results,
        problems=draft.problems,
        recorded_by_id=actor.id,
    )
    meeting.attendees = [MeetingAttendee(user_id=user_id) for user_id in sorted(set(draft.attendee_ids))]
    db.add(meeting)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="meeting.recorded",
        subject=meeting,
        # Ids, counts and the day only: what was said stays out of the audit trail.
        change={
            "programme_id": programme.id,
            "area_id": area.id,
            "level": level.value,
            "held_on": held_on.isoformat(),
            "attendee_ids": sorted(set(draft.attendee_ids)),
            "others_count": others,
        },
    )
    return meeting

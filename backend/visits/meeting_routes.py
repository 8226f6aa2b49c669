"""Pages for caring mothers' meetings: an area's meetings (latest first) with the form to record one,
and one meeting. Forms work without JavaScript; see meeting_service.py for the rules and who sees what."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend import clock
from backend.auth.principal import Principal
from backend.errors import Conflict, NotFound
from backend.people.models import Area, Programme, ProgrammeKind
from backend.visits import policy
from backend.visits.forms import parse_meeting_form
from backend.visits.meeting_service import (
    LEVEL_OF_AREA,
    MAX_OTHERS,
    MAX_TEXT_CHARS,
    area_mothers,
    do_record_meeting,
    get_meeting_for,
    meetings_of,
)
from backend.visits.models import MeetingLevel
from backend.visits.service import VisitRefused


async def _area_work(
    db: AsyncSession, user: Principal, area_id: int, programme_id: int | None
) -> tuple[Area, Programme]:
    """The area and a caring-mother programme in which the user records its meetings (404 otherwise)."""
    area = await db.get(Area, area_id)
    if area is None or area.level not in LEVEL_OF_AREA:
        raise NotFound()
    programmes = await db.scalars(
        select(Programme)
        .where(Programme.kind == ProgrammeKind.CARING_MOTHERS)
        .options(selectinload(Programme.area))
        .order_by(Programme.id)
    )
    for programme in programmes:
        if (
            programme_id in (None, programme.id)
            and area.path.startswith(programme.area.path)
            and policy.works_in(user, programme.id, area.path)
        ):
            return area, programme
    raise NotFound()


def _today(programme: Programme) -> date:
    return clock.now_in(ZoneInfo(programme.time_zone)).date()


async def _page(
    db: AsyncSession,
    user: Principal,
    area: Area,
    programme: Programme,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    level = LEVEL_OF_AREA[area.level]
    context: dict[str, Any] = {
        "principal": user,
        "area": area,
        "programme": programme,
        "level": level,
        "levels": list(MeetingLevel),
        "mothers": await area_mothers(db, programme.id, area),
        "meetings": await meetings_of(db, programme.id, area),
        "values": values
        or {
            "held_on": _today(programme).isoformat(),
            "level": level.value,
            "attendees": set(),
            "others_count": "0",
            "results": "",
            "problems": "",
        },
        "errors": errors or {},
        "max_chars": MAX_TEXT_CHARS,
        "max_others": MAX_OTHERS,
        "today": _today(programme).isoformat(),
    }
    return Template(template_name="visits/meetings.html", context=context, status_code=status_code)


@get("/areas/{area_id:int}/meetings", name="visits.meetings")
async def meetings(
    area_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    programme_id: FromQuery[int | None] = None,
) -> Template:
    area, programme = await _area_work(db, user, area_id, programme_id)
    return await _page(db, user, area, programme)


@post("/areas/{area_id:int}/meetings", name="visits.meeting_record")
async def meeting_record(
    request: Request[Any, Any, Any],
    area_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    form = parse_meeting_form(await request.form())
    area, programme = await _area_work(db, user, area_id, form.programme_id)
    draft, values = form.draft, form.values
    try:
        meeting = await do_record_meeting(db, programme, area, draft, actor=user, today=_today(programme))
    except VisitRefused as exc:
        errors, status = {exc.field: str(exc.detail)}, 400
    except Conflict as exc:
        errors, status = {"held_on": str(exc.detail)}, 409
    else:
        url = request.app.route_reverse("visits.meeting", meeting_id=meeting.id)
        return Redirect(f"{url}?recorded=1", status_code=303)
    return await _page(db, user, area, programme, values=values, errors=errors, status_code=status)


@get("/meetings/{meeting_id:int}", name="visits.meeting")
async def meeting_detail(
    meeting_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    recorded: FromQuery[int] = 0,
) -> Template:
    meeting = await get_meeting_for(db, user, meeting_id)
    # Only those who record meetings for the area see who came and the problems raised.
    full = policy.works_in(user, meeting.programme_id, meeting.area.path)
    return Template(
        template_name="visits/meeting.html",
        context={"principal": user, "meeting": meeting, "full": full, "recorded": bool(recorded)},
    )


routes = [meetings, meeting_record, meeting_detail]

"""The file page's context: what it shows depends on how the user reaches the file (policy.Access).

Ages are reckoned from today in the programme's time zone (backend.clock), never the machine's date.
The mother herself gets her plan read-only here (she has no access to the /cases pages); staff and the
agency's workers get a link to the case's plan instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.clock import local_today
from backend.people.models import Programme
from backend.pillar import file_queries as q
from backend.pillar.contact_queries import group_context
from backend.pillar.models import Need, PillarFile, Qualification
from backend.pillar.policy import Access
from backend.pillar.service import current_profile


async def file_page_context(
    db: AsyncSession, user: Principal, file: PillarFile, access: Access
) -> dict[str, Any]:
    programme = await db.get_one(Programme, file.programme_id)
    today = local_today(programme)
    needs = await q.need_history(db, file.id)
    current: dict[int, Need] = {}
    for need in needs:  # newest first: the first row per dimension is the current need
        current.setdefault(need.dimension_id, need)
    context: dict[str, Any] = {
        "principal": user,
        "file": file,
        "access": access,
        "programme": programme,
        "today": today,
        "case": await q.case_of(db, file),
        "profile": await current_profile(db, file.id),
        "dimensions": await q.dimensions_of(db, file.programme_id),
        "current_needs": current,
        "children": await q.children_with_ages(db, file, today),
        "qualifications": list(Qualification),
        "saved": "",
        "form_which": "",
        "form_values": {},
        "form_errors": {},
        "plan": await q.plan_of(db, file.case_id) if access.is_mother else None,
    }
    context.update(await group_context(db, user, file, access, today))
    return context

"""Pages about the people served. Loaded only through the "for user" helpers."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.evidence.pages import person_page_context
from backend.people.models import PersonKind, Role
from backend.people.policy import get_person_for
from backend.visits.models import Pairing, PairingStatus


@get("/people/{person_id:int}", name="people.detail")
async def person_detail(
    person_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    person = await get_person_for(db, user, person_id)
    context = await person_page_context(db, user, person)
    # A worker reaches a child from her home (overdue visits, her people): the child's pairing work
    # (visit frequency, ending the pairing, or finding a mother) is one tap from here.
    context["pairing_work"] = None
    if person.kind is PersonKind.CHILD and (user.has_role(Role.SOCIAL_WORKER) or user.has_role(Role.STAFF)):
        pairing = await db.scalar(
            select(Pairing).where(Pairing.child_id == person.id, Pairing.status == PairingStatus.ACTIVE)
        )
        context["pairing_work"] = {"pairing": pairing, "worker": user.has_role(Role.SOCIAL_WORKER)}
    return Template(template_name="people/detail.html", context=context)


routes = [person_detail]

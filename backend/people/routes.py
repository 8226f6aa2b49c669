"""Pages about the people served. Loaded only through the "for user" helpers."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.evidence.pages import person_page_context
from backend.people.policy import get_person_for


@get("/people/{person_id:int}", name="people.detail")
async def person_detail(
    person_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    person = await get_person_for(db, user, person_id)
    context = await person_page_context(db, user, person)
    return Template(template_name="people/detail.html", context=context)


routes = [person_detail]

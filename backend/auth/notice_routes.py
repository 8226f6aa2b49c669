"""The privacy notice page (GET /privacy) and its "I have read it" button (POST /privacy)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.auth.notice_service import do_mark_notice_read, notice_seen_at
from backend.auth.principal import Principal
from backend.people.models import Role
from backend.settings import Settings

# The order the sections appear in; a user with several roles reads each that applies.
ROLE_ORDER = (Role.CARING_MOTHER, Role.NEIGHBOUR, Role.HARDSHIP_SCOUT, Role.SOCIAL_WORKER, Role.STAFF)


def notice_roles(user: Principal) -> list[str]:
    roles = [role.value for role in ROLE_ORDER if user.has_role(role)]
    if user.is_admin and Role.STAFF.value not in roles:
        roles.append(Role.STAFF.value)  # an administrator acts as staff of every programme
    return roles


@get("/privacy", name="privacy")
async def privacy_notice(
    db: NamedDependency[AsyncSession], user: NamedDependency[Principal], settings: NamedDependency[Settings]
) -> Template:
    return Template(
        template_name="auth/notice.html",
        context={
            "principal": user,
            "roles": notice_roles(user),
            "seen_at": await notice_seen_at(db, user.id),
            "child_days": settings.child_photo_retention_days,
            "meal_days": settings.meal_photo_retention_days,
        },
    )


@post("/privacy", name="privacy.read")
async def read_notice(
    request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Redirect:
    await do_mark_notice_read(db, actor=user, now=clock.utcnow())
    return Redirect(request.app.route_reverse("home"), status_code=303)


routes = [privacy_notice, read_notice]

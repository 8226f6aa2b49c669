"""Sign-in cards handed over in person, and recovery after a lost phone. Thin handlers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import segno
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import passkey_service as pks
from backend.auth.policy import flagged_users, get_issuable_user_for, list_issuable_users, may_issue_cards
from backend.auth.principal import Principal
from backend.auth.service import do_issue_code, do_void_unused_codes
from backend.errors import Forbidden
from backend.settings import Settings


def qr_svg(url: str) -> Markup:
    # segno writes plain SVG paths (no script, no external references): safe to inline.
    return Markup(segno.make(url, error="m").svg_inline(scale=5, omitsize=True))  # noqa: S704


@get("/cards", name="cards.list")
async def cards(db: NamedDependency[AsyncSession], user: NamedDependency[Principal]) -> Template:
    if not may_issue_cards(user):
        raise Forbidden()
    people = await list_issuable_users(db, user)
    return Template(
        template_name="auth/cards.html",
        context={
            "principal": user,
            "people": people,
            "notice": None,
            "flagged": await flagged_users(db, people),
        },
    )


@post("/cards/{user_id:int}", name="cards.issue")
async def issue_card(
    user_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    user: NamedDependency[Principal],
) -> Template:
    target = await get_issuable_user_for(db, user, user_id)
    issued = await do_issue_code(
        db,
        target,
        actor=user,
        secret_key=settings.secret_key,
        valid_for=timedelta(hours=settings.signin_code_hours),
    )
    link = f"{settings.public_origin}/signin/c/{issued.code}"
    return Template(
        template_name="auth/card.html",
        context={
            "principal": user,
            "person": target,
            "code": issued.display,
            "link": link,
            "qr": qr_svg(link),
            "expires": issued.record.expires_at,
        },
    )


@get("/cards/{user_id:int}/recover", name="cards.recover_confirm")
async def recover_confirm(
    user_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    """Signing a person out everywhere cannot be undone by her: it is asked first, naming her."""
    target = await get_issuable_user_for(db, user, user_id)
    return Template(template_name="auth/recover_confirm.html", context={"principal": user, "person": target})


@post("/cards/{user_id:int}/recover", name="cards.recover")
async def recover(
    request: Request[Any, Any, Any],
    user_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    target = await get_issuable_user_for(db, user, user_id)
    if (await request.form()).get("confirm") != "yes":  # only the confirmation page's button acts
        return Redirect(request.app.route_reverse("cards.recover_confirm", user_id=target.id))
    sessions, keys = await pks.do_recover_account(db, target, actor=user)
    await do_void_unused_codes(db, target, actor=user, reason="recovered")
    people = await list_issuable_users(db, user)
    return Template(
        template_name="auth/cards.html",
        context={
            "principal": user,
            "people": people,
            "notice": {"name": target.display_name, "sessions": sessions, "passkeys": keys},
            "flagged": await flagged_users(db, people),
        },
    )


routes = [cards, issue_card, recover_confirm, recover]

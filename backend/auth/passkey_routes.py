"""Passkeys: the account page, registration and sign-in ceremonies (JSON for the page's script).

Handlers catch PasskeyError and answer 400 instead of raising, so that what a failure must keep
(the used-up ceremony, a counter-regression flag, a rate-limit count) is committed.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import passkey_service as pks
from backend.auth import ratelimit
from backend.auth.browsers import in_app_browser
from backend.auth.cookies import set_session_cookies
from backend.auth.passkeys import MAX_RESPONSE_BYTES, PasskeyError, RelyingParty
from backend.auth.principal import Principal
from backend.auth.purge import purge_after_response
from backend.errors import NotFound
from backend.i18n import gettext as _
from backend.logs import app_log
from backend.people.models import User
from backend.security import session_cookie_name
from backend.settings import Settings


def relying_party(settings: Settings) -> RelyingParty:
    return RelyingParty.from_origin(settings.public_origin, name=_("Carelog"))


async def _json_body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_RESPONSE_BYTES:
        raise PasskeyError("body too large")
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        raise PasskeyError("body is not JSON") from None
    if not isinstance(value, dict):
        raise PasskeyError("body is not an object")
    return value


def _credential(body: dict[str, Any]) -> dict[str, Any]:
    credential = body.get("credential")
    if not isinstance(credential, dict):
        raise PasskeyError("no credential in the body")
    return credential


def _refused(exc: PasskeyError) -> Response[dict[str, str]]:
    app_log.info("passkey refused", extra={"reason": exc.reason[:120]})
    return Response({"detail": str(exc.message)}, status_code=400)


@get("/account", name="account")
async def account(
    request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    keys = await pks.passkeys_of(db, user.id)
    return Template(
        template_name="auth/account.html",
        context={
            "principal": user,
            "passkeys": keys,
            "in_app": in_app_browser(request.headers.get("user-agent")),
        },
    )


@post("/account/passkeys/options", name="passkey.register_options")
async def register_options(
    db: NamedDependency[AsyncSession], settings: NamedDependency[Settings], user: NamedDependency[Principal]
) -> Response[dict[str, Any]]:
    start = await pks.do_begin_registration(
        db, actor=user, rp=relying_party(settings), secret_key=settings.secret_key
    )
    return Response({"ceremony": start.handle, "options": json.loads(start.options_json)}, status_code=200)


@post("/account/passkeys", name="passkey.register")
async def register(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    user: NamedDependency[Principal],
) -> Response[dict[str, Any]]:
    try:
        body = await _json_body(request)
        await pks.do_finish_registration(
            db,
            actor=user,
            rp=relying_party(settings),
            secret_key=settings.secret_key,
            handle=str(body.get("ceremony", "")),
            response=_credential(body),
            name=str(body.get("name", ""))[:100],
        )
    except PasskeyError as exc:
        return _refused(exc)
    return Response({"ok": True, "redirect": request.app.route_reverse("account")}, status_code=201)


@post("/account/passkeys/{passkey_id:int}/revoke", name="passkey.revoke")
async def revoke(
    request: Request[Any, Any, Any],
    passkey_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Redirect:
    passkey = await pks.get_own_passkey(db, user, passkey_id)
    if passkey is None:
        raise NotFound()
    await pks.do_revoke_passkey(db, passkey, actor=user)
    return Redirect(request.app.route_reverse("account"), status_code=303)


@post("/account/signout-everywhere", name="account.signout_everywhere")
async def signout_everywhere(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    user: NamedDependency[Principal],
) -> Redirect:
    account_user = await db.get(User, user.id)
    assert account_user is not None
    await pks.do_end_sessions(db, account_user, actor=user)
    response = Redirect(request.app.route_reverse("auth.signin_form"), status_code=303)
    response.delete_cookie(key=session_cookie_name(settings), path="/")
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@post("/signin/passkey/options", name="passkey.signin_options", after_response=purge_after_response)
async def signin_options(
    request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], settings: NamedDependency[Settings]
) -> Response[dict[str, Any]]:
    # A signed-out visitor's request that stores a ceremony: counted, and refused past the limit.
    await ratelimit.take_signed_out_write(
        db,
        ratelimit.client_bucket(ratelimit.OPTIONS_PER_CLIENT, request.scope, settings),
    )
    start = await pks.do_begin_authentication(db, rp=relying_party(settings), secret_key=settings.secret_key)
    return Response({"ceremony": start.handle, "options": json.loads(start.options_json)}, status_code=200)


@post("/signin/passkey", name="passkey.signin", after_response=purge_after_response)
async def signin_with_passkey(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
) -> Response[dict[str, Any]]:
    client = ratelimit.client_bucket(ratelimit.PASSKEY_PER_CLIENT, request.scope, settings)
    if await ratelimit.is_blocked(db, ratelimit.PASSKEY_PER_CLIENT, client):
        raise ratelimit.RateLimited(ratelimit.PASSKEY_PER_CLIENT)
    try:
        body = await _json_body(request)
        started = await pks.do_finish_authentication(
            db,
            rp=relying_party(settings),
            secret_key=settings.secret_key,
            handle=str(body.get("ceremony", "")),
            response=_credential(body),
            session_lifetime=timedelta(hours=settings.session_hours),
        )
    except PasskeyError as exc:
        await ratelimit.record_failure(db, ratelimit.PASSKEY_PER_CLIENT, client)
        return _refused(exc)
    return set_session_cookies(
        Response({"ok": True, "redirect": request.app.route_reverse("home")}, status_code=200),
        started,
        settings,
    )


routes = [
    account,
    register_options,
    register,
    revoke,
    signout_everywhere,
    signin_options,
    signin_with_passkey,
]

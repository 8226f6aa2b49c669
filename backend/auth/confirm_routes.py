""" "Confirm it's you": the step-up page (auth/stepup.py). She proves herself again on the CURRENT
session, with her passkey (user verification required) or a fresh one-time code issued to her, and
returns to the page she came from. Thin handlers; the writes are in auth/service.py and
auth/passkey_service.py.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import passkey_service as pks
from backend.auth import ratelimit, service
from backend.auth.browsers import in_app_browser
from backend.auth.forms import parse_code_form, safe_next
from backend.auth.passkeys import MAX_RESPONSE_BYTES, PasskeyError, RelyingParty
from backend.auth.principal import Principal
from backend.errors import TooManyAttempts
from backend.i18n import gettext as _
from backend.logs import app_log
from backend.settings import Settings


def relying_party(settings: Settings) -> RelyingParty:
    # As in passkey_routes.py (route modules do not import each other).
    return RelyingParty.from_origin(settings.public_origin, name=_("Carelog"))


async def _confirm_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    user: Principal,
    next_path: str,
    *,
    code: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    keys = await pks.passkeys_of(db, user.id)
    return Template(
        template_name="auth/confirm.html",
        context={
            "principal": user,
            "next": next_path,
            "has_passkeys": bool(keys),
            "code": code,
            "errors": errors or {},
            "in_app": in_app_browser(request.headers.get("user-agent")),
        },
        status_code=status,
    )


@get("/account/confirm", name="auth.confirm_form")
async def confirm_form(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    next: FromQuery[str | None] = None,
) -> Template:
    return await _confirm_page(request, db, user, safe_next(next, default="/"))


@post("/account/confirm", name="auth.confirm")
async def confirm_with_code(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    raw = await request.form()
    next_path = safe_next(raw.get("next"), default="/")
    form = parse_code_form(raw)
    if not form.valid:
        return await _confirm_page(
            request, db, user, next_path, code=form.code, errors=form.errors, status=400
        )
    client = ratelimit.client_bucket(ratelimit.CODE_PER_CLIENT, request.scope, settings)
    if await ratelimit.is_blocked(db, ratelimit.CODE_PER_CLIENT, client):
        raise TooManyAttempts()
    try:
        await service.do_confirm_with_code(db, form.code, actor=user, secret_key=settings.secret_key)
    except service.SignInError as exc:
        app_log.info("step-up refused", extra={"reason": "invalid_code"})
        await ratelimit.record_failure(db, ratelimit.CODE_PER_CLIENT, client)
        errors = {"code": str(exc.message)}
        return await _confirm_page(request, db, user, next_path, code=form.code, errors=errors, status=400)
    return Redirect(next_path, status_code=303)


@post("/account/confirm/passkey/options", name="auth.confirm_passkey_options")
async def confirm_passkey_options(
    db: NamedDependency[AsyncSession], settings: NamedDependency[Settings], user: NamedDependency[Principal]
) -> Response[dict[str, Any]]:
    try:
        start = await pks.do_begin_confirmation(
            db, actor=user, rp=relying_party(settings), secret_key=settings.secret_key
        )
    except PasskeyError as exc:
        return Response({"detail": str(exc.message)}, status_code=400)
    return Response({"ceremony": start.handle, "options": json.loads(start.options_json)}, status_code=200)


@post("/account/confirm/passkey", name="auth.confirm_passkey")
async def confirm_with_passkey(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    user: NamedDependency[Principal],
) -> Response[dict[str, Any]]:
    # Errors answer 400 rather than raise, so the used ceremony, a counter flag and the count commit.
    client = ratelimit.client_bucket(ratelimit.PASSKEY_PER_CLIENT, request.scope, settings)
    if await ratelimit.is_blocked(db, ratelimit.PASSKEY_PER_CLIENT, client):
        raise TooManyAttempts()
    try:
        raw = await request.body()
        if len(raw) > MAX_RESPONSE_BYTES:
            raise PasskeyError("body too large")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise PasskeyError("body is not JSON") from None
        credential = body.get("credential") if isinstance(body, dict) else None
        if not isinstance(credential, dict):
            raise PasskeyError("no credential in the body")
        await pks.do_finish_confirmation(
            db,
            actor=user,
            rp=relying_party(settings),
            secret_key=settings.secret_key,
            handle=str(body.get("ceremony", "")),
            response=credential,
        )
    except PasskeyError as exc:
        app_log.info("step-up refused", extra={"reason": exc.reason[:120]})
        await ratelimit.record_failure(db, ratelimit.PASSKEY_PER_CLIENT, client)
        return Response({"detail": str(exc.message)}, status_code=400)
    return Response({"ok": True, "redirect": safe_next(body.get("next"), default="/")}, status_code=200)


routes = [confirm_form, confirm_with_code, confirm_passkey_options, confirm_with_passkey]

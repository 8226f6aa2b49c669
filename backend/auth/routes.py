"""Sign-in by one-time code, sign-out, and the language switch. Thin handlers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import ratelimit, service
from backend.auth.browsers import in_app_browser
from backend.auth.cookies import LANG_COOKIE_MAX_AGE, set_session_cookies
from backend.auth.forms import parse_code_form, parse_language, safe_next
from backend.auth.principal import Principal
from backend.auth.purge import purge_after_response
from backend.i18n import set_language
from backend.logs import app_log
from backend.security import session_cookie_name
from backend.settings import Settings


def _signin_page(
    request: Request[Any, Any, Any], code: str = "", errors: dict[str, str] | None = None, status: int = 200
) -> Template:
    return Template(
        template_name="auth/signin.html",
        context={
            "code": code,
            "errors": errors or {},
            "in_app": in_app_browser(request.headers.get("user-agent")),
        },
        status_code=status,
    )


@get("/signin", name="auth.signin_form")
async def signin_form(
    request: Request[Any, Any, Any], principal: NamedDependency[Principal | None]
) -> Template | Redirect:
    if principal is not None:
        return Redirect(request.app.route_reverse("home"), status_code=303)
    return _signin_page(request)


@get("/signin/c/{code:str}", name="auth.signin_link")
async def signin_link(code: FromPath[str]) -> Template:
    # Opening a link never signs in by itself: link previews in chat apps would burn the code.
    return Template(template_name="auth/signin_link.html", context={"code": code[:64]})


@post("/signin", name="auth.signin", after_response=purge_after_response)
async def signin(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    principal: NamedDependency[Principal | None],
) -> Template | Redirect:
    form = parse_code_form(await request.form())
    if not form.valid:
        return _signin_page(request, form.code, form.errors, status=400)
    client = ratelimit.client_bucket(ratelimit.CODE_PER_CLIENT, request.scope, settings)
    if await ratelimit.code_attempt_blocked(db, client):
        app_log.warning("sign-in throttled", extra={"reason": "code_rate_limit"})
        raise ratelimit.RateLimited(ratelimit.CODE_PER_CLIENT)
    try:
        started = await service.do_redeem_code(
            db,
            form.code,
            secret_key=settings.secret_key,
            session_lifetime=timedelta(hours=settings.session_hours),
        )
    except service.SignInError as exc:
        app_log.info("sign-in refused", extra={"reason": "invalid_code"})
        await ratelimit.record_code_failure(db, client)
        return _signin_page(request, form.code, {"code": str(exc.message)}, status=400)
    if principal is not None:  # signing in on a phone that was signed in as someone else
        await service.do_sign_out(db, principal.session_id, actor=principal)
    return set_session_cookies(
        Redirect(request.app.route_reverse("home"), status_code=303), started, settings
    )


@post("/signout", name="auth.signout")
async def signout(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    user: NamedDependency[Principal],
) -> Redirect:
    await service.do_sign_out(db, user.session_id, actor=user)
    response = Redirect(request.app.route_reverse("auth.signin_form"), status_code=303)
    response.delete_cookie(key=session_cookie_name(settings), path="/")
    # Tell the browser to drop anything it kept for this site (cache and storage; cookies are ours).
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@post("/language", name="auth.language")
async def change_language(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    principal: NamedDependency[Principal | None],
) -> Redirect | Response[str]:
    form = await request.form()
    language = parse_language(form)
    target = safe_next(form.get("next"), default=request.app.route_reverse("home"))
    if language is None:
        return Redirect(target, status_code=303)
    if principal is not None:
        await service.do_set_locale(db, actor=principal, locale=language)
    set_language(language)
    response = Redirect(target, status_code=303)
    response.set_cookie(
        key="lang",
        value=language,
        max_age=LANG_COOKIE_MAX_AGE,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )
    return response


routes = [signin_form, signin_link, signin, signout, change_language]

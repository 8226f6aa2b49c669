"""The cookies a sign-in sets: the session's, and the person's language, for every way of signing in
(a card's code, a passkey)."""

from __future__ import annotations

from typing import Any, TypeVar

from litestar import Response

from backend.auth import service
from backend.security import session_cookie_name
from backend.settings import Settings

LANG_COOKIE_MAX_AGE = 400 * 24 * 3600
ResponseT = TypeVar("ResponseT", bound=Response[Any])


def set_session_cookies(
    response: ResponseT, started: service.StartedSession, settings: Settings
) -> ResponseT:
    """The new session's cookie, and the user's language so pages follow her setting on this phone."""
    response.set_cookie(
        key=session_cookie_name(settings),
        value=started.token,
        max_age=settings.session_hours * 3600,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )
    if started.user.locale:
        response.set_cookie(
            key="lang",
            value=started.user.locale,
            max_age=LANG_COOKIE_MAX_AGE,
            path="/",
            secure=settings.secure_cookies,
            httponly=True,
            samesite="lax",
        )
    return response

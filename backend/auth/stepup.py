"""Step-up for money: closing a month and approving an adjustment need a fresh proof of the person.

A session is "recently proved" when its `verified_at` (set by a sign-in with a one-time code, or with a
passkey WITH user verification, and renewed on the confirm page) is within STEP_UP_WINDOW. A passkey
assertion without the UV flag proves only that the phone holds the key, not who holds the phone, so it
never counts. The check reads the session's time as loaded with the principal (one query per request)
and the clock from backend/clock.py.

Routes call `require_recent_proof` first and return its answer when it gives one:

    if (step_up := stepup.require_recent_proof(request, user)) is not None:
        return step_up

It answers 303 to the confirm page (`/account/confirm?next=<same-origin path>`), or for htmx a 200 with
`HX-Redirect`, so that nothing of the request is done before she has confirmed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response
from litestar.response import Redirect

from backend.auth.forms import safe_next
from backend.auth.principal import Principal
from backend.clock import utcnow

STEP_UP_WINDOW = timedelta(minutes=15)
CONFIRM_PATH = "/account/confirm"


def has_recent_proof(principal: Principal, now: datetime | None = None) -> bool:
    verified_at = principal.verified_at
    if verified_at is None:
        return False
    now = now or utcnow()
    # A proof from the future (a clock moved back) is no proof.
    return now - STEP_UP_WINDOW <= verified_at <= now + timedelta(minutes=1)


def _back_to(request: Request[Any, Any, Any]) -> str:
    """Where to return after confirming: this page for a GET; for a form sent by POST, the page it was
    sent from (a same-origin Referer), since a POST cannot be replayed by a redirect."""
    if request.method in ("GET", "HEAD"):
        query = request.url.query
        return safe_next(request.url.path + (f"?{query}" if query else ""), default="/")
    referer = request.headers.get("hx-current-url") or request.headers.get("referer") or ""
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc != request.url.netloc:
        return "/"
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""), default="/")


def confirm_url(next_path: str) -> str:
    return f"{CONFIRM_PATH}?next={quote(safe_next(next_path, default='/'), safe='/')}"


def require_recent_proof(
    request: Request[Any, Any, Any],
    principal: Principal,
    *,
    back_to: str | None = None,
    now: datetime | None = None,
) -> Response[Any] | None:
    """None when her session proved her within STEP_UP_WINDOW; otherwise the answer that sends her to
    confirm it's her (and then back to `back_to`, by default the page she is on)."""
    if has_recent_proof(principal, now):
        return None
    target = confirm_url(back_to if back_to is not None else _back_to(request))
    if request.headers.get("hx-request") == "true":
        return Response(content=b"", status_code=200, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)

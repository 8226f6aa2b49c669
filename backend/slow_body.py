"""Request bodies that arrive too slowly end with 408 (a slow-loris upload holds a connection, memory
and, before anything else, a place in line for as long as its sender likes).

A body gets GRACE_SECONDS to start (a phone on a weak signal may stall at first); after that, it must
have arrived at settings.min_upload_bytes_per_second on average since the request began, or the next
read gives up. The clock is time.monotonic: real elapsed time, never the app's calendar. The wait for
the next chunk is bounded by the moment the average would fall under the rate, so a sender that goes
silent is cut off as surely as one that trickles. 0 turns the check off.

Tests shorten the grace through the app's state (`upload_grace_seconds`); operators tune the rate.
Limit: a body faster than the rate but enormous is the size limit's business, not this one's.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
from litestar.enums import ScopeType
from litestar.exceptions import ClientException
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from backend.i18n import gettext as _
from backend.logs import app_log
from backend.settings import Settings

GRACE_SECONDS = 10.0
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodyTooSlow(ClientException):
    status_code = 408


def _too_slow(scope: Scope) -> BodyTooSlow:
    app_log.info("request body too slow", extra={"route": scope.get("path_template") or "-"})
    return BodyTooSlow(
        detail=_(
            "The upload was too slow and has been stopped; nothing was saved. "
            "Please try again where the signal is better."
        ),
        headers={"Connection": "close"},
    )


class SlowBodyMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.rate = settings.min_upload_bytes_per_second

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or self.rate <= 0 or scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        state = getattr(scope.get("app"), "state", None)
        grace = (
            float(getattr(state, "upload_grace_seconds", GRACE_SECONDS))
            if state is not None
            else GRACE_SECONDS
        )
        started = time.monotonic()
        rate = float(self.rate)
        received = 0
        finished = False

        async def paced_receive() -> ReceiveMessage:
            nonlocal received, finished
            if finished:
                return await receive()  # after the body: only a disconnect is left to hear
            # The latest moment by which the next bytes must come for the average to stay at the rate.
            deadline = started + max(grace, received / rate)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _too_slow(scope)
            message: Any = None
            with anyio.move_on_after(remaining):
                message = await receive()
            if message is None:
                raise _too_slow(scope)
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                finished = not message.get("more_body", False)
            return message  # type: ignore[no-any-return]

        await self.app(scope, paced_receive, send)

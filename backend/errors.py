"""Our errors, each a clear 4xx/503 in the user's language. Handlers turn them into pages or JSON."""

from __future__ import annotations

from typing import Any

from litestar.exceptions import (
    ClientException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ServiceUnavailableException,
    TooManyRequestsException,
)
from litestar.status_codes import HTTP_409_CONFLICT

from backend.i18n import lazy_gettext


class NotFound(NotFoundException):
    def __init__(self, detail: Any = None) -> None:
        super().__init__(
            detail=str(detail or lazy_gettext("This page does not exist, or it is not yours to see."))
        )


class Forbidden(PermissionDeniedException):
    def __init__(self, detail: Any = None) -> None:
        super().__init__(detail=str(detail or lazy_gettext("You are not allowed to do this.")))


class SignInRequired(NotAuthorizedException):
    def __init__(self) -> None:
        super().__init__(detail=str(lazy_gettext("Please sign in first.")))


class Conflict(ClientException):
    status_code = HTTP_409_CONFLICT


class Busy(ServiceUnavailableException):
    def __init__(self) -> None:
        super().__init__(
            detail=str(lazy_gettext("The server is busy. Nothing was saved; please try again in a moment.")),
            headers={"Retry-After": "2"},
        )


class TooManyAttempts(TooManyRequestsException):
    def __init__(self) -> None:
        super().__init__(
            detail=str(
                lazy_gettext(
                    "Too many failed attempts from this phone. Please wait 15 minutes and try again."
                )
            ),
            headers={"Retry-After": "900"},
        )


class Refused(ClientException):
    """A rule or a check refused what was sent, and nothing was stored. `field` names the form field the
    message belongs to (a page shows it beside that field; the API sends the message as its detail)."""

    def __init__(self, detail: Any, *, field: str, status_code: int = 422) -> None:
        super().__init__(detail=str(detail), status_code=status_code)
        self.field = field

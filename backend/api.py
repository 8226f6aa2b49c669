"""What the JSON APIs of the phone's outbox share: the error body and its OpenAPI description, and
the handlers that turn a body that cannot be read into a 400 in the person's language (never a 500)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import ClientException, HTTPException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec

from backend.error_pages import handle_http_exception
from backend.errors import SignInRequired
from backend.security import session_cookie_name


@dataclass
class ErrorOut:
    status: int
    detail: str


def error_spec(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorOut, description=description)


def json_error(status: int, detail: str) -> Response[Any]:
    return Response({"status": status, "detail": detail}, status_code=status)


ExceptionHandlers = dict[int | type[Exception], Callable[[Request[Any, Any, Any], Any], Response[Any]]]
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]{1,40})`")


@dataclass(frozen=True, slots=True)
class BodyMessages:
    """Lazily translated messages: `unknown_field` takes %(field)s, `invalid` takes %(fields)s."""

    unknown_field: Any
    invalid: Any
    not_json: Any


def body_error_handlers(messages: BodyMessages) -> ExceptionHandlers:
    def invalid_body(_request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
        problems = exc.extra if isinstance(exc.extra, list) else []
        for problem in problems:
            unknown = _UNKNOWN_FIELD.search(str(problem.get("message", "")))
            if unknown:
                return json_error(400, str(messages.unknown_field) % {"field": unknown.group(1)})
        keys = sorted({str(p.get("key")) for p in problems if p.get("key") and p.get("key") != "data"})
        return json_error(400, str(messages.invalid) % {"fields": ", ".join(keys) or "body"})

    def other_client_error(request: Request[Any, Any, Any], exc: ClientException) -> Response[Any]:
        if type(exc) is ClientException and exc.status_code == 400:
            # Raised while reading the body, before the handler ran: not JSON at all.
            return json_error(400, str(messages.not_json))
        return handle_http_exception(request, exc if isinstance(exc, HTTPException) else ClientException())

    return {ValidationException: invalid_body, ClientException: other_client_error}


def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Guard: a guard runs before the body is read, so a signed-out phone hears "sign in" (401), not
    about its body. Whether the session is still valid is decided afterwards, by the user dependency."""
    if not connection.cookies.get(session_cookie_name(connection.app.state.settings)):
        raise SignInRequired()

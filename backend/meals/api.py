"""PUT /api/checkins/{client_uuid}: the offline outbox's idempotent way to send one meal.

The phone first sends each photo with PUT /api/photos/{photo uuid}?person_id=<resident>, then this.
The body is checked strictly: an unknown field (a `status`, an `amount_fen`) is refused, since a
check-in carries neither; what is wrong is said in the person's language, never as a 500.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, put
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ClientException, HTTPException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from backend.auth.principal import Principal
from backend.errors import SignInRequired
from backend.evidence.routes import provide_read_db
from backend.i18n import gettext as _
from backend.meals.checkins import CheckInDraft, submit_checkin
from backend.meals.forms import MAX_DISH_CHARS, MAX_DISHES, MAX_PHOTOS, normalize_dishes
from backend.meals.models import CheckIn, FlagCode, MealSlot
from backend.security import session_cookie_name

Dish = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_DISH_CHARS)]


class CheckInIn(msgspec.Struct, forbid_unknown_fields=True):
    """One meal: which agreement, which meal of which day, the dishes and the photos sent before it."""

    agreement_id: int
    slot: MealSlot
    day: date
    dishes: Annotated[list[Dish], msgspec.Meta(min_length=1, max_length=MAX_DISHES)]
    photo_uuids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=MAX_PHOTOS)]


class CheckInOut(msgspec.Struct):
    id: int
    client_uuid: uuid.UUID
    agreement_id: int
    slot: MealSlot
    day: date
    dishes: list[str]
    planned_dishes: list[str]
    photo_uuids: list[uuid.UUID]
    status: str
    late: bool
    submitted_at: datetime
    url: str

    @classmethod
    def of(cls, checkin: CheckIn) -> CheckInOut:
        return cls(
            id=checkin.id,
            client_uuid=checkin.client_uuid,
            agreement_id=checkin.agreement_id,
            slot=checkin.slot,
            day=checkin.day,
            dishes=list(checkin.dishes),
            planned_dishes=list(checkin.planned_dishes),
            photo_uuids=[p.client_uuid for p in checkin.photos],
            status=checkin.status.value,
            late=checkin.has_flag(FlagCode.LATE),
            submitted_at=checkin.submitted_at,
            url=f"/meals/checkins/{checkin.id}",
        )


@dataclass
class ErrorOut:
    status: int
    detail: str


def _error(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorOut, description=description)


_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]{1,40})`")


def _json_error(status: int, detail: str) -> Response[Any]:
    return Response({"status": status, "detail": detail}, status_code=status)


def _invalid_body(_request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    problems = exc.extra if isinstance(exc.extra, list) else []
    for problem in problems:
        unknown = _UNKNOWN_FIELD.search(str(problem.get("message", "")))
        if unknown:
            return _json_error(
                400,
                _("The field %(field)s is not accepted: a check-in carries no amount and no status.")
                % {"field": unknown.group(1)},
            )
    keys = sorted({str(p.get("key")) for p in problems if p.get("key") and p.get("key") != "data"})
    return _json_error(
        400,
        _("This check-in could not be read: %(fields)s missing or not valid.")
        % {"fields": ", ".join(keys) or "body"},
    )


def _signed_in(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    # A guard runs before the body is read: a signed-out phone hears "sign in" (401), not about its body.
    # Whether the session is still valid is decided afterwards, by the user dependency.
    if not connection.cookies.get(session_cookie_name(connection.app.state.settings)):
        raise SignInRequired()


def _other_client_error(request: Request[Any, Any, Any], exc: ClientException) -> Response[Any]:
    if type(exc) is ClientException and exc.status_code == 400:
        # Raised while reading the body, before the handler ran: not JSON at all.
        return _json_error(400, _("This check-in could not be read: send it as JSON."))
    from backend.app import handle_http_exception  # the app's own errors; imported late (cycle)

    return handle_http_exception(request, exc if isinstance(exc, HTTPException) else ClientException())


@put(
    "/api/checkins/{client_uuid:uuid}",
    name="meals.api_put",
    summary="Check in one meal (idempotent)",
    description=(
        "Send each photo first with PUT /api/photos/{photo uuid}?person_id={resident id}, then the meal. "
        "The client UUID names the check-in: the same content again returns the original (200); "
        "different content, or a UUID another user sent, is refused (409). One check-in per agreement, "
        "meal and day; none for a future day, outside the agreement's dates or into a closed month (422 "
        "or 409). A check-in carries no amount and no status: such fields are refused. Send the CSRF "
        "token in X-CSRFToken."
    ),
    tags=["check-ins"],
    status_code=201,
    responses={
        200: ResponseSpec(data_container=CheckInOut, description="Already received: the original"),
        400: _error("The body is not a valid check-in"),
        401: _error("Not signed in"),
        403: _error("Not the neighbour of this agreement"),
        404: _error("No such agreement for you, or a photo has not arrived yet"),
        409: _error(
            "This UUID was used for other content, the meal is already checked in, or the month is closed"
        ),
        422: _error("A rule refuses this meal (future day, outside the agreement, no dish)"),
        503: _error("The server is busy; nothing was saved"),
    },
    dependencies={"db": Provide(provide_read_db)},
    guards=[_signed_in],
    exception_handlers={ValidationException: _invalid_body, ClientException: _other_client_error},
)
async def put_checkin(
    state: State,
    client_uuid: FromPath[uuid.UUID],
    data: JSONBody[CheckInIn],
    user: NamedDependency[Principal],
) -> Response[CheckInOut]:
    draft = CheckInDraft(
        agreement_id=data.agreement_id,
        slot=data.slot,
        day=data.day,
        dishes=normalize_dishes(data.dishes),
        photo_uuids=tuple(data.photo_uuids),
    )
    result = await submit_checkin(state.database, user=user, draft=draft, client_uuid=client_uuid)
    return Response(CheckInOut.of(result.checkin), status_code=201 if result.created else 200)


routes = [put_checkin]

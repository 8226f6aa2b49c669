"""PUT /api/checkins/{client_uuid}: the offline outbox's idempotent way to send one meal.

The phone first sends each photo with PUT /api/photos/{photo uuid}?person_id=<resident>, then this.
The body is checked strictly: an unknown field (a `status`, an `amount_fen`) is refused, since a
check-in carries neither; what is wrong is said in the person's language, never as a 500.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Litestar, Request, Response, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from backend.api import BodyMessages, body_error_handlers, error_spec, signed_in
from backend.auth.principal import Principal
from backend.deps import provide_read_db
from backend.i18n import lazy_gettext as _l
from backend.meals.checkin_service import CheckInDraft, submit_checkin
from backend.meals.forms import MAX_DISH_CHARS, MAX_DISHES, MAX_PHOTOS, normalize_dishes
from backend.meals.models import CheckIn, FlagCode, MealSlot

Dish = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_DISH_CHARS)]


class CheckInIn(msgspec.Struct, forbid_unknown_fields=True):
    """One meal: which agreement, which meal of which day, the dishes and the photos sent before it."""

    agreement_id: int
    slot: MealSlot
    day: date
    dishes: Annotated[list[Dish], msgspec.Meta(min_length=1, max_length=MAX_DISHES)]
    photo_uuids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=MAX_PHOTOS)]
    # The id of the check-in this one fixes, after a reviewer sent it back (same meal and day).
    replaces_id: Annotated[int, msgspec.Meta(ge=1)] | None = None


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
    replaces_id: int | None
    late: bool
    submitted_at: datetime
    url: str

    @classmethod
    def of(cls, checkin: CheckIn, app: Litestar) -> CheckInOut:
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
            replaces_id=checkin.replaces_id,
            late=checkin.has_flag(FlagCode.LATE),
            submitted_at=checkin.submitted_at,
            url=app.route_reverse("meals.checkin_detail", checkin_id=checkin.id),
        )


BODY_ERRORS = body_error_handlers(
    BodyMessages(
        unknown_field=_l("The field %(field)s is not accepted: a check-in carries no amount and no status."),
        invalid=_l("This check-in could not be read: %(fields)s missing or not valid."),
        not_json=_l("This check-in could not be read: send it as JSON."),
    )
)


@put(
    "/api/checkins/{client_uuid:uuid}",
    name="meals.api_put",
    summary="Check in one meal (idempotent)",
    description=(
        "Send each photo first with PUT /api/photos/{photo uuid}?person_id={resident id}, then the meal. "
        "The client UUID names the check-in: the same content again returns the original (200); "
        "different content, or a UUID another user sent, is refused (409). One check-in per agreement, "
        "meal and day; none for a future day, outside the agreement's dates or into a closed month (422 "
        "or 409). A check-in carries no amount and no status: such fields are refused. To fix a check-in "
        "that a reviewer sent back, send a new UUID with replaces_id set to its id. Send the CSRF "
        "token in X-CSRFToken."
    ),
    tags=["check-ins"],
    status_code=201,
    responses={
        200: ResponseSpec(data_container=CheckInOut, description="Already received: the original"),
        400: error_spec("The body is not a valid check-in"),
        401: error_spec("Not signed in"),
        403: error_spec("Not the neighbour of this agreement"),
        404: error_spec("No such agreement for you, or a photo has not arrived yet"),
        409: error_spec(
            "This UUID was used for other content, the meal is already checked in, or the month is closed"
        ),
        422: error_spec("A rule refuses this meal (future day, outside the agreement, no dish)"),
        503: error_spec("The server is busy; nothing was saved"),
    },
    dependencies={"db": Provide(provide_read_db)},
    guards=[signed_in],
    exception_handlers=BODY_ERRORS,
)
async def put_checkin(
    request: Request[Any, Any, Any],
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
        replaces_id=data.replaces_id,
    )
    result = await submit_checkin(state.database, user=user, draft=draft, client_uuid=client_uuid)
    return Response(CheckInOut.of(result.entry, request.app), status_code=201 if result.created else 200)


routes = [put_checkin]

"""PUT /api/deliveries/{client_uuid}: the offline outbox's idempotent way to send one service delivery.

The phone first sends each photo with PUT /api/photos/{photo uuid}?person_id=<the case's person>, then
this. The body is checked strictly: an unknown field (a `status`, a `case_id`, a `submitted_by_id`) is
refused, since a delivery carries none; what is wrong is said in the person's language, never as a 500.
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
from backend.cases.delivery_forms import normalize_text
from backend.cases.delivery_service import (
    MAX_BY_CHARS,
    MAX_MINUTES,
    MAX_NOTE_CHARS,
    MAX_PEOPLE,
    MIN_MINUTES,
    MIN_PEOPLE,
    DeliveryDraft,
    DeliveryRefused,
    minutes_message,
    people_message,
    photos_message,
    submit_delivery,
)
from backend.cases.models import MAX_PHOTOS, Delivery
from backend.deps import provide_read_db
from backend.i18n import lazy_gettext as _l


class DeliveryIn(msgspec.Struct, forbid_unknown_fields=True):
    """One delivery: which plan item, which day, how long, who gave it, to how many, its photos.
    Minutes, people and photos are checked by the service (so the refusal is said in words, 422)."""

    plan_item_id: int
    delivered_on: date
    minutes: int
    people_count: int = 1
    delivered_by: Annotated[str, msgspec.Meta(max_length=MAX_BY_CHARS)] = ""
    at_home: bool = False
    note: Annotated[str, msgspec.Meta(max_length=MAX_NOTE_CHARS)] = ""
    photo_uuids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=50)] = []


class DeliveryOut(msgspec.Struct):
    id: int
    client_uuid: uuid.UUID
    case_id: int
    plan_item_id: int
    delivered_on: date
    minutes: int
    delivered_by: str
    people_count: int
    at_home: bool
    note: str
    photo_uuids: list[uuid.UUID]
    status: str
    version: int
    submitted_at: datetime
    url: str

    @classmethod
    def of(cls, delivery: Delivery, app: Litestar) -> DeliveryOut:
        return cls(
            id=delivery.id,
            client_uuid=delivery.client_uuid,
            case_id=delivery.case_id,
            plan_item_id=delivery.plan_item_id,
            delivered_on=delivery.delivered_on,
            minutes=delivery.minutes,
            delivered_by=delivery.delivered_by,
            people_count=delivery.people_count,
            at_home=delivery.at_home,
            note=delivery.note,
            photo_uuids=[p.client_uuid for p in delivery.photos],
            status=delivery.status.value,
            version=delivery.version,
            submitted_at=delivery.submitted_at,
            url=app.route_reverse("deliveries.detail", delivery_id=delivery.id),
        )


BODY_ERRORS = body_error_handlers(
    BodyMessages(
        unknown_field=_l(
            "The field %(field)s is not accepted: a service delivery carries no status, case or author."
        ),
        invalid=_l("This service delivery could not be read: %(fields)s missing or not valid."),
        not_json=_l("This service delivery could not be read: send it as JSON."),
    )
)


@put(
    "/api/deliveries/{client_uuid:uuid}",
    name="deliveries.api_put",
    summary="Log one service delivery (idempotent)",
    description=(
        "Send each photo first with PUT /api/photos/{photo uuid}?person_id={the case's person id}, then "
        "the delivery. The client UUID names it: the same content again returns the original (200); "
        "different content, or a UUID another user sent, is refused (409). Only a social worker of the "
        "case's station may log it, under a plan item still in the plan of an open case. A delivery "
        "carries no status: such fields are refused. Send the CSRF token in X-CSRFToken."
    ),
    tags=["cases"],
    status_code=201,
    responses={
        200: ResponseSpec(data_container=DeliveryOut, description="Already received: the original"),
        400: error_spec("The body is not a valid delivery"),
        401: error_spec("Not signed in; nothing was read or saved"),
        403: error_spec("Not a social worker of this case's station"),
        404: error_spec("No such plan item for you, or a photo has not arrived yet"),
        409: error_spec("This UUID was used for other content, the case is closed or the item ended"),
        422: error_spec("A rule refuses this delivery (minutes, people, a future day, a photo)"),
        503: error_spec("The server is busy; nothing was saved"),
    },
    dependencies={"db": Provide(provide_read_db)},
    # Before the body is read: a signed-out phone hears 401 whatever it sent.
    guards=[signed_in],
    exception_handlers=BODY_ERRORS,
)
async def put_delivery(
    request: Request[Any, Any, Any],
    state: State,
    user: NamedDependency[Principal],
    client_uuid: FromPath[uuid.UUID],
    data: JSONBody[DeliveryIn],
) -> Response[DeliveryOut]:
    if not MIN_MINUTES <= data.minutes <= MAX_MINUTES:
        raise DeliveryRefused(minutes_message(), field="minutes")
    if not MIN_PEOPLE <= data.people_count <= MAX_PEOPLE:
        raise DeliveryRefused(people_message(), field="people_count")
    if len(data.photo_uuids) > MAX_PHOTOS:
        raise DeliveryRefused(photos_message(), field="photos")
    draft = DeliveryDraft(
        plan_item_id=data.plan_item_id,
        delivered_on=data.delivered_on,
        minutes=data.minutes,
        delivered_by=normalize_text(data.delivered_by),
        people_count=data.people_count,
        at_home=data.at_home,
        note=normalize_text(data.note),
        photo_uuids=tuple(data.photo_uuids),
    )
    result = await submit_delivery(state.database, user=user, draft=draft, client_uuid=client_uuid)
    return Response(DeliveryOut.of(result.entry, request.app), status_code=201 if result.created else 200)


routes = [put_delivery]

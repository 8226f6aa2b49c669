"""PUT /api/visits/{client_uuid}: the offline outbox's idempotent way to send one visit.

The phone first sends each photo with PUT /api/photos/{photo uuid}?person_id=<child>, then this.
The body is checked strictly: an unknown field (a `status`, a `mother_id`) is refused, since a visit
carries neither; what is wrong is said in the person's language, never as a 500.
"""

from __future__ import annotations

import uuid
from datetime import datetime
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
from backend.i18n import gettext as _
from backend.i18n import lazy_gettext as _l
from backend.visits import policy
from backend.visits.checklist_service import checklist_for
from backend.visits.forms import normalize_note
from backend.visits.models import NeedArea, Visit
from backend.visits.service import (
    MAX_MINUTES,
    MAX_NOTE_CHARS,
    MAX_PHOTOS,
    MIN_MINUTES,
    VisitDraft,
    VisitRefused,
    submit_visit,
)


class VisitIn(msgspec.Struct, forbid_unknown_fields=True):
    """One visit: which pairing, when (with its UTC offset), how long, what it touched, its photos."""

    pairing_id: int
    visited_at: datetime
    duration_minutes: Annotated[int, msgspec.Meta(ge=MIN_MINUTES, le=MAX_MINUTES)]
    need_areas: Annotated[list[NeedArea], msgspec.Meta(min_length=1, max_length=4)]
    checklist_item_ids: Annotated[list[int], msgspec.Meta(max_length=60)] = []
    note: Annotated[str, msgspec.Meta(max_length=MAX_NOTE_CHARS)] = ""
    photo_uuids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=MAX_PHOTOS)] = []


class VisitOut(msgspec.Struct):
    id: int
    client_uuid: uuid.UUID
    pairing_id: int
    visited_at: datetime
    duration_minutes: int
    need_areas: list[str]
    checklist: list[str]
    note: str
    photo_uuids: list[uuid.UUID]
    status: str
    version: int
    submitted_at: datetime
    url: str

    @classmethod
    def of(cls, visit: Visit, app: Litestar) -> VisitOut:
        return cls(
            id=visit.id,
            client_uuid=visit.client_uuid,
            pairing_id=visit.pairing_id,
            visited_at=visit.visited_at,
            duration_minutes=visit.duration_minutes,
            need_areas=list(visit.need_areas),
            checklist=list(visit.checklist),
            note=visit.note,
            photo_uuids=[p.client_uuid for p in visit.photos],
            status=visit.status.value,
            version=visit.version,
            submitted_at=visit.submitted_at,
            url=app.route_reverse("visits.detail", visit_id=visit.id),
        )


BODY_ERRORS = body_error_handlers(
    BodyMessages(
        unknown_field=_l("The field %(field)s is not accepted: a visit carries no status and no author."),
        invalid=_l("This visit could not be read: %(fields)s missing or not valid."),
        not_json=_l("This visit could not be read: send it as JSON."),
    )
)


@put(
    "/api/visits/{client_uuid:uuid}",
    name="visits.api_put",
    summary="Log one visit (idempotent)",
    description=(
        "Send each photo first with PUT /api/photos/{photo uuid}?person_id={child id}, then the visit. "
        "The client UUID names the visit: the same content again returns the original (200); different "
        "content, or a UUID another user sent, is refused (409). Only the mother of the child's current "
        "pairing may log it. `visited_at` carries its UTC offset. A visit carries no status: such fields "
        "are refused. Send the CSRF token in X-CSRFToken."
    ),
    tags=["visits"],
    status_code=201,
    responses={
        200: ResponseSpec(data_container=VisitOut, description="Already received: the original"),
        400: error_spec("The body is not a valid visit"),
        401: error_spec("Not signed in; nothing was read or saved"),
        403: error_spec("Not the mother of this pairing"),
        404: error_spec("No such pairing for you, or a photo has not arrived yet"),
        409: error_spec("This UUID was used for other content"),
        422: error_spec("A rule refuses this visit (in the future, too old, a photo of someone else)"),
        503: error_spec("The server is busy; nothing was saved"),
    },
    dependencies={"db": Provide(provide_read_db)},
    # Before the body is read: a signed-out phone hears 401 whatever it sent (JSON or a form).
    guards=[signed_in],
    exception_handlers=BODY_ERRORS,
)
async def put_visit(
    request: Request[Any, Any, Any],
    state: State,
    user: NamedDependency[Principal],
    client_uuid: FromPath[uuid.UUID],
    data: JSONBody[VisitIn],
) -> Response[VisitOut]:
    if data.visited_at.tzinfo is None:
        raise VisitRefused(
            _("Send the time of the visit with its UTC offset."), field="visited_at", status_code=400
        )
    async with state.database.transaction(read_only=True) as db:
        pairing = await policy.get_pairing_for(db, user, data.pairing_id)
        items = {item.id: item.label for item in await checklist_for(db, pairing.programme_id)}
    chosen = set(data.checklist_item_ids)
    draft = VisitDraft(
        pairing_id=data.pairing_id,
        visited_at=data.visited_at,
        duration_minutes=data.duration_minutes,
        need_areas=tuple(a for a in NeedArea if a in set(data.need_areas)),
        checklist=tuple(label for item_id, label in items.items() if item_id in chosen),
        note=normalize_note(data.note),
        photo_uuids=tuple(data.photo_uuids),
    )
    result = await submit_visit(state.database, user=user, draft=draft, client_uuid=client_uuid)
    return Response(VisitOut.of(result.entry, request.app), status_code=201 if result.created else 200)


routes = [put_visit]

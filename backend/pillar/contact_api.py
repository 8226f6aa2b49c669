"""PUT /api/contacts/{client_uuid}: the offline outbox's idempotent way to send one group contact.

The phone first sends the photo (if any) with PUT /api/photos/{photo uuid} (about nobody: no
person_id), then this. The body is checked strictly: an unknown field (an author, a programme) is
refused; what is wrong is said in the person's language, never as a 500.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from backend.api import BodyMessages, body_error_handlers, error_spec, signed_in
from backend.auth.principal import Principal
from backend.cases.delivery_forms import normalize_text
from backend.deps import provide_read_db
from backend.i18n import lazy_gettext as _l
from backend.pillar.contact_service import (
    MAX_CONTACT_PHOTOS,
    MAX_MINUTES,
    MAX_NOTE_CHARS,
    MIN_MINUTES,
    ContactDraft,
    ContactRefused,
    channel_message,
    minutes_message,
    photos_message,
    submit_contact,
)
from backend.pillar.models import Contact, ContactChannel


class ContactIn(msgspec.Struct, forbid_unknown_fields=True):
    """One contact: whose file, which day, how, how long, a note, at most one photo. Minutes, channel
    and photos are checked here and by the service (so the refusal is said in words, 422)."""

    file_id: int
    contacted_on: date
    channel: str
    minutes: int
    note: Annotated[str, msgspec.Meta(max_length=MAX_NOTE_CHARS)] = ""
    photo_uuids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=10)] = []


class ContactOut(msgspec.Struct):
    id: int
    client_uuid: uuid.UUID
    file_id: int
    contacted_on: date
    channel: str
    minutes: int
    note: str
    photo_uuids: list[uuid.UUID]
    submitted_at: datetime
    url: str

    @classmethod
    def of(cls, contact: Contact, url: str) -> ContactOut:
        return cls(
            id=contact.id,
            client_uuid=contact.client_uuid,
            file_id=contact.file_id,
            contacted_on=contact.contacted_on,
            channel=contact.channel.value,
            minutes=contact.minutes,
            note=contact.note,
            photo_uuids=[contact.photo.client_uuid] if contact.photo is not None else [],
            submitted_at=contact.submitted_at,
            url=url,
        )


BODY_ERRORS = body_error_handlers(
    BodyMessages(
        unknown_field=_l(
            "The field %(field)s is not accepted: a contact carries no author, programme or area."
        ),
        invalid=_l("This contact could not be read: %(fields)s missing or not valid."),
        not_json=_l("This contact could not be read: send it as JSON."),
    )
)


@put(
    "/api/contacts/{client_uuid:uuid}",
    name="pillar.contact_api_put",
    summary="Log one contact of a mother's support group (idempotent)",
    description=(
        "Send the photo first (at most one) with PUT /api/photos/{photo uuid}, then the contact. The client "
        "UUID names it: the same content again returns the original (200); different content, or a UUID "
        "another user sent, is refused (409). Only an active member of the mother's group (the mother "
        "included) or a social worker of her agency may log it, in a file still open; staff only read. "
        "Send the CSRF token in X-CSRFToken."
    ),
    tags=["pillar"],
    status_code=201,
    responses={
        200: ResponseSpec(data_container=ContactOut, description="Already received: the original"),
        400: error_spec("The body is not a valid contact"),
        401: error_spec("Not signed in; nothing was read or saved"),
        403: error_spec("She sees the file but may not log contacts in it (staff)"),
        404: error_spec("No such file for you, or the photo has not arrived yet"),
        409: error_spec("This UUID was used for other content, or the file is closed"),
        422: error_spec("A rule refuses this contact (minutes, channel, a future day, a photo)"),
        503: error_spec("The server is busy; nothing was saved"),
    },
    dependencies={"db": Provide(provide_read_db)},
    guards=[signed_in],
    exception_handlers=BODY_ERRORS,
)
async def put_contact(
    request: Request[Any, Any, Any],
    state: State,
    user: NamedDependency[Principal],
    client_uuid: FromPath[uuid.UUID],
    data: JSONBody[ContactIn],
) -> Response[ContactOut]:
    if not MIN_MINUTES <= data.minutes <= MAX_MINUTES:
        raise ContactRefused(minutes_message(), field="minutes")
    if data.channel not in {c.value for c in ContactChannel}:
        raise ContactRefused(channel_message(), field="channel")
    if len(data.photo_uuids) > MAX_CONTACT_PHOTOS:
        raise ContactRefused(photos_message(), field="photo")
    draft = ContactDraft(
        file_id=data.file_id,
        contacted_on=data.contacted_on,
        channel=ContactChannel(data.channel),
        minutes=data.minutes,
        note=normalize_text(data.note),
        photo_uuids=tuple(data.photo_uuids),
    )
    result = await submit_contact(state.database, user=user, draft=draft, client_uuid=client_uuid)
    url = (
        request.app.route_reverse("pillar.file", file_id=result.entry.file_id)
        + "?saved=contact#pillar-contacts"
    )
    return Response(ContactOut.of(result.entry, url), status_code=201 if result.created else 200)


routes = [put_contact]

"""Photos sent with entry forms (meal check-ins, visits, agreements) go through the same pipeline as
the photo form's.

The form handlers read the user in a read-only transaction (evidence.routes.UPLOAD_OPTS): the photo
is received, checked and stored before any write transaction opens, which then stays short.
"""

from __future__ import annotations

import uuid

from litestar.datastructures import State

from backend.auth.principal import Principal
from backend.errors import Conflict
from backend.evidence import service as evidence
from backend.evidence.imaging import PhotoRejected
from backend.evidence.models import Photo
from backend.evidence.routes import photo_limiter, photo_limits
from backend.people.models import Person
from backend.settings import Settings


class PhotoRefused(Exception):
    """The pipeline refused the photo: its message (in the user's language) and HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


async def ingest_form_photo(
    state: State, settings: Settings, *, user: Principal, data: bytes, client_uuid: uuid.UUID, person: Person
) -> Photo:
    try:
        result = await evidence.ingest_photo(
            state.database,
            state.photo_store,
            photo_limiter(state),
            data,
            actor=user,
            client_uuid=client_uuid,
            person=person,
            client_captured_at=None,
            limits=photo_limits(settings),
        )
    except PhotoRejected as exc:
        raise PhotoRefused(exc.text(), exc.status) from None
    except Conflict as exc:
        raise PhotoRefused(str(exc.detail), exc.status_code) from None
    return result.photo

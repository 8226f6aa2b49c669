"""The floor under every route that receives photos: the limits, the upload options and their error
answers, and PhotoIntake, through which an entry's service receives the photos sent with it.

Upload routes read the signed-in user through a read-only transaction (UPLOAD_OPTS): a photo is
received, checked and stored before any write transaction opens, so SQLite's write lock is held only
for the inserts. That session, and the upload slot that comes with it, is taken only once the whole
body is in (provide_upload_db): a sender trickling its bytes holds neither (and slow_body.py ends it
with 408 once it falls under the minimum rate).
Nothing here imports a route module, so every route may import this one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from anyio import CapacityLimiter
from litestar import Request, Response
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import Actor
from backend.db import Database
from backend.deps import provide_read_db
from backend.error_pages import handle_http_exception
from backend.errors import Refused
from backend.evidence import service
from backend.evidence.imaging import PhotoRejected
from backend.evidence.models import Photo
from backend.i18n import gettext as _
from backend.idempotency import Submitted
from backend.logs import app_log
from backend.people.models import Person
from backend.settings import Settings
from backend.storage import PhotoStore


def photo_limiter(state: State) -> CapacityLimiter:
    """The app's one limiter for Pillow work, shared by every intake path."""
    limiter: CapacityLimiter | None = getattr(state, "photo_limiter", None)
    if limiter is None:
        # One decode per core: Pillow releases the GIL, so more would only queue inside the CPU.
        limiter = CapacityLimiter(max(1, min(4, os.cpu_count() or 1)))
        state.photo_limiter = limiter
    return limiter


def photo_limits(settings: Settings, decode_seconds: float = service.DECODE_SECONDS) -> service.PhotoLimits:
    return service.PhotoLimits(
        max_pixels=settings.max_photo_pixels,
        keep_originals=settings.keep_originals,
        time_zone=settings.time_zone,
        decode_seconds=decode_seconds,
    )


async def provide_upload_db(request: Request[Any, Any, Any], state: State) -> AsyncIterator[AsyncSession]:
    """The whole body first, then the read session and one of the few upload slots that come with it
    (deps.provide_read_db). A form is parsed as it streams in (the CSRF check may have done so already:
    its result is cached per connection, and the stream cannot be read twice); any other body is read
    whole. Either way the handler's form() or body() then answers from the cache."""
    if request.content_type[0] in (RequestEncodingType.MULTI_PART, RequestEncodingType.URL_ENCODED):
        await request.form()
    else:
        await request.body()
    async with asynccontextmanager(provide_read_db)(state) as session:
        yield session


@dataclass(frozen=True, slots=True)
class RawPhoto:
    """A photo as the form sent it, under the UUID the form gave it (so a resend stores it once)."""

    client_uuid: uuid.UUID
    data: bytes


@dataclass(frozen=True, slots=True)
class PhotoIntake:
    """What receiving a photo needs: the database, the store, the limiter and the limits."""

    database: Database
    store: PhotoStore
    limiter: CapacityLimiter
    limits: service.PhotoLimits

    async def receive(
        self,
        data: bytes,
        *,
        actor: Actor,
        client_uuid: uuid.UUID,
        person: Person | None,
        field: str = "photo",
        client_captured_at: datetime | None = None,
    ) -> Submitted[Photo]:
        """One photo, idempotently; any refusal is a Refused for the form's `field`."""
        try:
            return await service.ingest_photo(
                self.database,
                self.store,
                self.limiter,
                data,
                actor=actor,
                client_uuid=client_uuid,
                person=person,
                client_captured_at=client_captured_at,
                limits=self.limits,
            )
        except PhotoRejected as exc:
            raise Refused(exc.text(), field=field, status_code=exc.status) from None
        except Refused as exc:
            raise Refused(exc.detail, field=field, status_code=exc.status_code) from None

    async def receive_all(
        self, photos: Sequence[RawPhoto], *, actor: Actor, person: Person, field: str
    ) -> tuple[uuid.UUID, ...]:
        """Several photos of one person, in order; the UUIDs to name them by in the entry."""
        uuids = []
        for raw in photos:
            result = await self.receive(
                raw.data, actor=actor, client_uuid=raw.client_uuid, person=person, field=field
            )
            uuids.append(result.entry.client_uuid)
        return tuple(uuids)


def provide_photo_intake(state: State) -> PhotoIntake:
    return PhotoIntake(
        database=state.database,
        store=state.photo_store,
        limiter=photo_limiter(state),
        # Tests shorten the decode budget through the app's state.
        limits=photo_limits(state.settings, float(state.get("photo_decode_seconds", service.DECODE_SECONDS))),
    )


def _too_large(request: Request[Any, Any, Any], _exc: RequestEntityTooLarge) -> Response[Any]:
    settings: Settings = request.app.state.settings
    detail = _("This file is too large (at most %(megabytes)s MB). Please send a smaller photo.") % {
        "megabytes": f"{settings.max_upload_bytes / (1024 * 1024):g}"
    }
    return handle_http_exception(request, ClientException(status_code=413, detail=detail))


def _unreadable_form(request: Request[Any, Any, Any], _exc: UnicodeDecodeError) -> Response[Any]:
    # Litestar's multipart parser decodes a file part sent without a file name as UTF-8 text;
    # binary bytes there would otherwise surface as a 500.
    detail = _("The form could not be read. Please choose the photo again.")
    return handle_http_exception(request, ClientException(status_code=400, detail=detail))


def _sender_gone(request: Request[Any, Any, Any], exc: InternalServerException) -> Response[Any]:
    # A phone that loses its signal mid-upload ends the body early; Litestar reports that as a 500.
    # Nobody is left to read the answer, and it is not our fault: note it quietly, store nothing.
    if exc.detail != "client disconnected prematurely":
        return handle_http_exception(request, exc)
    app_log.info("upload abandoned", extra={"route": request.scope.get("path_template") or "-"})
    return Response({"status": 400, "detail": "client disconnected"}, status_code=400)


# For every route that receives photos: a read-only session (the service opens its own short write
# transaction), the intake, and clear answers to a body that is too large, unreadable or cut off.
UPLOAD_OPTS: dict[str, Any] = {
    "dependencies": {
        "db": Provide(provide_upload_db),
        "intake": Provide(provide_photo_intake, sync_to_thread=False),
    },
    "exception_handlers": {
        RequestEntityTooLarge: _too_large,
        UnicodeDecodeError: _unreadable_form,
        InternalServerException: _sender_gone,
    },
}

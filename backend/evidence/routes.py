"""Photo intake (plain form and idempotent API) and the one authorised route that serves photos.

The upload handlers receive through evidence.intake (a read-only session; the photo is decoded before
any write transaction opens, so SQLite's write lock is held only for the insert).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Litestar, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import ClientException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api import error_spec
from backend.auth.principal import Principal
from backend.errors import NotFound, Refused
from backend.evidence import service
from backend.evidence.forms import API_CONTENT_TYPES, media_type, parse_captured_at, parse_upload_form
from backend.evidence.intake import UPLOAD_OPTS, PhotoIntake
from backend.evidence.models import Photo
from backend.evidence.pages import person_page_context
from backend.evidence.policy import get_photo_for, may_see_original
from backend.evidence.removal import PhotoRemoved
from backend.i18n import gettext as _
from backend.people.policy import get_person_for

# Cached by the browser only (private), for an hour; sign-out clears it (Clear-Site-Data).
CACHE_CONTROL = "private, max-age=3600"
PHOTO_CSP = "sandbox; default-src 'none'"


@post("/people/{person_id:int}/photos", name="evidence.upload", include_in_schema=False, **UPLOAD_OPTS)
async def upload_photo(
    request: Request[Any, Any, Any],
    person_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    intake: NamedDependency[PhotoIntake],
) -> Template | Redirect:
    person = await get_person_for(db, user, person_id)
    form = await parse_upload_form(await request.form())
    error, status = (form.errors.get("photo"), 400) if not form.valid else (None, 200)
    if form.valid:
        try:
            result = await intake.receive(form.data, actor=user, client_uuid=form.client_uuid, person=person)
            url = request.app.route_reverse("people.detail", person_id=person.id)
            return Redirect(f"{url}#photo-{result.entry.id}", status_code=303)
        except Refused as exc:
            error, status = str(exc.detail), exc.status_code
    context = await person_page_context(db, user, person, upload_error=error)
    return Template(template_name="people/detail.html", context=context, status_code=status)


@dataclass
class PhotoOut:
    id: int
    client_uuid: uuid.UUID
    subject_person_id: int | None
    received_sha256: str
    display_sha256: str
    thumb_sha256: str
    width: int
    height: int
    captured_at: datetime | None
    capture_source: str
    flags: list[str]
    display_url: str
    thumb_url: str

    @classmethod
    def of(cls, photo: Photo, app: Litestar) -> PhotoOut:
        return cls(
            id=photo.id,
            client_uuid=photo.client_uuid,
            subject_person_id=photo.subject_person_id,
            received_sha256=photo.received_sha256,
            display_sha256=photo.display_sha256,
            thumb_sha256=photo.thumb_sha256,
            width=photo.display_width,
            height=photo.display_height,
            captured_at=photo.captured_at,
            capture_source=photo.capture_source.value,
            flags=photo.flags,
            display_url=app.route_reverse("evidence.display", photo_id=photo.id),
            thumb_url=app.route_reverse("evidence.thumb", photo_id=photo.id),
        )


@dataclass
class _RawImageOperation(Operation):
    """The body is the image itself, which Litestar cannot infer from a handler that reads it raw."""

    def __post_init__(self) -> None:
        binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
        self.request_body = RequestBody(
            content={t: OpenAPIMediaType(schema=binary) for t in sorted(API_CONTENT_TYPES)},
            required=True,
            description="The photo's bytes; its file name and any EXIF are never shown to others.",
        )


@put(
    "/api/photos/{client_uuid:uuid}",
    name="evidence.api_put",
    summary="Send one photo (idempotent)",
    description=(
        "The body is the image itself (JPEG, PNG or WebP; HEIC only where the server has the heif "
        "extra). The client UUID names the photo: sending the same bytes again under it returns the "
        "original (200); different bytes, or a UUID another user sent, are refused (409). Send the "
        "CSRF token in X-CSRFToken. The answer carries the photo's hashes and any flags, such as "
        "possible_reuse when an earlier photo of the same uploader or area looks the same."
    ),
    tags=["photos"],
    status_code=201,
    operation_class=_RawImageOperation,
    responses={
        200: ResponseSpec(data_container=PhotoOut, description="Already received: the original"),
        400: error_spec("Empty body"),
        404: error_spec("No such person, or not yours to see"),
        409: error_spec("This UUID was already used for other content"),
        413: error_spec("Body or pixel count over the limit"),
        415: error_spec("Not an accepted image type"),
        422: error_spec("Damaged or truncated image"),
        503: error_spec("The photo store is unavailable; nothing was saved"),
    },
    **UPLOAD_OPTS,
)
async def put_photo(
    request: Request[Any, Any, Any],
    client_uuid: FromPath[uuid.UUID],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    intake: NamedDependency[PhotoIntake],
    person_id: Annotated[int | None, QueryParameter(description="The person photographed")] = None,
    captured_at: Annotated[
        str | None, QueryParameter(description="ISO 8601 capture time read on the phone")
    ] = None,
) -> Response[PhotoOut]:
    if media_type(request.headers.get("content-type")) not in API_CONTENT_TYPES:
        raise ClientException(
            status_code=415, detail=_("Send the photo as image/jpeg, image/png or image/webp.")
        )
    person = await get_person_for(db, user, person_id) if person_id is not None else None
    data = await request.body()
    result = await intake.receive(
        data,
        actor=user,
        client_uuid=client_uuid,
        person=person,
        client_captured_at=parse_captured_at(captured_at),
    )
    return Response(PhotoOut.of(result.entry, request.app), status_code=201 if result.created else 200)


# A tile with no words (a struck-through frame), so it needs no language and no font.
REMOVED_TILE = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="160" height="120" viewBox="0 0 160 120">'
    b'<rect width="160" height="120" fill="#e4e4e4"/><rect x="8" y="8" width="144" height="104" fill="none"'
    b' stroke="#8a8a8a" stroke-width="4"/><path d="M8 112 152 8" stroke="#8a8a8a" stroke-width="4"/></svg>'
)


async def _load(db: AsyncSession, principal: Principal | None, photo_id: int) -> tuple[Photo, Principal]:
    if principal is None:  # signed out: the photo does not exist for you (no redirect that confirms it)
        raise NotFound()
    photo = await get_photo_for(db, principal, photo_id)
    if photo.removed_at is not None:  # retention or erasure deleted its files: say so (410)
        raise PhotoRemoved(photo.removed_reason)
    return photo, principal


async def _serve(
    request: Request[Any, Any, Any], photo: Photo, user: Principal, variant: str
) -> Response[bytes]:
    sha256 = photo.display_sha256 if variant == "display" else photo.thumb_sha256
    headers = {
        "ETag": f'"{sha256}"',
        "Cache-Control": CACHE_CONTROL,
        "Content-Security-Policy": PHOTO_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if f'"{sha256}"' in request.headers.get("if-none-match", ""):
        return Response(b"", status_code=304, headers=headers, media_type="image/jpeg")
    state = request.app.state
    data = await service.open_for_viewer(
        state.database, state.photo_store, photo, viewer=user, variant=variant, sha256=sha256
    )
    return Response(data, media_type="image/jpeg", headers=headers)


@get("/photos/{photo_id:int}/display", name="evidence.display", include_in_schema=False)
async def serve_display(
    request: Request[Any, Any, Any],
    photo_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal | None],
) -> Response[bytes]:
    photo, user = await _load(db, principal, photo_id)
    return await _serve(request, photo, user, "display")


@get("/photos/{photo_id:int}/thumb", name="evidence.thumb", include_in_schema=False)
async def serve_thumb(
    request: Request[Any, Any, Any],
    photo_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal | None],
) -> Response[bytes]:
    try:
        photo, user = await _load(db, principal, photo_id)
    except PhotoRemoved:
        # A page's thumbnail of a removed photo: a grey tile in the image's place (status 410 all the
        # same), rather than a broken-image icon beside an alt text that promises a photo.
        return Response(
            REMOVED_TILE,
            status_code=410,
            media_type="image/svg+xml",
            headers={
                "Cache-Control": CACHE_CONTROL,
                "Content-Security-Policy": PHOTO_CSP,
                "X-Content-Type-Options": "nosniff",
            },
        )
    return await _serve(request, photo, user, "thumb")


@get("/photos/{photo_id:int}/original", name="evidence.original", include_in_schema=False)
async def serve_original(
    request: Request[Any, Any, Any],
    photo_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal | None],
) -> Response[bytes]:
    photo, user = await _load(db, principal, photo_id)
    if not photo.original_kept or not may_see_original(user, photo):
        raise NotFound()
    state = request.app.state
    data = await service.open_for_viewer(
        state.database,
        state.photo_store,
        photo,
        viewer=user,
        variant="original",
        sha256=photo.received_sha256,
    )
    # Never rendered by the browser: the original still carries its EXIF and GPS.
    return Response(
        data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="photo-{photo.id}-original"',
            "Cache-Control": "no-store",
            "Content-Security-Policy": PHOTO_CSP,
        },
    )


routes = [upload_photo, put_photo, serve_display, serve_thumb, serve_original]

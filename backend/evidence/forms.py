"""Parse photo uploads (the plain form and the API's parameters) into typed values or field errors.

The client's file name and declared type are never used: the bytes decide what a file is, and
storage names come from content hashes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from litestar.datastructures import UploadFile

from backend.i18n import gettext as _

# What the API accepts as Content-Type. The magic bytes still decide; this only keeps stray form
# posts and JSON out of the photo path.
API_CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"})


@dataclass
class UploadForm:
    data: bytes = b""
    client_uuid: uuid.UUID = field(default_factory=uuid.uuid4)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors


def parse_uuid(raw: object) -> uuid.UUID | None:
    try:
        value = uuid.UUID(str(raw or "")[:64])
    except ValueError:
        return None
    return value if value.int != 0 else None


async def parse_upload_form(form: Mapping[str, Any]) -> UploadForm:
    # The page gives each form a fresh UUID, so a double tap on "upload" stores one photo.
    result = UploadForm(client_uuid=parse_uuid(form.get("client_uuid")) or uuid.uuid4())
    upload = form.get("photo")
    if isinstance(upload, UploadFile):
        result.data = await upload.read()
        await upload.close()
    if not result.data:
        result.errors["photo"] = _("Choose a photo to upload.")
    return result


def parse_captured_at(raw: str | None) -> datetime | None:
    """An ISO 8601 time the phone read from the photo before downscaling it; garbage is ignored."""
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.strip()[:40].replace("Z", "+00:00"))
    except ValueError:
        return None


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()

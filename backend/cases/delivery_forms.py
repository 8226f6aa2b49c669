"""Parse the service-delivery form into a typed draft with field errors in the user's language.

Only known fields are read: anything else a page sends (a `status`, a `case_id`, a `submitted_by_id`)
is never looked at. The day is a plain date (`<input type=date>`) in the programme's calendar.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date

from litestar.datastructures import FormMultiDict, UploadFile

from backend.cases.delivery_service import (
    MAX_BY_CHARS,
    MAX_MINUTES,
    MAX_NOTE_CHARS,
    MAX_PEOPLE,
    MIN_MINUTES,
    MIN_PEOPLE,
    DeliveryDraft,
    minutes_message,
    people_message,
    photos_message,
)
from backend.cases.models import MAX_PHOTOS
from backend.evidence.forms import parse_uuid
from backend.evidence.intake import RawPhoto
from backend.i18n import gettext as _

DEFAULT_MINUTES = 60


def _short(form: FormMultiDict, name: str, limit: int = 40) -> str:
    value = form.get(name)
    return unicodedata.normalize("NFKC", value)[:limit].strip() if isinstance(value, str) else ""


def normalize_text(raw: object) -> str:
    # NFC, not NFKC: full-width punctuation (，。) is how Chinese is written and must stay as typed.
    return unicodedata.normalize("NFC", raw).strip() if isinstance(raw, str) else ""


def _number(raw: str, low: int, high: int) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) <= 6 and low <= int(raw) <= high else None


@dataclass
class DeliveryForm:
    plan_item_id: int | None = None
    delivered_on: date | None = None
    minutes: int | None = None
    delivered_by: str = ""
    people_count: int | None = None
    at_home: bool = False
    note: str = ""
    photos: list[bytes] = field(default_factory=list)
    client_uuid: uuid.UUID = field(default_factory=uuid.uuid4)
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def photo_uuid(self, n: int) -> uuid.UUID:
        """Each photo's UUID follows from the form's, so a form sent twice sends the same photos."""
        return uuid.uuid5(self.client_uuid, f"photo-{n}")

    def raw_photos(self) -> list[RawPhoto]:
        return [RawPhoto(self.photo_uuid(n), data) for n, data in enumerate(self.photos, start=1)]

    def draft(self, photo_uuids: tuple[uuid.UUID, ...]) -> DeliveryDraft:
        assert self.plan_item_id is not None and self.delivered_on is not None
        assert self.minutes is not None and self.people_count is not None
        return DeliveryDraft(
            plan_item_id=self.plan_item_id,
            delivered_on=self.delivered_on,
            minutes=self.minutes,
            delivered_by=self.delivered_by,
            people_count=self.people_count,
            at_home=self.at_home,
            note=self.note,
            photo_uuids=photo_uuids,
        )


async def _uploads(form: FormMultiDict, name: str) -> list[bytes]:
    found = []
    for upload in form.getall(name, []):
        if isinstance(upload, UploadFile):
            data = await upload.read()
            await upload.close()
            if data:
                found.append(data)
    return found


async def parse_delivery_form(form: FormMultiDict) -> DeliveryForm:
    raw = {n: _short(form, n) for n in ("plan_item_id", "delivered_on", "minutes", "people_count")}
    result = DeliveryForm(raw=raw, client_uuid=parse_uuid(form.get("client_uuid")) or uuid.uuid4())
    result.plan_item_id = _number(raw["plan_item_id"], 1, 10**9) if len(raw["plan_item_id"]) < 10 else None
    if result.plan_item_id is None:
        result.errors["plan_item_id"] = _("Choose the service item you delivered.")
    try:
        result.delivered_on = (
            date.fromisoformat(raw["delivered_on"]) if len(raw["delivered_on"]) == 10 else None
        )
    except ValueError:
        result.delivered_on = None
    if result.delivered_on is None:
        result.errors["delivered_on"] = _("Enter the day of the service.")
    result.minutes = _number(raw["minutes"], MIN_MINUTES, MAX_MINUTES)
    if result.minutes is None:
        result.errors["minutes"] = minutes_message()
    result.people_count = _number(raw["people_count"], MIN_PEOPLE, MAX_PEOPLE)
    if result.people_count is None:
        result.errors["people_count"] = people_message()
    result.delivered_by = normalize_text(form.get("delivered_by"))
    raw["delivered_by"] = result.delivered_by[: MAX_BY_CHARS * 2]
    if len(result.delivered_by) > MAX_BY_CHARS:
        result.errors["delivered_by"] = _("The name may have at most %(count)s characters.") % {
            "count": MAX_BY_CHARS
        }
    result.at_home = form.get("at_home") in ("1", "on", "yes", "true")
    result.note = normalize_text(form.get("note"))
    if len(result.note) > MAX_NOTE_CHARS:
        result.errors["note"] = _("The note may have at most %(count)s characters.") % {
            "count": MAX_NOTE_CHARS
        }
    result.photos = await _uploads(form, "photos")
    if len(result.photos) > MAX_PHOTOS:
        result.errors["photos"] = photos_message()
    return result

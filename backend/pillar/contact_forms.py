"""Parse the contact form and the group forms into typed values with field errors in the user's
language. Only known fields are read; anything else a page sends (an author, a programme) is ignored."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from litestar.datastructures import FormMultiDict, UploadFile

from backend.cases.delivery_forms import normalize_text
from backend.evidence.forms import parse_uuid
from backend.evidence.intake import RawPhoto
from backend.i18n import gettext as _
from backend.pillar.contact_service import (
    MAX_MINUTES,
    MAX_NOTE_CHARS,
    MIN_MINUTES,
    ContactDraft,
    channel_message,
    minutes_message,
    note_message,
)
from backend.pillar.models import ContactChannel, GroupRole

DEFAULT_MINUTES = 30


def short(form: FormMultiDict, name: str, limit: int = 40) -> str:
    value = form.get(name)
    return unicodedata.normalize("NFKC", value)[:limit].strip() if isinstance(value, str) else ""


def number(raw: str, low: int, high: int) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) <= 9 and low <= int(raw) <= high else None


def parse_day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        return None


@dataclass
class ContactForm:
    contacted_on: date | None = None
    channel: ContactChannel | None = None
    minutes: int | None = None
    note: str = ""
    photo: bytes = b""
    client_uuid: uuid.UUID = field(default_factory=uuid.uuid4)
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def raw_photo(self) -> RawPhoto | None:
        """The photo's UUID follows from the form's, so a form sent twice sends the same photo."""
        return RawPhoto(uuid.uuid5(self.client_uuid, "photo-1"), self.photo) if self.photo else None

    def draft_for(self, file_id: int) -> Callable[[tuple[uuid.UUID, ...]], ContactDraft]:
        def build(photo_uuids: tuple[uuid.UUID, ...]) -> ContactDraft:
            assert self.contacted_on is not None and self.channel is not None and self.minutes is not None
            return ContactDraft(
                file_id=file_id,
                contacted_on=self.contacted_on,
                channel=self.channel,
                minutes=self.minutes,
                note=self.note,
                photo_uuids=photo_uuids,
            )

        return build


async def parse_contact_form(form: FormMultiDict) -> ContactForm:
    raw = {n: short(form, n) for n in ("contacted_on", "channel", "minutes")}
    result = ContactForm(raw=raw, client_uuid=parse_uuid(form.get("client_uuid")) or uuid.uuid4())
    result.contacted_on = parse_day(raw["contacted_on"])
    if result.contacted_on is None:
        result.errors["contacted_on"] = _("Enter the day of the contact.")
    try:
        result.channel = ContactChannel(raw["channel"])
    except ValueError:
        result.errors["channel"] = channel_message()
    result.minutes = number(raw["minutes"], MIN_MINUTES, MAX_MINUTES)
    if result.minutes is None:
        result.errors["minutes"] = minutes_message()
    result.note = normalize_text(form.get("note"))
    raw["note"] = result.note[: MAX_NOTE_CHARS * 2]
    if len(result.note) > MAX_NOTE_CHARS:
        result.errors["note"] = note_message()
    uploads = [u for u in form.getall("photo", []) if isinstance(u, UploadFile)]
    for upload in uploads[:2]:
        data = await upload.read()
        await upload.close()
        if data and result.photo:
            result.errors["photo"] = _("One photo at most, please.")
        elif data:
            result.photo = data
    return result


@dataclass
class MemberForm:
    user_id: int | None = None
    place: GroupRole | None = None
    errors: dict[str, str] = field(default_factory=dict)


def parse_member_form(form: FormMultiDict) -> MemberForm:
    result = MemberForm(user_id=number(short(form, "user_id"), 1, 10**9))
    if result.user_id is None:
        result.errors["user_id"] = _("Choose who joins the group.")
    try:
        result.place = GroupRole(short(form, "place"))
    except ValueError:
        result.errors["place"] = _("Choose her place: cadre, volunteer or the mother.")
    return result


def parse_interval(form: FormMultiDict) -> tuple[int | None, dict[str, str]]:
    days = number(short(form, "contact_interval_days"), 1, 180)
    if days is None:
        return None, {"contact_interval_days": _("Give a number of days from 1 to 180.")}
    return days, {}

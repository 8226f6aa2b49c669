"""Parse the visit form into a typed draft with field errors in the user's language.

Only known fields are read: anything else a page sends (a `status`, a `mother_id`) is never looked
at. The time is typed in the programme's zone (an `<input type=datetime-local>`) and kept as an
aware datetime; the service stores it in UTC.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from litestar.datastructures import FormMultiDict, UploadFile

from backend.evidence.forms import parse_uuid
from backend.evidence.intake import RawPhoto
from backend.i18n import gettext as _
from backend.visits.models import ChecklistItem, NeedArea
from backend.visits.service import MAX_MINUTES, MAX_NOTE_CHARS, MAX_PHOTOS, MIN_MINUTES, VisitDraft

DEFAULT_MINUTES = 60


def _text(form: FormMultiDict, name: str, limit: int = 200) -> str:
    value = form.get(name)
    return unicodedata.normalize("NFKC", value)[:limit].strip() if isinstance(value, str) else ""


def parse_local_datetime(raw: str, zone: ZoneInfo) -> datetime | None:
    """ "2026-11-25T15:30" as read in the programme's zone."""
    try:
        moment = datetime.fromisoformat(raw[:16])
    except ValueError:
        return None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else None


def parse_need_areas(raw: list[str]) -> tuple[NeedArea, ...]:
    found = []
    for value in raw:
        try:
            found.append(NeedArea(value))
        except ValueError:
            continue
    return tuple(a for a in NeedArea if a in found)  # the programme's order, each once


def checklist_labels(chosen_ids: list[str], items: list[ChecklistItem]) -> tuple[str, ...]:
    """The words of the chosen items, in the list's order; unknown ids are ignored."""
    wanted = {v for v in chosen_ids if v.isdigit()}
    return tuple(item.label for item in items if str(item.id) in wanted)


def normalize_note(raw: str) -> str:
    # NFC, not NFKC: full-width punctuation (，。) is how Chinese is written and must stay as typed.
    return unicodedata.normalize("NFC", raw).strip()


@dataclass
class VisitForm:
    pairing_id: int | None = None
    visited_at: datetime | None = None
    duration_minutes: int | None = None
    need_areas: tuple[NeedArea, ...] = ()
    checklist_ids: list[str] = field(default_factory=list)
    checklist: tuple[str, ...] = ()
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

    def draft(self, photo_uuids: tuple[uuid.UUID, ...]) -> VisitDraft:
        assert self.pairing_id is not None and self.visited_at is not None and self.duration_minutes
        return VisitDraft(
            pairing_id=self.pairing_id,
            visited_at=self.visited_at,
            duration_minutes=self.duration_minutes,
            need_areas=self.need_areas,
            checklist=self.checklist,
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


async def parse_visit_form(form: FormMultiDict, *, zone: ZoneInfo, items: list[ChecklistItem]) -> VisitForm:
    raw = {n: _text(form, n, 40) for n in ("pairing_id", "visited_at", "duration_minutes")}
    result = VisitForm(raw=raw, client_uuid=parse_uuid(form.get("client_uuid")) or uuid.uuid4())
    result.pairing_id = (
        int(raw["pairing_id"]) if raw["pairing_id"].isdigit() and len(raw["pairing_id"]) < 12 else None
    )
    if result.pairing_id is None:
        result.errors["pairing_id"] = _("Choose the child you visited.")
    result.visited_at = parse_local_datetime(raw["visited_at"], zone)
    if result.visited_at is None:
        result.errors["visited_at"] = _("Enter the date and time of the visit.")
    minutes = raw["duration_minutes"]
    if minutes.isdigit() and MIN_MINUTES <= int(minutes) <= MAX_MINUTES:
        result.duration_minutes = int(minutes)
    else:
        result.errors["duration_minutes"] = _(
            "Enter how long the visit took, between %(low)s and %(high)s minutes."
        ) % {"low": MIN_MINUTES, "high": MAX_MINUTES}
    result.need_areas = parse_need_areas([v for v in form.getall("need_area", []) if isinstance(v, str)][:8])
    if not result.need_areas:
        result.errors["need_areas"] = _("Choose at least one need area this visit helped with.")
    result.checklist_ids = [v for v in form.getall("checklist", []) if isinstance(v, str)][:60]
    result.checklist = checklist_labels(result.checklist_ids, items)
    note = form.get("note")
    result.note = normalize_note(note if isinstance(note, str) else "")
    if len(result.note) > MAX_NOTE_CHARS:
        result.errors["note"] = _("The note may have at most %(count)s characters.") % {
            "count": MAX_NOTE_CHARS
        }
    result.photos = await _uploads(form, "photos")
    if len(result.photos) > MAX_PHOTOS:
        result.errors["photos"] = _("At most %(count)s photos, please.") % {"count": MAX_PHOTOS}
    return result

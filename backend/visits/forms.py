"""Parse the visit form into a typed draft with field errors in the user's language.

Only known fields are read: anything else a page sends (a `status`, a `mother_id`) is never looked
at. The time is typed in the programme's zone (an `<input type=datetime-local>`) and kept as an
aware datetime; the service stores it in UTC.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from litestar.datastructures import FormMultiDict, UploadFile

from backend.evidence.forms import parse_uuid
from backend.evidence.intake import RawPhoto
from backend.i18n import gettext as _
from backend.visits.meeting_service import MAX_TEXT_CHARS, MeetingDraft, clean_text
from backend.visits.models import (
    COORDINATE_DECIMALS,
    ChecklistItem,
    ChildProfile,
    ConsentMethod,
    MeetingLevel,
    MotherProfile,
    NeedArea,
    ReferralSource,
)
from backend.visits.profile_service import ChildIntake, Coordinates
from backend.visits.service import (
    MAX_MINUTES,
    MAX_NOTE_CHARS,
    MAX_PHOTOS,
    MIN_MINUTES,
    VisitDraft,
    VisitRefused,
)

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


def parse_number(raw: object, limit: int = 6) -> int | None:
    """A whole number of at most `limit` digits, or None."""
    return int(raw) if isinstance(raw, str) and raw.strip().isdigit() and len(raw) <= limit else None


@dataclass
class MeetingForm:
    programme_id: int | None
    draft: MeetingDraft
    # What was typed, to show again beside an error.
    values: dict[str, Any]


def parse_meeting_form(form: FormMultiDict) -> MeetingForm:
    def text(name: str, limit: int) -> str:
        value = form.get(name)
        return clean_text(value[:limit]) if isinstance(value, str) else ""

    raw_day, raw_level = text("held_on", 10), text("level", 32)
    try:
        held_on: date | None = date.fromisoformat(raw_day) if len(raw_day) == 10 else None
    except ValueError:
        held_on = None
    level = MeetingLevel(raw_level) if raw_level in set(MeetingLevel) else None
    attendee_ids = tuple(
        int(v)
        for v in form.getall("attendee", [])[:500]
        if isinstance(v, str) and v.isdigit() and len(v) < 10
    )
    values: dict[str, Any] = {
        "held_on": raw_day,
        "level": raw_level,
        "attendees": set(attendee_ids),
        "others_count": text("others_count", 6),
        "results": text("results", MAX_TEXT_CHARS * 2),
        "problems": text("problems", MAX_TEXT_CHARS * 2),
    }
    draft = MeetingDraft(
        level=level,
        held_on=held_on,
        attendee_ids=attendee_ids,
        others_count=parse_number(values["others_count"] or "0"),
        results=values["results"],
        problems=values["problems"],
    )
    return MeetingForm(parse_number(form.get("programme_id"), 9), draft, values)


def form_text(form: Any, name: str, limit: int = 40) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def coordinate_values(profile: ChildProfile | MotherProfile | None) -> dict[str, str]:
    """The form's values for a stored profile (empty when it has no coordinates)."""
    if profile is None or profile.latitude is None or profile.longitude is None:
        return {"latitude": "", "longitude": ""}
    return {"latitude": f"{profile.latitude:.3f}", "longitude": f"{profile.longitude:.3f}"}


def parse_coordinates(raw_latitude: str, raw_longitude: str) -> Coordinates | None:
    """Both empty: none. Otherwise two decimal numbers in range, rounded to be coarse on purpose."""
    raw_latitude, raw_longitude = raw_latitude.strip(), raw_longitude.strip()
    if not raw_latitude and not raw_longitude:
        return None
    try:
        latitude, longitude = Decimal(raw_latitude[:20]), Decimal(raw_longitude[:20])
    except InvalidOperation:
        latitude = longitude = Decimal("NaN")
    if not (
        latitude.is_finite() and longitude.is_finite() and -90 <= latitude <= 90 and -180 <= longitude <= 180
    ):
        raise VisitRefused(
            _("Enter both latitude (-90 to 90) and longitude (-180 to 180) as decimal degrees, or neither."),
            field="coordinates",
        )
    return round(float(latitude), COORDINATE_DECIMALS), round(float(longitude), COORDINATE_DECIMALS)


def _enum_or_none(cls: Any, raw: object) -> Any:
    try:
        return cls(raw) if isinstance(raw, str) and raw else None
    except ValueError:
        return None


@dataclass
class ProfileForm:
    """A child's or a mother's profile form: what was typed (to show again), and its errors."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    coordinates: Coordinates | None = None

    def coordinates_from_values(self) -> None:
        try:
            self.coordinates = parse_coordinates(self.values["latitude"], self.values["longitude"])
        except VisitRefused as exc:
            self.errors[exc.field] = str(exc.detail)


@dataclass
class ChildProfileForm(ProfileForm):
    intake: ChildIntake | None = None


def parse_child_profile_form(form: FormMultiDict) -> ChildProfileForm:
    source = _enum_or_none(ReferralSource, form.get("referral_source"))
    chosen = {v for v in form.getall("need", []) if isinstance(v, str)}
    needs = tuple(a for a in NeedArea if a.value in chosen)
    raw_day = form.get("consent_on")
    try:
        consent_on = date.fromisoformat(raw_day) if isinstance(raw_day, str) and len(raw_day) == 10 else None
    except ValueError:
        consent_on = None
    method = _enum_or_none(ConsentMethod, form.get("consent_method"))
    result = ChildProfileForm(
        values={
            "referral_source": source.value if source else "",
            "needs": {a.value for a in needs},
            "consent_on": consent_on.isoformat() if consent_on else "",
            "consent_method": method.value if method else "",
            "latitude": form_text(form, "latitude"),
            "longitude": form_text(form, "longitude"),
        }
    )
    if source is None:
        result.errors["referral_source"] = _("Choose how the child was referred.")
        return result
    result.coordinates_from_values()
    result.intake = ChildIntake(source, needs, consent_on, method, result.coordinates)
    return result


@dataclass
class MotherProfileForm(ProfileForm):
    programme_id: int | None = None
    area_id: int | None = None
    offers: tuple[NeedArea, ...] = ()
    capacity: int | None = None


def parse_mother_profile_form(form: FormMultiDict) -> MotherProfileForm:
    offered = {v for v in form.getall("offer", []) if isinstance(v, str)}
    raw_skills, raw_capacity = form.get("skills"), form.get("capacity")
    result = MotherProfileForm(
        values={
            "area_id": parse_number(form.get("area_id"), 9),
            "offers": offered,
            "skills": raw_skills[:1000] if isinstance(raw_skills, str) else "",
            "capacity": raw_capacity[:10] if isinstance(raw_capacity, str) else "",
            "latitude": form_text(form, "latitude"),
            "longitude": form_text(form, "longitude"),
        },
        programme_id=parse_number(form.get("programme_id"), 9),
        offers=tuple(a for a in NeedArea if a.value in offered),
    )
    result.area_id = result.values["area_id"]
    result.capacity = parse_number(result.values["capacity"], 3)
    if result.capacity is None:
        result.errors["capacity"] = _("Enter how many children she can take.")
    result.coordinates_from_values()
    return result

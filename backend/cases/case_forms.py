"""Parse the case pages' forms into typed values with field errors in the user's language.

Only known fields are read: a `status`, a `lead_worker_id` or a `programme_id` sent with a form is never
looked at. Ratings, dates and choices that do not parse are field errors, never a 500.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TypeVar

from litestar.datastructures import FormMultiDict, UploadFile

from backend.cases.models import (
    MAX_PHOTOS,
    CaseDimension,
    CloseReason,
    DelivererKind,
    Frequency,
    GoalOutcome,
)
from backend.evidence.forms import parse_uuid
from backend.evidence.intake import RawPhoto
from backend.i18n import gettext as _

E = TypeVar("E", bound=StrEnum)

MAX_NOTE_CHARS = 500
MAX_OVERALL_NOTE_CHARS = 1000
MAX_GOAL_CHARS = 300
MAX_NAME_CHARS = 100


def text(form: FormMultiDict, name: str, limit: int = 200) -> str:
    """A field as typed (NFC: full-width punctuation stays), trimmed; `limit` + 1 characters at most so
    an over-long value is still seen as too long."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return unicodedata.normalize("NFC", value[: limit * 4]).strip()[: limit + 1]


def number(form: FormMultiDict, name: str) -> int | None:
    raw = text(form, name, 12)
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def choice(form: FormMultiDict, name: str, kind: type[E]) -> E | None:
    raw = text(form, name, 40)
    try:
        return kind(raw)
    except ValueError:
        return None


# ---- a worker opens a case herself ----


@dataclass
class NewCaseForm:
    person_id: int | None = None
    display_name: str = ""
    birth_year: int | None = None
    area_id: int | None = None
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def parse_new_case(form: FormMultiDict) -> NewCaseForm:
    raw = {n: text(form, n, MAX_NAME_CHARS) for n in ("person_id", "display_name", "birth_year", "area_id")}
    result = NewCaseForm(raw=raw, person_id=number(form, "person_id"), area_id=number(form, "area_id"))
    result.display_name = raw["display_name"]
    if raw["birth_year"]:
        result.birth_year = number(form, "birth_year")
        if result.birth_year is None:
            result.errors["birth_year"] = _("Enter a birth year between 1900 and this year.")
    if result.person_id is None:
        if not result.display_name:
            result.errors["person_id"] = _("Choose the person, or write the name of a new one.")
        elif len(result.display_name) > MAX_NAME_CHARS:
            result.errors["display_name"] = _("The name may have at most %(count)s characters.") % {
                "count": MAX_NAME_CHARS
            }
        if result.display_name and result.area_id is None:
            result.errors["area_id"] = _("Choose where the person lives.")
    return result


# ---- assessment at home ----


@dataclass
class AssessmentForm:
    assessed_on: date | None = None
    ratings: dict[int, tuple[int, str]] = field(default_factory=dict)
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


async def uploads(form: FormMultiDict, name: str, *, limit: int) -> list[bytes]:
    """The files of a field; reads at most `limit` + 1 of them (one more is enough to refuse)."""
    found: list[bytes] = []
    for upload in form.getall(name, []):
        if isinstance(upload, UploadFile):
            data = await upload.read() if len(found) <= limit else b""
            await upload.close()
            if data:
                found.append(data)
    return found


async def parse_assessment(form: FormMultiDict, dimensions: list[CaseDimension]) -> AssessmentForm:
    raw = {"assessed_on": text(form, "assessed_on", 10), "note": text(form, "note", MAX_OVERALL_NOTE_CHARS)}
    result = AssessmentForm(raw=raw, client_uuid=parse_uuid(form.get("client_uuid")) or uuid.uuid4())
    try:
        result.assessed_on = date.fromisoformat(raw["assessed_on"])
    except ValueError:
        result.errors["assessed_on"] = _("Enter the day of the assessment.")
    for dimension in dimensions:
        key = f"rating-{dimension.id}"
        value = text(form, key, 4)
        note = text(form, f"note-{dimension.id}", MAX_NOTE_CHARS)
        raw[key], raw[f"note-{dimension.id}"] = value, note
        if not (value.isdigit() and 1 <= int(value) <= 5):
            result.errors[key] = _("Give a rating from 1 (serious need) to 5 (no need).")
        elif len(note) > MAX_NOTE_CHARS:
            result.errors[key] = _("The note may have at most %(count)s characters.") % {
                "count": MAX_NOTE_CHARS
            }
        else:
            result.ratings[dimension.id] = (int(value), note)
    result.note = raw["note"]
    if len(result.note) > MAX_OVERALL_NOTE_CHARS:
        result.errors["note"] = _("The note may have at most %(count)s characters.") % {
            "count": MAX_OVERALL_NOTE_CHARS
        }
    result.photos = await uploads(form, "photos", limit=MAX_PHOTOS)
    if len(result.photos) > MAX_PHOTOS:
        result.errors["photos"] = _("At most %(count)s photos, please.") % {"count": MAX_PHOTOS}
    return result


# ---- the plan ----


@dataclass
class GoalForm:
    dimension_id: int | None
    text: str


def parse_goal(form: FormMultiDict) -> tuple[GoalForm, dict[str, str]]:
    goal = GoalForm(dimension_id=number(form, "dimension_id"), text=text(form, "goal_text", MAX_GOAL_CHARS))
    errors = {}
    if goal.dimension_id is None:
        errors["dimension_id"] = _("Choose the dimension of this goal.")
    if not 2 <= len(goal.text) <= MAX_GOAL_CHARS:
        errors["goal_text"] = _("Write the goal in %(low)s to %(high)s characters.") % {
            "low": 2,
            "high": MAX_GOAL_CHARS,
        }
    return goal, errors


@dataclass
class ItemForm:
    service_item_id: int | None
    deliverer_kind: DelivererKind | None
    deliverer_user_id: int | None
    deliverer_name: str
    frequency: Frequency | None
    goal_id: int | None


def parse_item(form: FormMultiDict) -> tuple[ItemForm, dict[str, str]]:
    item = ItemForm(
        service_item_id=number(form, "service_item_id"),
        deliverer_kind=choice(form, "deliverer_kind", DelivererKind),
        deliverer_user_id=number(form, "deliverer_user_id"),
        deliverer_name=text(form, "deliverer_name", MAX_NAME_CHARS),
        frequency=choice(form, "frequency", Frequency),
        goal_id=number(form, "goal_id"),
    )
    errors = {}
    if item.service_item_id is None:
        errors["service_item_id"] = _("Choose a service from the packages.")
    if item.deliverer_kind is None:
        errors["deliverer_kind"] = _("Choose who delivers this service.")
    elif item.deliverer_kind is DelivererKind.WORKER and item.deliverer_user_id is None:
        errors["deliverer_user_id"] = _("Choose the social worker who delivers it.")
    elif item.deliverer_kind is not DelivererKind.WORKER and not item.deliverer_name:
        errors["deliverer_name"] = _("Write the name of the volunteer or partner organisation.")
    elif len(item.deliverer_name) > MAX_NAME_CHARS:
        errors["deliverer_name"] = _("The name may have at most %(count)s characters.") % {
            "count": MAX_NAME_CHARS
        }
    if item.frequency is None:
        errors["frequency"] = _("Choose how often.")
    return item, errors


# ---- closing ----


@dataclass
class CloseForm:
    outcomes: dict[int, tuple[GoalOutcome, str]]
    reason: CloseReason | None
    note: str
    raw: dict[str, str]


def parse_close(form: FormMultiDict, goal_ids: list[int]) -> tuple[CloseForm, dict[str, str]]:
    errors: dict[str, str] = {}
    outcomes = {}
    raw = {"reason": text(form, "reason", 40), "note": text(form, "note", MAX_NOTE_CHARS)}
    for goal_id in goal_ids:
        outcome = choice(form, f"outcome-{goal_id}", GoalOutcome)
        note = text(form, f"outcome_note-{goal_id}", 300)
        raw[f"outcome-{goal_id}"], raw[f"outcome_note-{goal_id}"] = outcome.value if outcome else "", note
        if outcome is None:
            errors[f"outcome-{goal_id}"] = _("Say whether this goal was met.")
        elif len(note) > 300:
            errors[f"outcome-{goal_id}"] = _("The note may have at most %(count)s characters.") % {
                "count": 300
            }
        else:
            outcomes[goal_id] = (outcome, note)
    reason = choice(form, "reason", CloseReason)
    if reason is None:
        errors["reason"] = _("Say why the case is closed.")
    note = raw["note"]
    if len(note) > MAX_NOTE_CHARS:
        errors["note"] = _("The note may have at most %(count)s characters.") % {"count": MAX_NOTE_CHARS}
    elif reason is CloseReason.OTHER and not note:
        errors["note"] = _("Write a note saying why the case is closed.")
    return CloseForm(outcomes=outcomes, reason=reason, note=note, raw=raw), errors

"""Parse the forms about the people served into typed values with field errors in the user's language.

Only the fields named here are read. Lengths are checked on what was typed, before any trimming, so a
5,000-character name is refused with a message rather than silently cut to fit.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from litestar.datastructures import UploadFile

from backend.evidence.forms import parse_uuid
from backend.i18n import gettext as _
from backend.people.models import EndReason, PersonKind
from backend.people.person_service import MAX_NOTE, MAX_REFERENCE
from backend.visits.forms import parse_need_areas
from backend.visits.models import ConsentMethod, NeedArea, ReferralSource

MAX_NAME = 100
MIN_BIRTH_YEAR = 1900
# Raw values kept to show a refused form again: enough for every field, never a whole upload.
_RAW_LIMIT = 600


def raw_values(form: Mapping[str, Any]) -> dict[str, str]:
    return {k: v[:_RAW_LIMIT] for k, v in form.items() if isinstance(v, str) and k != "_csrf_token"}


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return unicodedata.normalize("NFC", value).strip() if isinstance(value, str) else ""


def _number(text: str) -> int | None:
    text = unicodedata.normalize("NFKC", text).strip()
    return int(text) if text.isdigit() and len(text) <= 9 else None


@dataclass
class PersonForm:
    """The fields shared by the new-person and edit forms."""

    display_name: str = ""
    birth_year: int | None = None
    reference: str = ""
    note: str = ""
    guardian_id: int | None = None
    guardian_name: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)


def _parse_common(form: Mapping[str, Any], result: PersonForm, *, this_year: int) -> None:
    result.raw = raw_values(form)
    result.display_name = _text(form, "display_name")
    if not result.display_name:
        result.errors["display_name"] = _("Enter the person's name.")
    elif len(result.display_name) > MAX_NAME:
        result.errors["display_name"] = _("A name may have at most %(count)s characters.") % {
            "count": MAX_NAME
        }
    year = _text(form, "birth_year")
    if year:
        result.birth_year = _number(year)
        if result.birth_year is None or not MIN_BIRTH_YEAR <= result.birth_year <= this_year:
            result.errors["birth_year"] = _("Enter a birth year between 1900 and this year.")
    result.reference = _text(form, "reference")
    if len(result.reference) > MAX_REFERENCE:
        result.errors["reference"] = _("The reference may have at most %(count)s characters.") % {
            "count": MAX_REFERENCE
        }
    result.note = _text(form, "note")
    if len(result.note) > MAX_NOTE:
        result.errors["note"] = _("The note may have at most %(count)s characters.") % {"count": MAX_NOTE}
    result.guardian_id = _number(_text(form, "guardian_id"))
    result.guardian_name = _text(form, "guardian_name")
    if len(result.guardian_name) > MAX_NAME:
        result.errors["guardian_name"] = _("A name may have at most %(count)s characters.") % {
            "count": MAX_NAME
        }


@dataclass
class NewPersonForm(PersonForm):
    kind: PersonKind | None = None
    programme_id: int | None = None
    area_id: int | None = None
    referral_source: ReferralSource | None = None
    needs: tuple[NeedArea, ...] = ()
    consent_on: date | None = None
    consent_method: ConsentMethod | None = None
    photo: bytes = b""
    client_uuid: uuid.UUID = field(default_factory=uuid.uuid4)
    # "Add a new person anyway", after the duplicate question.
    confirmed: bool = False


async def parse_new_person_form(form: Any, *, this_year: int) -> NewPersonForm:
    result = NewPersonForm(client_uuid=parse_uuid(form.get("client_uuid")) or uuid.uuid4())
    _parse_common(form, result, this_year=this_year)
    try:
        result.kind = PersonKind(_text(form, "kind"))
    except ValueError:
        result.errors["kind"] = _("Choose whom you are adding.")
    place = _text(form, "place").split(":")
    if len(place) == 2 and all(_number(p) is not None for p in place):
        result.programme_id, result.area_id = (int(p) for p in place)
    else:
        result.errors["place"] = _("Choose the programme and community.")
    result.confirmed = _text(form, "confirmed") == "1"
    if result.kind is PersonKind.CHILD:
        _parse_child(form, result)
    upload = form.get("consent_photo")
    if isinstance(upload, UploadFile):
        result.photo = await upload.read()
        await upload.close()
    if result.photo and result.kind is not PersonKind.CHILD:
        result.photo = b""  # only a child's record has a consent paper
    return result


def _parse_child(form: Any, result: NewPersonForm) -> None:
    if result.guardian_id is None and not result.guardian_name:
        result.errors["guardian"] = _("A child needs a guardian: choose one or add a new one.")
    try:
        result.referral_source = ReferralSource(_text(form, "referral_source"))
    except ValueError:
        result.errors["referral_source"] = _("Choose how the child was referred.")
    result.needs = parse_need_areas([v for v in form.getall("needs", []) if isinstance(v, str)])
    if not result.needs:
        result.errors["needs"] = _("Choose at least one need area.")
    consent_on = _text(form, "consent_on")
    if consent_on:
        try:
            result.consent_on = date.fromisoformat(consent_on[:10])
        except ValueError:
            result.errors["consent"] = _("Enter the day of consent as a date.")
    method = _text(form, "consent_method")
    if method:
        try:
            result.consent_method = ConsentMethod(method)
        except ValueError:
            result.errors["consent"] = _("Choose how the consent was given.")


def parse_edit_form(form: Mapping[str, Any], *, this_year: int) -> PersonForm:
    result = PersonForm()
    _parse_common(form, result, this_year=this_year)
    return result


def parse_area_choice(form: Mapping[str, Any]) -> int | None:
    return _number(_text(form, "area_id"))


def parse_end_reason(form: Mapping[str, Any]) -> EndReason | None:
    try:
        return EndReason(_text(form, "reason"))
    except ValueError:
        return None

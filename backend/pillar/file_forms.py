"""Parse the pillar-mother file's forms (screening, a need, the profile, a child) into typed values with
field errors in the user's language.

Only known fields are read: a `programme_id`, a `case_id` or a `version` sent with a form is never looked
at. Years, levels, days and choices that do not parse are field errors (400), never a 500. Whether the
area and the agency are hers to choose is the route's check (it knows her remit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from litestar.datastructures import FormMultiDict

from backend.cases.case_forms import choice, number, text
from backend.cases.models import CaseDimension
from backend.i18n import gettext as _
from backend.pillar.models import Qualification
from backend.pillar.service import ChildDraft, NeedDraft

MAX_CHILDREN = 6
MAX_NAME_CHARS = 100
MAX_QUALIFICATION_NOTE = 300
MAX_HOUSEHOLD_NOTE = 500
MAX_NEED_TEXT = 500
MAX_REFERENCE = 64


def _too_long(count: int) -> str:
    return _("At most %(count)s characters, please.") % {"count": count}


def _year(raw: str, this_year: int) -> tuple[int | None, str | None]:
    """A birth year (optional): the value, or an error."""
    if not raw:
        return None, None
    if raw.isdigit() and len(raw) == 4 and 1900 <= int(raw) <= this_year:
        return int(raw), None
    return None, _("Enter a birth year between 1900 and this year.")


@dataclass
class ProfileForm:
    qualification: Qualification | None = None
    qualification_note: str = ""
    household_note: str = ""
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def parse_profile(form: FormMultiDict) -> ProfileForm:
    raw = {
        "qualification": text(form, "qualification", 40),
        "qualification_note": text(form, "qualification_note", MAX_QUALIFICATION_NOTE),
        "household_note": text(form, "household_note", MAX_HOUSEHOLD_NOTE),
    }
    result = ProfileForm(raw=raw, qualification=choice(form, "qualification", Qualification))
    result.qualification_note, result.household_note = raw["qualification_note"], raw["household_note"]
    if result.qualification is None:
        result.errors["qualification"] = _("Say why she qualifies.")
    if len(result.qualification_note) > MAX_QUALIFICATION_NOTE:
        result.errors["qualification_note"] = _too_long(MAX_QUALIFICATION_NOTE)
    elif result.qualification is Qualification.OTHER and not result.qualification_note:
        result.errors["qualification_note"] = _("Say in a few words why she qualifies.")
    if len(result.household_note) > MAX_HOUSEHOLD_NOTE:
        result.errors["household_note"] = _too_long(MAX_HOUSEHOLD_NOTE)
    return result


@dataclass
class ChildForm:
    child: ChildDraft | None = None
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _child(
    form: FormMultiDict, suffix: str, this_year: int, result: ChildForm | ScreeningForm
) -> ChildDraft | None:
    name_key, year_key = f"child_name{suffix}", f"child_birth_year{suffix}"
    name, year_raw = text(form, name_key, MAX_NAME_CHARS), text(form, year_key, 8)
    result.raw[name_key], result.raw[year_key] = name, year_raw
    if not name and not year_raw:
        return None
    year, error = _year(year_raw, this_year)
    if error:
        result.errors[year_key] = error
    if not name:
        result.errors[name_key] = _("Write the child's name.")
    elif len(name) > MAX_NAME_CHARS:
        result.errors[name_key] = _too_long(MAX_NAME_CHARS)
    if error or not name or len(name) > MAX_NAME_CHARS:
        return None
    return ChildDraft(display_name=name, birth_year=year)


def parse_child(form: FormMultiDict, *, this_year: int) -> ChildForm:
    result = ChildForm()
    result.child = _child(form, "", this_year, result)
    if result.child is None and not result.errors:
        result.errors["child_name"] = _("Write the child's name.")
    return result


@dataclass
class NeedForm:
    need: NeedDraft | None = None
    noted_on: date | None = None
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _level(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 5 else None


def parse_need(form: FormMultiDict, *, today: date) -> NeedForm:
    """One dimension's new need; the day defaults to today (the programme's) and is never in the future."""
    raw = {n: text(form, n, 12) for n in ("dimension_id", "level", "noted_on")}
    raw["text"] = text(form, "text", MAX_NEED_TEXT)
    result = NeedForm(raw=raw)
    dimension_id, level = number(form, "dimension_id"), _level(raw["level"])
    if dimension_id is None:
        result.errors["dimension_id"] = _("Choose one of the programme's dimensions.")
    if level is None:
        result.errors["level"] = _("Give a level from 1 (serious need) to 5 (no need).")
    if len(raw["text"]) > MAX_NEED_TEXT:
        result.errors["text"] = _too_long(MAX_NEED_TEXT)
    result.noted_on = today
    if raw["noted_on"]:
        try:
            result.noted_on = date.fromisoformat(raw["noted_on"])
        except ValueError:
            result.errors["noted_on"] = _("Enter the day the need was noted.")
        else:
            if result.noted_on > today:
                result.errors["noted_on"] = _("The day cannot be in the future.")
    if not result.errors and dimension_id is not None and level is not None:
        result.need = NeedDraft(dimension_id=dimension_id, level=level, text=raw["text"])
    return result


@dataclass
class ScreeningForm:
    display_name: str = ""
    birth_year: int | None = None
    area_id: int | None = None
    agency_id: int | None = None
    reference: str | None = None
    profile: ProfileForm = field(default_factory=ProfileForm)
    children: list[ChildDraft] = field(default_factory=list)
    needs: list[NeedDraft] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def parse_screening(form: FormMultiDict, dimensions: list[CaseDimension], *, this_year: int) -> ScreeningForm:
    raw = {n: text(form, n, MAX_NAME_CHARS) for n in ("display_name", "birth_year", "area_id", "agency_id")}
    raw["reference"] = text(form, "reference", MAX_REFERENCE)
    profile = parse_profile(form)
    result = ScreeningForm(raw=raw | profile.raw, profile=profile, errors=dict(profile.errors))
    result.area_id, result.agency_id = number(form, "area_id"), number(form, "agency_id")
    result.display_name = raw["display_name"]
    if not result.display_name:
        result.errors["display_name"] = _("Write her name.")
    elif len(result.display_name) > MAX_NAME_CHARS:
        result.errors["display_name"] = _too_long(MAX_NAME_CHARS)
    result.birth_year, error = _year(raw["birth_year"], this_year)
    if error:
        result.errors["birth_year"] = error
    if result.area_id is None:
        result.errors["area_id"] = _("Choose the community where she lives.")
    if len(raw["reference"]) > MAX_REFERENCE:
        result.errors["reference"] = _too_long(MAX_REFERENCE)
    result.reference = raw["reference"] or None
    for n in range(1, MAX_CHILDREN + 1):
        child = _child(form, f"-{n}", this_year, result)
        if child is not None:
            result.children.append(child)
    for dimension in dimensions:
        level_key, text_key = f"need_level-{dimension.id}", f"need_text-{dimension.id}"
        level_raw, words = text(form, level_key, 4), text(form, text_key, MAX_NEED_TEXT)
        result.raw[level_key], result.raw[text_key] = level_raw, words
        level = _level(level_raw)
        if level is None:
            result.errors[level_key] = _("Give a level from 1 (serious need) to 5 (no need).")
        elif len(words) > MAX_NEED_TEXT:
            result.errors[text_key] = _too_long(MAX_NEED_TEXT)
        else:
            result.needs.append(NeedDraft(dimension_id=dimension.id, level=level, text=words))
    return result

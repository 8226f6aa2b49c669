"""Translated labels for stored values, and money formatting. Used by templates and exports."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from backend.i18n import lazy_gettext as _l
from backend.meals.labels import MEALS_TEMPLATE_GLOBALS
from backend.people.models import AreaLevel, PersonKind, ProgrammeKind, Role
from backend.verification.labels import VERIFICATION_TEMPLATE_GLOBALS
from backend.visits.labels import VISITS_TEMPLATE_GLOBALS

_PERSON_KIND = {
    PersonKind.CHILD: _l("Child"),
    PersonKind.RESIDENT: _l("Resident"),
    PersonKind.GUARDIAN: _l("Guardian"),
}
_AREA_LEVEL = {
    AreaLevel.PROVINCE: _l("Province"),
    AreaLevel.CITY: _l("City"),
    AreaLevel.DISTRICT: _l("District"),
    AreaLevel.STREET: _l("Street"),
    AreaLevel.COMMUNITY: _l("Community"),
}
_ROLE = {
    Role.STAFF: _l("Staff"),
    Role.SOCIAL_WORKER: _l("Social worker"),
    Role.CARING_MOTHER: _l("Caring mother"),
    Role.NEIGHBOUR: _l("Neighbour"),
    Role.HARDSHIP_SCOUT: _l("Hardship scout"),
    Role.CADRE: _l("Federation cadre"),
    Role.VOLUNTEER: _l("Volunteer"),
    Role.PILLAR_MOTHER: _l("Pillar mother"),
}
_PROGRAMME_KIND = {
    ProgrammeKind.CARING_MOTHERS: _l("Caring-mother pairing"),
    ProgrammeKind.NEIGHBOUR_MEALS: _l("Neighbour meal plan"),
    ProgrammeKind.PILLAR_MOTHERS: _l("Pillar mothers"),
    ProgrammeKind.SOCIAL_WORK_STATION: _l("Social-work station"),
}


def person_kind_label(kind: PersonKind) -> str:
    return str(_PERSON_KIND[kind])


def area_level_label(level: AreaLevel) -> str:
    return str(_AREA_LEVEL[level])


def role_label(role: Role) -> str:
    return str(_ROLE[role])


def programme_kind_label(kind: ProgrammeKind) -> str:
    return str(_PROGRAMME_KIND[kind])


def local_time(moment: datetime, zone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as people there read it, in the given (programme's) time zone."""
    return moment.astimezone(ZoneInfo(zone)).strftime(fmt)


def fen_to_yuan(fen: int) -> str:
    """Integer fen to a yuan string with two decimals, without ever passing through a float."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole}.{cents:02d}"


TEMPLATE_GLOBALS: dict[str, Any] = {
    **MEALS_TEMPLATE_GLOBALS,
    **VISITS_TEMPLATE_GLOBALS,
    **VERIFICATION_TEMPLATE_GLOBALS,
    "person_kind_label": person_kind_label,
    "area_level_label": area_level_label,
    "role_label": role_label,
    "programme_kind_label": programme_kind_label,
    "fen_to_yuan": fen_to_yuan,
}

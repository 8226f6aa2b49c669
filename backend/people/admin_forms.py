"""Organisation form input: programmes (with their rules typed in yuan), areas, users and memberships.

Amounts are typed in yuan and kept in fen: "15.5" is 1550 fen (at most two decimals; a sign, an
exponent, a comma or text is refused beside the field), parsed without any float by the settlement's
yuan parser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from backend.cases.models import DEFAULT_ORDER_DUE_HOURS
from backend.i18n import gettext as _
from backend.meals.forms import parse_month
from backend.people.models import AreaLevel, ProgrammeKind, Role
from backend.people.service import ProgrammeRules
from backend.settlement.forms import parse_signed_yuan

# The zones a Chinese scheme needs, Beijing time first; the list is short on purpose (a select on a phone).
TIME_ZONES = ("Asia/Shanghai", "Asia/Urumqi", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei")


def _raw(data: Mapping[str, object], *names: str) -> dict[str, str]:
    return {name: str(data.get(name) or "").strip() for name in names}


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


def _yuan(raw: str, name: str, errors: dict[str, str]) -> int | None:
    fen = parse_signed_yuan(raw) if raw else None
    if fen is None or fen <= 0:
        errors[name] = _("Enter an amount in yuan, such as 15 or 15.50.")
        return None
    return fen


@dataclass
class RulesForm:
    rules: ProgrammeRules = field(default_factory=ProgrammeRules)
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def parse_rules(data: Mapping[str, object], kind: ProgrammeKind | None) -> RulesForm:
    form = RulesForm(
        raw=_raw(data, "rate", "monthly_cap", "visit_interval_days", "from_month", "order_due_hours")
    )
    if kind is ProgrammeKind.NEIGHBOUR_MEALS:
        rate = _yuan(form.raw["rate"], "rate", form.errors)
        cap = _yuan(form.raw["monthly_cap"], "monthly_cap", form.errors)
        # Empty: from the current month (people/service.do_set_programme_rules).
        from_month = parse_month(form.raw["from_month"]) if len(form.raw["from_month"]) == 7 else None
        if form.raw["from_month"] and (from_month is None or not 2000 <= from_month.year <= 2100):
            form.errors["from_month"] = _("Choose a month as year and month, for example 2026-10.")
        form.rules = ProgrammeRules(rate_fen=rate, monthly_cap_fen=cap, from_month=from_month)
    elif kind is ProgrammeKind.CARING_MOTHERS:
        days = _int(form.raw["visit_interval_days"])
        if days is None:
            form.errors["visit_interval_days"] = _("Enter the visit interval in days (1 to 365).")
        form.rules = ProgrammeRules(visit_interval_days=days)
    elif kind is ProgrammeKind.SOCIAL_WORK_STATION:
        # Empty: the default (a new programme's form does not ask).
        hours = _int(form.raw["order_due_hours"]) if form.raw["order_due_hours"] else DEFAULT_ORDER_DUE_HOURS
        if hours is None or not 1 <= hours <= 720:
            form.errors["order_due_hours"] = _("Enter the hours before an order is overdue (1 to 720).")
        form.rules = ProgrammeRules(order_due_hours=hours)
    return form


@dataclass
class ProgrammeForm:
    name: str = ""
    kind: ProgrammeKind | None = None
    area_id: int | None = None  # an existing root area, or None for a new one
    new_area_name: str = ""
    new_area_level: AreaLevel | None = None
    time_zone: str = TIME_ZONES[0]
    rules: ProgrammeRules = field(default_factory=ProgrammeRules)
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def parse_programme_form(data: Mapping[str, object]) -> ProgrammeForm:
    raw = _raw(data, "name", "kind", "area_id", "new_area_name", "new_area_level", "time_zone")
    form = ProgrammeForm(raw=raw, name=raw["name"], new_area_name=raw["new_area_name"])
    if not form.name:
        form.errors["name"] = _("Give the programme a name.")
    try:
        form.kind = ProgrammeKind(raw["kind"])
    except ValueError:
        form.errors["kind"] = _("Choose the kind of programme.")
    if raw["area_id"] and raw["area_id"] != "new":
        form.area_id = _int(raw["area_id"])
        if form.area_id is None:
            form.errors["area_id"] = _("Choose an area from the list, or type a new one.")
    else:
        try:
            form.new_area_level = AreaLevel(raw["new_area_level"])
        except ValueError:
            form.errors["new_area_level"] = _("Choose the level of the new area.")
        if not form.new_area_name:
            form.errors["new_area_name"] = _("Give the area a name.")
    if raw["time_zone"] not in TIME_ZONES:
        form.errors["time_zone"] = _("Choose a time zone from the list.")
    else:
        form.time_zone = raw["time_zone"]
    rules = parse_rules(data, form.kind)
    form.rules, form.raw = rules.rules, {**raw, **rules.raw}
    form.errors.update(rules.errors)
    return form


@dataclass
class AreaForm:
    name: str = ""
    parent_id: int | None = None
    level: AreaLevel | None = None
    errors: dict[str, str] = field(default_factory=dict)


def parse_area_form(data: Mapping[str, object]) -> AreaForm:
    raw = _raw(data, "name", "parent_id", "level")
    form = AreaForm(name=raw["name"], parent_id=_int(raw["parent_id"]))
    if form.parent_id is None:
        form.errors["parent_id"] = _("Choose the area it is in.")
    if raw["level"]:
        try:
            form.level = AreaLevel(raw["level"])
        except ValueError:
            form.errors["level"] = _("An area must be at a lower level than the one it is in.")
    return form


@dataclass
class UserForm:
    display_name: str = ""
    programme_id: int | None = None
    area_id: int | None = None
    role: Role | None = None
    reference: str = ""
    confirmed_new: bool = False
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def parse_membership(data: Mapping[str, object], form: UserForm) -> UserForm:
    form.programme_id = _int(form.raw.get("programme_id", ""))
    if form.programme_id is None:
        form.errors["programme_id"] = _("Choose the programme.")
    form.area_id = _int(form.raw.get("area_id", ""))
    if form.area_id is None:
        form.errors["area_id"] = _("Choose an area of this programme.")
    try:
        form.role = Role(form.raw.get("role", ""))
    except ValueError:
        form.errors["role"] = _("Choose the role.")
    return form


def parse_user_form(data: Mapping[str, object]) -> UserForm:
    raw = _raw(data, "display_name", "programme_id", "area_id", "role", "reference", "confirm_new")
    form = UserForm(raw=raw, display_name=raw["display_name"], reference=raw["reference"])
    form.confirmed_new = raw["confirm_new"] == "yes"
    if not form.display_name:
        form.errors["display_name"] = _("Enter the person's name.")
    return parse_membership(data, form)


def parse_membership_form(data: Mapping[str, object]) -> UserForm:
    raw = _raw(data, "programme_id", "area_id", "role", "area_pick")
    # One select on the user page names both: "programme:area".
    if raw["area_pick"].count(":") == 1:
        raw["programme_id"], raw["area_id"] = raw["area_pick"].split(":")
    return parse_membership(data, UserForm(raw=raw))

"""Translated labels for meal-plan values, for templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from backend.i18n import lazy_gettext as _l
from backend.meals.models import Agreement, AgreementStatus, CheckInStatus, FlagCode, MealSlot, Signatory
from backend.meals.policy import uses_meal_plan
from backend.people.models import Programme

_SLOT = {MealSlot.LUNCH: _l("Lunch"), MealSlot.DINNER: _l("Dinner")}
_STATUS = {
    CheckInStatus.PENDING: _l("Waiting for review"),
    CheckInStatus.APPROVED: _l("Approved"),
    CheckInStatus.NEEDS_FIX: _l("Needs a fix"),
    CheckInStatus.REJECTED: _l("Rejected"),
}
_FLAG = {
    FlagCode.LATE: _l("Sent late"),
    FlagCode.PHOTO_REUSED: _l("Photo looks like an earlier one"),
    FlagCode.CAPTURE_TIME_MISSING: _l("Photo has no capture time"),
    FlagCode.CAPTURE_TIME_FAR: _l("Photo taken far from mealtime"),
    FlagCode.DISHES_OFF_PLAN: _l("Dishes differ from the menu"),
    FlagCode.OVER_CAP: _l("Month over the cap"),
    FlagCode.PHOTO_ON_OTHER_AGREEMENT: _l("Same photo on another agreement"),
    FlagCode.SAME_HOUSEHOLD_DAY: _l("Same household and meal on another agreement"),
}
_SIGNATORY = {Signatory.RESIDENT: _l("The resident"), Signatory.GUARDIAN: _l("The guardian")}
_WEEKDAY = [
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
]


def slot_label(slot: MealSlot) -> str:
    return str(_SLOT[slot])


def checkin_status_label(status: CheckInStatus) -> str:
    return str(_STATUS[status])


def flag_label(code: FlagCode) -> str:
    return str(_FLAG[code])


def signatory_label(signatory: Signatory) -> str:
    return str(_SIGNATORY[signatory])


def weekday_label(weekday: int) -> str:
    return str(_WEEKDAY[weekday])


def programme_time(moment: datetime, programme: Programme, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as it was in the programme's time zone."""
    return moment.astimezone(ZoneInfo(programme.time_zone)).strftime(fmt)


def agreement_state_label(agreement: Agreement) -> str:
    if agreement.status is AgreementStatus.ENDED:
        return str(_l("Ended"))
    if agreement.neighbour_confirmed_at is None or agreement.resident_confirmed_at is None:
        return str(_l("Waiting for confirmation"))
    return str(_l("In force"))


MEALS_TEMPLATE_GLOBALS: dict[str, Any] = {
    "slot_label": slot_label,
    "checkin_status_label": checkin_status_label,
    "flag_label": flag_label,
    "signatory_label": signatory_label,
    "weekday_label": weekday_label,
    "agreement_state_label": agreement_state_label,
    "programme_time": programme_time,
    "uses_meal_plan": uses_meal_plan,
    "FlagCode": FlagCode,
    "MealSlot": MealSlot,
}

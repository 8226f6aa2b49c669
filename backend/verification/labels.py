"""Translated labels for review values, for templates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect as sa_inspect

from backend.cases.models import CaseStatus, Delivery, DeliveryStatus
from backend.cases.policy import works_on
from backend.i18n import lazy_gettext as _l
from backend.meals.labels import checkin_status_label
from backend.meals.models import CheckInStatus
from backend.verification.models import Decision, EntryKind, Reason
from backend.visits.labels import visit_status_label
from backend.visits.models import VisitStatus

_REASON = {
    Reason.PHOTO_UNCLEAR: _l("The photo is unclear"),
    Reason.PHOTO_NOT_MEAL: _l("The photo does not show the meal or the visit"),
    Reason.DISHES_MISMATCH: _l("The dishes do not match the photo"),
    Reason.CAPTURE_TIME: _l("The photo was not taken at the time"),
    Reason.PHOTO_REUSED: _l("The photo was used before"),
    Reason.DUPLICATE: _l("Sent twice"),
    Reason.NOT_DELIVERED: _l("The service did not take place"),
    Reason.DETAILS_MISSING: _l("Details are missing"),
    Reason.OTHER: _l("Other (see the note)"),
}
_DECISION = {
    Decision.APPROVE: _l("Approve"),
    Decision.NEEDS_FIX: _l("Needs a fix"),
    Decision.REJECT: _l("Reject"),
}
_KIND = {EntryKind.MEAL: _l("Meal"), EntryKind.VISIT: _l("Visit"), EntryKind.DELIVERY: _l("Service")}


def reason_label(code: str | None) -> str:
    """A stored reason code in words; an unknown code is shown as it is rather than failing."""
    if not code:
        return ""
    try:
        return str(_REASON[Reason(code)])
    except ValueError:
        return code


def decision_label(decision: Decision) -> str:
    return str(_DECISION[decision])


def entry_kind_label(kind: EntryKind) -> str:
    return str(_KIND[kind])


def delivery_status_label(status: DeliveryStatus | str) -> str:
    # A delivery's statuses are a visit's, word for word.
    return visit_status_label(VisitStatus(DeliveryStatus(status).value))


def entry_status_label(kind: EntryKind, status: Any) -> str:
    if kind is EntryKind.MEAL:
        return checkin_status_label(CheckInStatus(status))
    return delivery_status_label(status) if kind is EntryKind.DELIVERY else visit_status_label(status)


def entry_person_name(entry: Any) -> str:
    """The name of the person an entry (or its view) is about: a meal's resident, a visit's child, a
    delivery's case person."""
    if isinstance(entry, Delivery):
        return str(entry.case.person.display_name)  # loaded with it (cases.policy.delivery_options)
    person = getattr(entry, "resident", None) or getattr(entry, "child", None) or entry.person
    return str(person.display_name)


def may_log_delivery(user: Any, case: Any) -> bool:
    """Whether the case page shows "log a service": a social worker of the case's station, on an open
    case (`case.area` loaded, as cases.policy.get_case_for loads it)."""
    if user is None or "area" in sa_inspect(case).unloaded or case.status is CaseStatus.CLOSED:
        return False
    return works_on(user, case)


VERIFICATION_TEMPLATE_GLOBALS: dict[str, Any] = {
    "delivery_status_label": delivery_status_label,
    "entry_status_label": entry_status_label,
    "entry_person_name": entry_person_name,
    "may_log_delivery": may_log_delivery,
    "reason_label": reason_label,
    "decision_label": decision_label,
    "entry_kind_label": entry_kind_label,
    "Reason": Reason,
    "Decision": Decision,
    "EntryKind": EntryKind,
}

"""Translated labels for review values, for templates."""

from __future__ import annotations

from typing import Any

from backend.i18n import lazy_gettext as _l
from backend.verification.models import Decision, EntryKind, Reason

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
_KIND = {EntryKind.MEAL: _l("Meal"), EntryKind.VISIT: _l("Visit")}


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


VERIFICATION_TEMPLATE_GLOBALS: dict[str, Any] = {
    "reason_label": reason_label,
    "decision_label": decision_label,
    "entry_kind_label": entry_kind_label,
    "Reason": Reason,
    "Decision": Decision,
    "EntryKind": EntryKind,
}

"""Review decisions on submitted entries: meal check-ins, visits and service deliveries share one queue
and one rule set.

There is no table of its own: a decision is stored on the entry (status, reason, note, reviewer,
time) and, with what it changed, in the audit chain. A decided entry is never decided again; a fix
after "needs fix" is a new version of the entry that `replaces_id` the old one.
"""

from __future__ import annotations

import enum

from backend.cases.models import Delivery
from backend.meals.models import CheckIn
from backend.visits.models import Visit

Entry = CheckIn | Visit | Delivery


class EntryKind(enum.StrEnum):
    MEAL = "meal"
    VISIT = "visit"
    DELIVERY = "delivery"


class Decision(enum.StrEnum):
    APPROVE = "approve"
    NEEDS_FIX = "needs_fix"
    REJECT = "reject"


class Reason(enum.StrEnum):
    """Why an entry was sent back or rejected; shown to the submitter in her language."""

    PHOTO_UNCLEAR = "photo_unclear"
    PHOTO_NOT_MEAL = "photo_not_meal"
    DISHES_MISMATCH = "dishes_mismatch"
    CAPTURE_TIME = "capture_time"
    PHOTO_REUSED = "photo_reused"
    DUPLICATE = "duplicate"
    NOT_DELIVERED = "not_delivered"
    DETAILS_MISSING = "details_missing"
    OTHER = "other"


def kind_of(entry: Entry) -> EntryKind:
    if isinstance(entry, CheckIn):
        return EntryKind.MEAL
    return EntryKind.VISIT if isinstance(entry, Visit) else EntryKind.DELIVERY


def submitter_id(entry: Entry) -> int:
    if isinstance(entry, CheckIn):
        return entry.neighbour_id
    return entry.mother_id if isinstance(entry, Visit) else entry.submitted_by_id


def review_note(entry: Entry) -> str | None:
    return entry.note if isinstance(entry, CheckIn) else entry.review_note

"""Parse review input into typed values, or field errors in the reviewer's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from backend.i18n import gettext as _
from backend.verification.models import Decision, EntryKind, Reason
from backend.verification.service import MAX_NOTE

MAX_BULK = 200


@dataclass
class DecisionForm:
    decision: Decision | None = None
    reason: Reason | None = None
    note: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def parse_decision_form(form: Mapping[str, Any]) -> DecisionForm:
    result = DecisionForm()
    raw_decision = str(form.get("decision", ""))
    raw_reason = str(form.get("reason", ""))
    result.note = str(form.get("note", ""))[: MAX_NOTE * 4].strip()
    try:
        result.decision = Decision(raw_decision)
    except ValueError:
        result.errors["decision"] = _("Choose approve, needs a fix or reject.")
    if raw_reason:
        try:
            result.reason = Reason(raw_reason)
        except ValueError:
            result.errors["reason"] = _("Choose a reason from the list.")
    if len(result.note) > MAX_NOTE:
        result.errors["note"] = _("The note is too long (at most 500 characters).")
    return result


def parse_entry_ref(raw: str) -> tuple[EntryKind, int] | None:
    """`meal-12` or `visit-5`, as the queue's check boxes name entries; None for anything else."""
    kind, _sep, number = raw.partition("-")
    if not number.isdigit() or len(number) > 12:
        return None
    try:
        return EntryKind(kind), int(number)
    except ValueError:
        return None


def parse_bulk_form(form: Mapping[str, Any]) -> tuple[list[tuple[EntryKind, int]], str | None]:
    getall = getattr(form, "getall", None)
    raw = getall("entry", []) if getall is not None else form.get("entry", [])
    values = [raw] if isinstance(raw, str) else list(raw or [])
    refs = list(dict.fromkeys(ref for ref in (parse_entry_ref(str(v)) for v in values) if ref is not None))
    if not refs:
        return [], _("Tick the entries to approve first.")
    if len(refs) > MAX_BULK:
        return [], _("At most 200 entries at once, please.")
    return refs, None

"""The audit trail in words staff read: event names, subject types and the fields of a change.

Events store codes and ids (never names), so the trail can be verified and filtered whatever the
language; this module only turns them into labels for the page. A code without a label is shown as it
is, so a new event is never hidden.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from backend.i18n import lazy_gettext as _l

UTC_ZONE = ZoneInfo("UTC")

ACTIONS: dict[str, Any] = {
    "account.recovered": _l("Account recovered after a lost phone"),
    "agreement.created": _l("Meal agreement created"),
    "agreement.ended": _l("Meal agreement ended"),
    "agreement.neighbour_confirmed": _l("Agreement confirmed by the neighbour"),
    "agreement.resident_confirmed": _l("Agreement confirmed for the resident"),
    "area.created": _l("Area created"),
    "child_profile.recorded": _l("Child's profile recorded"),
    "registry.import_checked": _l("Registry file checked for import"),
    "registry.imported": _l("Registry imported from a file"),
    "meal_checkin.submitted": _l("Meal checked in"),
    "meal_checkin.superseded": _l("Meal replaced by a fix"),
    "meal_checkin.reviewed": _l("Meal reviewed"),
    "meal_checkin.sampled": _l("Meal held back for a closer look"),
    "meal_menu.saved": _l("Menu saved"),
    "meeting.recorded": _l("Meeting recorded"),
    "membership.added": _l("Role given"),
    "mother_profile.area_changed": _l("Caring mother's area changed"),
    "mother_profile.set": _l("Caring mother's profile saved"),
    "pairing.ended": _l("Pairing ended"),
    "pairing.frequency_set": _l("Visit frequency set"),
    "pairing.matched": _l("Child matched with a caring mother"),
    "pairing.started": _l("Pairing started"),
    "pairing_exit.approved": _l("Exit approved"),
    "pairing_exit.investigated": _l("Exit investigated"),
    "pairing_exit.requested": _l("Exit requested"),
    "notice.read": _l("Privacy notice read"),
    "order.closed": _l("Station order closed without a case"),
    "order.created": _l("Station order received"),
    "order.passed": _l("Station order passed on to another station"),
    "order.purged": _l("Public request's words removed (retention)"),
    "order.taken": _l("Station order taken"),
    "passkey.added": _l("Passkey added"),
    "passkey.counter_regressed": _l("Passkey counter went backwards"),
    "passkey.revoked": _l("Passkey removed"),
    "passkey.used": _l("Signed in with a passkey"),
    "person.created": _l("Person added"),
    "photo.integrity_failed": _l("Photo file missing or damaged"),
    "photo.removed": _l("Photo files removed (retention or erasure)"),
    "photo.uploaded": _l("Photo received"),
    "photo.viewed": _l("Photo viewed"),
    "programme.created": _l("Programme created"),
    "session.ended": _l("Signed out"),
    "session.started": _l("Signed in"),
    "session.verified": _l("Confirmed it's her (step-up)"),
    "sessions.ended_all": _l("Signed out on every device"),
    "settlement.adjustment_added": _l("Adjustment added"),
    "settlement.adjustment_requested": _l("Adjustment entered, waiting for a second staff member"),
    "settlement.adjustment_approved": _l("Adjustment approved"),
    "settlement.adjustment_refused": _l("Adjustment refused"),
    "settlement.month_closed": _l("Month closed"),
    "settlement.signal_looked_at": _l("Settlement signal looked at"),
    "signin_code.issued": _l("Sign-in card issued"),
    "signin_code.used": _l("Sign-in card used"),
    "signin_code.voided": _l("Unused sign-in cards voided"),
    "user.created": _l("Account created"),
    "user.locale_changed": _l("Language changed"),
    "visit.logged": _l("Visit logged"),
    "visit.corrected": _l("Visit corrected"),
    "visit.resubmitted": _l("Visit sent again after a fix"),
    "visit.reviewed": _l("Visit reviewed"),
    "visit.sampled": _l("Visit held back for a closer look"),
    "delivery.sent": _l("Service delivery sent"),
    "delivery.fixed": _l("Service delivery sent again after a fix"),
    "service_delivery.reviewed": _l("Service delivery reviewed"),
    "service_delivery.sampled": _l("Service delivery held back for a closer look"),
    "visit_checklist.item_added": _l("Checklist item added"),
    "visit_checklist.item_retired": _l("Checklist item retired"),
    "visit_checklist.item_reworded": _l("Checklist item reworded"),
    "visit_checklist.seeded": _l("Visit checklist created"),
    "area.renamed": _l("Area renamed"),
    "area.closed": _l("Area closed"),
    "area.reopened": _l("Area reopened"),
    "membership.ended": _l("Role ended"),
    "person.updated": _l("Person's details changed"),
    "person.moved": _l("Person moved to another area"),
    "person.ended": _l("Participation ended"),
    "person.resumed": _l("Participation resumed"),
    "person.consent_paper_attached": _l("Photo of the signed consent paper attached"),
    "programme.rules_changed": _l("Programme rules changed"),
    "user.access_ended": _l("Sessions and unused cards ended"),
    "user.deactivated": _l("Account deactivated"),
    "user.reactivated": _l("Account reactivated"),
    "user.renamed": _l("Name changed"),
    "user.reference_set": _l("Reference set"),
    "person.exported": _l("Person's data exported"),
    "person.erased": _l("Person's data erased"),
    "user.exported": _l("Account's data exported"),
    "user.erased": _l("Account's data erased"),
    "case.opened": _l("Case opened"),
    "pillar.file_opened": _l("Pillar mother's file opened"),
    "pillar.profile_updated": _l("Pillar mother's profile updated"),
    "pillar.need_noted": _l("Pillar mother's need noted"),
    "pillar.child_added": _l("Child added to a pillar mother's file"),
    "pillar.import_checked": _l("Pillar-mother roster checked for import"),
    "pillar.imported": _l("Pillar mothers imported from a file"),
    "pillar.member_added": _l("Member added to a support group"),
    "pillar.member_ended": _l("Member left a support group"),
    "pillar.interval_set": _l("Support group's contact interval changed"),
    "pillar.contact_logged": _l("Contact with a pillar mother logged"),
    "pillar.criteria_seeded": _l("Evaluation criteria set up"),
    "pillar.agency_added": _l("Agency added"),
    "pillar.worker_placed": _l("Social worker placed with an agency"),
    "pillar.worker_ended": _l("Social worker's agency placement ended"),
    "pillar.contract_created": _l("Agency contract created"),
    "pillar.supervision_logged": _l("Supervision session logged"),
    "pillar.criterion_added": _l("Evaluation criterion added"),
    "pillar.criterion_retired": _l("Evaluation criterion retired"),
    "pillar.evaluation_recorded": _l("Agency evaluation recorded"),
    "contract.stage_released": _l("Contract stage's money released"),
    "pillar.survey_answered": _l("Satisfaction survey answered"),
    "case.status_changed": _l("Case moved to another stage"),
    "case.closed": _l("Case closed"),
    "case.lead_changed": _l("Case handed to another social worker"),
    "case.assessed": _l("Home assessment recorded"),
    "case.goal_added": _l("Goal added to the plan"),
    "case.goal_retired": _l("Goal dropped from the plan"),
    "case.item_added": _l("Service added to the plan"),
    "case.item_ended": _l("Service ended in the plan"),
    "cases.package_added": _l("Service package added"),
    "cases.package_renamed": _l("Service package renamed"),
    "cases.package_retired": _l("Service package retired"),
    "cases.item_added": _l("Service added to a package"),
    "cases.item_renamed": _l("Service of a package reworded"),
    "cases.item_retired": _l("Service of a package retired"),
    "cases.dimension_added": _l("Assessment dimension added"),
    "cases.dimension_renamed": _l("Assessment dimension renamed"),
    "cases.dimension_retired": _l("Assessment dimension retired"),
    "cases.defaults_seeded": _l("Station dimensions and packages created"),
}

SUBJECTS: dict[str, Any] = {
    "meal_agreement": _l("meal agreement"),
    "meal_checkin": _l("meal"),
    "meal_menu_entry": _l("menu"),
    "visit": _l("visit"),
    "pairing": _l("pairing"),
    "pairing_exit": _l("exit"),
    "person": _l("person"),
    "import_plan": _l("registry import"),
    "photo": _l("photo"),
    "programme": _l("programme"),
    "area": _l("area"),
    "user_account": _l("account"),
    "auth_session": _l("session"),
    "membership": _l("role"),
    "session": _l("session"),
    "signin_code": _l("sign-in card"),
    "passkey": _l("passkey"),
    "settlement_period": _l("settlement month"),
    "settlement_ledger_line": _l("ledger line"),
    "settlement_adjustment": _l("adjustment"),
    "settlement_signal_look": _l("settlement signal"),
    "meeting": _l("meeting"),
    "child_profile": _l("child's profile"),
    "mother_profile": _l("caring mother's profile"),
    "visit_checklist_item": _l("checklist item"),
    "service_delivery": _l("service delivery"),
    "case_file": _l("case"),
    "service_package": _l("service package"),
    "service_item": _l("service"),
    "case_dimension": _l("assessment dimension"),
    "pillar_survey_response": _l("satisfaction survey answers"),
}

FIELDS: dict[str, Any] = {
    "status": _l("Status"),
    "reason": _l("Reason"),
    "note": _l("Note"),
    "sampled": _l("Held back"),
    "day": _l("Day"),
    "slot": _l("Meal"),
    "month": _l("Month"),
    "photo_ids": _l("Photos"),
    "flags": _l("Flags"),
    "content_sha256": _l("Content hash"),
    "received_sha256": _l("Photo hash"),
    "display_sha256": _l("Display copy hash"),
    "rate_fen": _l("Rate (fen)"),
    "cap_fen": _l("Monthly cap (fen)"),
    "amount_fen": _l("Amount (fen)"),
    "total_fen": _l("Total (fen)"),
    "starts_on": _l("Starts"),
    "ends_on": _l("Ends"),
    "method": _l("How"),
    "role": _l("Role"),
    "kind": _l("Kind"),
    "level": _l("Level"),
    "visited_at": _l("Visited at"),
    "duration_minutes": _l("Minutes"),
    "need_areas": _l("Need areas"),
    "expires_at": _l("Valid until"),
    "user_id": _l("Account"),
    "agreement_id": _l("Agreement"),
    "resident_id": _l("Resident"),
    "neighbour_id": _l("Neighbour"),
    "child_id": _l("Child"),
    "mother_id": _l("Caring mother"),
    "child_under_14": _l("Child under 14"),
    "guardian_consent": _l("Guardian consent recorded"),
    "programme_id": _l("Programme"),
    "area_id": _l("Area"),
    "subject_person_id": _l("Person in the photo"),
    "replaces_id": _l("Replaces"),
    "parent_id": _l("Above"),
    "time_zone": _l("Time zone"),
    "monthly_cap_fen": _l("Monthly cap (fen)"),
    "from_month": _l("From the month"),
    "month_rate_fen": _l("Rate of the month (fen)"),
    "month_cap_fen": _l("Monthly cap of the month (fen)"),
    "created_by_id": _l("Entered by"),
    "ledger_line_id": _l("Ledger line"),
    "visit_interval_days": _l("Visit every (days)"),
    "fields": _l("Fields changed"),
    "sessions_ended": _l("Sessions ended"),
    "codes_voided": _l("Unused cards voided"),
    "lead": _l("Lead social worker"),
    "assessment_id": _l("Assessment"),
    "assessed_on": _l("Day of the assessment"),
    "ratings": _l("Ratings"),
    "goal_id": _l("Goal"),
    "dimension_id": _l("Dimension"),
    "item_id": _l("Plan item"),
    "service_item_id": _l("Service"),
    "deliverer_kind": _l("Who delivers it"),
    "deliverer_user_id": _l("Delivering social worker"),
    "frequency": _l("How often"),
    "package_id": _l("Service package"),
    "on_paper": _l("On paper"),
}

# Codes that appear as values, in words (statuses, meals, roles, how someone signed in).
VALUES: dict[str, Any] = {
    "pending": _l("waiting for review"),
    "approved": _l("approved"),
    "refused": _l("refused"),
    "needs_fix": _l("sent back for a fix"),
    "rejected": _l("rejected"),
    "lunch": _l("lunch"),
    "dinner": _l("dinner"),
    "code": _l("sign-in card"),
    "passkey": _l("passkey"),
    "staff": _l("staff"),
    "social_worker": _l("social worker"),
    "caring_mother": _l("caring mother"),
    "neighbour": _l("neighbour"),
    "deactivated": _l("account deactivated"),
    "last_membership_ended": _l("last role ended"),
    "moved_away": _l("moved away"),
    "aged_out": _l("aged out"),
    "died": _l("died"),
    "left_scheme": _l("left the scheme"),
}

_HASH = re.compile(r"[0-9a-f]{40,}")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}.*")
MAX_VALUE = 120


def action_label(code: str) -> str:
    label = ACTIONS.get(code)
    return str(label) if label is not None else code


def subject_label(code: str) -> str:
    label = SUBJECTS.get(code)
    return str(label) if label is not None else code


def short_hash(value: str) -> str:
    return value[:10] + "…" if len(value) > 12 else value


def _value(value: Any, zone: ZoneInfo = UTC_ZONE) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list):
        if len(value) == 2 and all(isinstance(v, str | None) for v in value) and value[0] != value[1]:
            return f"{_value(value[0], zone)} → {_value(value[1], zone)}"  # a [before, after] pair
        return "、".join(_value(v, zone) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(v, zone)}" for k, v in value.items())
    text = str(value)
    if text in VALUES:
        return str(VALUES[text])
    if _HASH.fullmatch(text):
        return short_hash(text)
    if _MOMENT.fullmatch(text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        if moment.tzinfo is not None:
            moment = moment.astimezone(zone)
        return moment.strftime("%Y-%m-%d %H:%M")
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def details(change: dict[str, Any], zone: str = "UTC") -> list[tuple[str, str]]:
    """(label, value) lines of a change, labelled fields first in a fixed order, then the rest; times
    are shown in `zone`."""
    known = [k for k in FIELDS if k in change]
    rest = sorted(k for k in change if k not in FIELDS)
    where = ZoneInfo(zone)
    return [(str(FIELDS[k]) if k in FIELDS else k, _value(change[k], where)) for k in [*known, *rest]]

"""Translated labels for visit values, for templates."""

from __future__ import annotations

from typing import Any

from backend.i18n import lazy_gettext as _l
from backend.visits.due import DueState
from backend.visits.matching_service import Nearness
from backend.visits.models import (
    ConsentMethod,
    ExitStatus,
    MeetingLevel,
    NeedArea,
    ReferralSource,
    VisitStatus,
)
from backend.visits.policy import uses_caring_mothers_work

_NEED_AREA = {
    NeedArea.DAILY_LIFE: _l("Daily-life care"),
    NeedArea.MIND_CHARACTER: _l("Mind and character"),
    NeedArea.SOCIAL_INTEGRATION: _l("Social integration"),
    NeedArea.FAMILY_EDUCATION: _l("Family education"),
}
_STATUS = {
    VisitStatus.PENDING: _l("Waiting for review"),
    VisitStatus.APPROVED: _l("Approved"),
    VisitStatus.NEEDS_FIX: _l("Needs a fix"),
    VisitStatus.REJECTED: _l("Rejected"),
}
_DUE = {
    DueState.OVERDUE: _l("Visit overdue"),
    DueState.DUE_SOON: _l("Visit due soon"),
    DueState.OK: _l("Visited recently"),
}

_SOURCE = {
    ReferralSource.PETITION: _l("Petition"),
    ReferralSource.STREET_OFFICE: _l("Street office"),
    ReferralSource.SCHOOL: _l("School"),
    ReferralSource.SURVEY: _l("Survey"),
    ReferralSource.SELF_REQUEST: _l("Own request"),
    ReferralSource.SCOUT_REPORT: _l("Hardship scout's report"),
}
_METHOD = {
    ConsentMethod.SIGNED_FORM: _l("Signed consent form"),
    ConsentMethod.IN_PERSON: _l("In person, before the social worker"),
    ConsentMethod.PHONE: _l("By phone, noted by the social worker"),
}
_NEARNESS = {
    Nearness.COMMUNITY: _l("Same community"),
    Nearness.STREET: _l("Same street"),
    Nearness.DISTRICT: _l("Same district"),
    Nearness.OTHER: _l("Farther away"),
}

_EXIT = {
    ExitStatus.REQUESTED: _l("Requested, waiting for the investigation"),
    ExitStatus.INVESTIGATED: _l("Investigated, waiting for the district's review"),
    ExitStatus.APPROVED: _l("Approved: the pairing ended"),
    ExitStatus.REJECTED: _l("Rejected: the pairing goes on"),
}


_INTERVAL = {
    7: _l("Every week"),
    14: _l("Every two weeks"),
    30: _l("Every month (the default)"),
    60: _l("Every two months"),
    90: _l("Every three months"),
}


_MEETING = {
    MeetingLevel.STREET_MONTHLY: _l("Monthly street meeting"),
    MeetingLevel.DISTRICT_QUARTERLY: _l("Quarterly district meeting"),
}


def meeting_level_label(level: MeetingLevel | str) -> str:
    return str(_MEETING[MeetingLevel(level)])


def visit_interval_label(days: int) -> str:
    label = _INTERVAL.get(days)
    return str(label) if label is not None else str(_l("Every %(days)s days")) % {"days": days}


def exit_status_label(status: ExitStatus | str) -> str:
    return str(_EXIT[ExitStatus(status)])


def referral_source_label(source: ReferralSource | str) -> str:
    return str(_SOURCE[ReferralSource(source)])


def consent_method_label(method: ConsentMethod | str) -> str:
    return str(_METHOD[ConsentMethod(method)])


def nearness_label(value: Nearness) -> str:
    return str(_NEARNESS[value])


def need_area_label(area: NeedArea | str) -> str:
    return str(_NEED_AREA[NeedArea(area)])


def visit_status_label(status: VisitStatus | str) -> str:
    return str(_STATUS[VisitStatus(status)])


def due_state_label(state: DueState) -> str:
    return str(_DUE[state])


VISITS_TEMPLATE_GLOBALS: dict[str, Any] = {
    "need_area_label": need_area_label,
    "visit_status_label": visit_status_label,
    "due_state_label": due_state_label,
    "referral_source_label": referral_source_label,
    "consent_method_label": consent_method_label,
    "nearness_label": nearness_label,
    "exit_status_label": exit_status_label,
    "visit_interval_label": visit_interval_label,
    "meeting_level_label": meeting_level_label,
    "uses_caring_mothers_work": uses_caring_mothers_work,
}

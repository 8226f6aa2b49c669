"""Parse the survey forms (her phone's and a worker's paper form) into a typed draft, with field errors in
the user's language. Only the known fields are read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from litestar.datastructures import FormMultiDict

from backend.cases.case_forms import choice, text
from backend.evidence.forms import parse_uuid
from backend.i18n import gettext as _
from backend.i18n import lazy_gettext as _l
from backend.pillar.models import Round
from backend.pillar.survey_service import QUESTIONS, SurveyDraft

MAX_COMMENT_CHARS = 500

# The four questions, in the order asked (the words are the scheme's; translated in the user's language).
QUESTION_TEXT = {
    "q_overall": _l("How satisfied are you with the programme's service as a whole?"),
    "q_group": _l("How satisfied are you with your support group's contact and help?"),
    "q_services": _l("How satisfied are you with the trainings, counselling and other services?"),
    "q_life": _l("Your family's life is better than before."),
}

SCALE = (
    (1, _l("Very unsatisfied")),
    (2, _l("Unsatisfied")),
    (3, _l("Neither")),
    (4, _l("Satisfied")),
    (5, _l("Very satisfied")),
)


def round_label(value: Round) -> str:
    return {Round.MID_TERM: _("Mid-term"), Round.FINAL: _("Final")}[value]


@dataclass
class SurveyForm:
    raw: dict[str, str]
    client_uuid: uuid.UUID
    errors: dict[str, str] = field(default_factory=dict)
    draft: SurveyDraft | None = None


def parse_survey(form: FormMultiDict, *, today: date, on_paper: bool = False) -> SurveyForm:
    """Both forms name their round (hers as a hidden field: the round the page asked, so a form sent
    twice names the same round); the paper form also gives the day of the paper."""
    raw = {q: text(form, q, 4) for q in QUESTIONS}
    raw["comment"] = text(form, "comment", MAX_COMMENT_CHARS)
    raw["round"] = text(form, "round", 20)
    result = SurveyForm(raw=raw, client_uuid=parse_uuid(form.get("client_uuid")) or uuid.uuid4())
    round_ = choice(form, "round", Round)
    if round_ is None:
        result.errors["round"] = _("Choose the round of the survey.")
    answers: dict[str, int] = {}
    for q in QUESTIONS:
        value = raw[q]
        if value.isdigit() and 1 <= int(value) <= 5:
            answers[q] = int(value)
        else:
            result.errors[q] = _("Choose one answer, from very unsatisfied to very satisfied.")
    if len(raw["comment"]) > MAX_COMMENT_CHARS:
        result.errors["comment"] = _("The comment may have at most %(count)s characters.") % {
            "count": MAX_COMMENT_CHARS
        }
    answered_on = today
    if on_paper:
        raw["answered_on"] = text(form, "answered_on", 10)
        try:
            answered_on = date.fromisoformat(raw["answered_on"])
            if answered_on > today:
                result.errors["answered_on"] = _("The day of the paper cannot be in the future.")
        except ValueError:
            result.errors["answered_on"] = _("Enter the day she filled in the paper.")
    if not result.errors and round_ is not None:
        result.draft = SurveyDraft(
            round=round_,
            answered_on=answered_on,
            comment=raw["comment"],
            on_paper=on_paper,
            **answers,
        )
    return result

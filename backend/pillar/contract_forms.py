"""Form input for agencies, contracts, supervision, criteria and evaluations: parsed into typed values
with field errors in the user's language. Yuan are parsed exactly to fen (settlement.forms), never floats."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from backend.i18n import gettext as _
from backend.pillar.agency_service import MAX_BUDGET_FEN, StageDraft
from backend.pillar.evaluation_service import EvaluationDraft
from backend.pillar.models import (
    AgencyRole,
    Criterion,
    CriterionSource,
    Round,
    SupervisionFormat,
    SupervisionMode,
)
from backend.pillar.supervision_service import SupervisionDraft
from backend.settlement.forms import parse_signed_yuan

MAX_STAGES = 4


def raw_fields(data: Mapping[str, object], *names: str) -> dict[str, str]:
    return {name: str(data.get(name) or "").strip() for name in names}


def whole(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


def day(text: str) -> date | None:
    try:
        found = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None
    return found if found is not None and 2000 <= found.year <= 2100 else None


def yuan(text: str) -> int | None:
    """Yuan as typed (15, 15.5, ¥15, 15元) to fen, above zero; None for anything else (15.5x, -1, 1e9)."""
    fen = parse_signed_yuan(text) if text else None
    return fen if fen is not None and fen > 0 else None


E = TypeVar("E", AgencyRole, Round, SupervisionFormat, SupervisionMode)


def choice(kind: type[E], text: str) -> E | None:
    return kind(text) if text in {m.value for m in kind} else None


@dataclass
class Form:
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class AgencyForm(Form):
    name: str = ""
    role: AgencyRole | None = None


def parse_agency(data: Mapping[str, object]) -> AgencyForm:
    form = AgencyForm(raw=raw_fields(data, "name", "role"))
    form.name = form.raw["name"]
    if not form.name or len(form.name) > 120:
        form.errors["name"] = _("Give the agency's name, at most 120 characters.")
    form.role = choice(AgencyRole, form.raw["role"])
    if form.role is None:
        form.errors["role"] = _("Choose what the agency does.")
    return form


@dataclass
class ContractForm(Form):
    title: str = ""
    agency_id: int | None = None
    budget_fen: int | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    pass_mark_pct: int | None = None
    stages: list[StageDraft] = field(default_factory=list)


def parse_contract(data: Mapping[str, object]) -> ContractForm:
    names = ["title", "agency_id", "budget", "starts_on", "ends_on", "pass_mark_pct"]
    for n in range(MAX_STAGES):
        names += [f"stage-{n}-label", f"stage-{n}-amount", f"stage-{n}-round"]
    form = ContractForm(raw=raw_fields(data, *names))
    raw, errors = form.raw, form.errors
    form.title = raw["title"]
    if not form.title or len(form.title) > 150:
        errors["title"] = _("Give the contract a title of at most 150 characters.")
    form.agency_id = whole(raw["agency_id"])
    if form.agency_id is None:
        errors["agency_id"] = _("Choose a delivering agency of this programme.")
    form.budget_fen = yuan(raw["budget"])
    if form.budget_fen is None or form.budget_fen > MAX_BUDGET_FEN:
        errors["budget"] = _("Enter an amount in yuan, such as 15 or 15.50.")
    form.starts_on, form.ends_on = day(raw["starts_on"]), day(raw["ends_on"])
    for name in ("starts_on", "ends_on"):
        if getattr(form, name) is None:
            errors[name] = _("Choose a day.")
    if form.starts_on and form.ends_on and form.ends_on < form.starts_on:
        errors["ends_on"] = _("The contract cannot end before it starts.")
    form.pass_mark_pct = whole(raw["pass_mark_pct"] or "60")
    if form.pass_mark_pct is None or not 1 <= form.pass_mark_pct <= 100:
        errors["pass_mark_pct"] = _("Give the pass mark as a percentage from 1 to 100.")
    _parse_stages(form)
    return form


def _parse_stages(form: ContractForm) -> None:
    raw, errors = form.raw, form.errors
    for n in range(MAX_STAGES):
        label, amount, round_text = (raw[f"stage-{n}-{part}"] for part in ("label", "amount", "round"))
        if not (label or amount):
            continue  # an empty row
        fen = yuan(amount)
        if fen is None:
            errors[f"stage-{n}-amount"] = _("Enter an amount in yuan, such as 15 or 15.50.")
        if not label or len(label) > 60:
            errors[f"stage-{n}-label"] = _("Give the stage a name of at most 60 characters.")
        round_ = choice(Round, round_text) if round_text and round_text != "none" else None
        if round_text not in ("", "none") and round_ is None:
            errors[f"stage-{n}-round"] = _("Choose when the stage is paid.")
        if fen is not None:
            form.stages.append(StageDraft(label, fen, round_))
    if not form.stages and "stages" not in errors:
        errors["stages"] = _("Give each stage a name and an amount above zero.")
    elif not any(k.startswith("stage-") for k in errors) and form.budget_fen is not None:
        if sum(s.amount_fen for s in form.stages) != form.budget_fen:
            errors["stages"] = _("The stages must add up to the budget exactly.")
        rounds = [s.round for s in form.stages if s.round is not None]
        if len(rounds) != len(set(rounds)):
            errors["stages"] = _("Each evaluation round can release one stage.")


@dataclass
class SupervisionForm(Form):
    draft: SupervisionDraft | None = None


def parse_supervision(data: Mapping[str, object]) -> SupervisionForm:
    names = ("held_on", "supervisor_agency_id", "format", "mode", "minutes", "attendees", "note")
    form = SupervisionForm(raw=raw_fields(data, *names))
    raw, errors = form.raw, form.errors
    held_on = day(raw["held_on"])
    if held_on is None:
        errors["held_on"] = _("Choose a day.")
    agency_id = whole(raw["supervisor_agency_id"])
    if agency_id is None:
        errors["supervisor_agency_id"] = _("Choose a supervising agency of this programme.")
    format_ = choice(SupervisionFormat, raw["format"])
    if format_ is None:
        errors["format"] = _("Choose group or one-to-one.")
    mode = choice(SupervisionMode, raw["mode"])
    if mode is None:
        errors["mode"] = _("Choose online or in person.")
    minutes = whole(raw["minutes"])
    if minutes is None or not 10 <= minutes <= 600:
        errors["minutes"] = _("Give the minutes as a whole number from 10 to 600.")
    attendees = whole(raw["attendees"] or "1")
    if attendees is None or not 1 <= attendees <= 500:
        errors["attendees"] = _("Give the attendees as a whole number from 1 to 500.")
    if len(raw["note"]) > 500:
        errors["note"] = _("At most %(n)s characters.") % {"n": 500}
    if not errors:
        assert held_on and agency_id and format_ and mode and minutes and attendees
        form.draft = SupervisionDraft(held_on, agency_id, format_, mode, minutes, attendees, raw["note"])
    return form


@dataclass
class CriterionForm(Form):
    label: str = ""
    max_score: int | None = None


def parse_criterion(data: Mapping[str, object]) -> CriterionForm:
    form = CriterionForm(raw=raw_fields(data, "label", "max_score"))
    form.label = form.raw["label"]
    if not form.label or len(form.label) > 80:
        form.errors["label"] = _("Give the criterion a name of at most 80 characters.")
    form.max_score = whole(form.raw["max_score"])
    if form.max_score is None or not 1 <= form.max_score <= 100:
        form.errors["max_score"] = _("Give its points as a whole number from 1 to 100.")
    return form


@dataclass
class EvaluationForm(Form):
    draft: EvaluationDraft | None = None


def parse_evaluation(data: Mapping[str, object], criteria: list[Criterion]) -> EvaluationForm:
    manual = [c for c in criteria if c.source is CriterionSource.MANUAL]
    names = ["round", "evaluated_on", "evaluator_agency_id", "audit", "audit_note", "note"]
    form = EvaluationForm(raw=raw_fields(data, *names, *(f"score-{c.id}" for c in manual)))
    raw, errors = form.raw, form.errors
    round_ = choice(Round, raw["round"])
    if round_ is None:
        errors["round"] = _("Choose the mid-term or the final evaluation.")
    evaluated_on = day(raw["evaluated_on"])
    if evaluated_on is None:
        errors["evaluated_on"] = _("Choose a day.")
    agency_id = whole(raw["evaluator_agency_id"]) if raw["evaluator_agency_id"] else None
    if raw["evaluator_agency_id"] and agency_id is None:
        errors["evaluator_agency_id"] = _("Choose an evaluating agency of this programme.")
    scores: dict[int, int] = {}
    for criterion in manual:
        score = whole(raw[f"score-{criterion.id}"])
        if score is None or score > criterion.max_score:
            errors[f"score-{criterion.id}"] = _("Give a whole number from 0 to %(max)s.") % {
                "max": criterion.max_score
            }
        else:
            scores[criterion.id] = score
    if raw["audit"] not in ("passed", "failed"):
        errors["audit"] = _("Choose whether the financial audit passed.")
    for name, limit in (("audit_note", 500), ("note", 1000)):
        if len(raw[name]) > limit:
            errors[name] = _("At most %(n)s characters.") % {"n": limit}
    if not errors:
        assert round_ and evaluated_on
        form.draft = EvaluationDraft(
            round=round_,
            evaluated_on=evaluated_on,
            evaluator_agency_id=agency_id,
            scores=scores,
            audit_passed=raw["audit"] == "passed",
            audit_note=raw["audit_note"],
            note=raw["note"],
        )
    return form

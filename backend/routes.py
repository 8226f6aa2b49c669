"""Every route handler of the app, in the order it mounts them. Only app.py imports this table; no
route module imports another."""

from __future__ import annotations

from typing import Any

from litestar import Router

from backend.auditlog.routes import routes as audit_routes
from backend.auth.card_routes import routes as card_routes
from backend.auth.confirm_routes import routes as confirm_routes
from backend.auth.notice_routes import routes as notice_routes
from backend.auth.passkey_routes import routes as passkey_routes
from backend.auth.routes import routes as auth_routes
from backend.cases.assessment_routes import routes as case_assessment_routes
from backend.cases.case_routes import routes as case_routes
from backend.cases.config_routes import routes as case_config_routes
from backend.cases.delivery_api import routes as delivery_api_routes
from backend.cases.delivery_routes import routes as delivery_routes
from backend.cases.figures_routes import routes as figures_routes
from backend.cases.order_routes import routes as order_routes
from backend.cases.plan_routes import routes as case_plan_routes
from backend.cases.public_routes import routes as public_request_routes
from backend.cases.scout_routes import routes as scout_routes
from backend.db import LONG_READS_OPT
from backend.evidence.routes import routes as evidence_routes
from backend.health import healthz, healthz_head
from backend.home import routes as home_routes
from backend.meals.agreement_routes import routes as meal_agreement_routes
from backend.meals.api_routes import routes as meal_api_routes
from backend.meals.checkin_routes import routes as checkin_routes
from backend.people.admin_routes import routes as people_admin_routes
from backend.people.import_routes import routes as people_import_routes
from backend.people.person_routes import routes as person_routes
from backend.people.rights_routes import routes as rights_routes
from backend.people.routes import routes as people_routes
from backend.people.user_routes import routes as people_user_routes
from backend.pillar.agency_routes import routes as pillar_agency_routes
from backend.pillar.contact_api import routes as pillar_contact_api_routes
from backend.pillar.contact_routes import routes as pillar_contact_routes
from backend.pillar.contract_routes import routes as pillar_contract_routes
from backend.pillar.criteria_routes import routes as pillar_criteria_routes
from backend.pillar.evaluation_routes import routes as pillar_evaluation_routes
from backend.pillar.figures_routes import routes as pillar_figures_routes
from backend.pillar.file_routes import routes as pillar_file_routes
from backend.pillar.group_routes import routes as pillar_group_routes
from backend.pillar.import_routes import routes as pillar_import_routes
from backend.pillar.survey_routes import routes as pillar_survey_routes
from backend.pwa import routes as pwa_routes
from backend.reports.routes import routes as reports_routes
from backend.settlement.adjustment_routes import routes as adjustment_routes
from backend.settlement.routes import routes as settlement_routes
from backend.verification.routes import routes as verification_routes
from backend.visits.api_routes import routes as visit_api_routes
from backend.visits.checklist_routes import routes as checklist_routes
from backend.visits.exit_routes import routes as exit_routes
from backend.visits.matching_routes import routes as matching_routes
from backend.visits.meeting_routes import routes as meeting_routes
from backend.visits.mother_routes import routes as mother_routes
from backend.visits.routes import routes as visit_routes


def route_handlers() -> list[Any]:
    return [
        healthz,
        healthz_head,
        *home_routes,
        *auth_routes,
        *passkey_routes,
        *confirm_routes,
        *notice_routes,
        *card_routes,
        *person_routes,
        *people_routes,
        *rights_routes,
        *people_import_routes,
        *people_admin_routes,
        *people_user_routes,
        *evidence_routes,
        *meal_agreement_routes,
        *checkin_routes,
        *meal_api_routes,
        *visit_routes,
        *visit_api_routes,
        *matching_routes,
        *exit_routes,
        *checklist_routes,
        *mother_routes,
        *meeting_routes,
        *case_routes,
        *case_assessment_routes,
        *case_plan_routes,
        *case_config_routes,
        # Whole months and programmes: their reads stay off the event loop's thread (db.py).
        Router(
            path="/",
            route_handlers=[
                *settlement_routes,
                *adjustment_routes,
                *reports_routes,
                *figures_routes,
                *pillar_figures_routes,
                *audit_routes,
            ],
            opt={LONG_READS_OPT: True},
        ),
        *delivery_routes,
        *delivery_api_routes,
        *verification_routes,
        *pwa_routes,
        *order_routes,
        *scout_routes,
        *public_request_routes,
        *pillar_survey_routes,
        *pillar_file_routes,
        *pillar_group_routes,
        *pillar_contact_routes,
        *pillar_contact_api_routes,
        *pillar_import_routes,
        *pillar_agency_routes,
        *pillar_contract_routes,
        *pillar_evaluation_routes,
        *pillar_criteria_routes,
    ]

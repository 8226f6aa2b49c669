"""Imports every model so that Base.metadata is complete (for Alembic and the tests)."""

from backend.audit import AuditEvent, AuditHead
from backend.auth.models import Ceremony, Passkey, RateBucket, Session, SignInCode
from backend.cases.models import (
    Assessment,
    AssessmentPhoto,
    AssessmentRating,
    Case,
    CaseDimension,
    CaseOrder,
    CaseStatusChange,
    Delivery,
    DeliveryPhoto,
    Goal,
    OrderPass,
    PlanItem,
    ServiceItem,
    ServicePackage,
)
from backend.db import Base
from backend.evidence.models import Photo
from backend.meals.models import Agreement, CheckIn, CheckInFlag, CheckInPhoto, MenuEntry
from backend.people.import_models import ImportPlan
from backend.people.models import Area, Membership, Person, Programme, User, UserReference
from backend.settlement.models import LedgerLine, SettlementPeriod
from backend.visits.models import (
    ChecklistItem,
    ChildProfile,
    MotherProfile,
    Pairing,
    Visit,
    VisitPhoto,
)

__all__ = [
    "Agreement",
    "Area",
    "Assessment",
    "AssessmentPhoto",
    "AssessmentRating",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Case",
    "CaseDimension",
    "CaseOrder",
    "CaseStatusChange",
    "Ceremony",
    "CheckIn",
    "CheckInFlag",
    "CheckInPhoto",
    "ChecklistItem",
    "ChildProfile",
    "Delivery",
    "DeliveryPhoto",
    "Goal",
    "ImportPlan",
    "LedgerLine",
    "Membership",
    "MenuEntry",
    "MotherProfile",
    "OrderPass",
    "Pairing",
    "Passkey",
    "Person",
    "Photo",
    "PlanItem",
    "Programme",
    "RateBucket",
    "ServiceItem",
    "ServicePackage",
    "Session",
    "SettlementPeriod",
    "SignInCode",
    "User",
    "UserReference",
    "Visit",
    "VisitPhoto",
]

"""Imports every model so that Base.metadata is complete (for Alembic and the tests)."""

from backend.audit import AuditEvent, AuditHead
from backend.auth.models import Ceremony, Passkey, RateBucket, Session, SignInCode
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
    "AuditEvent",
    "AuditHead",
    "Base",
    "Ceremony",
    "CheckIn",
    "CheckInFlag",
    "CheckInPhoto",
    "ChecklistItem",
    "ChildProfile",
    "ImportPlan",
    "LedgerLine",
    "Membership",
    "MenuEntry",
    "MotherProfile",
    "Pairing",
    "Passkey",
    "Person",
    "Photo",
    "Programme",
    "RateBucket",
    "Session",
    "SettlementPeriod",
    "SignInCode",
    "User",
    "UserReference",
    "Visit",
    "VisitPhoto",
]

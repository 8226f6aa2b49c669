"""Child and mother profiles: the few fields matching and consent need, each write audited.

A child under 14 (by birth year, at the day of consent; an unknown birth year counts as under 14)
needs the guardian's consent recorded: who gave it (the child's guardian), on which day, and how.
The audit event records categories and ids only, never names.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from types import EllipsisType

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.i18n import gettext as _
from backend.people.models import Area, Membership, Person, PersonKind, Programme, User
from backend.visits.models import (
    ChildProfile,
    ConsentMethod,
    MotherProfile,
    NeedArea,
    ReferralSource,
)
from backend.visits.service import VisitRefused

CONSENT_AGE = 14


Coordinates = tuple[float, float]  # (latitude, longitude), rounded: see COORDINATE_DECIMALS


@dataclass(frozen=True, slots=True)
class ChildIntake:
    referral_source: ReferralSource
    needs: tuple[NeedArea, ...]
    consent_on: date | None
    consent_method: ConsentMethod | None
    coordinates: Coordinates | None = None


def needs_consent(child: Person, on: date) -> bool:
    return child.birth_year is None or on.year - child.birth_year < CONSENT_AGE + 1


async def do_record_child_profile(
    db: AsyncSession, child: Person, intake: ChildIntake, *, actor: Actor, today: date
) -> ChildProfile:
    if child.kind is not PersonKind.CHILD:
        raise VisitRefused(_("Only a child has this record."), field="form")
    if not intake.needs:
        raise VisitRefused(_("Choose at least one need area."), field="needs")
    consented = intake.consent_on is not None and intake.consent_method is not None
    if (intake.consent_on is None) != (intake.consent_method is None):
        raise VisitRefused(_("Give both the day and the way the consent was recorded."), field="consent")
    if consented and child.guardian_id is None:
        raise VisitRefused(
            _("Record the child's guardian first: consent comes from the guardian."), field="consent"
        )
    if intake.consent_on is not None and intake.consent_on > today:
        raise VisitRefused(_("The day of consent cannot be in the future."), field="consent")
    if not consented and needs_consent(child, today):
        raise VisitRefused(
            _("A child under 14 needs the guardian's consent: record when and how it was given."),
            field="consent",
        )
    profile = await db.get(ChildProfile, child.id)
    created = profile is None
    if profile is None:
        profile = ChildProfile(person_id=child.id, referral_source=intake.referral_source, needs=[])
        db.add(profile)
    profile.referral_source = intake.referral_source
    profile.needs = [a.value for a in intake.needs]
    profile.consent_by_id = child.guardian_id if consented else None
    profile.consent_on = intake.consent_on
    profile.consent_method = intake.consent_method
    profile.recorded_by_id = actor.id
    profile.latitude, profile.longitude = intake.coordinates or (None, None)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="child_profile.recorded" if created else "child_profile.changed",
        subject=child,
        change={
            "referral_source": intake.referral_source.value,
            "needs": profile.needs,
            "consent_by_id": profile.consent_by_id,
            "consent_on": intake.consent_on.isoformat() if intake.consent_on else None,
            "consent_method": intake.consent_method.value if intake.consent_method else None,
            # Whether a location is recorded, never where (home locations stay out of the trail).
            "coordinates": intake.coordinates is not None,
        },
    )
    return profile


async def do_set_mother_profile(
    db: AsyncSession,
    mother: User,
    programme: Programme,
    *,
    offers: tuple[NeedArea, ...],
    skills: str = "",
    capacity: int = 1,
    coordinates: Coordinates | EllipsisType | None = ...,
    actor: Actor | None,
) -> MotherProfile:
    """Set her offers, skills and capacity; her coordinates too unless `coordinates` is left out."""
    profile = await db.scalar(
        select(MotherProfile).where(
            MotherProfile.user_id == mother.id, MotherProfile.programme_id == programme.id
        )
    )
    if profile is None:
        profile = MotherProfile(user_id=mother.id, programme_id=programme.id, offers=[])
        db.add(profile)
    profile.offers = [a.value for a in offers]
    profile.skills = skills[:200]
    profile.capacity = capacity
    if not isinstance(coordinates, EllipsisType):
        profile.latitude, profile.longitude = coordinates or (None, None)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="mother_profile.set",
        subject=profile,
        # Skills are free words and stay out of the audit trail, like notes.
        change={
            "user_id": mother.id,
            "offers": profile.offers,
            "capacity": capacity,
            "coordinates": profile.latitude is not None,
        },
    )
    return profile


MAX_SKILLS_CHARS = 200
MIN_CAPACITY, MAX_CAPACITY = 1, 10


@dataclass(frozen=True, slots=True)
class MotherEdit:
    """What a social worker or staff member may change in a caring mother's profile."""

    area: Area
    offers: tuple[NeedArea, ...]
    skills: str
    capacity: int
    coordinates: Coordinates | None = None


async def do_edit_mother_profile(
    db: AsyncSession, membership: Membership, edit: MotherEdit, *, actor: Actor, load: int
) -> MotherProfile:
    """Her area (the membership's), offers, skills and capacity; `load` is her current pairings.

    The caller has checked that the actor works in both the old and the new area. Everything is checked
    before anything changes, so a refusal leaves the profile as it was.
    """
    skills = " ".join(unicodedata.normalize("NFC", edit.skills).split())
    if len(skills) > MAX_SKILLS_CHARS:
        raise VisitRefused(
            _("Skills may have at most %(count)s characters.") % {"count": MAX_SKILLS_CHARS}, field="skills"
        )
    if not MIN_CAPACITY <= edit.capacity <= MAX_CAPACITY:
        raise VisitRefused(
            _("A caring mother can take between %(low)s and %(high)s children.")
            % {"low": MIN_CAPACITY, "high": MAX_CAPACITY},
            field="capacity",
        )
    if edit.capacity < load:
        raise VisitRefused(
            _("She has %(count)s children now: the number cannot be lower.") % {"count": load},
            field="capacity",
        )
    programme = await db.get_one(Programme, membership.programme_id)
    if edit.area.id != membership.area_id:
        taken = await db.scalar(
            select(Membership.id).where(
                Membership.user_id == membership.user_id,
                Membership.programme_id == membership.programme_id,
                Membership.area_id == edit.area.id,
                Membership.role == membership.role,
            )
        )
        if taken is not None:
            raise VisitRefused(_("She is already a caring mother of that area."), field="area_id")
        before = membership.area_id
        membership.area_id = edit.area.id
        await db.flush()
        await audit.record(
            db,
            actor=actor,
            action="mother_profile.area_changed",
            subject=membership,
            change={"user_id": membership.user_id, "area_id": [before, edit.area.id]},
        )
    mother = await db.get_one(User, membership.user_id)
    return await do_set_mother_profile(
        db,
        mother,
        programme,
        offers=edit.offers,
        skills=skills,
        capacity=edit.capacity,
        coordinates=edit.coordinates,
        actor=actor,
    )

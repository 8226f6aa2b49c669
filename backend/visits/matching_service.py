"""Suggesting caring mothers for a child without one, and the social worker's confirmation.

Ranked by nearness first (the same community, then the same street, then the district), then by how
many of the child's needs her offer covers, then by how few children she already has. When the child's
profile has coordinates, mothers of the same nearness tier whose profiles have them too are ranked by
distance first (to the nearest 100 m, so needs still decide between two equally far), and those without
come after them in the tier; without the child's coordinates the order above stands. A mother who is
full (as many current pairings as her capacity, one unless her profile says more) is not suggested.
Each suggestion carries its reasons, shown to the social worker who confirms one; the pairing's
history is kept (ended pairings stay, a new one is a new row).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend import audit
from backend.audit import Actor
from backend.errors import Conflict
from backend.i18n import gettext as _
from backend.people.models import Area, Membership, Person, PersonKind, Role, User
from backend.visits.models import ChildProfile, MotherProfile, NeedArea, Pairing, PairingStatus
from backend.visits.service import VisitRefused, do_pair


class Nearness(enum.IntEnum):
    OTHER = 0
    DISTRICT = 1
    STREET = 2
    COMMUNITY = 3


@dataclass(frozen=True, slots=True)
class Suggestion:
    mother: User
    area: Area
    nearness: Nearness
    covered: tuple[NeedArea, ...]
    missing: tuple[NeedArea, ...]
    load: int
    capacity: int
    skills: str
    # Kilometres between the two profiles' coarse coordinates, when both have them (shown rounded).
    distance_km: float | None = None

    @property
    def rank_key(self) -> tuple[int, int, int, int, str, int]:
        hundred_metres = round(self.distance_km * 10) if self.distance_km is not None else UNKNOWN_DISTANCE
        return (
            -self.nearness,
            hundred_metres,
            -len(self.covered),
            self.load,
            self.mother.display_name,
            self.mother.id,
        )


UNKNOWN_DISTANCE = 10**9  # after every known distance
EARTH_RADIUS_KM = 6371.0


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine); plenty for ranking neighbours within a district."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _where(profile: ChildProfile | MotherProfile | None) -> tuple[float, float] | None:
    if profile is None or profile.latitude is None or profile.longitude is None:
        return None
    return profile.latitude, profile.longitude


def nearness(child_area: Area, mother_area: Area) -> Nearness:
    """How many levels of the area tree the two share (district, street, community)."""
    child = [p for p in child_area.path.split("/") if p]
    mother = [p for p in mother_area.path.split("/") if p]
    shared = 0
    for a, b in zip(child, mother, strict=False):
        if a != b:
            break
        shared += 1
    return Nearness(min(shared, 3))


def child_needs(profile: ChildProfile | None) -> tuple[NeedArea, ...]:
    wanted = set(profile.needs) if profile is not None else set()
    return tuple(a for a in NeedArea if a.value in wanted)


async def suggest_mothers(db: AsyncSession, child: Person) -> list[Suggestion]:
    """Mothers of the child's programme with room for one more child, best first. `child.area` loaded."""
    profile = await db.get(ChildProfile, child.id)
    needs = child_needs(profile)
    child_at = _where(profile)
    memberships = await db.scalars(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.programme_id == child.programme_id,
            Membership.role == Role.CARING_MOTHER,
            Membership.ended_at.is_(None),
            User.is_active.is_(True),
        )
        .options(selectinload(Membership.user), selectinload(Membership.area))
    )
    loads = dict(
        (
            await db.execute(
                select(Pairing.mother_id, func.count(Pairing.id))
                .where(Pairing.programme_id == child.programme_id, Pairing.status == PairingStatus.ACTIVE)
                .group_by(Pairing.mother_id)
            )
        ).all()
    )
    profiles = {
        p.user_id: p
        for p in await db.scalars(
            select(MotherProfile).where(MotherProfile.programme_id == child.programme_id)
        )
    }
    best: dict[int, Suggestion] = {}
    for membership in memberships:
        mother = membership.user
        mine = profiles.get(mother.id)
        capacity = mine.capacity if mine is not None else 1
        load = int(loads.get(mother.id, 0))
        if load >= capacity:
            continue
        offers = set(mine.offers) if mine is not None else set()
        mother_at = _where(mine)
        suggestion = Suggestion(
            mother=mother,
            area=membership.area,
            nearness=nearness(child.area, membership.area),
            covered=tuple(a for a in needs if a.value in offers),
            missing=tuple(a for a in needs if a.value not in offers),
            load=load,
            capacity=capacity,
            skills=mine.skills if mine is not None else "",
            distance_km=distance_km(child_at, mother_at) if child_at and mother_at else None,
        )
        current = best.get(mother.id)
        if current is None or suggestion.rank_key < current.rank_key:
            best[mother.id] = suggestion  # a mother in two communities counts where she is nearest
    return sorted(best.values(), key=lambda s: s.rank_key)


async def do_confirm_pairing(
    db: AsyncSession, child: Person, mother_id: int, *, actor: Actor, guardian_consent: bool = False
) -> Pairing:
    """The social worker's choice among the suggestions; anyone not suggested is refused. A child under
    14 is paired only when she records, with it, that the guardian has consented (visits.service.do_pair)."""
    if child.kind is not PersonKind.CHILD:
        raise VisitRefused(_("Only a child is paired with a caring mother."), field="mother_id")
    current = await db.scalar(
        select(Pairing.id).where(Pairing.child_id == child.id, Pairing.status == PairingStatus.ACTIVE)
    )
    if current is not None:
        raise Conflict(_("This child already has a caring mother."))
    chosen = next((s for s in await suggest_mothers(db, child) if s.mother.id == mother_id), None)
    if chosen is None:
        raise VisitRefused(
            _("Choose one of the suggested caring mothers (she must have room for another child)."),
            field="mother_id",
        )
    pairing = await do_pair(
        db,
        programme=child.programme,
        child=child,
        mother=chosen.mother,
        actor=actor,
        guardian_consent=guardian_consent,
    )
    await audit.record(
        db,
        actor=actor,
        action="pairing.matched",
        subject=pairing,
        change={
            "nearness": chosen.nearness.name.lower(),
            "covered": [a.value for a in chosen.covered],
            "missing": [a.value for a in chosen.missing],
            "load_before": chosen.load,
        },
    )
    return pairing

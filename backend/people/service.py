"""Writes for the organisation: areas, programmes and their rules, users and their memberships. Each
do_* records its audit event (ids and categories, never names). The people served: person_service.py."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.auth.service import do_end_access
from backend.cases.defaults import do_seed_defaults
from backend.clock import local_today
from backend.db import utcnow
from backend.errors import Conflict, Refused
from backend.i18n import lazy_gettext as _l
from backend.meals.models import DEFAULT_MONTHLY_CAP_FEN, DEFAULT_RATE_FEN
from backend.people.models import (
    Area,
    AreaLevel,
    Membership,
    Person,
    Programme,
    ProgrammeKind,
    Role,
    User,
    UserReference,
)
from backend.people.names import name_initials, normalize_name
from backend.settlement.rate_service import do_date_programme_rate
from backend.visits.models import DEFAULT_VISIT_INTERVAL_DAYS

# The database allows 1 to 720 hours (a month) before an untaken order is overdue.
MAX_ORDER_DUE_HOURS = 720

HANDLE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$")
MAX_AREA_NAME = 100


class InvalidHandle(ValueError):
    pass


def _refused(message: object, field: str, status_code: int = 422) -> Refused:
    return Refused(message, field=field, status_code=status_code)


async def do_create_area(
    db: AsyncSession, *, name: str, parent: Area | None, actor: Actor | None, level: AreaLevel | None = None
) -> Area:
    """An area under `parent` (or a root), one of the levels below the parent's; by default the next one
    (a root, a district: most schemes start there)."""
    name = normalize_name(name, MAX_AREA_NAME)
    if not name:
        raise _refused(_l("Give the area a name."), "name")
    allowed = parent.level.below() if parent is not None else list(AreaLevel)
    if not allowed:
        raise _refused(_l("A community or village cannot have areas below it."), "level")
    level = level or (allowed[0] if parent is not None else AreaLevel.DISTRICT)
    if level not in allowed:
        raise _refused(_l("An area must be at a lower level than the one it is in."), "level")
    if parent is not None and parent.closed_at is not None:
        raise _refused(_l("This area is closed: nothing new can be added under it."), "parent", 409)
    await _refuse_sibling_name(db, parent.id if parent else None, name, but=None)
    area = Area(name=name, parent_id=parent.id if parent else None, level=level, path="")
    db.add(area)
    await db.flush()
    area.path = f"{parent.path if parent else '/'}{area.id}/"
    change = {"level": level.value, "parent_id": parent.id if parent else None}
    await audit.record(db, actor=actor, action="area.created", subject=area, change=change)
    return area


async def _refuse_sibling_name(
    db: AsyncSession, parent_id: int | None, name: str, *, but: int | None
) -> None:
    same = select(Area.id).where(
        Area.name == name, Area.parent_id.is_(None) if parent_id is None else Area.parent_id == parent_id
    )
    if but is not None:
        same = same.where(Area.id != but)
    if await db.scalar(same.limit(1)) is not None:
        raise _refused(_l("Another area with this name is already there."), "name", 409)


async def do_rename_area(db: AsyncSession, area: Area, *, name: str, actor: Actor) -> Area:
    name = normalize_name(name, MAX_AREA_NAME)
    if not name:
        raise _refused(_l("Give the area a name."), "name")
    if name == area.name:
        return area
    await _refuse_sibling_name(db, area.parent_id, name, but=area.id)
    area.name = name
    # The audit trail keeps ids, never names; the name's history is the area's own rows of it.
    await audit.record(db, actor=actor, action="area.renamed", subject=area)
    return area


async def area_in_use(db: AsyncSession, area: Area) -> str | None:
    """Why the area cannot close yet: open areas below it, people served or members still in it."""
    below = Area.path.startswith(area.path)
    if await db.scalar(select(Area.id).where(below, Area.id != area.id, Area.closed_at.is_(None)).limit(1)):
        return str(_l("Close the areas under it first."))
    inside = select(Area.id).where(below).scalar_subquery()
    if await db.scalar(
        select(Person.id).where(Person.area_id.in_(inside), Person.ended_at.is_(None)).limit(1)
    ):
        return str(_l("People served still live here: move them or end their participation first."))
    if await db.scalar(
        select(Membership.id).where(Membership.area_id.in_(inside), Membership.ended_at.is_(None)).limit(1)
    ):
        return str(_l("Members still work here: end their memberships first."))
    if await db.scalar(select(Programme.id).where(Programme.area_id == area.id).limit(1)):
        return str(_l("A programme is anchored at this area."))
    return None


async def do_close_area(db: AsyncSession, area: Area, *, actor: Actor) -> Area:
    if area.closed_at is not None:
        raise _refused(_l("This area is already closed."), "area", 409)
    reason = await area_in_use(db, area)
    if reason is not None:
        raise _refused(reason, "area", 409)
    area.closed_at = utcnow()
    await audit.record(db, actor=actor, action="area.closed", subject=area)
    return area


async def do_reopen_area(db: AsyncSession, area: Area, *, actor: Actor) -> Area:
    if area.closed_at is None:
        return area
    if area.parent_id is not None:
        parent = await db.get_one(Area, area.parent_id)
        if parent.closed_at is not None:
            raise _refused(_l("Reopen the area it is in first."), "area", 409)
    area.closed_at = None
    await audit.record(db, actor=actor, action="area.reopened", subject=area)
    return area


@dataclass(frozen=True, slots=True)
class ProgrammeRules:
    """What belongs to a programme of each kind: a meal programme's rate and monthly cap (fen), a
    caring-mother programme's default visit interval (days), a social-work station programme's hours
    after which an untaken order shows as overdue (None, a new programme's: cases.models'
    DEFAULT_ORDER_DUE_HOURS)."""

    rate_fen: int | None = None
    monthly_cap_fen: int | None = None
    visit_interval_days: int | None = None
    order_due_hours: int | None = None
    # A meal programme's change of rate applies from this month (its first day); None: the current
    # month. Never a closed or past month (settlement/rate_service.py).
    from_month: date | None = None

    @classmethod
    def defaults(cls, kind: ProgrammeKind) -> ProgrammeRules:
        if kind is ProgrammeKind.NEIGHBOUR_MEALS:
            return cls(rate_fen=DEFAULT_RATE_FEN, monthly_cap_fen=DEFAULT_MONTHLY_CAP_FEN)
        if kind is ProgrammeKind.CARING_MOTHERS:
            return cls(visit_interval_days=DEFAULT_VISIT_INTERVAL_DAYS)
        return cls()

    def check(self, kind: ProgrammeKind) -> None:
        if kind is ProgrammeKind.NEIGHBOUR_MEALS:
            if self.rate_fen is None or self.rate_fen <= 0:
                raise _refused(_l("Enter the rate per meal, in yuan."), "rate")
            if self.monthly_cap_fen is None or self.monthly_cap_fen < self.rate_fen:
                raise _refused(_l("The monthly cap must be at least one meal's rate."), "monthly_cap")
        if kind is ProgrammeKind.CARING_MOTHERS and not (1 <= (self.visit_interval_days or 0) <= 365):
            raise _refused(_l("Enter the visit interval in days (1 to 365)."), "visit_interval_days")
        if self.order_due_hours is not None and not 1 <= self.order_due_hours <= MAX_ORDER_DUE_HOURS:
            raise _refused(_l("Enter the hours before an order is overdue (1 to 720)."), "order_due_hours")

    def as_change(self) -> dict[str, int | None]:
        return {
            "rate_fen": self.rate_fen,
            "monthly_cap_fen": self.monthly_cap_fen,
            "visit_interval_days": self.visit_interval_days,
            "order_due_hours": self.order_due_hours,
        }


async def do_create_programme(
    db: AsyncSession,
    *,
    name: str,
    kind: ProgrammeKind,
    area: Area,
    actor: Actor | None,
    time_zone: str,
    rules: ProgrammeRules | None = None,
) -> Programme:
    name = normalize_name(name, 200)
    if not name:
        raise _refused(_l("Give the programme a name."), "name")
    if await db.scalar(select(Programme.id).where(Programme.name == name)) is not None:
        raise _refused(_l("Another programme already has this name."), "name", 409)
    if area.closed_at is not None:
        raise _refused(_l("This area is closed: nothing new can be added under it."), "area_id", 409)
    try:
        ZoneInfo(time_zone)
    except (ValueError, ZoneInfoNotFoundError):
        raise _refused(_l("Choose a time zone from the list."), "time_zone") from None
    rules = rules or ProgrammeRules.defaults(kind)
    rules.check(kind)
    programme = Programme(name=name, kind=kind, area_id=area.id, time_zone=time_zone, **rules.as_change())
    db.add(programme)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="programme.created",
        subject=programme,
        change={"kind": kind.value, "area_id": area.id, "time_zone": time_zone, **rules.as_change()},
    )
    # A social-work station starts with the province's dimensions and packages (staff edit them later).
    await do_seed_defaults(db, programme, actor=actor)
    return programme


async def do_set_programme_rules(
    db: AsyncSession,
    programme: Programme,
    rules: ProgrammeRules,
    *,
    actor: Actor,
    now: datetime | None = None,
) -> None:
    """Set a programme's rules. A meal programme's rate and cap are dated: they pay from
    `rules.from_month` on (the current month when None), never a closed or past month; the programme's
    columns keep the latest rules set (the most a new agreement may carry)."""
    rules.check(programme.kind)
    before = {
        "rate_fen": programme.rate_fen,
        "monthly_cap_fen": programme.monthly_cap_fen,
        "visit_interval_days": programme.visit_interval_days,
        "order_due_hours": programme.order_due_hours,
    }
    after = rules.as_change()
    dated: dict[str, object] = {}
    if programme.kind is ProgrammeKind.NEIGHBOUR_MEALS:
        assert rules.rate_fen is not None and rules.monthly_cap_fen is not None  # rules.check
        from_month = rules.from_month or local_today(programme, now).replace(day=1)
        replaced = await do_date_programme_rate(
            db,
            programme,
            rate_fen=rules.rate_fen,
            monthly_cap_fen=rules.monthly_cap_fen,
            from_month=from_month,
            actor=actor,
            now=now,
        )
        if replaced is not None:
            dated = {
                "from_month": from_month.replace(day=1).isoformat(),
                "month_rate_fen": [replaced[0], rules.rate_fen],
                "month_cap_fen": [replaced[1], rules.monthly_cap_fen],
            }
    if before == after and not dated:
        return
    programme.rate_fen, programme.monthly_cap_fen = rules.rate_fen, rules.monthly_cap_fen
    programme.visit_interval_days = rules.visit_interval_days
    programme.order_due_hours = rules.order_due_hours
    change: dict[str, object] = {
        key: [before[key], after[key]] for key in before if before[key] != after[key]
    }
    change.update(dated)
    await audit.record(db, actor=actor, action="programme.rules_changed", subject=programme, change=change)


async def do_create_user(
    db: AsyncSession, *, handle: str, display_name: str, actor: Actor | None, is_admin: bool = False
) -> User:
    handle = handle.strip().lower()
    if not HANDLE_RE.match(handle):
        raise InvalidHandle(handle)
    if await db.scalar(select(User.id).where(User.handle == handle)) is not None:
        raise Conflict(str(_l("That user name is taken.")))
    name = normalize_name(display_name)
    if not name:
        raise _refused(_l("Enter the person's name."), "display_name")
    user = User(
        handle=handle, display_name=name, name_initials=name_initials(name), is_admin=is_admin, is_active=True
    )
    db.add(user)
    await db.flush()
    await audit.record(db, actor=actor, action="user.created", subject=user, change={"is_admin": is_admin})
    return user


async def new_handle(db: AsyncSession, role: Role) -> str:
    """A fresh user name for someone added through the pages (a role prefix and random digits): staff
    see it in card lists, nobody has to type it, and it says nothing about the person."""
    while True:
        handle = f"{role.value.replace('_', '-')}-{secrets.randbelow(10**8):08d}"
        if await db.scalar(select(User.id).where(User.handle == handle)) is None:
            return handle


async def do_rename_user(db: AsyncSession, user: User, *, display_name: str, actor: Actor) -> User:
    name = normalize_name(display_name)
    if not name:
        raise _refused(_l("Enter the person's name."), "display_name")
    if name != user.display_name:
        user.display_name, user.name_initials = name, name_initials(name)
        await audit.record(db, actor=actor, action="user.renamed", subject=user)
    return user


async def do_add_membership(
    db: AsyncSession, *, user: User, programme: Programme, area: Area, role: Role, actor: Actor | None
) -> Membership:
    if area.closed_at is not None:
        raise _refused(_l("This area is closed: nothing new can be added under it."), "area_id", 409)
    anchor = await db.get_one(Area, programme.area_id)
    if not area.path.startswith(anchor.path):
        raise _refused(_l("Choose an area of this programme."), "area_id")
    current = await db.scalar(
        select(Membership).where(
            Membership.user_id == user.id,
            Membership.programme_id == programme.id,
            Membership.area_id == area.id,
            Membership.role == role,
        )
    )
    if current is not None and current.ended_at is None:
        raise _refused(_l("This person already has this role here."), "role", 409)
    if current is not None:  # the same role again after it ended: the row is reused, its history audited
        current.ended_at = None
        membership = current
    else:
        membership = Membership(user_id=user.id, programme_id=programme.id, area_id=area.id, role=role)
        db.add(membership)
        await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="membership.added",
        subject=membership,
        change={"user_id": user.id, "programme_id": programme.id, "area_id": area.id, "role": role.value},
    )
    return membership


async def current_memberships(db: AsyncSession, user_id: int) -> list[Membership]:
    rows = await db.scalars(
        select(Membership)
        .where(Membership.user_id == user_id, Membership.ended_at.is_(None))
        .order_by(Membership.id)
    )
    return list(rows)


async def do_end_membership(db: AsyncSession, membership: Membership, *, actor: Actor) -> Membership:
    """End one membership; when it was her last, her sessions end and her unused codes stop working."""
    if membership.ended_at is not None:
        raise _refused(_l("This membership has already ended."), "membership", 409)
    membership.ended_at = utcnow()
    await audit.record(
        db, actor=actor, action="membership.ended", subject=membership, change={"role": membership.role.value}
    )
    await db.flush()
    user = await db.get_one(User, membership.user_id)
    if not user.is_admin and not await current_memberships(db, user.id):
        await do_end_access(db, user, actor=actor, reason="last_membership_ended")
    return membership


async def do_set_active(db: AsyncSession, user: User, *, active: bool, actor: Actor) -> User:
    """Deactivate (her sessions end and her codes stop working at once) or reactivate an account."""
    if user.id == actor.id and not active:
        raise _refused(_l("You cannot deactivate your own account."), "user", 403)
    if user.is_active == active:
        return user
    user.is_active = active
    await audit.record(
        db, actor=actor, action="user.reactivated" if active else "user.deactivated", subject=user
    )
    if not active:
        await do_end_access(db, user, actor=actor, reason="deactivated")
    return user


async def do_set_user_reference(
    db: AsyncSession, user: User, programme: Programme, reference: str | None, *, actor: Actor | None
) -> None:
    """The scheme's number (编号) for a user in a programme; None removes it. Unique in the programme."""
    reference = (reference or "").strip() or None
    if reference is not None and len(reference) > 64:
        raise _refused(
            _l("The reference may have at most %(count)s characters.") % {"count": 64}, "reference"
        )
    current = await db.scalar(
        select(UserReference).where(
            UserReference.programme_id == programme.id, UserReference.user_id == user.id
        )
    )
    if (current.reference if current else None) == reference:
        return
    if reference is not None:
        taken = await db.scalar(
            select(UserReference.user_id).where(
                UserReference.programme_id == programme.id, UserReference.reference == reference
            )
        )
        if taken is not None:
            raise _refused(
                _l("Another person of this programme already has this reference."), "reference", 409
            )
    if current is not None and reference is None:
        await db.delete(current)
    elif current is not None:
        current.reference = reference  # type: ignore[assignment]
    else:
        db.add(UserReference(programme_id=programme.id, user_id=user.id, reference=reference))
    await db.flush()
    await audit.record(
        db, actor=actor, action="user.reference_set", subject=user, change={"programme_id": programme.id}
    )

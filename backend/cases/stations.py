"""Stations: the areas of a social-work-station programme where it has an active social worker, and
the token that names a station on its public request poster (an HMAC of the programme and area ids under
the app's secret key, so a poster reveals no id and needs no stored column). An order lands in the
station covering the household's area: the nearest such area at or above it."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.cases import policy
from backend.errors import NotFound
from backend.people.models import Area, Membership, Programme, ProgrammeKind, Role
from backend.people.policy import area_and_below

TOKEN_BYTES = 12


def _has_worker(programme_id: Any, area_id: Any) -> ColumnElement[bool]:
    return (
        select(Membership.id)
        .where(
            Membership.programme_id == programme_id,
            Membership.area_id == area_id,
            Membership.role == Role.SOCIAL_WORKER,
            Membership.ended_at.is_(None),
        )
        .exists()
    )


async def stations_of(db: AsyncSession, programme_id: int) -> list[Area]:
    """The programme's stations: open areas where it has an active social worker, by path."""
    rows = await db.scalars(
        select(Area).where(_has_worker(programme_id, Area.id), Area.closed_at.is_(None)).order_by(Area.path)
    )
    return list(rows)


async def station_for(db: AsyncSession, programme_id: int, area: Area) -> Area | None:
    """The station covering `area`: the nearest area at or above it with a worker of the programme."""
    ids = [int(part) for part in area.path.strip("/").split("/") if part]
    if not ids:
        return None
    rows = await db.scalars(
        select(Area).where(Area.id.in_(ids), _has_worker(programme_id, Area.id), Area.closed_at.is_(None))
    )
    found = sorted(rows, key=lambda a: len(a.path), reverse=True)
    return found[0] if found else None


async def areas_under(db: AsyncSession, station: Area) -> list[Area]:
    """The station's area and the open areas beneath it (where a household may live), by path."""
    rows = await db.scalars(
        select(Area).where(area_and_below(station.path), Area.closed_at.is_(None)).order_by(Area.path)
    )
    return list(rows)


def station_token(secret_key: str, programme_id: int, area_id: int) -> str:
    digest = hmac.new(
        secret_key.encode(), f"station-request:{programme_id}:{area_id}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class PublicStation:
    programme: Programme
    station: Area


async def station_by_token(db: AsyncSession, secret_key: str, token: str) -> PublicStation:
    """The station a poster's token names, or 404. Compares against every station of every station
    programme (a few hundred HMACs: microseconds), in constant time each."""
    if not token or len(token) > 32:
        raise NotFound()
    programmes = await db.scalars(
        select(Programme).where(Programme.kind == ProgrammeKind.SOCIAL_WORK_STATION).order_by(Programme.id)
    )
    for programme in programmes:
        for station in await stations_of(db, programme.id):
            if hmac.compare_digest(station_token(secret_key, programme.id, station.id), token):
                return PublicStation(programme, station)
    raise NotFound()


async def get_station_for(db: AsyncSession, user: Principal, area_id: int) -> list[Programme]:
    """The station programmes whose station `area_id` is and that the user works in (its workers, the
    programme's staff); 404 when none."""
    area = await db.get(Area, area_id)
    if area is None:
        raise NotFound()
    programme_ids: set[int] = set()
    for grant in policy.station_grants(user):
        if area.path.startswith(grant.area_path):
            programme_ids.add(grant.programme_id)
    programme_ids |= set(user.staff_programme_ids)
    if user.is_admin:
        programme_ids |= set(
            (
                await db.scalars(
                    select(Programme.id).where(Programme.kind == ProgrammeKind.SOCIAL_WORK_STATION)
                )
            ).all()
        )
    found = []
    for programme in await db.scalars(
        select(Programme)
        .where(Programme.id.in_(programme_ids), Programme.kind == ProgrammeKind.SOCIAL_WORK_STATION)
        .order_by(Programme.id)
    ):
        if await db.scalar(select(_has_worker(programme.id, area.id))):
            found.append(programme)
    if not found:
        raise NotFound()
    return found


async def report_choices(db: AsyncSession, user: Principal, role: Role) -> list[tuple[int, Area, Area]]:
    """(programme id, household area, its station) a scout or worker may order for: the areas under
    the station covering each of her grants in a station programme."""
    seen: set[tuple[int, int]] = set()
    choices: list[tuple[int, Area, Area]] = []
    for grant in user.grants_for(role):
        if grant.programme_kind is not ProgrammeKind.SOCIAL_WORK_STATION:
            continue
        anchor = await db.get_one(Area, grant.area_id)
        station = await station_for(db, grant.programme_id, anchor)
        if station is None:
            continue
        # Her own area first, then the rest of the station's.
        under = await areas_under(db, station)
        under.sort(key=lambda a: (not a.path.startswith(anchor.path), a.path))
        for area in under:
            if (grant.programme_id, area.id) not in seen:
                seen.add((grant.programme_id, area.id))
                choices.append((grant.programme_id, area, station))
    return choices

"""Lists at province scale: keyset pages, search by name or pinyin initials, filter by area and status.

One generic routine serves every list of people and of users. A page is
`WHERE <scope> AND <filters> AND (sort_key, id) > (:after_key, :after_id) ORDER BY sort_key, id
LIMIT n+1`: no OFFSET, so page 500 costs what page 1 costs, and a row added or ended while someone
pages is neither skipped nor shown twice among the rows that stay.

The cursor in the URL is opaque and carries the last row's id only (not its name: URLs carry no
names); its sort key is read back through the same scoped query, so a cursor naming a row the user
may not see starts the list from the beginning instead of revealing where that row sorts.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.base import ExecutableOption

from backend.people.models import Area, Membership, Person, User
from backend.people.names import search_terms
from backend.people.policy import area_and_below

T = TypeVar("T")
PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
_CURSOR_PREFIX = "k"


class Status(enum.StrEnum):
    CURRENT = "current"
    ENDED = "ended"
    ALL = "all"

    @classmethod
    def parse(cls, raw: str | None) -> Status:
        try:
            return cls(raw or cls.CURRENT.value)
        except ValueError:
            return cls.CURRENT


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What the URL asks for: `q`, `area` (an area id), `status` and the `after` cursor."""

    q: str = ""
    area_id: int | None = None
    status: Status = Status.CURRENT
    after: str | None = None
    size: int = PAGE_SIZE

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, size: int = PAGE_SIZE) -> ListQuery:
        def text(name: str, limit: int) -> str:
            value = params.get(name)
            return value[:limit] if isinstance(value, str) else ""

        area = text("area", 12).strip()
        return cls(
            q=text("q", 50).strip(),
            area_id=int(area) if area.isdigit() else None,
            status=Status.parse(text("status", 10)),
            after=text("after", 40) or None,
            size=max(1, min(size, MAX_PAGE_SIZE)),
        )

    def params(self, **changes: Any) -> dict[str, str]:
        """The query as URL parameters (for the next page's link), empty ones left out."""
        values = {
            "q": self.q,
            "area": str(self.area_id) if self.area_id is not None else "",
            "status": self.status.value if self.status is not Status.CURRENT else "",
            "after": self.after or "",
        }
        values.update({k: str(v) if v is not None else "" for k, v in changes.items()})
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True, slots=True)
class Listing:
    """How one model is listed: its sort key and id, where its name and initials are, and what
    "under this area" and "current" mean for it."""

    id: InstrumentedAttribute[int]
    sort_key: InstrumentedAttribute[str]
    initials: InstrumentedAttribute[str]
    in_area: Callable[[str], ColumnElement[bool]]
    current: Callable[[], ColumnElement[bool]]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    rows: list[T]
    next_after: str | None


def encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not raw.startswith(_CURSOR_PREFIX) or not raw[1:].isdigit() or len(raw) > 19:
        return None
    return int(raw[1:])


def name_matches(listing: Listing, query: str) -> ColumnElement[bool] | None:
    """Characters anywhere in the name, or letters at the start of one initials alternative."""
    text, letters = search_terms(query)
    if not text:
        return None
    conditions = [listing.sort_key.contains(text, autoescape=True)]
    if letters and letters.isascii():
        # name_initials holds space-separated alternatives ("cq zq"): a leading space makes
        # "starts an alternative" one LIKE on both databases.
        conditions.append((literal(" ") + listing.initials).contains(" " + letters, autoescape=True))
    return or_(*conditions)


async def keyset_page(
    db: AsyncSession,
    base: Select[T],
    listing: Listing,
    query: ListQuery,
    *,
    options: tuple[ExecutableOption, ...] = (),
) -> Page[T]:
    """One page of `base` (already scoped to the user) under the query's search, area and status;
    `options` (eager loads) apply to the rows only, not to the cursor's look-up."""
    conditions: list[ColumnElement[bool]] = []
    match = name_matches(listing, query.q)
    if match is not None:
        conditions.append(match)
    if query.area_id is not None:
        path = await db.scalar(select(Area.path).where(Area.id == query.area_id))
        # An unknown area lists nothing rather than everything.
        conditions.append(listing.in_area(path) if path is not None else literal(False))
    if query.status is Status.CURRENT:
        conditions.append(listing.current())
    elif query.status is Status.ENDED:
        conditions.append(~listing.current())
    filtered = base.where(*conditions)
    after_id = decode_cursor(query.after)
    if after_id is not None:
        after_key = await db.scalar(
            filtered.with_only_columns(listing.sort_key).where(listing.id == after_id).limit(1)
        )
        if after_key is not None:
            filtered = filtered.where(
                tuple_(listing.sort_key, listing.id) > tuple_(literal(after_key), literal(after_id))
            )
    rows = list(
        (
            await db.scalars(
                filtered.options(*options).order_by(listing.sort_key, listing.id).limit(query.size + 1)
            )
        ).all()
    )
    more = len(rows) > query.size
    rows = rows[: query.size]
    last = int(getattr(rows[-1], listing.id.key)) if more and rows else None
    return Page(rows=rows, next_after=encode_cursor(last) if last is not None else None)


def _person_in_area(path: str) -> ColumnElement[bool]:
    return Person.area_id.in_(select(Area.id).where(area_and_below(path)).scalar_subquery())


PEOPLE = Listing(
    id=Person.id,
    sort_key=Person.display_name,
    initials=Person.name_initials,
    in_area=_person_in_area,
    current=lambda: Person.ended_at.is_(None),
)


def _user_in_area(path: str) -> ColumnElement[bool]:
    return exists().where(
        Membership.user_id == User.id,
        Membership.area_id.in_(select(Area.id).where(area_and_below(path)).scalar_subquery()),
    )


def _user_current() -> ColumnElement[bool]:
    # Someone who still works: an active account with at least one membership that has not ended.
    return and_(
        User.is_active.is_(True),
        exists().where(Membership.user_id == User.id, Membership.ended_at.is_(None)),
    )


USERS = Listing(
    id=User.id,
    sort_key=User.display_name,
    initials=User.name_initials,
    in_area=_user_in_area,
    current=_user_current,
)

"""Entries sent from a phone carry a client-generated UUID (DESIGN.md, house rule 6): the same UUID
with the same content returns the original; with different content, or a UUID another user sent, it is
refused (409) without telling anything about the other entry. Never two rows.

Written once for every kind of entry (meal check-ins, visits, photos): a model takes part by having a
`client_uuid` column and the two properties of `SentEntry`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from backend.audit import Actor
from backend.db import Database
from backend.errors import Refused


class SentEntry(Protocol):
    @property
    def sent_by_id(self) -> int: ...

    @property
    def sent_sha256(self) -> str: ...


E = TypeVar("E", bound=SentEntry)


@dataclass(frozen=True, slots=True)
class Submitted(Generic[E]):
    entry: E
    created: bool


async def find_by_client_uuid(
    db: AsyncSession, model: type[E], client_uuid: uuid.UUID, options: Sequence[Any] = ()
) -> E | None:
    """The first entry sent under this UUID, by anyone."""
    column: InstrumentedAttribute[uuid.UUID] = model.client_uuid  # type: ignore[attr-defined]
    first: InstrumentedAttribute[int] = model.id  # type: ignore[attr-defined]
    found: E | None = await db.scalar(
        select(model).where(column == client_uuid).options(*options).order_by(first).limit(1)
    )
    return found


async def own_original(
    database: Database, model: type[E], client_uuid: uuid.UUID, *, actor: Actor, options: Sequence[Any] = ()
) -> E | None:
    """Her own entry already sent under this UUID (a form tapped twice, or sent again), read in its own
    short transaction; None when there is none, or when it is someone else's."""
    async with database.transaction(read_only=True) as db:
        found = await find_by_client_uuid(db, model, client_uuid, options)
    return found if found is not None and found.sent_by_id == actor.id else None


def answer_retry(existing: E, *, actor: Actor, sha256: str, different: Any) -> Submitted[E]:
    """The original for the same sender and content; `different` (a message) otherwise."""
    # Another user's UUID gets the same answer as different content: nothing about theirs leaks.
    if existing.sent_by_id != actor.id or existing.sent_sha256 != sha256:
        raise Refused(different, field="form", status_code=409)
    return Submitted(existing, created=False)


async def submit(
    database: Database,
    model: type[E],
    *,
    client_uuid: uuid.UUID,
    sha256: str,
    actor: Actor,
    different: Any,
    create: Callable[[AsyncSession], Awaitable[E]],
    options: Sequence[Any] = (),
    explain: Callable[[AsyncSession], Awaitable[None]] | None = None,
) -> Submitted[E]:
    """Create the entry in one write transaction, or answer a retry with the original.

    An identical request that commits between our look-up and our insert makes ours fail, on a unique
    index (IntegrityError) or on a rule that now sees its row (a Refused with 409): we then answer as if
    we had come second. When no original is found after an IntegrityError, `explain` may raise the
    rule that another entry broke (it took the same meal, a month was closed meanwhile).
    """
    try:
        async with database.transaction() as db:
            existing = await find_by_client_uuid(db, model, client_uuid, options)
            if existing is not None:
                return answer_retry(existing, actor=actor, sha256=sha256, different=different)
            return Submitted(await create(db), created=True)
    except (IntegrityError, Refused) as exc:
        if isinstance(exc, Refused) and exc.status_code != 409:
            raise
        async with database.transaction(read_only=True) as db:
            existing = await find_by_client_uuid(db, model, client_uuid, options)
            if existing is not None:
                return answer_retry(existing, actor=actor, sha256=sha256, different=different)
            if isinstance(exc, IntegrityError) and explain is not None:
                await explain(db)
        raise

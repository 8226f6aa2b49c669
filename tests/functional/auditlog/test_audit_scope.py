"""The audit page: staff see their own programmes' events only, an administrator sees all; the chain is
checked from where the last check ended, and `verify-audit` still finds tampering. On both databases."""

from __future__ import annotations

import re

from sqlalchemy import select, text

from backend import audit
from backend.audit import AuditCheckpoint, AuditEvent
from backend.db import Database
from backend.people.models import Person, Programme
from tests import factories, personas
from tests.conftest import ClientAs, NewBrowser, World, csrf_token, issue_code


async def _tamper_all(database: Database, *statements: str) -> None:
    """What someone with the database's password could do: the append-only triggers off, rows edited."""
    async with database.transaction() as db:
        postgres = database.engine.dialect.name == "postgresql"
        if postgres:
            await db.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        else:
            await db.execute(text("DROP TRIGGER audit_event_no_update"))
        for statement in statements:
            await db.execute(text(statement))
        if postgres:
            await db.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))


def _ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="audit-event" id="event-(\d+)">', html)]


def _recomputed(html: str) -> int:
    found = re.search(r'data-recomputed="(\d+)"', html)
    assert found is not None
    return int(found.group(1))


async def _person_event(database: Database, person_id: int) -> int:
    async with database.transaction() as db:
        person = await db.get(Person, person_id)
        assert person is not None
        event = await audit.record(
            db, actor=None, action="person.updated", subject=person, change={"fields": ["birth_year"]}
        )
    return event.id


async def test_staff_do_not_see_events_of_another_programme_and_an_admin_sees_both(
    client_as: ClientAs, world: World, database: Database, new_browser: NewBrowser
) -> None:
    foreign = await _person_event(database, world.outsider_resident_id)
    own = await _person_event(database, world.person_id("qian"))
    async with database.transaction(read_only=True) as db:
        programme_of = {i: p for i, p in await db.execute(select(AuditEvent.id, AuditEvent.programme_id))}
        outsider_programme = await db.get(Programme, world.outsider_programme_id)
    assert programme_of[foreign] == world.outsider_programme_id and outsider_programme is not None
    assert programme_of[own] not in (None, world.outsider_programme_id)

    staff = await client_as(personas.STAFF)
    seen = _ids((await staff.get("/audit", params={"action": "person.updated"})).text)
    assert own in seen and foreign not in seen
    # not by guessing a page either
    assert foreign not in _ids((await staff.get("/audit", params={"before": foreign + 1})).text)

    async with database.transaction() as db:
        await factories.make_user(db, "audit-admin", admin=True, name="管理员")
    admin = new_browser()
    code = await issue_code(database, "audit-admin")
    signed = await admin.post("/signin", data={"code": code, "_csrf_token": await csrf_token(admin)})
    assert signed.status_code == 303
    both = _ids((await admin.get("/audit", params={"action": "person.updated"})).text)
    assert own in both and foreign in both


async def test_staff_see_sign_ins_of_their_own_people_only(client_as: ClientAs, world: World) -> None:
    await client_as(personas.OUTSIDER)  # her sign-in: events of no programme, by her
    await client_as(personas.NEIGHBOUR)
    staff = await client_as(personas.STAFF)
    page = (await staff.get("/audit", params={"action": "session.started"})).text
    assert "赵桂兰" in page and "外区社工" not in page


async def test_a_second_view_of_the_audit_page_recomputes_no_event_already_checked(
    client_as: ClientAs, world: World, database: Database
) -> None:
    staff = await client_as(personas.STAFF)
    first = await staff.get("/audit")
    assert "审计链完整" in first.text and _recomputed(first.text) > 0
    second = await staff.get("/audit")
    assert "审计链完整" in second.text and _recomputed(second.text) == 0
    await _person_event(database, world.person_id("qian"))
    third = await staff.get("/audit")
    assert _recomputed(third.text) == 1
    async with database.transaction(read_only=True) as db:
        mark = await db.scalar(select(AuditCheckpoint))
        last = await db.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert mark is not None and last is not None and (mark.seq, mark.hash) == (last.id, last.hash)


async def test_tampering_with_a_checked_event_is_still_found_by_the_full_check(
    client_as: ClientAs, world: World, database: Database
) -> None:
    staff = await client_as(personas.STAFF)
    assert _recomputed((await staff.get("/audit")).text) > 0
    async with database.transaction(read_only=True) as db:
        mark = await db.scalar(select(AuditCheckpoint))
    assert mark is not None and mark.seq > 3
    # an event checked before is edited, and the last checked one's hash is forged
    await _tamper_all(
        database,
        "UPDATE audit_event SET subject_id = '999' WHERE id = 3",
        "UPDATE audit_event SET hash = '" + "f" * 64 + "' WHERE id = " + str(mark.seq),
    )
    async with database.transaction(read_only=True) as db:
        report = await audit.verify_chain(db)
    assert report.first_bad_id == 3
    # the page does not recompute old events, but sees that the last one it checked has changed
    page = await staff.get("/audit")
    assert f"审计链在第 {mark.seq} 条记录处断开" in page.text

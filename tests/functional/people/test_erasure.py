"""The erasure right: staff erase a person or user whose participation has ended. The name, birth year,
note and 编号 go (a pseudonym stays, the 编号 is tombstoned against re-import), photo files are deleted
after the commit, and the ledger, the statements' photo hashes and the audit chain stay verifiable."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

from litestar import Litestar
from sqlalchemy import select

from backend.audit import AuditEvent, verify_chain
from backend.auth.models import Session
from backend.db import Database
from backend.evidence.maintenance import check_photos
from backend.evidence.models import Photo
from backend.evidence.removal import photo_keys
from backend.meals.models import Agreement
from backend.meals.service import do_end_agreement
from backend.models import Base
from backend.people.import_service import check_file, importer_for
from backend.people.models import (
    Area,
    EndReason,
    ErasedReference,
    Membership,
    Person,
    Programme,
    Role,
    User,
    UserReference,
)
from backend.people.person_service import do_end_person
from backend.people.registry_table import COLUMNS
from backend.people.rights_service import reference_sha256
from backend.people.service import do_end_membership, do_set_user_reference
from backend.settlement.checks import closed_month_mismatches
from backend.settlement.statements import agreement_statements
from tests import factories, personas
from tests.conftest import ClientAs, World
from tests.functional import settlement_support
from tests.functional.people.rights_support import (
    NAME,
    REFERENCE,
    Resident,
    load_agreement,
    load_person,
    make_resident,
    post_form,
)
from tests.functional.photos_support import store_of, stored_keys

NOTE = "住三楼，钥匙在门垫下"
GUIYUAN = "梧桐街道/桂园社区"


async def _statement(database: Database, resident: Resident) -> tuple[int, object, list[tuple[str, ...]]]:
    agreement = await load_agreement(database, resident.agreement_id)
    async with database.transaction(read_only=True) as db:
        [statement] = await agreement_statements(db, [agreement], resident.month, closed=True)
    return statement.meals_fen, statement.ledger, [m.photo_sha256 for m in statement.meals]


async def _end_participation(database: Database, world: World, resident: Resident) -> None:
    async with database.transaction() as db:
        staff = await db.get_one(User, world.user_id(personas.STAFF))
        agreement = await db.get_one(Agreement, resident.agreement_id)
        await do_end_agreement(db, agreement, ends_on=resident.month + timedelta(days=20), actor=staff)
        person = await db.get_one(Person, resident.person_id)
        await do_end_person(db, person, EndReason.MOVED_AWAY, actor=staff)


async def _dump(database: Database) -> str:
    """Every row of every table, as text: what a database dump would show."""
    parts = []
    async with database.transaction(read_only=True) as db:
        for table in Base.metadata.sorted_tables:
            parts.append(repr((await db.execute(select(table))).all()))
    return "\n".join(parts)


def _registry_csv(*rows: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([list(COLUMNS), *rows])
    return buffer.getvalue().encode()


async def _import_check(database: Database, world: World, data: bytes):  # type: ignore[no-untyped-def]
    async with database.transaction() as db:
        programme = await db.get_one(Programme, world.cast.programmes["meals"].id)
        importer = await importer_for(db, world.user_id(personas.STAFF), programme)
        return await check_file(db, programme, data, importer=importer)


async def test_staff_erase_an_ended_resident_and_ledger_statement_audit_and_check_stay_green(
    database: Database, world: World, client_as: ClientAs, app: Litestar
) -> None:
    resident = await make_resident(database, world, client_as)
    await settlement_support.close(
        database, world.cast.programmes["meals"].id, resident.month, world.user_id(personas.STAFF)
    )
    statement_before = await _statement(database, resident)
    assert statement_before[0] > 0 and all(statement_before[2])
    await _end_participation(database, world, resident)
    async with database.transaction(read_only=True) as db:
        photos = list(await db.scalars(select(Photo).where(Photo.id.in_(resident.photo_ids))))
    keys = {key for photo in photos for key in photo_keys(photo)}
    assert keys <= set(await stored_keys(app))
    assert NAME in await _dump(database)
    staff = await client_as(personas.STAFF)

    page = await staff.get(f"/people/{resident.person_id}/erase")
    assert page.status_code == 200
    assert 'id="erase-form"' in page.text and 'id="erase-refused"' not in page.text
    response = await post_form(staff, f"/people/{resident.person_id}/erase", confirm="删除")

    assert response.status_code == 303, response.text[:1000]
    assert response.headers["location"] == f"/people/{resident.person_id}"
    person = await load_person(database, resident.person_id)
    assert person.display_name == f"已删除-{resident.person_id}"
    assert (person.birth_year, person.note, person.reference) == (None, None, None)
    assert person.erased_at is not None
    dump = await _dump(database)
    assert NAME not in dump and NOTE not in dump and REFERENCE not in dump
    # The files are gone from the store; the rows and their hashes stay, marked removed.
    assert keys.isdisjoint(set(await stored_keys(app)))
    async with database.transaction(read_only=True) as db:
        after = list(await db.scalars(select(Photo).where(Photo.id.in_(resident.photo_ids))))
        assert [p.received_sha256 for p in after] == [p.received_sha256 for p in photos]
        assert all(p.removed_at is not None and p.removed_reason == "erasure" for p in after)
        # `carelog verify-audit` and `carelog check`, as the commands run them.
        chain = await verify_chain(db)
        assert chain.first_bad_id is None, chain.reason
        report = await check_photos(db, store_of(app))
        assert report.bad == []
        _months, mismatches = await closed_month_mismatches(db)
        assert mismatches == []
        erased_events = list(
            await db.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "person.erased", AuditEvent.subject_id == str(resident.person_id)
                )
            )
        )
        assert len(erased_events) == 1
    assert await _statement(database, resident) == statement_before
    served = await staff.get(f"/photos/{resident.photo_ids[0]}/display")
    assert served.status_code in (404, 410)
    # The tombstoned 编号: an import of her again is refused, and nobody is created.
    plan = await _import_check(
        database, world, _registry_csv([REFERENCE, "居民", NAME, "1948", GUIYUAN, "", "", ""])
    )
    assert [row.action for row in plan.rows] == ["error"]
    assert REFERENCE in plan.rows[0].reason
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(Person.id).where(Person.display_name == NAME)) is None


async def test_erasure_is_refused_while_the_resident_still_takes_part(
    database: Database, world: World, client_as: ClientAs, app: Litestar
) -> None:
    resident = await make_resident(database, world, client_as, checkins=1)
    staff = await client_as(personas.STAFF)

    page = await staff.get(f"/people/{resident.person_id}/erase")
    assert 'id="erase-refused"' in page.text and 'id="erase-form"' not in page.text
    response = await post_form(staff, f"/people/{resident.person_id}/erase", confirm="删除")

    assert response.status_code == 409
    assert 'id="erase-refused"' in response.text
    person = await load_person(database, resident.person_id)
    assert (person.display_name, person.erased_at) == (NAME, None)
    async with database.transaction(read_only=True) as db:
        photo = await db.get_one(Photo, resident.photo_ids[0])
        assert photo.removed_at is None
    assert set(photo_keys(photo)) <= set(await stored_keys(app))


async def test_erasure_needs_the_typed_confirmation(
    database: Database, world: World, client_as: ClientAs
) -> None:
    resident = await make_resident(database, world, client_as, checkins=1)
    await _end_participation(database, world, resident)
    staff = await client_as(personas.STAFF)

    response = await post_form(staff, f"/people/{resident.person_id}/erase", confirm="yes")

    assert response.status_code == 400
    assert 'id="confirm-error"' in response.text
    assert (await load_person(database, resident.person_id)).display_name == NAME


async def test_only_staff_of_the_programme_may_erase(
    database: Database, world: World, client_as: ClientAs
) -> None:
    resident = await make_resident(database, world, client_as, checkins=1)
    await _end_participation(database, world, resident)
    async with database.transaction() as db:
        programme = await db.get_one(Programme, world.outsider_programme_id)
        area = await db.get_one(Area, programme.area_id)
        await factories.make_user(db, "outsider-staff", role=Role.STAFF, programme=programme, area=area)
    worker = await client_as(personas.SOCIAL_WORKER)
    other = await client_as("outsider-staff")
    url = f"/people/{resident.person_id}/erase"

    assert (await worker.get(url)).status_code == 403
    assert (await post_form(worker, url, confirm="删除")).status_code == 403
    assert (await other.get(url)).status_code == 404
    assert (await post_form(other, url, confirm="删除")).status_code == 404
    assert (await load_person(database, resident.person_id)).display_name == NAME


async def test_staff_erase_a_user_whose_roles_ended_and_her_reference_cannot_be_imported_again(
    database: Database, world: World, client_as: ClientAs
) -> None:
    name, reference = "甄邻居删", "NB-ERASE-7"
    async with database.transaction() as db:
        programme = await db.get_one(Programme, world.cast.programmes["meals"].id)
        user = await factories.make_user(
            db,
            "erase-me",
            role=Role.NEIGHBOUR,
            programme=programme,
            area=world.cast.areas["guiyuan"],
            name=name,
        )
        await do_set_user_reference(db, user, programme, reference, actor=None)
        user_id = user.id
    await client_as("erase-me")  # she has signed in: a session and a used card
    staff = await client_as(personas.STAFF)

    refused = await post_form(staff, f"/users/{user_id}/erase", confirm="删除")
    assert refused.status_code == 409  # her role is still active
    async with database.transaction() as db:
        membership = await db.scalar(select(Membership).where(Membership.user_id == user_id))
        assert membership is not None
        await do_end_membership(db, membership, actor=None)
    page = await staff.get(f"/users/{user_id}/erase")
    assert 'id="erase-form"' in page.text
    response = await post_form(staff, f"/users/{user_id}/erase", confirm="删除")

    assert response.status_code == 303
    async with database.transaction(read_only=True) as db:
        erased = await db.get_one(User, user_id)
        assert (erased.display_name, erased.handle, erased.is_active) == (
            f"已删除-{user_id}",
            f"erased-{user_id}",
            False,
        )
        assert await db.scalar(select(UserReference.id).where(UserReference.user_id == user_id)) is None
        tombstone = await db.scalar(
            select(ErasedReference.id).where(ErasedReference.reference_sha256 == reference_sha256(reference))
        )
        assert tombstone is not None
        sessions = list(await db.scalars(select(Session).where(Session.user_id == user_id)))
        assert sessions and all(s.revoked_at is not None for s in sessions)
        assert (await verify_chain(db)).first_bad_id is None
    dump = await _dump(database)
    assert name not in dump and reference not in dump
    plan = await _import_check(
        database, world, _registry_csv([reference, "邻居", name, "", GUIYUAN, "", "", ""])
    )
    assert [row.action for row in plan.rows] == ["error"]


async def test_staff_erase_a_child_after_the_pairing_ended_visit_notes_and_photos_go_records_stay(
    database: Database, world: World, client_as: ClientAs, app: Litestar
) -> None:
    """The path of a caring-mother child: her visit's note and photo about the child go with her name;
    the visit itself (who, when, how long) stays for the workers, and the chain still verifies."""
    from backend.visits.exit_service import do_decide_exit, do_record_investigation, do_request_exit
    from backend.visits.models import Pairing, Visit
    from tests.functional import meals_support
    from tests.functional.visits_support import pairing_id_of, put_visit, send_photo, visit_body

    marker = "孩子说起他妈妈在外地打工-7f3c"
    child_id = world.person_id("xiaoyu")
    pairing_id = await pairing_id_of(database, world, "xiaoyu")
    mother = await client_as(personas.CARING_MOTHER)
    photo_uuid = await send_photo(mother, child_id, meals_support.meal_jpeg(31))
    sent = await put_visit(mother, uuid.uuid4(), visit_body(pairing_id, photos=[photo_uuid], note=marker))
    assert sent.status_code == 201, sent.text
    visit_id = sent.json()["id"]
    async with database.transaction(read_only=True) as db:
        photo = await db.scalar(select(Photo).where(Photo.client_uuid == photo_uuid))
        assert photo is not None
    keys = set(photo_keys(photo))
    assert keys <= set(await stored_keys(app))

    async with database.transaction() as db:
        worker = await db.get_one(User, world.user_id(personas.SOCIAL_WORKER))
        staff = await db.get_one(User, world.user_id(personas.STAFF))
        pairing = await db.get_one(Pairing, pairing_id)
        request = await do_request_exit(db, pairing, "监护人申请", actor=worker)
        await do_record_investigation(db, request, "已走访", actor=worker)
        await do_decide_exit(db, request, pairing, approve=True, note="同意", actor=staff)
        await do_end_person(db, await db.get_one(Person, child_id), EndReason.MOVED_AWAY, actor=staff)

    staff_client = await client_as(personas.STAFF)
    response = await post_form(staff_client, f"/people/{child_id}/erase", confirm="删除")
    assert response.status_code == 303, response.text[:1000]

    child = await load_person(database, child_id)
    assert child.display_name == f"已删除-{child_id}" and child.birth_year is None
    assert "陈小宇" not in repr(child.__dict__)
    assert marker not in await _dump(database)
    assert keys.isdisjoint(set(await stored_keys(app)))
    async with database.transaction(read_only=True) as db:
        visit = await db.get_one(Visit, visit_id)
        assert (visit.child_id, visit.duration_minutes) == (child_id, 60)
        assert not visit.note
        removed = await db.get_one(Photo, photo.id)
        assert removed.removed_reason == "erasure" and removed.received_sha256 == photo.received_sha256
        chain = await verify_chain(db)
        assert chain.first_bad_id is None, chain.reason
        assert (await check_photos(db, store_of(app))).bad == []
    # The worker still has the visit as a record; its photo says removed, never a server error.
    worker_client = await client_as(personas.SOCIAL_WORKER)
    assert (await worker_client.get(f"/photos/{photo.id}/display")).status_code in (404, 410)

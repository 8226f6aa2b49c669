"""Contacts of a pillar mother's group: the phone form and its plain post, the idempotent API, who may
log one (group members, the mother, her agency's workers; staff only read), the rules, the photo."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from backend import clock
from backend.cases.models import Case, CaseStatus, CloseReason
from backend.db import Database
from backend.people.models import Person
from backend.pillar.models import Contact, ContactChannel, GroupMember, PillarFile
from tests import personas
from tests.conftest import ClientAs, World, csrf_token
from tests.data.corpus import phone_photo
from tests.functional.photos_support import api_put, audit_actions
from tests.functional.pillar.pillar_support import NAMES, ZONE, post

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def day(days_ago: int = 0) -> str:
    return (clock.today_in(ZONE) - timedelta(days=days_ago)).isoformat()


def contact_body(file_id: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "file_id": file_id,
        "contacted_on": day(1),
        "channel": "phone",
        "minutes": 20,
        "note": "电话问候，孩子感冒好了。",
        "photo_uuids": [],
    }
    body.update(changes)
    return body


async def put_contact(
    browser: httpx.AsyncClient, client_uuid: uuid.UUID, body: dict[str, Any]
) -> httpx.Response:
    return await browser.put(
        f"/api/contacts/{client_uuid}", json=body, headers={"x-csrftoken": await csrf_token(browser)}
    )


async def form_contact(
    browser: httpx.AsyncClient, file_id: int, *, photo: bytes | None = None, **fields: Any
) -> httpx.Response:
    data: dict[str, Any] = {
        "_csrf_token": await csrf_token(browser),
        "client_uuid": str(uuid.uuid4()),
        "contacted_on": day(0),
        "channel": "home",
        "minutes": "45",
        "note": "上门看望",
        **fields,
    }
    files = [("photo", ("p.jpg", photo, "image/jpeg"))] if photo else None
    return await browser.post(f"/pillar/mothers/{file_id}/contacts", data=data, files=files)


async def file_ids(database: Database, world: World) -> dict[str, int]:
    """The demo's files: {"huang": id, "yang": id}."""
    async with database.transaction(read_only=True) as db:
        rows = await db.execute(
            select(Person.display_name, PillarFile.id)
            .join(Case, Case.id == PillarFile.case_id)
            .join(Person, Person.id == Case.person_id)
            .where(PillarFile.programme_id == world.cast.programmes["pillar"].id)
        )
        by_name = {name: file_id for name, file_id in rows.all()}
    return {key: by_name[name] for key, name in NAMES.items()}


async def contacts_of(database: Database, file_id: int) -> list[Contact]:
    async with database.transaction(read_only=True) as db:
        rows = await db.scalars(select(Contact).where(Contact.file_id == file_id).order_by(Contact.id))
        return list(rows)


async def contact_count(database: Database) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.count(Contact.id))) or 0)


async def test_every_kind_of_member_logs_a_contact_by_form_and_by_api(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    huang = files["huang"]
    for n, handle in enumerate(
        (personas.CADRE, personas.VOLUNTEER, personas.PILLAR_MOTHER, personas.AGENCY_WORKER), start=1
    ):
        browser = await client_as(handle)
        page = await browser.get(f"/pillar/mothers/{huang}/contacts/new")
        assert page.status_code == 200 and 'data-outbox="contact"' in page.text, handle
        assert 'id="contact-form"' in page.text and f'value="{day(0)}"' in page.text
        sent = await form_contact(browser, huang, minutes=str(10 + n))
        assert sent.status_code == 303, (handle, sent.text)
        assert sent.headers["location"].startswith(f"/pillar/mothers/{huang}")
        api = await put_contact(browser, uuid.uuid4(), contact_body(huang, minutes=30 + n))
        assert api.status_code == 201, (handle, api.text)
        assert api.json()["file_id"] == huang and api.json()["channel"] == "phone"
    stored = [
        c for c in await contacts_of(database, huang) if c.contacted_on >= clock.today_in(ZONE) - timedelta(1)
    ]
    by = {(c.by_user_id, c.minutes) for c in stored}
    for n, handle in enumerate(
        (personas.CADRE, personas.VOLUNTEER, personas.PILLAR_MOTHER, personas.AGENCY_WORKER), start=1
    ):
        assert (world.user_id(handle), 10 + n) in by and (world.user_id(handle), 30 + n) in by
    logged = await audit_actions(database, "pillar.contact_logged")
    assert len([e for e in logged if e.subject_id == str(huang)]) >= 8
    # The audit keeps no words of the note.
    assert all("电话问候" not in str(e.change) for e in logged)


async def test_staff_read_but_cannot_log_and_a_stranger_volunteer_does_not_see_the_file(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    before = await contact_count(database)
    staff = await client_as(personas.PILLAR_STAFF)
    assert (await staff.get(f"/pillar/mothers/{files['yang']}/contacts/new")).status_code == 403
    assert (await form_contact(staff, files["yang"])).status_code == 403
    assert (await put_contact(staff, uuid.uuid4(), contact_body(files["yang"]))).status_code == 403
    du = await client_as(personas.HUANG_ONLY_VOLUNTEER)
    assert (await du.get(f"/pillar/mothers/{files['yang']}/contacts/new")).status_code == 404
    assert (await form_contact(du, files["yang"])).status_code == 404
    assert (await put_contact(du, uuid.uuid4(), contact_body(files["yang"]))).status_code == 404
    huang = await client_as(personas.PILLAR_MOTHER)
    assert (await put_contact(huang, uuid.uuid4(), contact_body(files["yang"]))).status_code == 404
    for handle in (personas.OUTSIDER, personas.SOCIAL_WORKER):
        other = await client_as(handle)
        assert (await put_contact(other, uuid.uuid4(), contact_body(files["huang"]))).status_code == 404
    assert await contact_count(database) == before


async def test_five_identical_sends_at_once_store_one_contact(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    song = await client_as(personas.VOLUNTEER)
    before = await contact_count(database)
    client_uuid = uuid.uuid4()
    body = contact_body(files["yang"])
    responses = await asyncio.gather(*[put_contact(song, client_uuid, body) for _ in range(5)])
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await contact_count(database) == before + 1


async def test_a_uuid_with_other_content_or_from_another_user_is_refused_without_leaking(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    song, han = await client_as(personas.VOLUNTEER), await client_as("demo-vol-han")
    client_uuid = uuid.uuid4()
    body = contact_body(files["huang"])
    first = await put_contact(song, client_uuid, body)
    assert first.status_code == 201, first.text
    again = await put_contact(song, client_uuid, body)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    changed = await put_contact(song, client_uuid, {**body, "minutes": 90})
    assert changed.status_code == 409 and CHINESE.search(changed.json()["detail"])
    theirs = await put_contact(han, client_uuid, body)
    assert theirs.status_code == 409 and set(theirs.json()) == {"status", "detail"}
    assert "孩子" not in theirs.text and "黄" not in theirs.text
    stored = [c for c in await contacts_of(database, files["huang"]) if c.client_uuid == client_uuid]
    assert len(stored) == 1 and stored[0].minutes == 20


async def test_a_contact_with_a_photo_by_api_and_by_form(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    lin = await client_as(personas.CADRE)
    photo_uuid = uuid.uuid4()
    sent_photo = await api_put(lin, phone_photo((320, 240), seed=71), client_uuid=photo_uuid)
    assert sent_photo.status_code == 201, sent_photo.text
    api = await put_contact(lin, uuid.uuid4(), contact_body(files["yang"], photo_uuids=[str(photo_uuid)]))
    assert api.status_code == 201 and api.json()["photo_uuids"] == [str(photo_uuid)], api.text
    # Another member's photo, or one not sent yet, is refused.
    song = await client_as(personas.VOLUNTEER)
    missing = await put_contact(
        song, uuid.uuid4(), contact_body(files["yang"], photo_uuids=[str(photo_uuid)])
    )
    assert missing.status_code == 404 and CHINESE.search(missing.json()["detail"])
    two = await put_contact(
        lin, uuid.uuid4(), contact_body(files["yang"], photo_uuids=[str(uuid.uuid4())] * 2)
    )
    assert two.status_code in (404, 422)
    form = await form_contact(lin, files["yang"], photo=phone_photo((320, 240), seed=72))
    assert form.status_code == 303, form.text
    with_photo = [c for c in await contacts_of(database, files["yang"]) if c.photo_id is not None]
    assert len(with_photo) == 2
    # The uploader sees her thumbnail on the authorised route.
    thumb = await lin.get(f"/photos/{with_photo[-1].photo_id}/thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    without = [c for c in await contacts_of(database, files["yang"]) if c.photo_id is None]
    assert without  # the demo's contact and others have none


async def test_bad_input_is_refused_in_chinese_and_nothing_is_stored(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    fang = await client_as(personas.YANG_ONLY_VOLUNTEER)
    yang = files["yang"]
    before = await contact_count(database)
    for fields in (
        {"minutes": "0"},
        {"minutes": "9999"},
        {"minutes": "abc"},
        {"channel": "fax"},
        {"contacted_on": day(-1)},
        {"contacted_on": "abc"},
        {"contacted_on": day(400)},
    ):
        response = await form_contact(fang, yang, **fields)
        assert response.status_code in (400, 422), (fields, response.status_code)
        assert 'id="contact-form"' in response.text and CHINESE.search(response.text)
        assert 'class="field-error"' in response.text, fields
    for changes in (
        {"minutes": 0},
        {"minutes": 9999},
        {"channel": "fax"},
        {"contacted_on": day(-1)},
        {"contacted_on": day(400)},
        {"minutes": "abc"},
        {"author": 1},
    ):
        response = await put_contact(fang, uuid.uuid4(), contact_body(yang, **changes))
        assert response.status_code in (400, 422), (changes, response.status_code)
        assert CHINESE.search(response.json()["detail"]), response.text
    assert await contact_count(database) == before


async def test_an_ended_place_keeps_her_contacts_and_ends_her_access(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    du = await client_as(personas.HUANG_ONLY_VOLUNTEER)
    sent = await put_contact(
        du, uuid.uuid4(), contact_body(files["huang"], channel=ContactChannel.ONLINE.value)
    )
    assert sent.status_code == 201
    async with database.transaction(read_only=True) as db:
        member_id = await db.scalar(
            select(GroupMember.id).where(
                GroupMember.file_id == files["huang"],
                GroupMember.user_id == world.user_id(personas.HUANG_ONLY_VOLUNTEER),
                GroupMember.ended_at.is_(None),
            )
        )
    lin = await client_as(personas.CADRE)
    ended = await post(lin, f"/pillar/mothers/{files['huang']}/members/{member_id}/end")
    assert ended.status_code == 303, ended.text
    assert (await du.get(f"/pillar/mothers/{files['huang']}/contacts/new")).status_code == 404
    assert (await put_contact(du, uuid.uuid4(), contact_body(files["huang"]))).status_code == 404
    kept = [c for c in await contacts_of(database, files["huang"]) if c.id == sent.json()["id"]]
    assert len(kept) == 1 and kept[0].by_user_id == world.user_id(personas.HUANG_ONLY_VOLUNTEER)


async def test_a_closed_file_takes_no_contact_and_no_group_change(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    yang = files["yang"]
    async with database.transaction() as db:
        file = await db.get_one(PillarFile, yang)
        case = await db.get_one(Case, file.case_id)
        case.status = CaseStatus.CLOSED
        case.closed_at = clock.utcnow()
        case.close_reason = CloseReason.GOALS_MET
    before = await contact_count(database)
    fang = await client_as(personas.YANG_ONLY_VOLUNTEER)
    refused = await put_contact(fang, uuid.uuid4(), contact_body(yang))
    assert refused.status_code == 409 and CHINESE.search(refused.json()["detail"])
    assert (await fang.get(f"/pillar/mothers/{yang}/contacts/new")).status_code == 409
    assert (await form_contact(fang, yang)).status_code == 409
    lin = await client_as(personas.CADRE)
    interval = await post(lin, f"/pillar/mothers/{yang}/interval", {"contact_interval_days": "7"})
    assert interval.status_code == 409 and CHINESE.search(interval.text)
    assert await contact_count(database) == before

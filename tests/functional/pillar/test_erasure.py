"""Erasing a pillar mother (people/erasure.py with cases/erasure.py): refused while her case is open;
once it is closed and her participation ended, her name and every word written about her go (profile
notes, needs, contact notes, survey comment, the case's goals and delivery notes), while the rows that
figures count (dates, levels, minutes, statuses) and the audit chain stay."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select

from backend.audit import verify_chain
from backend.cases.models import Case, CaseStatus, CloseReason, Delivery, Goal
from backend.cases.service import do_change_status
from backend.db import Database, utcnow
from backend.models import Base
from backend.people.models import EndReason, Person, User
from backend.people.person_service import do_end_person
from backend.pillar.models import Contact, ContactChannel, Need, PillarFile, ProfileVersion
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.pillar.pillar_support import file_ids, post

MARKER = "她说起前夫欠的债-5e1a"


async def _dump(database: Database) -> str:
    parts = []
    async with database.transaction(read_only=True) as db:
        for table in Base.metadata.sorted_tables:
            parts.append(repr((await db.execute(select(table))).all()))
    return "\n".join(parts)


async def test_a_pillar_mother_is_erased_only_after_her_case_closes_and_her_words_go(
    database: Database, world: World, client_as: ClientAs
) -> None:
    file_id = (await file_ids(database, world))["huang"]
    async with database.transaction() as db:
        file = await db.get_one(PillarFile, file_id)
        case = await db.get_one(Case, file.case_id)
        person_id = case.person_id
        db.add(
            Contact(
                client_uuid=uuid.uuid4(),
                file_id=file.id,
                programme_id=file.programme_id,
                area_id=file.area_id,
                by_user_id=world.user_id(personas.CADRE),
                contacted_on=date(2026, 11, 10),
                channel=ContactChannel.PHONE,
                minutes=20,
                note=MARKER,
                content_sha256="0" * 64,
                submitted_at=utcnow(),
            )
        )
        staff = await db.get_one(User, world.user_id(personas.STAFF))
        await do_end_person(db, await db.get_one(Person, person_id), EndReason.LEFT_SCHEME, actor=staff)

    staff_client = await client_as(personas.STAFF)
    refused = await post(staff_client, f"/people/{person_id}/erase", {"confirm": "删除"})
    assert refused.status_code == 409 and "个案" in refused.text

    async with database.transaction() as db:
        case = await db.get_one(Case, (await db.get_one(PillarFile, file_id)).case_id)
        worker = await db.get_one(User, world.user_id(personas.AGENCY_WORKER))
        await do_change_status(db, case, CaseStatus.CLOSED, actor=worker, reason=CloseReason.DECLINED)
        counts_before = [
            await db.scalar(select(func.count()).select_from(model).where(where))
            for model, where in (
                (Need, Need.file_id == file_id),
                (Contact, Contact.file_id == file_id),
                (Goal, Goal.case_id == case.id),
                (Delivery, Delivery.case_id == case.id),
            )
        ]
    page = await staff_client.get(f"/people/{person_id}/erase")
    assert page.status_code == 200 and "顶梁柱" in page.text
    done = await post(staff_client, f"/people/{person_id}/erase", {"confirm": "删除"})
    assert done.status_code == 303, done.text[:1000]

    dump = await _dump(database)
    # Her name stays only on her own account (a user, erased on its own page when her roles end).
    for words in (MARKER, "只能打零工", "丈夫2024年病故", "家政服务员培训", "取得家政服务员证书"):
        assert words not in dump, words
    async with database.transaction(read_only=True) as db:
        case = await db.get_one(Case, (await db.get_one(PillarFile, file_id)).case_id)
        assert (await db.get_one(Person, person_id)).display_name == f"已删除-{person_id}"
        counts_after = [
            await db.scalar(select(func.count()).select_from(model).where(where))
            for model, where in (
                (Need, Need.file_id == file_id),
                (Contact, Contact.file_id == file_id),
                (Goal, Goal.case_id == case.id),
                (Delivery, Delivery.case_id == case.id),
            )
        ]
        assert counts_after == counts_before
        levels = list(await db.scalars(select(Need.level).where(Need.file_id == file_id)))
        assert len(levels) == 5 and all(1 <= n <= 5 for n in levels)
        versions = list(await db.scalars(select(ProfileVersion).where(ProfileVersion.file_id == file_id)))
        assert versions and all(v.household_note == "" for v in versions)
        chain = await verify_chain(db)
        assert chain.first_bad_id is None, chain.reason

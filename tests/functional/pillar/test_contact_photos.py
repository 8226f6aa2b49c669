"""A contact's photo (sent about nobody) is seen by whoever may read the contact: the mother's group,
the mother, her agency's workers and the programme's staff; not by a volunteer of another group, a
caring mother or an outsider; and it goes when the mother is erased."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from backend.cases.models import Case
from backend.db import Database
from backend.evidence.models import Photo
from backend.people.rights_service import person_photos
from backend.pillar.models import Contact, PillarFile
from tests import personas
from tests.conftest import ClientAs, World, csrf_token
from tests.data.corpus import phone_photo
from tests.functional.photos_support import api_put
from tests.functional.pillar.pillar_support import file_ids, today


async def test_a_contact_photo_is_seen_by_those_who_read_the_contact_only(
    client_as: ClientAs, world: World, database: Database
) -> None:
    file_id = (await file_ids(database, world))["yang"]
    fang = await client_as(personas.YANG_ONLY_VOLUNTEER)
    photo_uuid = uuid.uuid4()
    assert (await api_put(fang, phone_photo((320, 240), seed=81), client_uuid=photo_uuid)).status_code == 201
    body = {
        "file_id": file_id,
        "contacted_on": today(),
        "channel": "home",
        "minutes": 30,
        "note": "上门看看房子漏水修好没有",
        "photo_uuids": [str(photo_uuid)],
    }
    sent = await fang.put(
        f"/api/contacts/{uuid.uuid4()}", json=body, headers={"x-csrftoken": await csrf_token(fang)}
    )
    assert sent.status_code == 201, sent.text
    async with database.transaction(read_only=True) as db:
        photo_id = await db.scalar(
            select(Contact.photo_id).where(Contact.file_id == file_id, Contact.photo_id.is_not(None))
        )
    assert photo_id is not None
    for handle, expected in (
        (personas.YANG_ONLY_VOLUNTEER, 200),
        (personas.CADRE, 200),
        (personas.VOLUNTEER, 200),
        (personas.OTHER_PILLAR_MOTHER, 200),
        (personas.AGENCY_WORKER, 200),
        (personas.STAFF, 200),
        (personas.HUANG_ONLY_VOLUNTEER, 404),
        (personas.PILLAR_MOTHER, 404),
        (personas.CARING_MOTHER, 404),
        (personas.OUTSIDER, 404),
    ):
        browser = await client_as(handle)
        assert (await browser.get(f"/photos/{photo_id}/thumb")).status_code == expected, handle
    async with database.transaction(read_only=True) as db:
        person_id = await db.scalar(
            select(Case.person_id)
            .join(PillarFile, PillarFile.case_id == Case.id)
            .where(PillarFile.id == file_id)
        )
        # Her erasure (and her export) reach it although it names no subject.
        assert photo_id in set(await db.scalars(select(Photo.id).where(person_photos(person_id))))

"""The access right for a pillar mother: staff's export of her holds her case (stages, goals, the
training delivered) and her file (profile versions, every need noted, her group's places)."""

from __future__ import annotations

import json

from sqlalchemy import select

from backend.cases.models import Case
from backend.db import Database
from backend.pillar.models import PillarFile
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.people.rights_support import open_zip, post_form
from tests.functional.pillar.pillar_support import file_ids


async def test_staff_export_of_a_pillar_mother_holds_her_case_and_file(
    database: Database, world: World, client_as: ClientAs
) -> None:
    file_id = (await file_ids(database, world))["huang"]
    async with database.transaction(read_only=True) as db:
        person_id = await db.scalar(
            select(Case.person_id)
            .join(PillarFile, PillarFile.case_id == Case.id)
            .where(PillarFile.id == file_id)
        )
    staff = await client_as(personas.STAFF)
    response = await post_form(staff, f"/people/{person_id}/export")
    assert response.status_code == 200
    doc = json.loads(open_zip(response).read("person.json"))
    [case] = doc["cases"]
    assert [g["text"] for g in case["goals"]] == ["取得家政服务员证书，找到稳定工作。"]
    assert [(d["minutes"], d["status"]) for d in case["deliveries"]] == [(120, "approved")]
    file = case["pillar_file"]
    assert file["id"] == file_id
    assert file["profile_versions"][0]["qualification"] == "widowed"
    assert len(file["needs"]) == 5 and {n["level"] for n in file["needs"]} <= {1, 2, 3, 4, 5}
    places = sorted(m["role"] for m in file["group"])
    assert places == ["cadre", "mother", "volunteer", "volunteer", "volunteer"]


async def test_an_agency_worker_may_not_export_a_mother_she_serves(
    database: Database, world: World, client_as: ClientAs
) -> None:
    file_id = (await file_ids(database, world))["huang"]
    async with database.transaction(read_only=True) as db:
        person_id = await db.scalar(
            select(Case.person_id)
            .join(PillarFile, PillarFile.case_id == Case.id)
            .where(PillarFile.id == file_id)
        )
    worker = await client_as(personas.AGENCY_WORKER)
    assert (await post_form(worker, f"/people/{person_id}/export")).status_code == 403

"""The administrator sets up a district through the pages: programmes with their rules, the area tree."""

from __future__ import annotations

import re

from sqlalchemy import select

from backend.audit import AuditEvent
from backend.db import Database
from backend.people.models import Area, Programme
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.people.org_support import (
    admin_browser,
    area_id,
    create_programme,
    post,
    programme_id,
)


async def test_first_run_home_says_to_create_a_programme(database: Database, client_as: ClientAs) -> None:
    admin = await admin_browser(database, client_as)
    home = (await admin.get("/")).text
    assert 'id="first-steps"' in home and "/programmes/new" in home


async def test_admin_creates_a_meal_programme_in_yuan_and_its_area_tree(
    database: Database, client_as: ClientAs
) -> None:
    admin = await admin_browser(database, client_as)
    assert (await admin.get("/programmes/new")).status_code == 200
    created = await create_programme(
        admin,
        name="梧桐邻里助餐",
        kind="neighbour_meals",
        area_id="new",
        new_area_name="梧桐区",
        new_area_level="district",
        rate="15.5",
        monthly_cap="450",
    )
    assert created.status_code == 303
    meals = await programme_id(database, "梧桐邻里助餐")
    async with database.transaction(read_only=True) as db:
        programme = await db.get_one(Programme, meals)
        # 15.5 yuan is 1550 fen: two decimals at most, kept exactly.
        assert (programme.rate_fen, programme.monthly_cap_fen, programme.time_zone) == (
            1550,
            45000,
            "Asia/Shanghai",
        )
    district = await area_id(database, "梧桐区")
    for street in ("梧桐街道", "六安街道"):
        assert (
            await post(admin, f"/programmes/{meals}/areas", parent_id=district, name=street, level="street")
        ).status_code == 303
    wutong = await area_id(database, "梧桐街道")
    assert (
        await post(admin, f"/programmes/{meals}/areas", parent_id=wutong, name="桂园社区")
    ).status_code == 303
    page = await admin.get(f"/programmes/{meals}")
    assert page.status_code == 200
    assert "桂园社区" in page.text and "社区" in page.text and "街道" in page.text
    # The caring-mother programme on the same district, with its visit interval.
    mothers = await create_programme(
        admin, name="梧桐爱心妈妈", kind="caring_mothers", area_id=district, visit_interval_days="10"
    )
    assert mothers.status_code == 303
    async with database.transaction(read_only=True) as db:
        programme = await db.get_one(Programme, await programme_id(database, "梧桐爱心妈妈"))
        assert programme.visit_interval_days == 10 and programme.area_id == district
    # Rename; a close refused with its reason beside the area; then a close that works; a reopen.
    assert (await post(admin, f"/areas/{wutong}/rename", name="新梧桐街道")).status_code == 303
    refused = await post(admin, f"/areas/{wutong}/close")
    assert refused.status_code == 409
    error = re.search(rf'id="area-{wutong}-error" role="alert">([^<]+)<', refused.text)
    assert error is not None and error.group(1) == "请先停用其下的区域。"
    community = await area_id(database, "桂园社区")
    assert (await post(admin, f"/areas/{community}/close")).status_code == 303
    assert (await post(admin, f"/areas/{wutong}/close")).status_code == 303
    assert (await post(admin, f"/areas/{wutong}/reopen")).status_code == 303
    async with database.transaction(read_only=True) as db:
        area = await db.get_one(Area, wutong)
        assert area.name == "新梧桐街道" and area.closed_at is None
        actions = set(await db.scalars(select(AuditEvent.action)))
    assert {"programme.created", "area.created", "area.renamed", "area.closed", "area.reopened"} <= actions


async def test_rules_are_edited_and_bad_input_is_refused_beside_the_field(
    database: Database, client_as: ClientAs
) -> None:
    admin = await admin_browser(database, client_as)
    base = {
        "kind": "neighbour_meals",
        "area_id": "new",
        "new_area_name": "东区",
        "new_area_level": "district",
    }
    empty = await create_programme(admin, name="", rate="15", monthly_cap="450", **base)
    assert empty.status_code == 422 and 'id="name-error"' in empty.text
    below = await create_programme(admin, name="东区助餐", rate="15", monthly_cap="10", **base)
    assert below.status_code == 422 and 'id="monthly_cap-error"' in below.text
    for bad in ("-15", "1e9", "15.555", "十五"):
        response = await create_programme(admin, name="东区助餐", rate=bad, monthly_cap="450", **base)
        assert response.status_code == 422 and 'id="rate-error"' in response.text, bad
    async with database.transaction(read_only=True) as db:
        # Nothing half-written: the new area of a refused programme is not kept either.
        assert await db.scalar(select(Area.id).where(Area.name == "东区")) is None
    assert (
        await create_programme(admin, name="东区助餐", rate="15", monthly_cap="450", **base)
    ).status_code == 303
    meals = await programme_id(database, "东区助餐")
    changed = await post(admin, f"/programmes/{meals}/rules", rate="16", monthly_cap="400")
    assert changed.status_code == 303
    refused = await post(admin, f"/programmes/{meals}/rules", rate="16", monthly_cap="1")
    assert refused.status_code == 422 and 'id="monthly_cap-error"' in refused.text
    async with database.transaction(read_only=True) as db:
        programme = await db.get_one(Programme, meals)
        assert (programme.rate_fen, programme.monthly_cap_fen) == (1600, 40000)
        event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "programme.rules_changed"))
    assert event is not None


async def test_refusals_for_programmes_and_areas(client_as: ClientAs, world: World) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    assert (await worker.get("/programmes/new")).status_code == 403
    assert (await post(worker, "/programmes", name="x", kind="caring_mothers")).status_code == 403
    assert (await worker.get("/programmes")).status_code == 403
    staff = await client_as(personas.STAFF)
    assert (await staff.get("/programmes")).status_code == 200
    assert (await staff.get("/programmes/new")).status_code == 403
    assert (await staff.get(f"/programmes/{world.outsider_programme_id}")).status_code == 404
    neighbour = await client_as(personas.NEIGHBOUR)
    assert (await neighbour.get(f"/programmes/{world.outsider_programme_id}")).status_code == 404
    outsider = await client_as(personas.OUTSIDER)
    own = (await outsider.get("/")).text
    assert 'id="first-steps"' not in own
